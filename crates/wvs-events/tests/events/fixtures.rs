//! Every documented example (`fixtures/` at the repository root) parses into the right kind, carries the
//! right header, and serializes back to the same JSON.

use std::path::PathBuf;

use serde_json::Value;
use wvs_events::event::LEGACY_BUILD_HOOK;
use wvs_events::{Event, EventKind, Scope};

/// The shared fixtures: `WVS_FIXTURES_DIR`, or `fixtures/` at the repository root.
pub fn fixtures_dir() -> PathBuf {
    let dir = std::env::var_os("WVS_FIXTURES_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"),
        PathBuf::from,
    );
    assert!(
        dir.join("index.tsv").is_file(),
        "fixtures not found at {} (set WVS_FIXTURES_DIR)",
        dir.display()
    );
    dir
}

struct Fixture {
    file: String,
    header: String,
    value: Value,
}

fn fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let index = std::fs::read_to_string(dir.join("index.tsv")).unwrap();
    index
        .lines()
        .skip(1)
        .map(|line| {
            let mut columns = line.split('\t');
            let file = columns.next().unwrap().to_owned();
            let header = columns.next().unwrap().to_owned();
            let bytes = std::fs::read(dir.join(&file)).unwrap();
            let value = serde_json::from_slice(&bytes).unwrap();
            Fixture {
                file,
                header,
                value,
            }
        })
        .collect()
}

/// The kind a fixture documents, from its file name (`note-commit.json` → `note_commit`,
/// `system-push.json` → `push`, `group-project_create.json` → `project_create`,
/// `access_token-group.json` → `access_token`).
fn expected_kind(file: &str) -> EventKind {
    let stem = file.rsplit('/').next().unwrap().trim_end_matches(".json");
    let stem = stem
        .trim_start_matches("system-")
        .trim_start_matches("group-")
        .trim_end_matches("-project")
        .trim_end_matches("-group");
    let name = stem.replace('-', "_");
    EventKind::from_name(&name).unwrap_or_else(|| panic!("no kind named {name}"))
}

/// The scope of the hooks a fixture's page delivers it to.
fn scope_of(file: &str) -> Scope {
    let stem = file.rsplit('/').next().unwrap();
    if file.contains("system-hooks/") {
        Scope::System
    } else if stem.starts_with("group-") || stem.ends_with("-group.json") {
        Scope::Group
    } else {
        expected_kind(file).scope()
    }
}

#[test]
fn all_106_fixtures_are_listed() {
    assert_eq!(fixtures().len(), 106);
}

/// Every row names its page and the GitLab version of that page.
#[test]
fn every_fixture_names_its_page_and_version() {
    let index = std::fs::read_to_string(fixtures_dir().join("index.tsv")).unwrap();
    let mut lines = index.lines();
    assert_eq!(
        lines.next(),
        Some("file\tevent_header\ttrailing_commas_removed\tpage\tgitlab_version")
    );
    for line in lines {
        let columns: Vec<&str> = line.split('\t').collect();
        assert_eq!(columns.len(), 5, "{line}");
        assert!(columns[3..].iter().all(|c| !c.is_empty()), "{line}");
    }
}

#[test]
fn every_fixture_parses_into_its_kind() {
    for fixture in fixtures() {
        let event = Event::from_value(fixture.value.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", fixture.file));
        assert_eq!(
            event.kind(),
            expected_kind(&fixture.file),
            "{}",
            fixture.file
        );
    }
}

#[test]
fn every_fixture_has_its_documented_header() {
    for fixture in fixtures() {
        let event = Event::from_value(fixture.value.clone()).unwrap();
        let header = event.header_for(scope_of(&fixture.file));
        if fixture.header == LEGACY_BUILD_HOOK {
            // The 8.x documents called jobs builds; WVS sends the current name and accepts
            // the old one from senders.
            assert_eq!(header, "Job Hook", "{}", fixture.file);
            assert!(event.kind().accepts_header(LEGACY_BUILD_HOOK));
        } else {
            assert_eq!(header, fixture.header, "{}", fixture.file);
        }
    }
}

#[test]
fn every_fixture_round_trips_field_for_field() {
    for fixture in fixtures() {
        let event = Event::from_value(fixture.value.clone()).unwrap();
        assert_eq!(event.to_value(), fixture.value, "{}", fixture.file);
        let reparsed = Event::from_slice(&event.to_vec()).unwrap();
        assert_eq!(reparsed, event, "{}", fixture.file);
    }
}

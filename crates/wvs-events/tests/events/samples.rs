//! Every kind has a sample; samples are the documented examples.

use std::collections::BTreeSet;

use serde_json::Value;
use wvs_events::event::CONFIDENTIAL_ISSUE_HOOK;
use wvs_events::{Event, EventKind, Scope, samples};

use crate::fixtures::fixtures_dir;

#[test]
fn every_kind_has_a_sample_that_parses_into_it() {
    let mut covered = BTreeSet::new();
    for sample in samples::all() {
        let event = sample.event();
        assert_eq!(event.kind(), sample.kind, "{}", sample.name);
        covered.insert(sample.kind);
    }
    let all: BTreeSet<EventKind> = EventKind::ALL.iter().copied().collect();
    assert_eq!(covered, all);
}

#[test]
fn samples_equal_the_shared_fixtures_they_copy() {
    let dir = fixtures_dir();
    for sample in samples::all() {
        let Some(fixture) = sample.fixture else {
            continue;
        };
        let expected: Value =
            serde_json::from_slice(&std::fs::read(dir.join(fixture)).unwrap()).unwrap();
        let actual: Value = serde_json::from_str(sample.json).unwrap();
        assert_eq!(actual, expected, "{}", sample.name);
    }
}

#[test]
fn sample_headers_follow_their_scope() {
    assert_eq!(samples::find("push").unwrap().header(), "Push Hook");
    assert_eq!(
        samples::find("system_push").unwrap().header(),
        "System Hook"
    );
    assert_eq!(
        samples::find("user_add_to_group").unwrap().header(),
        "Member Hook"
    );
    assert_eq!(samples::find("job").unwrap().header(), "Job Hook");
    assert_eq!(
        samples::for_kind(EventKind::Push, Scope::System).name,
        "system_push"
    );
    assert_eq!(
        samples::for_kind(EventKind::Issue, Scope::System).name,
        "issue"
    );
}

#[test]
fn confidential_issues_and_notes_change_the_header() {
    let mut issue: Value = serde_json::from_str(samples::find("issue").unwrap().json).unwrap();
    assert_eq!(
        Event::from_value(issue.clone()).unwrap().header(),
        "Issue Hook"
    );
    issue["object_attributes"]["confidential"] = Value::Bool(true);
    let event = Event::from_value(issue.clone()).unwrap();
    assert!(event.is_confidential());
    assert_eq!(event.header(), CONFIDENTIAL_ISSUE_HOOK);
    assert_eq!(event.header_for(Scope::System), "System Hook");

    let mut note: Value = serde_json::from_str(samples::find("note_issue").unwrap().json).unwrap();
    assert_eq!(
        Event::from_value(note.clone()).unwrap().header(),
        "Note Hook"
    );
    note["event_type"] = Value::from("confidential_note");
    assert_eq!(
        Event::from_value(note.clone()).unwrap().header(),
        "Confidential Note Hook"
    );
    note["event_type"] = Value::from("note");
    note["issue"]["confidential"] = Value::Bool(true);
    assert_eq!(
        Event::from_value(note).unwrap().header(),
        "Confidential Note Hook"
    );
}

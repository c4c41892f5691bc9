//! The documentation against the binary: every flag `wvs serve --help` prints is in
//! `docs/operations.md` with the same environment variable and default, every setting the
//! page lists exists, every event kind `wvs trigger --list` knows is in `docs/events.md`, and
//! every relative link of the README and `docs/` leads to a file and heading. A flag added
//! without its line in the docs, or a default changed in code only, fails here by name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root, two levels above this crate.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = repository().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn wvs(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_wvs"))
        .args(args)
        .output()
        .expect("running wvs");
    assert!(output.status.success(), "wvs {args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// What the help or the docs say of one setting.
#[derive(Debug, PartialEq)]
struct Setting {
    env: Option<String>,
    default: Option<String>,
}

/// `--flag` → its environment variable and default, as `wvs serve --help` prints them: a line
/// naming the flag, then its help, ending in clap's `[default: ...]` and `[env: NAME=]`.
fn help_settings() -> BTreeMap<String, Setting> {
    let help = wvs(&["serve", "--help"]);
    let mut settings = BTreeMap::new();
    let mut lines = help.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        let Some(flag) = line.split_whitespace().find(|word| word.starts_with("--")) else {
            continue;
        };
        if flag == "--help" || !(line.starts_with("--") || line.starts_with('-')) {
            continue;
        }
        let text = lines.next_if(|next| !next.trim_start().starts_with('-'));
        let text = text.unwrap_or_default();
        settings.insert(
            flag.to_owned(),
            Setting {
                env: bracketed(text, "[env: ").map(|env| env.trim_end_matches('=').to_owned()),
                default: bracketed(text, "[default: "),
            },
        );
    }
    settings
}

/// The text between `opening` and the next `]`.
fn bracketed(text: &str, opening: &str) -> Option<String> {
    let start = text.find(opening)? + opening.len();
    let end = text[start..].find(']')?;
    Some(text[start..start + end].to_owned())
}

/// `--flag` → its environment variable and default, from the rows of the settings table of
/// `docs/operations.md`: `| --flag | WVS_NAME | default | meaning |`, `—` for none.
fn documented_settings() -> BTreeMap<String, Setting> {
    let page = read("docs/operations.md");
    let cell = |text: &str| {
        let text = text.trim().trim_matches('`');
        (text != "—").then(|| text.to_owned())
    };
    page.lines()
        .filter(|line| line.starts_with("| `--"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').collect();
            assert!(cells.len() >= 5, "a settings row has 4 cells: {line}");
            let flag = cells[1].trim().trim_matches('`').to_owned();
            let setting = Setting {
                env: cell(cells[2]),
                default: cell(cells[3]),
            };
            (flag, setting)
        })
        .collect()
}

#[test]
fn every_serve_flag_is_documented_with_its_env_and_default() {
    let help = help_settings();
    assert!(help.contains_key("--listen"), "help not parsed: {help:?}");
    let docs = documented_settings();
    let mut problems = Vec::new();
    for (flag, printed) in &help {
        match docs.get(flag) {
            None => problems.push(format!(
                "{flag} is not in docs/operations.md's settings table (env {:?}, default {:?})",
                printed.env, printed.default
            )),
            Some(written) if written != printed => problems.push(format!(
                "{flag}: docs/operations.md says {written:?}, wvs serve --help says {printed:?}"
            )),
            Some(_) => {}
        }
    }
    for flag in docs.keys().filter(|flag| !help.contains_key(*flag)) {
        problems.push(format!(
            "{flag} is in docs/operations.md but not in wvs serve --help"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_event_kind_is_in_the_event_reference() {
    let page = read("docs/events.md");
    let list = wvs(&["trigger", "--list"]);
    let missing: Vec<&str> = list
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|kind| !page.contains(&format!("`{kind}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/events.md: {}",
        missing.join(", ")
    );
}

/// The anchors of a Markdown page's headings, as GitHub makes them: lower case, spaces as
/// `-`, punctuation dropped.
fn anchors(page: &str) -> Vec<String> {
    page.lines()
        .filter_map(|line| line.strip_prefix('#'))
        .map(|heading| {
            heading
                .trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_relative_link_of_the_docs_leads_to_a_file_and_heading() {
    let mut pages = vec![PathBuf::from("README.md")];
    for entry in std::fs::read_dir(repository().join("docs")).expect("docs/") {
        let path = entry.expect("docs/ entry").path();
        pages.push(Path::new("docs").join(path.file_name().expect("a file name")));
    }
    let mut broken = Vec::new();
    for page in &pages {
        let text = read(page.to_str().expect("a UTF-8 path"));
        for target in text
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
        {
            if target.contains("://") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let linked = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap_or(Path::new("")).join(file)
            };
            let path = repository().join(&linked);
            let found = path.exists()
                && (anchor.is_empty()
                    || anchors(&std::fs::read_to_string(&path).unwrap_or_default())
                        .iter()
                        .any(|a| a == anchor));
            if !found {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

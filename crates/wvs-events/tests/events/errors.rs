//! A payload with a missing or mistyped field fails with a message that names the kind and
//! the JSON path of the field.

use serde_json::{Value, json};
use wvs_events::{Event, ParseError};

fn sample(name: &str) -> Value {
    serde_json::from_str(wvs_events::samples::find(name).unwrap().json).unwrap()
}

fn error_of(value: Value) -> String {
    Event::from_value(value).unwrap_err().to_string()
}

/// Removes the field at `path` (a list of keys and indexes) from `value`.
fn without(mut value: Value, path: &[&str]) -> Value {
    let (last, parents) = path.split_last().unwrap();
    let mut node = &mut value;
    for key in parents {
        node = match key.parse::<usize>() {
            Ok(index) => &mut node[index],
            Err(_) => &mut node[*key],
        };
    }
    node.as_object_mut().unwrap().remove(*last).unwrap();
    value
}

fn with(mut value: Value, path: &[&str], new: Value) -> Value {
    let mut node = &mut value;
    for key in path {
        node = match key.parse::<usize>() {
            Ok(index) => &mut node[index],
            Err(_) => &mut node[*key],
        };
    }
    *node = new;
    value
}

#[test]
fn missing_top_level_field() {
    assert_eq!(
        error_of(without(sample("push"), &["ref"])),
        "push: .ref: missing field"
    );
    assert_eq!(
        error_of(without(sample("project_create"), &["project_id"])),
        "project_create: .project_id: missing field"
    );
    assert_eq!(
        error_of(without(sample("release"), &["tag"])),
        "release: .tag: missing field"
    );
}

#[test]
fn missing_nested_field() {
    assert_eq!(
        error_of(without(sample("issue"), &["object_attributes", "iid"])),
        "issue: .object_attributes.iid: missing field"
    );
    assert_eq!(
        error_of(without(
            sample("note_merge_request"),
            &["merge_request", "source_branch"]
        )),
        "note_merge_request: .merge_request.source_branch: missing field"
    );
}

#[test]
fn missing_field_inside_an_array_element() {
    assert_eq!(
        error_of(without(sample("push"), &["commits", "1", "id"])),
        "push: .commits[1].id: missing field"
    );
    assert_eq!(
        error_of(without(sample("pipeline"), &["builds", "0", "status"])),
        "pipeline: .builds[0].status: missing field"
    );
}

#[test]
fn missing_target_block_of_a_note() {
    assert_eq!(
        error_of(without(sample("note_snippet"), &["snippet"])),
        "note_snippet: .snippet: missing field"
    );
}

#[test]
fn mistyped_required_field() {
    assert_eq!(
        error_of(with(sample("build"), &["build_id"], json!("1977"))),
        "build: .build_id: invalid type: string \"1977\", expected i64"
    );
    assert_eq!(
        error_of(with(
            sample("feature_flag"),
            &["object_attributes", "active"],
            json!("yes")
        )),
        "feature_flag: .object_attributes.active: invalid type: string \"yes\", expected a boolean"
    );
}

#[test]
fn mistyped_optional_field() {
    assert_eq!(
        error_of(with(
            sample("push"),
            &["total_commits_count"],
            json!("four")
        )),
        "push: .total_commits_count: invalid type: string \"four\", expected i64"
    );
    assert_eq!(
        error_of(with(
            sample("push"),
            &["commits", "0", "added"],
            json!("README.md")
        )),
        "push: .commits[0].added: invalid type: string \"README.md\", expected a sequence"
    );
}

#[test]
fn null_in_a_required_field_is_an_error_but_null_in_an_optional_one_is_kept() {
    assert_eq!(
        error_of(with(
            sample("merge_request"),
            &["object_attributes", "title"],
            Value::Null
        )),
        "merge_request: .object_attributes.title: invalid type: null, expected a string"
    );
    let value = with(sample("push"), &["checkout_sha"], Value::Null);
    assert_eq!(Event::from_value(value.clone()).unwrap().to_value(), value);
}

#[test]
fn unknown_or_missing_kind() {
    assert_eq!(
        error_of(json!({"object_kind": "commit_comment"})),
        "unknown object_kind `commit_comment`"
    );
    assert_eq!(
        error_of(json!({"event_name": "user_sneeze"})),
        "unknown event_name `user_sneeze`"
    );
    assert_eq!(
        error_of(json!({"ref": "refs/heads/main"})),
        "the payload has neither `object_kind` nor `event_name`"
    );
    assert_eq!(
        error_of(with(
            sample("note_commit"),
            &["object_attributes", "noteable_type"],
            json!("Epic")
        )),
        "note: .object_attributes.noteable_type: unknown noteable_type `Epic`, expected Commit, MergeRequest, Issue or Snippet"
    );
}

#[test]
fn not_json_or_not_an_object() {
    assert!(matches!(
        Event::from_slice(b"{\"object_kind\":"),
        Err(ParseError::Json { .. })
    ));
    assert_eq!(
        Event::from_slice(b"[1,2]").unwrap_err(),
        ParseError::NotAnObject
    );
}

#[test]
fn unmodelled_fields_and_nulls_survive_a_round_trip() {
    let mut value = sample("deployment");
    value["x_custom"] = json!({"nested": [1, null, "two"]});
    value["project"]["x_extra"] = Value::Null;
    value["user"]["email"] = Value::Null;
    let event = Event::from_value(value.clone()).unwrap();
    assert_eq!(event.to_value(), value);
}

#[test]
fn dates_are_kept_as_sent() {
    let mut value = sample("issue");
    for date in [
        "2015-05-17 18:08:09 UTC",
        "2013-12-03T17:15:43Z",
        "2021-04-28 21:50:00 +0200",
    ] {
        value["object_attributes"]["created_at"] = json!(date);
        let round_trip = Event::from_value(value.clone()).unwrap().to_value();
        assert_eq!(round_trip["object_attributes"]["created_at"], json!(date));
    }
}

//! Reading a form body (`application/x-www-form-urlencoded` or multipart fields, or a query
//! string), as GitLab accepts.
//!
//! Accepted: every scalar field by name; booleans as `true`/`false`, `1`/`0` and the other
//! spellings Grape takes; an empty `flavor` for the instance default; lists in Rack's array
//! notation, `custom_headers[][key]=X-A&custom_headers[][value]=1` (a `[key]` or `[value]`
//! that the last entry already has starts a new entry) or with explicit indexes,
//! `custom_headers[0][key]=X-A&custom_headers[0][value]=1`; `custom_headers=` (empty)
//! removes them all. The same for `url_variables`. Other bracket forms of these two fields
//! are rejected rather than guessed at.

use std::borrow::Cow;

use super::{HookInput, Raw, bad_entry};
use crate::ValidationError;

impl HookInput {
    /// Reads decoded form fields, in request order; a repeated scalar field keeps its last
    /// value.
    pub fn from_form(fields: &[(String, String)]) -> Result<HookInput, ValidationError> {
        let mut input = HookInput::default();
        let mut lists: Vec<(String, Vec<Entry>)> = Vec::new();
        for (key, value) in fields {
            let Some((field, rest)) = key.split_once('[') else {
                input.assign(key, Raw::Text(Cow::Borrowed(value)))?;
                continue;
            };
            if input.pairs_field(field).is_none() {
                // Bracketed names of other fields are nothing WVS knows.
                continue;
            }
            let (index, part) = bracketed(rest).ok_or_else(|| ValidationError::invalid(field))?;
            let list = lists
                .iter()
                .position(|(name, _)| name == field)
                .unwrap_or_else(|| {
                    lists.push((field.to_owned(), Vec::new()));
                    lists.len() - 1
                });
            add(&mut lists[list].1, index, part, value);
        }
        for (field, entries) in lists {
            let pairs = entries
                .into_iter()
                .enumerate()
                .map(|(at, entry)| {
                    let [key, value] = entry.halves;
                    key.zip(value).ok_or_else(|| bad_entry(&field, at + 1))
                })
                .collect::<Result<_, _>>()?;
            if let Some(slot) = input.pairs_field(&field) {
                *slot = Some(pairs);
            }
        }
        Ok(input)
    }
}

/// Which half of an entry a form field sets (its index in [`Entry::halves`]).
#[derive(Clone, Copy)]
enum Part {
    Key = 0,
    Value = 1,
}

/// One list entry being assembled from form fields.
struct Entry {
    /// The explicit index (`[0]`), or `None` for `[]`.
    index: Option<String>,
    /// The key and the value, as they arrive.
    halves: [Option<String>; 2],
}

/// Reads `<index>][key]` or `<index>][value]` (the rest of a name after its first `[`).
fn bracketed(rest: &str) -> Option<(&str, Part)> {
    let (index, part) = rest.split_once("][")?;
    let part = match part {
        "key]" => Part::Key,
        "value]" => Part::Value,
        _ => return None,
    };
    Some((index, part))
}

fn add(entries: &mut Vec<Entry>, index: &str, part: Part, value: &str) {
    let index = (!index.is_empty()).then(|| index.to_owned());
    let existing = match &index {
        // Rack's rule for `[]`: fill the last entry unless it already has this half.
        None => entries.len().checked_sub(1).filter(|&last| {
            entries[last].index.is_none() && entries[last].halves[part as usize].is_none()
        }),
        Some(_) => entries.iter().position(|entry| entry.index == index),
    };
    let at = existing.unwrap_or_else(|| {
        entries.push(Entry {
            index,
            halves: [None, None],
        });
        entries.len() - 1
    });
    entries[at].halves[part as usize] = Some(value.to_owned());
}

#[cfg(test)]
mod tests {
    use wvs_events::Flavor;

    use super::*;
    use crate::{BranchFilterStrategy, Flag};

    fn form(fields: &[(&str, &str)]) -> Result<HookInput, ValidationError> {
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HookInput::from_form(&fields)
    }

    #[test]
    fn reads_scalars_and_string_booleans() {
        let input = form(&[
            ("url", "https://example.com"),
            ("push_events", "false"),
            ("tag_push_events", "1"),
            ("issues_events", "0"),
            ("enable_ssl_verification", "true"),
            ("branch_filter_strategy", "all_branches"),
            ("flavor", "gitlab"),
            ("name", "first"),
            ("name", "second"),
            ("unknown", "x"),
            ("other[0][key]", "x"),
        ])
        .unwrap();
        assert_eq!(input.url.as_deref(), Some("https://example.com"));
        assert_eq!(
            input.events,
            [
                (Flag::PushEvents, false),
                (Flag::TagPushEvents, true),
                (Flag::IssuesEvents, false)
            ]
        );
        assert_eq!(input.enable_ssl_verification, Some(true));
        assert_eq!(
            input.branch_filter_strategy,
            Some(BranchFilterStrategy::AllBranches)
        );
        assert_eq!(input.flavor, Some(Some(Flavor::Gitlab)));
        assert_eq!(input.name.as_deref(), Some("second"));
        assert_eq!(form(&[("flavor", "")]).unwrap().flavor, Some(None));
    }

    #[test]
    fn reads_rack_arrays() {
        let input = form(&[
            ("custom_headers[][key]", "X-A"),
            ("custom_headers[][value]", "1"),
            ("custom_headers[][key]", "X-B"),
            ("custom_headers[][value]", "2"),
            ("url_variables[1][value]", "v1"),
            ("url_variables[0][key]", "k0"),
            ("url_variables[1][key]", "k1"),
            ("url_variables[0][value]", "v0"),
        ])
        .unwrap();
        assert_eq!(
            input.custom_headers,
            Some(vec![("X-A".into(), "1".into()), ("X-B".into(), "2".into())])
        );
        assert_eq!(
            input.url_variables,
            Some(vec![("k1".into(), "v1".into()), ("k0".into(), "v0".into())])
        );
    }

    #[test]
    fn an_empty_list_field_removes_all() {
        let input = form(&[("custom_headers", "")]).unwrap();
        assert_eq!(input.custom_headers, Some(vec![]));
    }

    #[test]
    fn a_flag_that_is_not_a_boolean_is_kept_for_the_scope_to_judge() {
        let input = form(&[("push_events", "yes please")]).unwrap();
        assert_eq!(input.malformed_events, [Flag::PushEvents]);
    }

    #[test]
    fn errors_name_the_field() {
        let cases: [(&[(&str, &str)], &str); 4] = [
            (
                &[("branch_filter_strategy", "")],
                "branch_filter_strategy does not have a valid value",
            ),
            (
                &[("custom_headers[][key]", "X-A")],
                "custom_headers is invalid: entry 1 needs a `key` and a `value`",
            ),
            (&[("custom_headers[X-A]", "1")], "custom_headers is invalid"),
            (&[("url_variables", "a=b")], "url_variables is invalid"),
        ];
        for (fields, message) in cases {
            assert_eq!(form(fields).unwrap_err().to_string(), message, "{fields:?}");
        }
    }
}

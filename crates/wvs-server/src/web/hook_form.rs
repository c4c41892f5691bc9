//! The hook form: what the add and edit pages show, and a submitted form turned into the
//! API's form fields, read by the API's own reader ([`HookInput::from_form`]) and checked by
//! the same rules, so the page shows the API's error messages.
//!
//! Secrets are write-only: the secret token, the signing token, custom header values and
//! URL variable values are never put in a page. A blank secret field keeps what is stored;
//! a "remove" box clears it. The URL is shown without credentials; sent back unchanged, it
//! is left as stored.

use wvs_events::{Flavor, Scope};
use wvs_hooks::{BranchFilterStrategy, EventFlags, Flag, HookInput, HookSettings, ValidationError};
use wvs_store::Hook;

use crate::stored_hook::{scope_of, settings_of};

/// One trigger checkbox.
pub struct FlagRow {
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub on: bool,
}

/// The values a hook form shows (never a secret value).
pub struct FormView {
    pub url: String,
    pub name: String,
    pub description: String,
    pub flags: Vec<FlagRow>,
    pub branch_filter: String,
    pub strategy: &'static str,
    pub ssl: bool,
    pub template: String,
    /// `wvs`, `gitlab`, or empty for the instance's default.
    pub flavor: &'static str,
    /// As typed; empty for the default.
    pub max_in_flight: String,
    pub ordered: bool,
    pub secrets: StoredSecrets,
    /// System hooks have no branch filter or template.
    pub system: bool,
}

impl FormView {
    /// A new hook's form: GitLab's defaults for the scope.
    pub fn blank(scope: Scope) -> Self {
        FormView::of_settings(scope, String::new(), &HookSettings::for_scope(scope), None)
    }

    /// A stored hook's form.
    pub fn of_hook(hook: &Hook) -> Self {
        FormView::of_settings(
            scope_of(hook.owner),
            wvs_send::log_url(&hook.url),
            &settings_of(hook),
            Some(hook),
        )
    }

    fn of_settings(
        scope: Scope,
        url: String,
        settings: &HookSettings,
        hook: Option<&Hook>,
    ) -> Self {
        FormView {
            url,
            name: settings.name.clone().unwrap_or_default(),
            description: settings.description.clone().unwrap_or_default(),
            flags: flag_rows(scope, |name| settings.events.get(name).unwrap_or(false)),
            branch_filter: settings
                .push_events_branch_filter
                .clone()
                .unwrap_or_default(),
            strategy: settings.branch_filter_strategy.as_str(),
            ssl: settings.enable_ssl_verification,
            template: settings.custom_webhook_template.clone().unwrap_or_default(),
            flavor: settings.flavor.map_or("", Flavor::as_str),
            max_in_flight: settings.max_in_flight.to_string(),
            ordered: settings.ordered,
            system: scope == Scope::System,
            secrets: StoredSecrets::of(hook),
        }
    }

    /// The form as it was submitted (after an error), secrets left out (the URL without
    /// its credentials).
    pub fn submitted(scope: Scope, fields: &FormFields, hook: Option<&Hook>) -> Self {
        let strategy = BranchFilterStrategy::from_name(fields.text("branch_filter_strategy"))
            .unwrap_or_default();
        FormView {
            url: wvs_send::log_url(fields.text("url")),
            name: fields.text("name").to_owned(),
            description: fields.text("description").to_owned(),
            flags: flag_rows(scope, |name| fields.checked(name)),
            branch_filter: fields.text("push_events_branch_filter").to_owned(),
            strategy: strategy.as_str(),
            ssl: fields.checked("enable_ssl_verification"),
            template: fields.text("custom_webhook_template").to_owned(),
            flavor: Flavor::ALL
                .iter()
                .map(|flavor| flavor.as_str())
                .find(|name| *name == fields.text("flavor"))
                .unwrap_or(""),
            max_in_flight: fields.text("max_in_flight").to_owned(),
            ordered: fields.checked("ordered"),
            system: scope == Scope::System,
            secrets: StoredSecrets::of(hook),
        }
    }
}

/// What a form tells of a hook's secrets: whether they are set, and keys only.
#[derive(Default)]
pub struct StoredSecrets {
    /// Keys of the custom headers and URL variables.
    pub headers: Vec<String>,
    pub variables: Vec<String>,
    pub token_present: bool,
    pub signing_present: bool,
}

impl StoredSecrets {
    fn of(hook: Option<&Hook>) -> Self {
        let Some(hook) = hook else {
            return StoredSecrets::default();
        };
        let keys = |pairs: &[(String, String)]| pairs.iter().map(|(key, _)| key.clone()).collect();
        StoredSecrets {
            headers: keys(&hook.secrets.custom_headers),
            variables: keys(&hook.secrets.url_variables),
            token_present: hook.secrets.token.is_some(),
            signing_present: !hook.secrets.signing_tokens.is_empty(),
        }
    }
}

fn flag_rows(scope: Scope, on: impl Fn(&str) -> bool) -> Vec<FlagRow> {
    Flag::ALL
        .iter()
        .filter(|flag| flag.in_scope(scope))
        .map(|flag| {
            let (label, description) = describe(*flag);
            FlagRow {
                name: flag.name(),
                label,
                description,
                on: on(flag.name()),
            }
        })
        .collect()
}

/// A trigger's label and what fires it (the webhook documentation's table).
pub fn describe(flag: Flag) -> (&'static str, &'static str) {
    match flag {
        Flag::PushEvents => ("Push events", "A push is made to the repository."),
        Flag::TagPushEvents => (
            "Tag push events",
            "Tags are created or deleted in the repository.",
        ),
        Flag::MergeRequestsEvents => (
            "Merge request events",
            "A merge request is created, updated, merged, or closed, or a commit is added in the source branch.",
        ),
        Flag::IssuesEvents => (
            "Issues events",
            "An issue is created, updated, closed, or reopened.",
        ),
        Flag::ConfidentialIssuesEvents => (
            "Confidential issues events",
            "A confidential issue is created, updated, closed, or reopened.",
        ),
        Flag::NoteEvents => (
            "Comments",
            "A comment is made on a commit, merge request, issue, or code snippet.",
        ),
        Flag::ConfidentialNoteEvents => (
            "Confidential comments",
            "A comment is made on a confidential issue.",
        ),
        Flag::JobEvents => ("Job events", "A job's status changes."),
        Flag::PipelineEvents => ("Pipeline events", "A pipeline's status changes."),
        Flag::WikiPageEvents => (
            "Wiki page events",
            "A wiki page is created, updated, or deleted.",
        ),
        Flag::DeploymentEvents => (
            "Deployment events",
            "A deployment starts, succeeds, fails, or is canceled.",
        ),
        Flag::FeatureFlagEvents => ("Feature flag events", "A feature flag is turned on or off."),
        Flag::ReleasesEvents => ("Releases events", "A release is created or updated."),
        Flag::EmojiEvents => ("Emoji events", "An emoji reaction is added or removed."),
        Flag::MilestoneEvents => (
            "Milestone events",
            "A milestone is created, closed, reopened, or deleted.",
        ),
        Flag::ResourceAccessTokenEvents => (
            "Project or group access token events",
            "A project or group access token will expire in seven days.",
        ),
        Flag::VulnerabilityEvents => (
            "Vulnerability events",
            "A vulnerability is created or updated.",
        ),
        Flag::ProjectEvents => (
            "Project events",
            "A project is created or deleted in a group.",
        ),
        Flag::MemberEvents => (
            "Member events",
            "A user is added to or removed from a group, or their access level or access expiration date changes.",
        ),
        Flag::SubgroupEvents => (
            "Subgroup events",
            "A subgroup is created or removed from a group.",
        ),
        Flag::RepositoryUpdateEvents => (
            "Repository update events",
            "A repository is updated: once per push, with every ref it changed.",
        ),
    }
}

/// The labels of the triggers a hook listens to.
pub fn trigger_labels(scope: Scope, events: &EventFlags) -> Vec<&'static str> {
    Flag::ALL
        .iter()
        .filter(|flag| flag.in_scope(scope) && events.is_on(**flag))
        .map(|flag| describe(*flag).0)
        .collect()
}

/// A submitted form's fields, in order.
pub struct FormFields(pub Vec<(String, String)>);

impl FormFields {
    /// The last value of field `name`, or "".
    pub fn text(&self, name: &str) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Whether checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key == name)
    }

    /// The API fields this form stands for, read as the API reads a form. `hook` is the
    /// hook being edited (its stored secrets fill what the form leaves blank).
    pub fn to_input(
        &self,
        scope: Scope,
        hook: Option<&Hook>,
    ) -> Result<HookInput, ValidationError> {
        let mut api: Vec<(String, String)> = Vec::new();
        let mut put = |name: &str, value: &str| api.push((name.to_owned(), value.to_owned()));
        let url = self.text("url").trim();
        if hook.is_none_or(|hook| url != wvs_send::log_url(&hook.url)) {
            put("url", url);
        }
        put("name", self.text("name"));
        put("description", self.text("description"));
        if scope != Scope::System {
            put(
                "push_events_branch_filter",
                self.text("push_events_branch_filter"),
            );
            let strategy = self.text("branch_filter_strategy");
            if !strategy.is_empty() {
                put("branch_filter_strategy", strategy);
            }
            put(
                "custom_webhook_template",
                self.text("custom_webhook_template"),
            );
        }
        let on = |name: &str| if self.checked(name) { "true" } else { "false" };
        put("enable_ssl_verification", on("enable_ssl_verification"));
        put("flavor", self.text("flavor"));
        put("ordered", on("ordered"));
        let max_in_flight = self.text("max_in_flight").trim();
        if !max_in_flight.is_empty() {
            put("max_in_flight", max_in_flight);
        }
        for name in EventFlags::names(scope) {
            put(name, on(name));
        }
        let token = self.text("token");
        if self.checked("remove_token") {
            put("token", "");
        } else if !token.is_empty() {
            put("token", token);
        }
        let signing = self.text("signing_token");
        if self.checked("generate_signing_token") {
            put("generate_signing_token", "true");
        } else if self.checked("remove_signing_token") {
            put("signing_token", "");
        } else if !signing.is_empty() {
            put("signing_token", signing);
        }
        let stored = |pick: fn(&Hook) -> &Vec<(String, String)>| {
            hook.map_or_else(Vec::new, |hook| pick(hook).clone())
        };
        self.keyed(
            &mut api,
            "custom_headers",
            "header",
            stored(|h| &h.secrets.custom_headers),
        );
        self.keyed(
            &mut api,
            "url_variables",
            "variable",
            stored(|h| &h.secrets.url_variables),
        );
        HookInput::from_form(&api)
    }

    /// A custom header or URL variable list: stored entries with new values or removed, and
    /// one new entry. Sent only when something changed, in the API's list notation.
    fn keyed(
        &self,
        api: &mut Vec<(String, String)>,
        field: &str,
        prefix: &str,
        stored: Vec<(String, String)>,
    ) {
        let mut changed = false;
        let mut list = Vec::new();
        for (key, value) in stored {
            if self.checked(&format!("{prefix}_remove:{key}")) {
                changed = true;
                continue;
            }
            match self.text(&format!("{prefix}_value:{key}")) {
                "" => list.push((key, value)),
                new => {
                    changed = true;
                    list.push((key, new.to_owned()));
                }
            }
        }
        let new_key = self.text(&format!("new_{prefix}_key")).trim();
        let new_value = self.text(&format!("new_{prefix}_value"));
        if !new_key.is_empty() || !new_value.is_empty() {
            changed = true;
            list.push((new_key.to_owned(), new_value.to_owned()));
        }
        if !changed {
            return;
        }
        if list.is_empty() {
            api.push((field.to_owned(), String::new()));
        }
        for (key, value) in list {
            api.push((format!("{field}[][key]"), key));
            api.push((format!("{field}[][value]"), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wvs_store::{DeliveryLimits, HookHealth, HookOwner, HookSecrets};
    use wvs_store::{HookId, Millis, ProjectId};

    fn fields(pairs: &[(&str, &str)]) -> FormFields {
        FormFields(
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        )
    }

    fn stored() -> Hook {
        Hook {
            id: HookId(1),
            uuid: "u".into(),
            owner: HookOwner::Project(ProjectId(15)),
            url: "https://user:pw@example.com/{path}".into(),
            secrets: HookSecrets {
                token: Some("tok".into()),
                custom_headers: vec![("X-A".into(), "a".into()), ("X-B".into(), "b".into())],
                url_variables: vec![("path".into(), "hook".into())],
                ..HookSecrets::default()
            },
            settings: serde_json::to_value(HookSettings::for_scope(Scope::Project)).unwrap(),
            limits: DeliveryLimits::default(),
            health: HookHealth::default(),
            created_at: Millis(0),
        }
    }

    #[test]
    fn blank_secret_fields_and_the_shown_url_keep_what_is_stored() {
        let hook = stored();
        let form = fields(&[
            ("url", "https://example.com/{path}"),
            ("push_events", "on"),
            ("enable_ssl_verification", "on"),
            ("token", ""),
            ("header_value:X-A", ""),
        ]);
        let input = form.to_input(Scope::Project, Some(&hook)).unwrap();
        assert_eq!(input.url, None, "the masked URL sent back changes nothing");
        assert_eq!(input.token, None);
        assert_eq!(input.custom_headers, None);
        assert_eq!(input.url_variables, None);
        assert_eq!(input.enable_ssl_verification, Some(true));
        assert!(input.events.contains(&(Flag::PushEvents, true)));
        assert!(input.events.contains(&(Flag::IssuesEvents, false)));
    }

    #[test]
    fn header_edits_keep_the_other_stored_values() {
        let hook = stored();
        let form = fields(&[
            ("url", "https://example.com/{path}"),
            ("header_value:X-A", "new-a"),
            ("header_remove:X-B", "on"),
            ("new_header_key", "X-C"),
            ("new_header_value", "c"),
            ("variable_remove:path", "on"),
            ("remove_token", "on"),
        ]);
        let input = form.to_input(Scope::Project, Some(&hook)).unwrap();
        assert_eq!(
            input.custom_headers,
            Some(vec![
                ("X-A".into(), "new-a".into()),
                ("X-C".into(), "c".into())
            ])
        );
        assert_eq!(input.url_variables, Some(vec![]));
        assert_eq!(input.token.as_deref(), Some(""));
    }

    #[test]
    fn a_new_hook_takes_the_typed_url_and_refuses_as_the_api_does() {
        let form = fields(&[("url", " https://example.com/h "), ("token", "t")]);
        let input = form.to_input(Scope::Project, None).unwrap();
        assert_eq!(input.url.as_deref(), Some("https://example.com/h"));
        assert_eq!(input.token.as_deref(), Some("t"));
        let form = fields(&[
            ("url", "https://example.com/"),
            ("branch_filter_strategy", "glob"),
        ]);
        let error = form.to_input(Scope::Project, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "branch_filter_strategy does not have a valid value"
        );
    }

    #[test]
    fn a_refused_form_shows_no_credentials() {
        let form = fields(&[("url", "https://user:pw@example.com/"), ("token", "secret")]);
        let view = FormView::submitted(Scope::Project, &form, None);
        assert_eq!(view.url, "https://example.com/");
        assert!(!view.secrets.token_present);
    }

    #[test]
    fn system_hooks_have_their_own_triggers_only() {
        let view = FormView::blank(Scope::System);
        let names: Vec<_> = view.flags.iter().map(|flag| flag.name).collect();
        assert_eq!(names, EventFlags::names(Scope::System));
        assert!(view.system);
    }
}

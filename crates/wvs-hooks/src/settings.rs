//! [`HookSettings`]: everything about a hook that is neither its URL nor a secret. The store
//! keeps it as an opaque JSON blob, so every field has a default: a blob written by an older
//! WVS (or missing a field added later) still reads.

use serde::{Deserialize, Serialize};
use wvs_events::{Flavor, Scope};

use crate::EventFlags;

/// How `push_events_branch_filter` selects branches (GitLab's `branch_filter_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchFilterStrategy {
    /// A branch name, or a pattern where `*` matches any characters.
    #[default]
    Wildcard,
    /// A regular expression, matched anywhere in the branch name.
    Regex,
    /// Every branch; the filter is ignored (and cleared on save).
    AllBranches,
}

impl BranchFilterStrategy {
    /// `wildcard`, `regex` or `all_branches`.
    pub fn as_str(self) -> &'static str {
        match self {
            BranchFilterStrategy::Wildcard => "wildcard",
            BranchFilterStrategy::Regex => "regex",
            BranchFilterStrategy::AllBranches => "all_branches",
        }
    }

    /// The strategy called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Wildcard, Self::Regex, Self::AllBranches]
            .into_iter()
            .find(|strategy| strategy.as_str() == name)
    }
}

/// A hook's settings (name, flags, filters, template, flavor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HookSettings {
    pub name: Option<String>,
    pub description: Option<String>,
    pub events: EventFlags,
    pub push_events_branch_filter: Option<String>,
    pub branch_filter_strategy: BranchFilterStrategy,
    pub enable_ssl_verification: bool,
    pub custom_webhook_template: Option<String>,
    /// The header family of deliveries; `None` follows the instance default.
    #[serde(with = "optional_flavor")]
    pub flavor: Option<Flavor>,
    /// Deliveries in flight at once. Kept by the store in its own column (the claim
    /// enforces it), so not part of the stored blob.
    #[serde(skip)]
    pub max_in_flight: u32,
    /// One delivery at a time, in event order; stored like `max_in_flight`.
    #[serde(skip)]
    pub ordered: bool,
}

impl HookSettings {
    /// A receiver behind a load balancer can take hundreds of requests at once; with one busy
    /// hook, its slots (held from claim to record) bound the whole node's delivery rate.
    pub const MAX_IN_FLIGHT: u32 = 1000;
    /// No cap of the hook's own: the dispatcher's adaptive limit (under its ceiling) decides.
    pub const DEFAULT_MAX_IN_FLIGHT: u32 = Self::MAX_IN_FLIGHT;
}

impl Default for HookSettings {
    /// No flags on, TLS verified: what a stored blob with missing fields means.
    fn default() -> Self {
        HookSettings {
            name: None,
            description: None,
            events: EventFlags::default(),
            push_events_branch_filter: None,
            branch_filter_strategy: BranchFilterStrategy::default(),
            enable_ssl_verification: true,
            custom_webhook_template: None,
            flavor: None,
            max_in_flight: Self::DEFAULT_MAX_IN_FLIGHT,
            ordered: false,
        }
    }
}

impl HookSettings {
    /// The settings of a new hook of `scope` before the request applies: GitLab's default
    /// flags, TLS verified.
    pub fn for_scope(scope: Scope) -> Self {
        HookSettings {
            events: EventFlags::defaults(scope),
            ..HookSettings::default()
        }
    }
}

/// `Flavor` has `FromStr` and `Display` but no serde: store it as its name, or `null`.
mod optional_flavor {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};
    use wvs_events::Flavor;

    pub fn serialize<S: Serializer>(flavor: &Option<Flavor>, s: S) -> Result<S::Ok, S::Error> {
        match flavor {
            Some(flavor) => s.serialize_str(flavor.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Flavor>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|name| name.parse().map_err(D::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_json() {
        let mut settings = HookSettings::for_scope(Scope::Group);
        settings.name = Some("ci".into());
        settings.branch_filter_strategy = BranchFilterStrategy::AllBranches;
        settings.flavor = Some(Flavor::Gitlab);
        let value = serde_json::to_value(&settings).unwrap();
        assert_eq!(value["branch_filter_strategy"], "all_branches");
        assert_eq!(value["flavor"], "gitlab");
        assert_eq!(value["events"]["push_events"], true);
        let back: HookSettings = serde_json::from_value(value).unwrap();
        assert_eq!(back, settings);
    }

    #[test]
    fn missing_fields_take_defaults() {
        let settings: HookSettings = serde_json::from_value(json!({"name": "x"})).unwrap();
        assert_eq!(settings.name.as_deref(), Some("x"));
        assert!(settings.enable_ssl_verification);
        assert_eq!(settings.flavor, None);
        assert_eq!(
            settings.branch_filter_strategy,
            BranchFilterStrategy::Wildcard
        );
        let settings: HookSettings = serde_json::from_value(json!({"flavor": null})).unwrap();
        assert_eq!(settings.flavor, None);
    }

    #[test]
    fn an_unknown_flavor_is_an_error() {
        let err = serde_json::from_value::<HookSettings>(json!({"flavor": "github"})).unwrap_err();
        assert!(err.to_string().contains("unknown flavor"), "{err}");
    }

    #[test]
    fn strategies_by_name() {
        for name in ["wildcard", "regex", "all_branches"] {
            assert_eq!(
                BranchFilterStrategy::from_name(name).unwrap().as_str(),
                name
            );
        }
        assert_eq!(BranchFilterStrategy::from_name("glob"), None);
    }
}

//! Access levels: GitLab's numbers and the role names the payloads carry.

/// A member's access level (GitLab's numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessLevel {
    Guest = 10,
    Reporter = 20,
    Developer = 30,
    Maintainer = 40,
    Owner = 50,
}

/// An access level number that is none of the documented ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "access_level does not have a valid value ({0}): 10 (Guest), 20 (Reporter), 30 (Developer), 40 (Maintainer) or 50 (Owner)"
)]
pub struct UnknownAccessLevel(pub i64);

impl AccessLevel {
    /// The role name payloads carry (`project_access`, `group_access`).
    pub fn name(self) -> &'static str {
        match self {
            AccessLevel::Guest => "Guest",
            AccessLevel::Reporter => "Reporter",
            AccessLevel::Developer => "Developer",
            AccessLevel::Maintainer => "Maintainer",
            AccessLevel::Owner => "Owner",
        }
    }
}

impl TryFrom<i64> for AccessLevel {
    type Error = UnknownAccessLevel;

    fn try_from(level: i64) -> Result<Self, Self::Error> {
        Ok(match level {
            10 => AccessLevel::Guest,
            20 => AccessLevel::Reporter,
            30 => AccessLevel::Developer,
            40 => AccessLevel::Maintainer,
            50 => AccessLevel::Owner,
            other => return Err(UnknownAccessLevel(other)),
        })
    }
}

impl From<AccessLevel> for i64 {
    fn from(level: AccessLevel) -> i64 {
        level as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_levels_round_trip_and_others_are_refused() {
        for (number, name) in [
            (10, "Guest"),
            (20, "Reporter"),
            (30, "Developer"),
            (40, "Maintainer"),
            (50, "Owner"),
        ] {
            let level = AccessLevel::try_from(number).unwrap();
            assert_eq!((i64::from(level), level.name()), (number, name));
        }
        let error = AccessLevel::try_from(35).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("access_level does not have a valid value (35)")
        );
    }
}

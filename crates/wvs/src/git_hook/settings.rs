//! The hook's settings: flags, then `WVS_*` environment variables (both read by clap), then
//! the repository's `git config` (`wvs.url`, `wvs.project`, `wvs.token`, `wvs.user`; Git also
//! reads the global and system files), so that one hook script serves many repositories.

use std::time::Duration;

use super::git::{GitError, Repo};

/// Connection settings, as given on the command line or in the environment. Not `Debug`:
/// it holds the token.
#[derive(clap::Args)]
pub struct Flags {
    /// WVS's base URL, e.g. `http://127.0.0.1:8080` (else git config `wvs.url`)
    #[arg(long, env = "WVS_URL")]
    url: Option<String>,
    /// The project: its id or its path, `group/project` (else git config `wvs.project`)
    #[arg(long, env = "WVS_PROJECT")]
    project: Option<String>,
    /// An API token that may ingest for the project, and create it if it should be created
    /// (else git config `wvs.token`)
    #[arg(long, env = "WVS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The pusher's username (else git config `wvs.user`, else `GL_USERNAME`, else `USER`)
    #[arg(long, env = "WVS_USER")]
    user: Option<String>,
    /// How long one request to WVS may take before the push is spooled instead
    #[arg(long, env = "WVS_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Where to send, resolved.
pub struct Settings {
    pub url: Option<String>,
    pub project: Option<String>,
    pub token: Option<String>,
    pub timeout: Duration,
}

impl Flags {
    /// The settings for this repository.
    pub fn resolve(&self, repo: &Repo) -> Result<Settings, GitError> {
        let pick = |given: &Option<String>, key: &str| -> Result<Option<String>, GitError> {
            match given {
                Some(value) => Ok(Some(value.clone())),
                None => repo.config(key),
            }
        };
        Ok(Settings {
            url: pick(&self.url, "wvs.url")?,
            project: pick(&self.project, "wvs.project")?,
            token: pick(&self.token, "wvs.token")?,
            timeout: self.timeout,
        })
    }

    /// Who pushed: the setting, else what the Git server tells its hooks (`GL_USERNAME` on
    /// GitLab-like servers), else the account the hook runs as.
    pub fn pusher(&self, repo: &Repo) -> Result<String, GitError> {
        if let Some(user) = &self.user {
            return Ok(user.clone());
        }
        if let Some(user) = repo.config("wvs.user")? {
            return Ok(user);
        }
        Ok(["GL_USERNAME", "USER"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "git".to_owned()))
    }
}

//! The `project` block and the deprecated `repository` block of payloads (built pushes,
//! normalized posted events), from the registry's project. Attributes the registry holds win; the URLs it lacks are computed
//! from the instance URL and the project's path, as GitLab forms them:
//! `web_url` = `<instance>/<path_with_namespace>`, `git_http_url` = `<web_url>.git`,
//! `git_ssh_url` = `git@<instance host>:<path_with_namespace>.git`, `homepage` = `web_url`.

use wvs_events::Opt;
use wvs_events::model::common::{Project, Repository};

/// Both blocks of one project, built once per push.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocks {
    pub project_id: i64,
    pub project: Project,
    pub repository: Repository,
    /// The project's web URL (commit URLs are derived from it).
    pub web_url: String,
    /// In some documented `project` blocks only (not in pushes').
    pub ci_config_path: Option<String>,
}

/// The blocks of `project` under `groups` (its ancestry, nearest first): the `namespace` of
/// a payload is the namespace's name, the nearest group's or the user namespace's path.
pub fn of(project: &wvs_store::Project, groups: &[wvs_store::Group], instance_url: &str) -> Blocks {
    let namespace = groups
        .first()
        .map_or(project.namespace_path.as_str(), |group| group.name.as_str());
    blocks(project, namespace, instance_url)
}

/// The blocks of `project`, whose namespace is called `namespace_name` (a group's name, or
/// the user namespace's path), on the instance at `instance_url`.
pub fn blocks(project: &wvs_store::Project, namespace_name: &str, instance_url: &str) -> Blocks {
    let a = &project.attributes;
    let full_path = &project.path_with_namespace;
    let instance = instance_url.trim_end_matches('/');
    let web_url = a
        .web_url
        .clone()
        .unwrap_or_else(|| format!("{instance}/{full_path}"));
    let git_http_url = a
        .git_http_url
        .clone()
        .unwrap_or_else(|| format!("{web_url}.git"));
    let git_ssh_url = a
        .git_ssh_url
        .clone()
        .unwrap_or_else(|| format!("git@{}:{full_path}.git", host(instance)));
    let homepage = a.homepage.clone().unwrap_or_else(|| web_url.clone());
    let description = Opt::from(a.description.clone());
    // GitLab's projects are private (0) unless made internal or public.
    let visibility_level = Opt::Value(a.visibility_level.unwrap_or(0));
    let project_block = Project {
        id: Opt::Value(project.id.0),
        name: project.name.clone(),
        description: description.clone(),
        web_url: web_url.clone(),
        avatar_url: Opt::from(a.avatar_url.clone()),
        git_ssh_url: Opt::Value(git_ssh_url.clone()),
        git_http_url: Opt::Value(git_http_url.clone()),
        namespace: Opt::Value(namespace_name.to_owned()),
        visibility_level: visibility_level.clone(),
        path_with_namespace: full_path.clone(),
        default_branch: Opt::from(a.default_branch.clone()),
        // Not in the documented push payloads.
        ci_config_path: Opt::Absent,
        homepage: Opt::Value(homepage.clone()),
        url: Opt::Value(git_ssh_url.clone()),
        ssh_url: Opt::Value(git_ssh_url.clone()),
        http_url: Opt::Value(git_http_url.clone()),
        extra: Default::default(),
    };
    let repository = Repository {
        name: project.name.clone(),
        url: Opt::Value(git_ssh_url.clone()),
        description,
        homepage: Opt::Value(homepage),
        git_http_url: Opt::Value(git_http_url),
        git_ssh_url: Opt::Value(git_ssh_url),
        visibility_level,
        extra: Default::default(),
    };
    Blocks {
        project_id: project.id.0,
        project: project_block,
        repository,
        web_url,
        ci_config_path: a.ci_config_path.clone(),
    }
}

/// The host of the instance URL (SSH clone URLs name the host only).
fn host(instance: &str) -> String {
    url::Url::parse(instance)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| instance.to_owned())
}

/// The documented examples' project (`mike/diaspora`, id 15), for tests of payloads.
#[cfg(test)]
pub(crate) mod testing {
    use wvs_store::{Millis, ProjectAttributes, ProjectId};

    use super::{Blocks, blocks};

    pub fn project(attributes: ProjectAttributes) -> wvs_store::Project {
        wvs_store::Project {
            id: ProjectId(15),
            name: "Diaspora".into(),
            path: "diaspora".into(),
            namespace_id: None,
            namespace_path: "mike".into(),
            path_with_namespace: "mike/diaspora".into(),
            attributes,
            created_at: Millis(0),
            updated_at: Millis(0),
        }
    }

    /// The keys of a JSON object, in order.
    pub fn keys(value: &serde_json::Value) -> Vec<&str> {
        value
            .as_object()
            .expect("a JSON object")
            .keys()
            .map(String::as_str)
            .collect()
    }

    /// Its blocks, in a namespace called `Mike`, on `http://example.com`.
    pub fn diaspora(attributes: ProjectAttributes) -> Blocks {
        blocks(&project(attributes), "Mike", "http://example.com")
    }
}

#[cfg(test)]
mod tests {
    use wvs_store::ProjectAttributes;

    use super::testing::project;
    use super::*;

    #[test]
    fn urls_the_registry_lacks_come_from_the_instance_url() {
        let blocks = blocks(
            &project(ProjectAttributes::default()),
            "Mike",
            "http://example.com/",
        );
        let p = &blocks.project;
        assert_eq!(p.web_url, "http://example.com/mike/diaspora");
        assert_eq!(
            p.git_http_url.as_deref(),
            Some("http://example.com/mike/diaspora.git")
        );
        assert_eq!(
            p.git_ssh_url.as_deref(),
            Some("git@example.com:mike/diaspora.git")
        );
        assert_eq!(
            p.homepage.as_deref(),
            Some("http://example.com/mike/diaspora")
        );
        assert_eq!(p.namespace.as_deref(), Some("Mike"));
        assert_eq!(p.visibility_level, Opt::Value(0));
        assert_eq!(p.description, Opt::Null);
        assert_eq!(blocks.repository.url, p.git_ssh_url);
    }

    #[test]
    fn registry_attributes_win() {
        let attributes = ProjectAttributes {
            web_url: Some("https://git.example.org/m/d".into()),
            git_ssh_url: Some("ssh://git@git.example.org:2222/m/d.git".into()),
            visibility_level: Some(20),
            default_branch: Some("main".into()),
            ..ProjectAttributes::default()
        };
        let blocks = blocks(&project(attributes), "Mike", "http://ignored");
        let p = &blocks.project;
        assert_eq!(p.web_url, "https://git.example.org/m/d");
        assert_eq!(
            p.git_http_url.as_deref(),
            Some("https://git.example.org/m/d.git")
        );
        assert_eq!(
            p.ssh_url.as_deref(),
            Some("ssh://git@git.example.org:2222/m/d.git")
        );
        assert_eq!(p.visibility_level, Opt::Value(20));
        assert_eq!(p.default_branch.as_deref(), Some("main"));
    }
}

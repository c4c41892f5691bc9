//! Every operation of `GET /api/v4/openapi.json` is called against a live server, with a
//! request body that validates against the document's request schema, and every answer's
//! body is validated against the document's schema for its status. The schemas are made
//! strict here (an object schema with named properties admits no others), so an answer
//! with a field the types do not declare fails as surely as one missing a field.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Value, json};
use wvs_events::samples;
use wvs_server::api::schema::{
    GroupParams, HookParams, KeyParams, MemberParams, NoParams, ProjectParams, RecoverParams,
    TokenParams, UserParams, ValueParam,
};

use crate::support::{ADMIN_TOKEN, Receiver, Server, retarget};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_its_schema_says() {
    let server = Server::start(&[]);
    let receiver = Receiver::start().await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let document: Value = client
        .get(format!("{}/api/v4/openapi.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let components = strict(document["components"].clone());
    // The project the API creates goes into this group.
    let home = server
        .create_group(&GroupParams {
            name: Some("Home".to_owned()),
            path: Some("home".to_owned()),
            ..GroupParams::default()
        })
        .await
        .id;
    let member = server
        .create_user(&UserParams {
            username: Some("member".to_owned()),
            name: Some("A Member".to_owned()),
            email: Some("member@example.com".to_owned()),
            ..UserParams::default()
        })
        .await
        .id;
    let calls = Calls {
        receiver: receiver.url.clone(),
        home,
        member,
    };

    // Creations and reads in the document's order (a collection's POST comes before its
    // items' routes), then deletions, deepest first.
    let mut operations: Vec<(String, String)> = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase(), path.clone()));
        }
    }
    operations.sort_by_key(|(method, path)| match method.as_str() {
        "DELETE" => (1, usize::MAX - path.matches('/').count()),
        _ => (0, 0),
    });

    // Ids the answers gave, by the collection they belong to (`/api/v4/projects`).
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut validated = 0;
    for (method, template) in &operations {
        let operation = &document["paths"][template][method.to_lowercase()];
        let path = concrete(template, &ids);
        let body = calls.body(method, template, &path);
        if let Some(body) = &body {
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            assert!(schema.is_object(), "{method} {template}: no request schema");
            validate(
                &components,
                schema,
                body,
                &format!("{method} {template} request"),
            );
        }
        // WVS lists users by username only, as GitLab does for non-admins.
        let query = match (method.as_str(), template.as_str()) {
            ("GET", "/api/v4/users") => "?username=member",
            _ => "",
        };
        let url = format!("{}{path}{query}", server.url);
        let (mut status, mut content_type, mut text) = send(&client, method, &url, &body).await;
        // A delivery log lists a test's attempt a moment after the test answered.
        for _ in 0..50 {
            if !(template.ends_with("/events") && text == "[]") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            (status, content_type, text) = send(&client, method, &url, &body).await;
        }
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {text}"
        );
        let answer = &operation["responses"][status.to_string()];
        assert!(
            answer.is_object(),
            "{method} {template}: {status} is not documented"
        );
        if text.is_empty() {
            assert!(
                answer.get("content").is_none(),
                "{method} {template}: {status} documents a body but sent none"
            );
            continue;
        }
        let media = content_type.split(';').next().unwrap_or_default();
        let schema = &answer["content"][media]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template}: no schema for a {status} {media} answer"
        );
        let value = match media {
            "application/json" => serde_json::from_str(&text).unwrap(),
            _ => Value::String(text),
        };
        validate(
            &components,
            schema,
            &value,
            &format!("{method} {path} answer"),
        );
        validated += 1;
        remember(&mut ids, method, template, &value);
    }
    assert!(validated >= 60, "{validated} answers validated");
    // The check bites: a field no type declares, or one missing, fails.
    let error = json!({"$ref": "#/components/schemas/Message"});
    assert!(!errors(&components, &error, &json!({"message": "m", "extra": 1})).is_empty());
    assert!(!errors(&components, &error, &json!({})).is_empty());
}

/// Sends a request as the admin; the answer's status, content type and body.
async fn send(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    body: &Option<Value>,
) -> (u16, String, String) {
    let mut request = client
        .request(method.parse().unwrap(), url)
        .header("PRIVATE-TOKEN", ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// What the requests send, from the types the API declares.
struct Calls {
    receiver: String,
    home: i64,
    member: i64,
}

impl Calls {
    /// The body of `method` on `template` (`path` once its parameters are filled in).
    fn body(&self, method: &str, template: &str, path: &str) -> Option<Value> {
        let last = template.rsplit('/').next().unwrap_or_default();
        let body = match (method, last) {
            ("POST", "projects") => to_value(ProjectParams {
                name: Some("Typed".to_owned()),
                path: Some("typed".to_owned()),
                namespace_id: Some(self.home),
                ..ProjectParams::default()
            }),
            ("POST", "groups") => to_value(GroupParams {
                name: Some("Typed".to_owned()),
                path: Some("typed".to_owned()),
                ..GroupParams::default()
            }),
            ("PUT", "{id}") if template.contains("/users/") => to_value(UserParams {
                name: Some("Renamed".to_owned()),
                ..UserParams::default()
            }),
            ("PUT", "{id}") if template.contains("/groups/") => to_value(GroupParams {
                description: Some("described".to_owned()),
                ..GroupParams::default()
            }),
            ("PUT", "{id}") => to_value(ProjectParams {
                description: Some("described".to_owned()),
                ..ProjectParams::default()
            }),
            ("POST", "users") => to_value(UserParams {
                username: Some("typed".to_owned()),
                name: Some("Typed User".to_owned()),
                email: Some("typed@example.com".to_owned()),
                ..UserParams::default()
            }),
            ("POST", "keys") => to_value(KeyParams {
                title: "laptop".to_owned(),
                key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl js@host".to_owned(),
            }),
            ("POST", "access_tokens") => to_value(TokenParams {
                name: "typed".to_owned(),
                scopes: Some(vec!["api".to_owned()]),
                expires_at: None,
            }),
            ("POST", "members") => to_value(MemberParams {
                user_id: Some(self.member),
                access_level: Some(30),
                ..MemberParams::default()
            }),
            ("PUT", "{user_id}") => to_value(MemberParams {
                access_level: Some(40),
                ..MemberParams::default()
            }),
            ("POST", "hooks") => to_value(HookParams {
                url: Some(self.receiver.clone()),
                events: if template == "/api/v4/hooks" {
                    [("repository_update_events", true)].into()
                } else {
                    [("push_events", true)].into()
                },
                ..HookParams::default()
            }),
            ("PUT", "{hook_id}") => to_value(HookParams {
                name: Some("renamed".to_owned()),
                ..HookParams::default()
            }),
            ("PUT", "{key}") => to_value(ValueParam {
                value: "typed".to_owned(),
            }),
            ("POST", "recover") => to_value(RecoverParams::default()),
            ("POST", "events") => {
                let sample = if template.contains("/system/") {
                    "project_create"
                } else if template.contains("/groups/") {
                    "user_add_to_group"
                } else {
                    "push"
                };
                let body = retarget(path, samples::find(sample).unwrap().json.as_bytes());
                serde_json::from_slice(&body).unwrap()
            }
            ("POST", "push") => json!({
                "user": {"id": 4, "name": "John Smith", "username": "jsmith", "email": "john@example.com"},
                "changes": [{"ref": "refs/heads/main", "before": "0".repeat(40), "after": "1".repeat(40)}],
            }),
            ("POST", _) => to_value(NoParams::default()),
            _ => return None,
        };
        Some(body)
    }
}

fn to_value(body: impl Serialize) -> Value {
    serde_json::to_value(body).unwrap()
}

/// `template` with its parameters filled in: an id the answers gave for the collection the
/// parameter indexes, or a fixed sample.
fn concrete(template: &str, ids: &HashMap<String, i64>) -> String {
    let mut path = String::new();
    for segment in template.split('/').skip(1) {
        let value = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            None => segment.to_owned(),
            Some("trigger") if path.starts_with("/api/v4/hooks") => {
                "repository_update_events".to_owned()
            }
            Some("trigger") => "push_events".to_owned(),
            Some("key") if path.ends_with("/url_variables") => "dest".to_owned(),
            Some("key") => "X-Typed".to_owned(),
            Some(name) => {
                let collection = collection_of(&path);
                let id = ids.get(&collection);
                id.unwrap_or_else(|| panic!("{template}: no {name} from {collection} yet"))
                    .to_string()
            }
        };
        path.push('/');
        path.push_str(&value);
    }
    path
}

/// The collection a path's ids belong to, its numbers written as `{}`: `/api/v4/projects`,
/// `/api/v4/projects/{}/hooks`.
fn collection_of(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.parse::<i64>() {
            Ok(_) => "{}",
            Err(_) => segment,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Keeps the id an answer gives for its collection: a created item's, or else a listed one's.
fn remember(ids: &mut HashMap<String, i64>, method: &str, template: &str, answer: &Value) {
    let collection = collection_of(&concrete_shape(template));
    let id = |item: Option<&Value>| item.and_then(|item| item["id"].as_i64());
    match (method, answer) {
        ("POST", Value::Object(_)) if !template.ends_with('}') => {
            if let Some(id) = id(Some(answer)) {
                ids.insert(collection, id);
            }
        }
        ("GET", Value::Array(items)) => {
            if let Some(id) = id(items.first()) {
                ids.entry(collection).or_insert(id);
            }
        }
        _ => {}
    }
}

/// A template with its parameters written as numbers, for [`collection_of`].
fn concrete_shape(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "0"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every object schema that names its properties admits no others.
fn strict(mut schema: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(object) => {
                if object.contains_key("properties") && !object.contains_key("additionalProperties")
                {
                    object.insert("additionalProperties".to_owned(), Value::Bool(false));
                }
                object.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}

/// Validates `value` against `schema`, whose references point into the document's
/// `components`.
fn validate(components: &Value, schema: &Value, value: &Value, what: &str) {
    let errors = errors(components, schema, value);
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{value}");
}

/// Where `value` breaks `schema`.
fn errors(components: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut root = strict(schema.clone());
    root["components"] = components.clone();
    let validator = jsonschema::draft202012::new(&root)
        .unwrap_or_else(|error| panic!("{schema}: the schema does not compile: {error}"));
    validator
        .iter_errors(value)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

//! A router that documents itself: each API operation is declared once, with its method,
//! path and summary, and both the axum routes and the OpenAPI document
//! ([`super::openapi`]) are built from those declarations, so the two cannot drift. Each
//! declaration names its request and response body types (`takes`, `answers`), whose JSON
//! Schemas the document carries.

use std::collections::BTreeMap;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::state::AppState;

/// One documented operation.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    /// The full path, with `{name}` parameters as axum and OpenAPI both write them.
    pub path: String,
    pub summary: &'static str,
    /// The group it is listed under (`hooks`, `registry`, ...).
    pub tag: &'static str,
    /// Needs a token (`PRIVATE-TOKEN` or `Authorization: Bearer`).
    pub authenticated: bool,
    /// The request body's schema, for operations that read one.
    pub request: Option<SchemaOf>,
    /// The answers on success, by status.
    pub responses: Vec<(u16, Body)>,
}

/// What a successful answer carries.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    Empty,
    Json(SchemaOf),
    /// Plain text (the Prometheus metrics).
    Text,
}

/// Makes a type's schema (a reference into the document's components, for a named type).
pub type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// Operations being declared, grouped by path (axum takes one method router per path).
pub struct Endpoints {
    tag: &'static str,
    paths: BTreeMap<String, MethodRouter<AppState>>,
    ops: Vec<Operation>,
}

impl Endpoints {
    pub fn new(tag: &'static str) -> Endpoints {
        Endpoints {
            tag,
            paths: BTreeMap::new(),
            ops: Vec::new(),
        }
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        handler: H,
        summary: &'static str,
    ) -> Endpoints {
        self.op(Method::GET, path, handler, summary)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        handler: H,
        summary: &'static str,
    ) -> Endpoints {
        self.op(Method::POST, path, handler, summary)
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        handler: H,
        summary: &'static str,
    ) -> Endpoints {
        self.op(Method::PUT, path, handler, summary)
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        handler: H,
        summary: &'static str,
    ) -> Endpoints {
        self.op(Method::DELETE, path, handler, summary)
    }

    fn op<H: Handler<T, AppState>, T: 'static>(
        mut self,
        method: Method,
        path: &str,
        handler: H,
        summary: &'static str,
    ) -> Endpoints {
        let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
        let routed = match self.paths.remove(path) {
            Some(routed) => routed.on(filter, handler),
            None => on(filter, handler),
        };
        self.paths.insert(path.to_owned(), routed);
        self.ops.push(Operation {
            method,
            path: path.to_owned(),
            summary,
            tag: self.tag,
            authenticated: true,
            request: None,
            responses: Vec::new(),
        });
        self
    }

    /// The operation declared last reads a body of type `T`.
    pub fn takes<T: JsonSchema>(mut self) -> Endpoints {
        self.last().request = Some(schema_of::<T>);
        self
    }

    /// The operation declared last answers `status` with a body of type `T`.
    pub fn answers<T: JsonSchema>(mut self, status: u16) -> Endpoints {
        self.last()
            .responses
            .push((status, Body::Json(schema_of::<T>)));
        self
    }

    /// The operation declared last answers `status` without a body.
    pub fn answers_empty(mut self, status: u16) -> Endpoints {
        self.last().responses.push((status, Body::Empty));
        self
    }

    /// The operation declared last answers `status` with plain text.
    pub fn answers_text(mut self, status: u16) -> Endpoints {
        self.last().responses.push((status, Body::Text));
        self
    }

    fn last(&mut self) -> &mut Operation {
        self.ops
            .last_mut()
            .expect("takes and answers follow an operation")
    }

    /// The routes, with their documentation.
    pub fn build(self) -> Documented {
        let router = self
            .paths
            .into_iter()
            .fold(Router::new(), |router, (path, routed)| {
                router.route(&path, routed)
            });
        Documented {
            router,
            ops: self.ops,
        }
    }
}

/// Routes and the operations they serve, composed like axum routers.
pub struct Documented {
    pub router: Router<AppState>,
    pub ops: Vec<Operation>,
}

impl Documented {
    pub fn empty() -> Documented {
        Documented {
            router: Router::new(),
            ops: Vec::new(),
        }
    }

    /// Changes the router (layers), keeping the operations.
    pub fn map(self, change: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Documented {
        Documented {
            router: change(self.router),
            ops: self.ops,
        }
    }

    pub fn merge(mut self, other: Documented) -> Documented {
        self.ops.extend(other.ops);
        Documented {
            router: self.router.merge(other.router),
            ops: self.ops,
        }
    }

    /// Mounts `other` under `prefix` (its `/` becomes `prefix` itself).
    pub fn nest(mut self, prefix: &str, other: Documented) -> Documented {
        self.ops.extend(other.ops.into_iter().map(|mut op| {
            op.path = match op.path.as_str() {
                "/" => prefix.to_owned(),
                path => format!("{prefix}{path}"),
            };
            op
        }));
        Documented {
            router: self.router.nest(prefix, other.router),
            ops: self.ops,
        }
    }

    /// The operations answer without a token.
    pub fn public(mut self) -> Documented {
        for op in &mut self.ops {
            op.authenticated = false;
        }
        self
    }
}

//! A router that documents itself: each API operation is declared once, with its method,
//! path and summary, and both the axum routes and the OpenAPI document
//! ([`super::openapi`]) are built from those declarations, so the two cannot drift.

use std::collections::BTreeMap;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

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
        });
        self
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

//! Every route with the permission it needs (AC-02). Routes are added only through
//! [`Routes`], which takes the method, the path and a [`Permission`] together, so a
//! route cannot exist without one; [`gate`] checks it after routing and before any
//! handler runs, from the table the same calls built. A route that reached the
//! router some other way has no row in the table, and the gate refuses it (fail
//! closed) instead of letting it through.
//!
//! The gate is the coarse, role-level check: which roles may call a route at all.
//! What a permitted caller may see or do (the events in their area, an action their
//! part in an event allows) stays with the repositories and the lifecycle, as before.
//!
//! Signed-in routes under `/api/` take the Bearer session, the others the page
//! cookie. The gate resolves the session once and leaves it in the request's
//! extensions, where the handlers' extractors ([`crate::auth::ApiSession`],
//! [`crate::pages::PageUser`]) find it instead of asking the database again.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use zhili_domain::Permission;

use crate::AppState;
use crate::auth::{ApiSession, open_while_gated};
use crate::error::ApiError;

/// One row of the table: a method on a path and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub method: Method,
    /// The path as registered (`/api/v1/events/{id}`).
    pub path: &'static str,
    pub permission: Permission,
}

/// A router under construction together with its table of permissions.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteEntry>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    pub fn get<H, T>(self, path: &'static str, permission: Permission, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.on(Method::GET, MethodFilter::GET, path, permission, handler)
    }

    pub fn post<H, T>(self, path: &'static str, permission: Permission, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.on(Method::POST, MethodFilter::POST, path, permission, handler)
    }

    pub fn put<H, T>(self, path: &'static str, permission: Permission, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.on(Method::PUT, MethodFilter::PUT, path, permission, handler)
    }

    pub fn patch<H, T>(self, path: &'static str, permission: Permission, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.on(
            Method::PATCH,
            MethodFilter::PATCH,
            path,
            permission,
            handler,
        )
    }

    pub fn delete<H, T>(self, path: &'static str, permission: Permission, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.on(
            Method::DELETE,
            MethodFilter::DELETE,
            path,
            permission,
            handler,
        )
    }

    fn on<H, T>(
        mut self,
        method: Method,
        filter: MethodFilter,
        path: &'static str,
        permission: Permission,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.table.push(RouteEntry {
            method,
            path,
            permission,
        });
        // axum merges the methods of one path registered in several calls.
        self.router = self.router.route(path, on(filter, handler));
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// Applies `f` to the router so far, e.g. to give upload routes their own body
    /// limit; the table is unchanged.
    pub fn map_router(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, RouteTable) {
        (self.router, RouteTable::new(self.table))
    }
}

/// What the gate looks a request up in.
#[derive(Debug, Clone)]
pub struct RouteTable {
    entries: Vec<RouteEntry>,
    index: HashMap<(&'static str, Method), Permission>,
}

/// What the table says of a matched path and a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Declared(Permission),
    /// The path is declared, this method is not: the router answers 405.
    OtherMethod,
    /// The router matched a path the table does not know.
    Undeclared,
}

impl RouteTable {
    fn new(entries: Vec<RouteEntry>) -> Self {
        let index = entries
            .iter()
            .map(|e| ((e.path, e.method.clone()), e.permission))
            .collect();
        RouteTable { entries, index }
    }

    pub fn entries(&self) -> &[RouteEntry] {
        &self.entries
    }

    pub fn lookup(&self, method: &Method, path: &str) -> Lookup {
        // HEAD is answered by the GET handler, so it needs what GET needs.
        let method = if *method == Method::HEAD {
            Method::GET
        } else {
            method.clone()
        };
        // HashMap is covariant in its key: the 'static keys compare with a borrowed path.
        let index: &HashMap<(&str, Method), Permission> = &self.index;
        if let Some(p) = index.get(&(path, method)) {
            return Lookup::Declared(*p);
        }
        if self.entries.iter().any(|e| e.path == path) {
            Lookup::OtherMethod
        } else {
            Lookup::Undeclared
        }
    }
}

/// The state of [`gate`].
#[derive(Clone)]
pub struct GateState {
    pub app: AppState,
    pub table: Arc<RouteTable>,
}

/// Checks the route's permission before its handler: public routes pass, any
/// other needs a session (401 or the login page without one), an account that
/// must first change its password or bind a second factor reaches only its own
/// account, and a role the permission does not include gets 403.
pub async fn gate(State(g): State<GateState>, req: Request, next: Next) -> Response {
    let Some(path) = req.extensions().get::<MatchedPath>().cloned() else {
        // Nothing matched: the fallback answers 404.
        return next.run(req).await;
    };
    let permission = match g.table.lookup(req.method(), path.as_str()) {
        Lookup::Declared(p) => p,
        Lookup::OtherMethod => return next.run(req).await,
        Lookup::Undeclared => {
            tracing::error!(path = path.as_str(), method = %req.method(), "route without a permission");
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "route_without_permission",
                "此功能未登记权限，已拒绝",
            )
            .into_response();
        }
    };
    if permission.needs_no_session() {
        return next.run(req).await;
    }
    if permission.is_administration() && !from_management_network(&g.app.config, &req) {
        let message = "管理功能只能从管理网络访问";
        return if path.as_str().starts_with("/api/") {
            ApiError::forbidden(message).into_response()
        } else {
            crate::pages::refused_page(message)
        };
    }
    let (mut parts, body) = req.into_parts();
    if path.as_str().starts_with("/api/") {
        let session = match ApiSession::from_request_parts(&mut parts, &g.app).await {
            Ok(s) => s,
            Err(e) => return e.into_response(),
        };
        if let Some(gate) = session.gate.filter(|_| !open_while_gated(parts.uri.path())) {
            return ApiError::new(StatusCode::FORBIDDEN, gate.code(), gate.message_zh())
                .into_response();
        }
        if !permission.allows(session.actor.role) {
            return ApiError::forbidden(refusal(permission)).into_response();
        }
        parts.extensions.insert(session);
    } else {
        let user = match crate::pages::PageUser::from_request_parts(&mut parts, &g.app).await {
            Ok(u) => u,
            Err(r) => return r,
        };
        if !permission.allows(user.actor.role) {
            return crate::pages::forbidden_page(&user);
        }
        parts.extensions.insert(user);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Whether the request comes from a configured management network (or none is
/// configured). An address that does not parse is outside.
fn from_management_network(config: &crate::ServerConfig, req: &Request) -> bool {
    if config.management_networks.is_empty() {
        return true;
    }
    let address = crate::rate_limit::client_address(req, config.client_ip_header.as_deref());
    address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| config.management_networks.iter().any(|n| n.contains(&ip)))
}

fn refusal(p: Permission) -> String {
    format!("您的角色无权使用此功能（需要：{}）", p.label_zh())
}

/// The table as Markdown: first each permission with its roles, then every route
/// with its permission, sorted by path. `zhili routes` prints it, and
/// docs/permissions.md is this text (a test keeps it current).
pub fn markdown(table: &RouteTable) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "# Route permissions\n\n\
         Generated by `zhili routes` from the router itself (crates/server/src/routes.rs); \
         a test fails when this file is stale. Every route is registered with one \
         permission, checked before its handler runs; the roles' areas and their part in \
         an event are checked after it (docs/roles.md).\n\n\
         ## Permissions\n\n| permission | 权限 | roles |\n|---|---|---|\n",
    );
    for p in Permission::ALL {
        let roles = match p {
            Permission::Public => "anyone, signed in or not".to_string(),
            Permission::OwnCredential => {
                "anyone holding the route's own key (checked by its handler)".to_string()
            }
            _ => p
                .roles()
                .iter()
                .map(|r| format!("`{}`", r.code()))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let _ = writeln!(out, "| `{}` | {} | {roles} |", p.code(), p.label_zh());
    }
    let mut rows: Vec<&RouteEntry> = table.entries().iter().collect();
    rows.sort_by(|a, b| (a.path, a.method.as_str()).cmp(&(b.path, b.method.as_str())));
    let _ = write!(
        out,
        "\n## Routes ({})\n\n| method | path | permission |\n|---|---|---|\n",
        rows.len()
    );
    for e in rows {
        let _ = writeln!(
            out,
            "| {} | `{}` | `{}` |",
            e.method,
            e.path,
            e.permission.code()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_answers_head_like_get_and_tells_other_methods_from_unknown_paths() {
        let t = RouteTable::new(vec![RouteEntry {
            method: Method::GET,
            path: "/events/{id}",
            permission: Permission::ReadEvents,
        }]);
        let read = Lookup::Declared(Permission::ReadEvents);
        assert_eq!(t.lookup(&Method::GET, "/events/{id}"), read);
        assert_eq!(t.lookup(&Method::HEAD, "/events/{id}"), read);
        assert_eq!(t.lookup(&Method::POST, "/events/{id}"), Lookup::OtherMethod);
        assert_eq!(t.lookup(&Method::GET, "/events"), Lookup::Undeclared);
    }
}

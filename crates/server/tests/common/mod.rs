//! What the HTTP tests share: the small city behind the real router on every
//! backend under test, JSON calls with a bearer token, and login.
#![allow(dead_code)] // each test file uses its own part of this

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use zhili_server::{AppState, ServerConfig, app, hash_password};
use zhili_storage::testing::{fresh_stores, with_small_city};

pub mod page;

/// Every small-city account's password.
pub const PW: &str = "test-password";

/// The server's defaults, except that the small city's admin has no authenticator
/// bound: tests of other things sign in as admin with the password alone. The
/// second factor itself is tested with the defaults (`security.rs`).
pub fn config() -> ServerConfig {
    ServerConfig {
        password_policy: zhili_domain::PasswordPolicy {
            second_factor_roles: Vec::new(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The whole app over the small city, on SQLite and (with ZHILI_TEST_PG) PostgreSQL.
pub async fn apps() -> Vec<Router> {
    apps_with_stores()
        .await
        .into_iter()
        .map(|(app, _)| app)
        .collect()
}

/// [`apps`] with each app's store, for tests that also drive background work (the
/// deadline sweep) at a time of their choosing.
pub async fn apps_with_stores() -> Vec<(Router, zhili_storage::Store)> {
    let hash = hash_password(PW);
    let mut out = Vec::new();
    for store in fresh_stores().await {
        with_small_city(&store, &hash).await;
        let state = AppState::new(store.clone(), config()).load().await.unwrap();
        out.push((app(state), store));
    }
    out
}

/// One request with an optional bearer token and JSON body; the answer as JSON
/// (`Null` when it is not JSON).
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(Body::from(body.unwrap_or("").to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The reporter's name and phone of event `id`, revealed by `token`'s holder for
/// a call-back (the reveal is audited).
pub async fn reveal(app: &Router, token: &str, id: i64) -> Value {
    let (s, v) = call(
        app,
        "POST",
        &format!("/api/v1/events/{id}/reporter/reveal"),
        Some(token),
        Some(r#"{"reason":"回访联系"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// Logs in as a small-city account and returns its bearer token.
pub async fn login(app: &Router, user: &str) -> String {
    let (s, v) = call(
        app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"username": user, "password": PW}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// Every route's path, from the router's own table of routes and permissions
/// (`zhili_server::route_table`), for the tests that must reach every route.
pub fn routes_in_source() -> Vec<String> {
    let mut out: Vec<String> = zhili_server::route_table()
        .entries()
        .iter()
        .map(|e| e.path.to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

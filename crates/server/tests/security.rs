//! Hardening (issue #7, ../shared/reference/security_checklist.md) through the real
//! router, on SQLite and, when ZHILI_TEST_PG is set, PostgreSQL.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;
use zhili_server::{AppState, ServerConfig, app, hash_password};
use zhili_storage::testing::{audit_count, fresh_stores, with_small_city};

const PW: &str = "test-password";

async fn try_login(app: &Router, username: &str, password: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({ "username": username, "password": password }).to_string(),
        ))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// IA-06: five wrong passwords within fifteen minutes lock the account for thirty,
/// and the locked account answers exactly like an unknown user or a wrong password.
#[tokio::test]
async fn five_wrong_passwords_lock_the_account_behind_the_same_answer() {
    for store in fresh_stores().await {
        with_small_city(&store, &hash_password(PW)).await;
        let state = AppState::new(store.clone(), ServerConfig::default())
            .load()
            .await
            .unwrap();
        let app = app(state.clone());

        let unknown = try_login(&app, "nobody", PW).await;
        assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
        for _ in 0..5 {
            assert_eq!(try_login(&app, "zhujian", "wrong-password").await, unknown);
        }
        // The right password now: refused, with the very same answer.
        assert_eq!(try_login(&app, "zhujian", PW).await, unknown);
        // Only that account is locked.
        assert_eq!(try_login(&app, "city", PW).await.0, StatusCode::OK);

        assert_eq!(audit_count(&store, "auth.locked").await, 1);
        assert_eq!(audit_count(&store, "auth.login_failed").await, 6);
        assert_eq!(audit_count(&store, "auth.login_locked").await, 1);

        // By the clock: still locked 29 minutes on, open after 30.
        let now = Utc::now();
        assert!(
            zhili_server::auth::login_at(&state, "zhujian", PW, now + Duration::minutes(29))
                .await
                .is_err()
        );
        let in_again =
            zhili_server::auth::login_at(&state, "zhujian", PW, now + Duration::minutes(31)).await;
        assert!(in_again.is_ok());
        // …and the count starts afresh: four failures later it is still open.
        let later = now + Duration::minutes(32);
        for _ in 0..4 {
            assert!(
                zhili_server::auth::login_at(&state, "zhujian", "wrong-password", later)
                    .await
                    .is_err()
            );
        }
        assert!(
            zhili_server::auth::login_at(&state, "zhujian", PW, later)
                .await
                .is_ok()
        );
    }
}

/// IP-03, DC-04, OP-02: every answer — page, API, error — carries the headers that
/// keep it out of frames, caches and content sniffing, and a CSP with no inline
/// script; the configured tile server is the one outside origin allowed (images).
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let store = zhili_storage::testing::fresh_sqlite().await;
    with_small_city(&store, &hash_password(PW)).await;
    let config = ServerConfig {
        map_tile_url: Some("https://{s}.tiles.yuyao.example/{z}/{x}/{y}.png".into()),
        ..Default::default()
    };
    let app = app(AppState::new(store, config).load().await.unwrap());
    for (method, uri) in [
        ("GET", "/login"),
        ("GET", "/api/v1/events"),
        ("GET", "/no/such/page"),
        ("POST", "/api/v1/auth/login"),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        let h = res.headers();
        let get = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        assert_eq!(get("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(get("x-frame-options"), "DENY", "{uri}");
        assert_eq!(get("cache-control"), "no-store", "{uri}");
        let csp = get("content-security-policy");
        assert!(csp.contains("script-src 'self';"), "{uri}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{uri}: {csp}");
        assert!(
            csp.contains("img-src 'self' data: blob: https://*.tiles.yuyao.example;"),
            "{uri}: {csp}"
        );
        assert!(!get("x-request-id").is_empty(), "{uri}");
    }
}

/// IP-05: the public lookup answers 429 with Retry-After once one address has used
/// up its tries, as JSON on the API and as a page on the form, while another address
/// goes on; the count lives in the database (several instances count together).
#[tokio::test]
async fn public_doors_answer_429_past_their_limit_per_address() {
    for store in fresh_stores().await {
        with_small_city(&store, &hash_password(PW)).await;
        let config = ServerConfig {
            client_ip_header: Some("x-forwarded-for".into()),
            rate_limits: zhili_server::rate_limit::RateLimits {
                lookup: zhili_server::rate_limit::Limit {
                    hits: 3,
                    window_secs: 600,
                },
                ..Default::default()
            },
            ..Default::default()
        };
        // Two routers on one database: two instances behind one balancer.
        let a = app(AppState::new(store.clone(), config.clone())
            .load()
            .await
            .unwrap());
        let b = app(AppState::new(store.clone(), config).load().await.unwrap());
        let lookup = |app: &Router, ip: &str, uri: &str| {
            let req = Request::builder()
                .uri(uri)
                .header("x-forwarded-for", format!("{ip}, 10.0.0.1"))
                .body(Body::empty())
                .unwrap();
            let app = app.clone();
            async move { app.oneshot(req).await.unwrap() }
        };
        let api = "/api/public/v1/lookup?number=YY000&code=123456";
        for (i, app) in [&a, &b, &a].into_iter().enumerate() {
            let res = lookup(app, "203.0.113.7", api).await;
            assert_ne!(res.status(), StatusCode::TOO_MANY_REQUESTS, "try {i}");
        }
        let res = lookup(&b, "203.0.113.7", api).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: i64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=600).contains(&retry));
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "too_many_requests");
        // The page counts with the API and answers with a page.
        let res = lookup(&a, "203.0.113.7", "/public/lookup").await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        // Another address is not held back.
        assert_ne!(
            lookup(&a, "198.51.100.2", api).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}

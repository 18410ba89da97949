//! Hardening (issue #7, ../shared/reference/security_checklist.md) through the real
//! router, on SQLite and, when ZHILI_TEST_PG is set, PostgreSQL.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;
use zhili_server::{AppState, ServerConfig, app, hash_password};
use zhili_storage::testing::{audit_count, fresh_stores, with_small_city};

const PW: &str = "test-password";

fn pw<'a>(username: &'a str, password: &'a str) -> zhili_server::auth::Credentials<'a> {
    zhili_server::auth::Credentials {
        username,
        password,
        otp: None,
    }
}

async fn try_login(app: &Router, username: &str, password: &str) -> (StatusCode, Value) {
    login_with(app, json!({ "username": username, "password": password })).await
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
            zhili_server::auth::login_at(&state, pw("zhujian", PW), now + Duration::minutes(29))
                .await
                .is_err()
        );
        let in_again =
            zhili_server::auth::login_at(&state, pw("zhujian", PW), now + Duration::minutes(31))
                .await;
        assert!(in_again.is_ok());
        // …and the count starts afresh: four failures later it is still open.
        let later = now + Duration::minutes(32);
        for _ in 0..4 {
            assert!(
                zhili_server::auth::login_at(&state, pw("zhujian", "wrong-password"), later)
                    .await
                    .is_err()
            );
        }
        assert!(
            zhili_server::auth::login_at(&state, pw("zhujian", PW), later)
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

/// One JSON request, with a bearer token when there is one; the answer as JSON.
async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let body = body.map(|b| b.to_string());
    common::call(app, method, uri, token, body.as_deref()).await
}

async fn login_with(app: &Router, body: Value) -> (StatusCode, Value) {
    call(app, "POST", "/api/v1/auth/login", None, Some(body)).await
}

/// IA-02, IA-03, IA-12: an account made by an admin starts with a one-time password
/// that opens nothing but the password change; the new password must pass the
/// policy, and changing it ends the account's other sessions.
#[tokio::test]
async fn a_one_time_password_opens_only_the_password_change() {
    for store in fresh_stores().await {
        with_small_city(&store, &hash_password(PW)).await;
        let first = "Kq7mPz4vRt8xWn2h";
        let admin = store.user_by_username("admin").await.unwrap().unwrap();
        store
            .create_user(
                &zhili_storage::admin::NewAccount {
                    username: "wangwu",
                    display_name: "王五",
                    password_hash: &hash_password(first),
                    role: zhili_domain::Role::CityOperator,
                    org_code: None,
                },
                &zhili_storage::Acting::from(&admin.actor),
                Utc::now(),
            )
            .await
            .unwrap();
        let app = app(AppState::new(store.clone(), ServerConfig::default())
            .load()
            .await
            .unwrap());

        let (s, v) = try_login(&app, "wangwu", first).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["gate"], "password_change_required");
        let token = v["token"].as_str().unwrap().to_string();
        let (_, other) = try_login(&app, "wangwu", first).await;
        let other = other["token"].as_str().unwrap().to_string();

        let (s, v) = call(&app, "GET", "/api/v1/events", Some(token.as_str()), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(v["error"]["code"], "password_change_required");
        let (s, v) = call(&app, "GET", "/api/v1/me", Some(token.as_str()), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["gate"], "password_change_required");

        let change =
            |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
        for (current, new, field) in [
            (first, "short", "new_password"),
            (first, "Password1234!", "new_password"),
            (first, "wangwu-is-my-name", "new_password"),
            (first, first, "new_password"),
            ("not-the-password", "river-stone-7-lamp", "current_password"),
        ] {
            let (s, v) = call(
                &app,
                "POST",
                "/api/v1/me/password",
                Some(token.as_str()),
                Some(change(current, new)),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{new}: {v}");
            assert_eq!(v["error"]["field"], field, "{new}: {v}");
        }
        // The wrong current password counted towards the lock, as at login.
        assert_eq!(audit_count(&store, "auth.login_failed").await, 1);

        let (s, _) = call(
            &app,
            "POST",
            "/api/v1/me/password",
            Some(token.as_str()),
            Some(change(first, "river-stone-7-lamp")),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(audit_count(&store, "auth.password_changed").await, 1);
        let (s, _) = call(&app, "GET", "/api/v1/events", Some(token.as_str()), None).await;
        assert_eq!(s, StatusCode::OK, "the session that changed it works on");
        let (s, _) = call(&app, "GET", "/api/v1/me", Some(other.as_str()), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "the other session ended");
        assert_eq!(
            try_login(&app, "wangwu", first).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (s, v) = try_login(&app, "wangwu", "river-stone-7-lamp").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["gate"], Value::Null);

        // The security admin's reset: a new one-time password, the sessions end, the gate is back.
        let admin_app = app.clone();
        let admin_state = AppState::new(
            store.clone(),
            ServerConfig {
                password_policy: zhili_domain::PasswordPolicy {
                    second_factor_roles: vec![],
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        let admin_token = zhili_server::auth::login(
            &admin_state,
            zhili_server::auth::Credentials {
                // Accounts are the security administrator's (separation of duties).
                username: "secadmin",
                password: PW,
                otp: None,
            },
        )
        .await
        .unwrap()
        .token;
        let id = v["user"]["id"].as_i64().unwrap();
        let city = try_login(&app, "city", PW).await.1["token"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, _) = call(
            &admin_app,
            "POST",
            &format!("/api/v1/admin/users/{id}/password"),
            Some(city.as_str()),
            None,
        )
        .await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "only the security admin resets accounts"
        );
        let app2 = zhili_server::app(admin_state);
        let (s, reset) = call(
            &app2,
            "POST",
            &format!("/api/v1/admin/users/{id}/password"),
            Some(admin_token.as_str()),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let one_time = reset["one_time_password"].as_str().unwrap();
        assert_eq!(one_time.chars().count(), 16);
        let (s, _) = call(&app, "GET", "/api/v1/me", Some(token.as_str()), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "a reset ends every session");
        let (_, v) = try_login(&app, "wangwu", one_time).await;
        assert_eq!(v["gate"], "password_change_required");
        assert_eq!(audit_count(&store, "user.password_reset").await, 1);
    }
}

/// IA-08: an admin must bind an authenticator before doing anything, and from then
/// on needs its code at every login; a code works once, and a wrong or missing one
/// gets the same answer as a wrong password and counts towards the lock.
#[tokio::test]
async fn admins_bind_an_authenticator_and_need_its_code_at_every_login() {
    for store in fresh_stores().await {
        with_small_city(&store, &hash_password(PW)).await;
        let state = AppState::new(store.clone(), ServerConfig::default())
            .load()
            .await
            .unwrap();
        let app = app(state.clone());

        let (s, v) = try_login(&app, "admin", PW).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["gate"], "second_factor_required");
        let token = v["token"].as_str().unwrap().to_string();
        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/routing/rules",
            Some(token.as_str()),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        assert_eq!(v["error"]["code"], "second_factor_required");
        // Other staff may bind one but need not.
        assert_eq!(try_login(&app, "city", PW).await.1["gate"], Value::Null);

        let (s, v) = call(&app, "POST", "/api/v1/me/totp", Some(token.as_str()), None).await;
        assert_eq!(s, StatusCode::OK);
        let secret = v["secret"].as_str().unwrap().to_string();
        assert!(
            v["otpauth_uri"]
                .as_str()
                .unwrap()
                .starts_with("otpauth://totp/")
        );
        let (s, v) = call(
            &app,
            "POST",
            "/api/v1/me/totp/confirm",
            Some(token.as_str()),
            Some(json!({ "code": "000000" })),
        )
        .await;
        let wrong_is_unlikely =
            zhili_server::totp::code_at(&secret, Utc::now()).unwrap() != "000000";
        if wrong_is_unlikely {
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(v["error"]["field"], "code");
        }
        let now = Utc::now();
        let code = zhili_server::totp::code_at(&secret, now).unwrap();
        let (s, _) = call(
            &app,
            "POST",
            "/api/v1/me/totp/confirm",
            Some(token.as_str()),
            Some(json!({ "code": code })),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(audit_count(&store, "auth.totp_bound").await, 1);
        let (s, _) = call(
            &app,
            "GET",
            "/api/v1/routing/rules",
            Some(token.as_str()),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "bound: the session works");

        // From now on the password alone is a wrong login, answered as one.
        let failed_before = audit_count(&store, "auth.login_failed").await;
        let unknown = try_login(&app, "nobody", PW).await;
        assert_eq!(try_login(&app, "admin", PW).await, unknown);
        assert_eq!(
            login_with(
                &app,
                json!({ "username": "admin", "password": PW, "otp": "12345" })
            )
            .await,
            unknown
        );
        assert_eq!(
            audit_count(&store, "auth.login_failed").await,
            failed_before + 3
        );
        // The enrolment's code is spent; the next step's code works once.
        let creds = |otp: &'static str| zhili_server::auth::Credentials {
            username: "admin",
            password: PW,
            otp: Some(otp),
        };
        let spent: &'static str = code.leak();
        assert!(
            zhili_server::auth::login_at(&state, creds(spent), now)
                .await
                .is_err()
        );
        let later = now + Duration::seconds(30);
        let next: &'static str = zhili_server::totp::code_at(&secret, later).unwrap().leak();
        let s = zhili_server::auth::login_at(&state, creds(next), later).await;
        assert!(s.is_ok(), "the next code opens a session");
        assert!(
            zhili_server::auth::login_at(&state, creds(next), later)
                .await
                .is_err(),
            "and not a second one"
        );
    }
}

/// AC-01 (the part built so far): every route of the router, found in its source, is
/// called with each method and no credentials. Only the declared public doors may
/// answer; every other route answers 401 (API) or sends the browser to the login
/// page, so a new route that forgets its session extractor fails here.
#[tokio::test]
async fn every_route_but_the_public_doors_needs_a_login() {
    /// Anyone may knock: the login, the citizens' pages and API, Open311 (its own
    /// API keys), the rating links, assets, health, the language switch.
    const PUBLIC: &[&str] = &[
        "/",
        "/login",
        "/api/v1/auth/login",
        "/healthz",
        "/api/openapi.json",
        "/public",
    ];
    const PUBLIC_UNDER: &[&str] = &[
        "/api/public/",
        "/public/",
        "/open311/",
        "/f/",
        "/static/",
        "/lang/",
    ];
    let routes = common::routes_in_source();
    assert!(
        routes.len() > 100,
        "the enumeration found the router: {routes:?}"
    );
    let store = zhili_storage::testing::fresh_sqlite().await;
    with_small_city(&store, &hash_password(PW)).await;
    let app = app(AppState::new(store, ServerConfig::default())
        .load()
        .await
        .unwrap());
    let mut open = Vec::new();
    for route in &routes {
        let public =
            PUBLIC.contains(&route.as_str()) || PUBLIC_UNDER.iter().any(|p| route.starts_with(p));
        if public {
            continue;
        }
        // Path parameters get a value every extractor can parse.
        let uri: String = route
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let req = Request::builder()
                .method(method)
                .uri(&uri)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            let to_login = res.status() == StatusCode::SEE_OTHER
                && res.headers().get("location").and_then(|l| l.to_str().ok()) == Some("/login");
            let refused = matches!(
                res.status(),
                StatusCode::UNAUTHORIZED | StatusCode::METHOD_NOT_ALLOWED
            );
            if !(to_login || refused) {
                open.push(format!("{method} {uri} → {}", res.status()));
            }
        }
    }
    assert!(
        open.is_empty(),
        "answered without a login:\n{}",
        open.join("\n")
    );
}

/// IP-07: `/metrics` answers a scraper with the configured token (and the system
/// admin); a wrong token or none gets 401, like any other closed door.
#[tokio::test]
async fn metrics_need_the_scrapers_token() {
    let store = zhili_storage::testing::fresh_sqlite().await;
    with_small_city(&store, &hash_password(PW)).await;
    let config = ServerConfig {
        metrics_token: Some("scrape-secret-7f3a".into()),
        ..ServerConfig::default()
    };
    let app = app(AppState::new(store, config).load().await.unwrap());
    for (bearer, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("scrape-secret-7f3"), StatusCode::UNAUTHORIZED),
        (Some("scrape-secret-7f3a"), StatusCode::OK),
    ] {
        let mut req = Request::builder().uri("/metrics");
        if let Some(b) = bearer {
            req = req.header("authorization", format!("Bearer {b}"));
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), expected, "{bearer:?}");
    }
}

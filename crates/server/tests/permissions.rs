//! AC-02: every route is registered with a permission, and the gate in front of the
//! handlers holds it for every role. The route table is the router's own (the same
//! calls build both), so these tests walk exactly what the server serves.

mod common;

use std::collections::BTreeSet;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::page;
use zhili_domain::{Permission, Role};
use zhili_server::{AppState, route_table};
use zhili_storage::Acting;
use zhili_storage::admin::NewAccount;

/// A value for each path parameter that every extractor can parse.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            s if s.starts_with("{*") => "x",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_route_has_a_permission_and_none_bypasses_the_table() {
    let table = route_table();
    let entries = table.entries();
    assert!(
        entries.len() > 150,
        "the table holds the router: {}",
        entries.len()
    );
    let mut seen = BTreeSet::new();
    for e in entries {
        assert!(
            seen.insert((e.method.to_string(), e.path)),
            "{} {} registered twice",
            e.method,
            e.path
        );
    }
    // The only way onto the router is `Routes` (src/routes.rs); a bare axum
    // `.route(` anywhere else would serve a path with no row in the table. (The
    // gate refuses such a path at run time too: see below.)
    let mut bare = Vec::new();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("src/routes.rs")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains(".route(") || text.contains(".route_service(") {
                    bare.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        bare.is_empty(),
        "routes registered around the table: {bare:?}"
    );
}

/// A small-city app with one account of every role (the small city has no city
/// leader; one is added here).
async fn apps_with_every_role() -> Vec<(Router, String)> {
    let mut out = Vec::new();
    for (app, store) in common::apps_with_stores().await {
        let hash = zhili_server::hash_password(common::PW);
        let by = Acting::system("测试");
        let leader = NewAccount {
            username: "leader",
            display_name: "市领导",
            password_hash: &hash,
            role: Role::CityLeader,
            org_code: None,
        };
        store
            .create_user(&leader, &by, chrono::Utc::now())
            .await
            .unwrap();
        // A new account starts with a one-time password: change it to the common one.
        let token = common::login(&app, "leader").await;
        let new_password = "Qx7-tundra-ridge-lamp".to_string();
        let body =
            serde_json::json!({"current_password": common::PW, "new_password": new_password});
        let (s, v) = common::call(
            &app,
            "POST",
            "/api/v1/me/password",
            Some(&token),
            Some(&body.to_string()),
        )
        .await;
        assert!(s.is_success(), "{v}");
        out.push((app, new_password));
    }
    out
}

fn user_of(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::SecurityAdmin => "secadmin",
        Role::Auditor => "auditor",
        Role::CityOperator => "city",
        Role::CityLeader => "leader",
        Role::TownshipOperator => "fengshan",
        Role::UnitHandler => "zhujian",
        Role::GridWorker => "grid1",
        Role::Oversight => "oversight",
        Role::Citizen => "citizen1",
        Role::Integration => "sys110",
    }
}

async fn send(app: &Router, method: &Method, uri: &str, auth: (&str, &str)) -> page::Resp {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(auth.0, auth.1)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    page::send(app, req).await
}

async fn api_login(app: &Router, user: &str, password: &str) -> String {
    let body = serde_json::json!({"username": user, "password": password});
    let (s, v) = common::call(
        app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["token"].as_str().unwrap().to_string()
}

const GATE_API: &str = "您的角色无权使用此功能";
const GATE_PAGE: &str = "您的账号无权使用此页面";

/// Every route × every role: a role the route's permission leaves out is refused
/// with 403 before the handler runs (the gate's own answer), whatever the method,
/// the path's values or the body; a role it admits is never refused by the gate
/// (GET routes, so that nothing changes). The API takes the Bearer token, pages
/// the session cookie.
#[tokio::test]
async fn the_gate_refuses_every_role_a_permission_leaves_out() {
    let table = route_table();
    for (app, leader_password) in apps_with_every_role().await {
        let mut bearer = Vec::new();
        let mut cookie = Vec::new();
        for &role in Role::ALL {
            let password = match role {
                Role::CityLeader => leader_password.as_str(),
                _ => common::PW,
            };
            let token = api_login(&app, user_of(role), password).await;
            bearer.push((role, format!("Bearer {token}")));
            let s = page::login_as(&app, user_of(role), password).await;
            cookie.push((role, s.cookie));
        }
        // What the navigation offers a role, it may open.
        let mut offered = 0;
        for (role, c) in &cookie {
            let page = page::get(&app, "/account", Some(c)).await;
            let nav = page.body.split("<nav class=\"nav\"").nth(1).unwrap_or("");
            let nav = nav.split("</nav>").next().unwrap_or("");
            for link in nav.split("href=\"").skip(1) {
                let href = &link[..link.find('"').unwrap()];
                let r = page::get(&app, href, Some(c)).await;
                assert_eq!(r.status, StatusCode::OK, "{role} is offered {href}");
                offered += 1;
            }
        }
        assert!(offered > 30, "the navigation was read: {offered} links");
        let (mut refused, mut admitted) = (0, 0);
        for e in table.entries() {
            if e.permission.needs_no_session() {
                continue;
            }
            let uri = concrete(e.path);
            let api = e.path.starts_with("/api/");
            for &role in Role::ALL {
                let auth = if api {
                    let v = &bearer.iter().find(|(r, _)| *r == role).unwrap().1;
                    (header::AUTHORIZATION.as_str(), v.as_str())
                } else {
                    let v = &cookie.iter().find(|(r, _)| *r == role).unwrap().1;
                    (header::COOKIE.as_str(), v.as_str())
                };
                let gate_refusal = if api { GATE_API } else { GATE_PAGE };
                if !e.permission.allows(role) {
                    let r = send(&app, &e.method, &uri, auth).await;
                    assert_eq!(
                        r.status,
                        StatusCode::FORBIDDEN,
                        "{} {} as {role} ({}): {}",
                        e.method,
                        e.path,
                        e.permission,
                        r.body
                    );
                    assert!(
                        r.body.contains(gate_refusal),
                        "{} {} as {role}: refused by the gate, not the handler: {}",
                        e.method,
                        e.path,
                        r.body
                    );
                    refused += 1;
                } else if e.method == Method::GET {
                    let r = send(&app, &e.method, &uri, auth).await;
                    assert!(
                        !r.body.contains(gate_refusal),
                        "{} {} as {role} is admitted by {}: {}",
                        e.method,
                        e.path,
                        e.permission,
                        r.body
                    );
                    admitted += 1;
                }
            }
        }
        // Not blind: the walk did refuse and admit (some 900 and 600 calls).
        assert!(refused > 300 && admitted > 300, "{refused} {admitted}");
    }
}

/// The security and audit administrators reach nothing of the events, whichever
/// route: a concrete view of the table for the separation of duties (AC-07).
#[test]
fn the_security_and_audit_administrators_reach_only_accounts_and_the_log() {
    for e in route_table().entries() {
        for role in [Role::SecurityAdmin, Role::Auditor] {
            if e.permission.allows(role) && !e.permission.needs_no_session() {
                let own = match role {
                    Role::SecurityAdmin => matches!(
                        e.permission,
                        Permission::ManageAccounts | Permission::SignedIn
                    ),
                    _ => matches!(e.permission, Permission::ReadAudit | Permission::SignedIn),
                };
                assert!(own, "{} {} open to {role}", e.method, e.path);
            }
        }
        if e.path.contains("/events") && e.permission != Permission::Public {
            assert!(
                !e.permission.allows(Role::SecurityAdmin) && !e.permission.allows(Role::Auditor),
                "{} {} ({})",
                e.method,
                e.path,
                e.permission
            );
        }
    }
}

/// A route put on the router around the table gets no handler call: the gate
/// answers 500 and says why, rather than serving it unchecked.
#[tokio::test]
async fn a_route_missing_from_the_table_is_refused() {
    use axum::middleware::from_fn_with_state;
    use axum::routing::get;
    let store = zhili_storage::testing::fresh_sqlite().await;
    let state = AppState::new(store, common::config());
    let (router, table) = zhili_server::Routes::new()
        .get("/declared", Permission::Public, || async { "declared" })
        .into_parts();
    let app: Router = router
        .route("/undeclared", get(|| async { "served" }))
        .layer(from_fn_with_state(
            zhili_server::routes::GateState {
                app: state.clone(),
                table: std::sync::Arc::new(table),
            },
            zhili_server::routes::gate,
        ))
        .with_state(state);
    let r = page::get(&app, "/declared", None).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "declared"));
    let r = page::get(&app, "/undeclared", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.contains("route_without_permission"), "{}", r.body);
    assert!(!r.body.contains("served"));
}

/// docs/permissions.md is the table as `zhili routes` prints it; it must not go
/// stale when a route or a permission changes.
#[test]
fn the_documented_table_is_the_router_s() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/permissions.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let now = zhili_server::routes::markdown(&route_table());
    if doc != now {
        if std::env::var_os("ZHILI_BLESS").is_some() {
            std::fs::write(&path, &now).unwrap();
        } else {
            panic!(
                "docs/permissions.md is stale: run `cargo run -p zhili -- routes > docs/permissions.md` \
                 (or this test with ZHILI_BLESS=1)"
            );
        }
    }
}

/// AC-12: with management networks configured, the administration routes (system,
/// accounts, audit log) answer only requests from them, whoever asks; the rest of
/// the application is reached as before.
#[tokio::test]
async fn administration_answers_only_from_the_management_networks() {
    use zhili_storage::testing::{fresh_stores, with_small_city};
    let hash = zhili_server::hash_password(common::PW);
    for store in fresh_stores().await {
        with_small_city(&store, &hash).await;
        let config = zhili_server::ServerConfig {
            management_networks: vec!["10.1.0.0/16".parse().unwrap()],
            client_ip_header: Some("x-forwarded-for".into()),
            ..common::config()
        };
        let app = zhili_server::app(AppState::new(store, config).load().await.unwrap());
        let get = |uri: &'static str, token: String, from: &'static str| {
            let app = app.clone();
            async move {
                let req = Request::get(uri)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header("x-forwarded-for", from)
                    .body(Body::empty())
                    .unwrap();
                page::send(&app, req).await
            }
        };
        let auditor = common::login(&app, "auditor").await;
        let city = common::login(&app, "city").await;
        let inside = get("/api/v1/audit", auditor.clone(), "10.1.7.9").await;
        assert_eq!(inside.status, StatusCode::OK, "{}", inside.body);
        let outside = get("/api/v1/audit", auditor.clone(), "192.168.0.9").await;
        assert_eq!(outside.status, StatusCode::FORBIDDEN);
        assert!(outside.body.contains("管理网络"), "{}", outside.body);
        // Pages too, before any session is looked at.
        let r = Request::get("/admin/users")
            .header("x-forwarded-for", "192.168.0.9")
            .body(Body::empty())
            .unwrap();
        let r = page::send(&app, r).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("管理网络"), "{}", r.body);
        // Everything else is reached from anywhere.
        let events = get("/api/v1/events", city, "192.168.0.9").await;
        assert_eq!(events.status, StatusCode::OK, "{}", events.body);
    }
}

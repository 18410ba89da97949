//! Every audit record written while serving a request says where it came from
//! (AU-02): the client's address, the request id the server answered with, and the
//! actor's role and area, without any handler passing them on. SQLite always,
//! PostgreSQL with ZHILI_TEST_PG.

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use common::page::send;
use common::{PW, call, login};
use serde_json::{Value, json};
use zhili_server::{AppState, ServerConfig, app, hash_password};
use zhili_storage::Store;
use zhili_storage::testing::{fresh_stores, with_small_city};

/// A JSON call from `peer` (the socket's address, as `serve` gives it), with extra
/// headers; the status, the answer and the `x-request-id` it carried.
async fn call_from(
    app: &Router,
    peer: &str,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req
        .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
        .unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let r = send(app, req).await;
    let id = r.header("x-request-id").to_string();
    assert!(!id.is_empty(), "every answer carries its request id");
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
        id,
    )
}

/// The one record of `action` written for request `request_id`, as the audit
/// administrator finds it.
async fn record(app: &Router, auditor: &str, action: &str, request_id: &str) -> Value {
    let (s, v) = call(
        app,
        "GET",
        &format!("/api/v1/audit?action={action}&request_id={request_id}"),
        Some(auditor),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["total"], 1, "{action} of {request_id}: {v}");
    v["items"][0].clone()
}

async fn org_id(store: &Store, code: &str) -> i64 {
    store.org_by_code(code).await.unwrap().unwrap().id.0
}

async fn app_with(store: &Store, config: ServerConfig) -> Router {
    let state = AppState::new(store.clone(), config).load().await.unwrap();
    app(state)
}

#[tokio::test]
async fn a_login_a_denial_and_an_event_action_each_say_where_they_came_from() {
    for store in fresh_stores().await {
        with_small_city(&store, &hash_password(PW)).await;
        let app = app_with(&store, common::config()).await;
        let fengshan_org = org_id(&store, "330281002").await;
        let auditor = login(&app, "auditor").await;
        let peer = "192.0.2.17:50123";

        // A login.
        let (s, v, rid) = call_from(
            &app,
            peer,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "fengshan", "password": PW})),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let token = v["token"].as_str().unwrap().to_string();
        let r = record(&app, &auditor, "auth.login", &rid).await;
        assert_eq!(r["ip"], "192.0.2.17", "{r}");
        assert_eq!(r["request_id"], rid.as_str());
        assert_eq!(r["actor_role"], "township_operator");
        assert_eq!(r["actor_org_id"], fengshan_org);
        assert_eq!(r["actor_org_name"], "凤山街道");

        // A denial: the audit log is not for a township operator.
        let (s, _, rid) =
            call_from(&app, peer, "GET", "/api/v1/audit", Some(&token), None, &[]).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let r = record(&app, &auditor, "access.denied", &rid).await;
        assert_eq!(
            (&r["ip"], &r["actor_role"], &r["actor_org_id"]),
            (
                &json!("192.0.2.17"),
                &json!("township_operator"),
                &json!(fengshan_org)
            ),
            "{r}"
        );
        assert_eq!(r["detail"]["method"], "GET");

        // An event reported (through group commit's writer, another task) and
        // accepted, from another address: a client's own request id is kept.
        let other = "198.51.100.4:443";
        let (s, e, rid) = call_from(
            &app,
            other,
            "POST",
            "/api/v1/events",
            Some(&token),
            Some(json!({
                "channel": "hotline_12345", "text": "楼道堆放杂物，影响通行",
                "grid": "33028100200101", "category": "0101",
                "reporter": {"kind": "citizen", "phone": "13912340000"},
            })),
            &[("x-request-id", "client-chosen-1")],
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        assert_eq!(rid, "client-chosen-1");
        let created = record(&app, &auditor, "event.create", &rid).await;
        assert_eq!(created["ip"], "198.51.100.4", "{created}");
        assert_eq!(created["actor_org_id"], fengshan_org);
        let id = e["id"].as_i64().unwrap();
        let (s, v, rid) = call_from(
            &app,
            other,
            "POST",
            &format!("/api/v1/events/{id}/actions"),
            Some(&token),
            Some(json!({"action": "accept"})),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let r = record(&app, &auditor, "event.accept", &rid).await;
        assert_eq!(
            (&r["ip"], &r["actor_role"], &r["object_id"]),
            (
                &json!("198.51.100.4"),
                &json!("township_operator"),
                &json!(id.to_string())
            ),
            "{r}"
        );

        // One address's records, found by it.
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/audit?ip=198.51.100.4",
            Some(&auditor),
            None,
        )
        .await;
        let items = v["items"].as_array().unwrap();
        assert!(items.len() >= 2, "{v}");
        assert!(items.iter().all(|r| r["ip"] == "198.51.100.4"), "{v}");

        // Work outside any request (as the background sweep and the CLI write)
        // has no address and no request id; the chain holds over both kinds.
        store
            .rewrap_pii(
                zhili_storage::testing::master_key(),
                zhili_storage::testing::master_key(),
                "test",
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/audit?action=pii.master_key_changed",
            Some(&auditor),
            None,
        )
        .await;
        let r = &v["items"][0];
        assert_eq!((&r["ip"], &r["request_id"]), (&Value::Null, &Value::Null));
        let report = store.verify_audit_chain(None).await.unwrap();
        assert_eq!(report.first_break, None);
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_address_it_reports_is_recorded() {
    for store in fresh_stores().await {
        with_small_city(&store, &hash_password(PW)).await;
        let app = app_with(
            &store,
            ServerConfig {
                client_ip_header: Some("x-forwarded-for".into()),
                ..common::config()
            },
        )
        .await;
        let auditor = login(&app, "auditor").await;
        let (s, _, rid) = call_from(
            &app,
            "10.0.0.2:8000",
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "fengshan", "password": "wrong-password-1"})),
            &[("x-forwarded-for", "203.0.113.9, 10.0.0.1")],
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let r = record(&app, &auditor, "auth.login_failed", &rid).await;
        assert_eq!(r["ip"], "203.0.113.9", "{r}");
        // A known account's failures carry its role and area too.
        assert_eq!(r["actor_role"], "township_operator");

        // Without a configured header, what a client writes there is not believed.
        let plain = app_with(&store, common::config()).await;
        let (_, _, rid) = call_from(
            &plain,
            "10.0.0.2:8000",
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "nobody", "password": "wrong-password-1"})),
            &[("x-forwarded-for", "203.0.113.9")],
        )
        .await;
        let r = record(&app, &auditor, "auth.login_failed", &rid).await;
        assert_eq!(r["ip"], "10.0.0.2", "{r}");
        assert_eq!(r["actor_role"], Value::Null, "no such account");
    }
}

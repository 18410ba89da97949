//! PI-08 and IA-11 over HTTP: a reporter proves their phone with an SMS code, reads
//! their own data and files a request, through the public API and through the
//! phone-sized pages; the command room decides on `/rights` and its API; one
//! address and one phone are each held to their sending limits with 429. SQLite
//! always, PostgreSQL with ZHILI_TEST_PG.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use common::{PW, apps_with_stores, call, login, page};
use serde_json::{Value, json};
use tower::ServiceExt;
use zhili_server::{AppState, ServerConfig, app, hash_password};
use zhili_storage::testing::{fresh_stores, with_small_city};
use zhili_storage::{Store, TOPIC_SMS};

const PHONE: &str = "13912345678";

/// A JSON call with extra headers; the status, the JSON and the Retry-After.
async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        retry,
    )
}

/// The code in the newest SMS to `phone` still waiting in the outbox.
async fn code_for(store: &Store, phone: &str) -> String {
    let leased = store
        .lease_outbox("test", TOPIC_SMS, Utc::now(), Duration::minutes(1), 100)
        .await
        .unwrap();
    let text = leased
        .iter()
        .filter(|m| m.payload["to"][0] == phone)
        .filter_map(|m| m.payload["text"].as_str())
        .rfind(|t| t.contains("验证码为"))
        .expect("a code went out")
        .to_string();
    let start = text.find("验证码为 ").unwrap() + "验证码为 ".len();
    text[start..start + 6].to_string()
}

async fn report(app: &Router, token: &str) -> Value {
    let body = json!({
        "channel": "hotline_12345",
        "reporter": {"kind": "citizen", "name": "李四", "phone": PHONE},
        "text": "小区门口占道经营，早高峰堵塞通道",
        "category": "0101",
        "grid": "33028100200101",
    });
    let (s, v) = call(
        app,
        "POST",
        "/api/v1/events",
        Some(token),
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

#[tokio::test]
async fn a_reporter_reads_their_data_and_the_command_room_decides_their_request() {
    for (app, store) in apps_with_stores().await {
        let fengshan = login(&app, "fengshan").await;
        let e = report(&app, &fengshan).await;

        let (s, v, _) = send(
            &app,
            "POST",
            "/api/public/v1/phone-codes",
            &[],
            Some(json!({"phone": PHONE})),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        let (s, v, _) = send(
            &app,
            "POST",
            "/api/public/v1/phone-codes",
            &[],
            Some(json!({"phone": "12"})),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "phone", "{v}");
        let code = code_for(&store, PHONE).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let verify = |code: String| {
            let app = app.clone();
            async move {
                send(
                    &app,
                    "POST",
                    "/api/public/v1/phone-codes/verify",
                    &[],
                    Some(json!({"phone": PHONE, "code": code})),
                )
                .await
            }
        };
        let (s, v, _) = verify(wrong.into()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "code", "{v}");
        let (s, v, _) = verify(code).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let pass = v["pass"].as_str().unwrap().to_string();

        let (s, _, _) = send(&app, "GET", "/api/public/v1/my-data", &[], None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _, _) = send(
            &app,
            "GET",
            "/api/public/v1/my-data",
            &[("x-reporter-pass", "forged")],
            None,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let with_pass = [("x-reporter-pass", pass.as_str())];
        let (s, mine, _) = send(&app, "GET", "/api/public/v1/my-data", &with_pass, None).await;
        assert_eq!(s, StatusCode::OK, "{mine}");
        assert_eq!(mine["reports"][0]["number"], e["number"]);
        assert_eq!(mine["reports"][0]["phone"], PHONE);
        assert_eq!(mine["reports"][0]["name"], "李四");

        let (s, filed, _) = send(
            &app,
            "POST",
            "/api/public/v1/my-data/requests",
            &with_pass,
            Some(json!({"event": e["number"], "kind": "correct", "name": "李思"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{filed}");

        // The command room of the event's township decides; the grid worker may not.
        let grid1 = login(&app, "grid1").await;
        let (s, _) = call(&app, "GET", "/api/v1/rights-requests", Some(&grid1), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, open) = call(
            &app,
            "GET",
            "/api/v1/rights-requests",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(open[0]["new_name"], "李思", "{open}");
        let decision = format!("/api/v1/rights-requests/{}/decision", filed["id"]);
        let (s, v) = call(
            &app,
            "POST",
            &decision,
            Some(&fengshan),
            Some(r#"{"approve": false}"#),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "note", "{v}");
        let (s, v) = call(
            &app,
            "POST",
            &decision,
            Some(&fengshan),
            Some(r#"{"approve": true}"#),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["status"]["code"], "done");
        let revealed = common::reveal(&app, &fengshan, e["id"].as_i64().unwrap()).await;
        assert_eq!(revealed["name"], "李思");
    }
}

#[tokio::test]
async fn one_address_and_one_phone_are_held_to_their_limits() {
    for store in fresh_stores().await {
        with_small_city(&store, &hash_password(PW)).await;
        let config = ServerConfig {
            client_ip_header: Some("x-forwarded-for".into()),
            rate_limits: zhili_server::rate_limit::RateLimits {
                phone_code: zhili_server::rate_limit::Limit {
                    hits: 5,
                    window_secs: 3600,
                },
                ..Default::default()
            },
            ..common::config()
        };
        let app = app(AppState::new(store.clone(), config).load().await.unwrap());
        let ask = |ip: &'static str, phone: &'static str| {
            let app = app.clone();
            async move {
                send(
                    &app,
                    "POST",
                    "/api/public/v1/phone-codes",
                    &[("x-forwarded-for", ip)],
                    Some(json!({ "phone": phone })),
                )
                .await
            }
        };
        // Three codes to one phone in ten minutes, then 429 (storage's count).
        for _ in 0..3 {
            assert_eq!(ask("10.0.0.1", PHONE).await.0, StatusCode::ACCEPTED);
        }
        let (s, v, _) = ask("10.0.0.2", PHONE).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
        assert_eq!(v["error"]["code"], "too_many_requests");
        // Five asks from one address, whatever the phones; then 429 with
        // Retry-After, while another address goes on.
        for phone in ["13700000001", "13700000002"] {
            assert_eq!(ask("10.0.0.1", phone).await.0, StatusCode::ACCEPTED);
        }
        let (s, _, retry) = ask("10.0.0.1", "13700000003").await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert!(retry.is_some_and(|r| r.parse::<i64>().unwrap() > 0));
        assert_eq!(ask("10.0.0.3", "13700000003").await.0, StatusCode::ACCEPTED);
    }
}

#[tokio::test]
async fn the_pages_take_a_reporter_from_phone_to_request_and_the_command_room_decides() {
    for (app, store) in apps_with_stores().await {
        let token = login(&app, "fengshan").await;
        let e = report(&app, &token).await;
        let number = e["number"].as_str().unwrap();

        let r = page::get(&app, "/public/my-data", None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("action=\"/public/my-data/code\""));
        let r = page::post(&app, "/public/my-data/code", None, &[("phone", PHONE)]).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("autocomplete=\"one-time-code\""));
        assert_eq!(r.header("cache-control"), "no-store");
        let code = code_for(&store, PHONE).await;
        let r = page::post(
            &app,
            "/public/my-data",
            None,
            &[("phone", PHONE), ("code", "12")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = page::post(
            &app,
            "/public/my-data",
            None,
            &[("phone", PHONE), ("code", &code)],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(number), "their report is listed");
        assert!(r.body.contains(PHONE), "in full: it is theirs");
        let at = r.body.find("name=\"pass\" value=\"").unwrap() + "name=\"pass\" value=\"".len();
        let pass = r.body[at..at + 48].to_string();
        let r = page::post(
            &app,
            "/public/my-data/requests",
            None,
            &[
                ("pass", &pass),
                ("event", number),
                ("kind", "delete"),
                ("note", "事情已解决，不希望保留电话"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert!(r.body.contains("删除申请"), "{}", r.body);

        let fengshan = page::login(&app, "fengshan").await;
        let r = page::get(&app, "/rights", Some(&fengshan.cookie)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(number));
        assert!(r.body.contains("事情已解决，不希望保留电话"));
        let id = {
            let at = r.body.find("action=\"/rights/").unwrap() + "action=\"/rights/".len();
            r.body[at..].split('"').next().unwrap().to_string()
        };
        let path = format!("/rights/{id}");
        let r = page::post(
            &app,
            &path,
            Some(&fengshan.cookie),
            &[("csrf", &fengshan.csrf), ("decision", "refuse")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = page::post(
            &app,
            &path,
            Some(&fengshan.cookie),
            &[("csrf", &fengshan.csrf), ("decision", "approve")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let r = page::get(&app, "/rights", Some(&fengshan.cookie)).await;
        assert!(!r.body.contains(&format!("action=\"{path}\"")), "decided");
        let grid1 = page::login(&app, "grid1").await;
        assert_eq!(
            page::get(&app, "/rights", Some(&grid1.cookie)).await.status,
            StatusCode::FORBIDDEN
        );
    }
}

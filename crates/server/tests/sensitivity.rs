//! AC-08 over HTTP: a sensitive event carries its label in the API and on the
//! pages; the grid worker finds it neither in the list nor by its address; the
//! command room lowers or raises a label through the API and through the event
//! page, with a reason, and nobody else can. SQLite always, PostgreSQL with
//! ZHILI_TEST_PG.

mod common;

use axum::http::StatusCode;
use common::page;
use common::{apps, call, login};
use serde_json::{Value, json};

async fn report(app: &axum::Router, token: &str, text: &str) -> Value {
    let body = json!({
        "channel": "hotline_12345",
        "reporter": {"kind": "citizen", "name": "李四", "phone": "13912345678"},
        "text": text,
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

async fn label(app: &axum::Router, token: &str, id: &Value, body: Value) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        &format!("/api/v1/events/{id}/sensitivity"),
        Some(token),
        Some(&body.to_string()),
    )
    .await
}

#[tokio::test]
async fn the_api_hides_sensitive_events_and_lets_the_command_room_label_them() {
    for app in apps().await {
        let fengshan = login(&app, "fengshan").await;
        let grid1 = login(&app, "grid1").await;
        let e = report(
            &app,
            &fengshan,
            "我要实名举报社区干部吃拿卡要，请为举报人保密",
        )
        .await;
        assert_eq!(e["sensitivity"]["code"], "sensitive", "{e}");
        assert_eq!(e["sensitivity_reason"], "举报违纪违法（“实名举报”）");
        let plain = report(&app, &fengshan, "小区门口占道经营，早高峰堵塞通道").await;
        assert_eq!(plain["sensitivity"]["code"], "normal");

        let one = |id: &Value| format!("/api/v1/events/{id}");
        let (s, _) = call(&app, "GET", &one(&e["id"]), Some(&grid1), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (_, list) = call(&app, "GET", "/api/v1/events", Some(&grid1), None).await;
        assert_eq!(list["total"], 1, "{list}");
        assert_eq!(list["items"][0]["id"], plain["id"]);
        let (_, list) = call(&app, "GET", "/api/v1/events", Some(&fengshan), None).await;
        assert_eq!(list["total"], 2);

        // The grid worker sees the plain one but may not label it; the command
        // room must give a reason and a known label.
        let (s, v) = label(
            &app,
            &grid1,
            &plain["id"],
            json!({"sensitivity": "sensitive", "reason": "涉及隐私"}),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, v) = label(
            &app,
            &fengshan,
            &plain["id"],
            json!({"sensitivity": "sensitive", "reason": ""}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "reason", "{v}");
        let (s, v) = label(
            &app,
            &fengshan,
            &plain["id"],
            json!({"sensitivity": "secret", "reason": "涉及隐私情况"}),
        )
        .await;
        assert!(s.is_client_error(), "{s} {v}");
        let (s, v) = label(
            &app,
            &fengshan,
            &e["id"],
            json!({"sensitivity": "normal", "reason": "经核实为一般咨询，不涉及举报"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["sensitivity"]["code"], "normal");
        let (s, seen) = call(&app, "GET", &one(&e["id"]), Some(&grid1), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(seen["sensitivity_reason"], "经核实为一般咨询，不涉及举报");
    }
}

#[tokio::test]
async fn the_event_page_shows_the_label_and_the_command_room_changes_it() {
    for app in apps().await {
        let token = login(&app, "fengshan").await;
        let e = report(&app, &token, "邻居家孩子未满14岁就被送去饭店当童工").await;
        let path = format!("/events/{}", e["id"]);
        let number = e["number"].as_str().unwrap().to_string();
        let fengshan = page::login(&app, "fengshan").await;
        let grid1 = page::login(&app, "grid1").await;

        let list = page::get(&app, "/events", Some(&fengshan.cookie)).await;
        assert!(list.body.contains(&number));
        assert!(list.body.contains("label-sensitive"), "the list marks it");
        let list = page::get(&app, "/events", Some(&grid1.cookie)).await;
        assert!(!list.body.contains(&number));
        assert_eq!(
            page::get(&app, &path, Some(&grid1.cookie)).await.status,
            StatusCode::NOT_FOUND
        );

        let shown = page::get(&app, &path, Some(&fengshan.cookie)).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.body.contains("涉及未成年人"), "the reason is shown");
        assert!(
            shown
                .body
                .contains(&format!("action=\"{path}/sensitivity\""))
        );

        // A reason too short comes back on the page, with the event unchanged.
        let form = |reason| {
            vec![
                ("csrf", fengshan.csrf.clone()),
                ("sensitivity", "normal".to_string()),
                ("reason", reason),
            ]
        };
        let post = |f: Vec<(&'static str, String)>| {
            let app = app.clone();
            let cookie = fengshan.cookie.clone();
            let path = format!("{path}/sensitivity");
            async move {
                let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                page::post(&app, &path, Some(&cookie), &pairs).await
            }
        };
        let r = post(form("无".into())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("aria-invalid=\"true\""));
        let r = post(form("家长已说明系亲属帮忙，不涉及未成年人".into())).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            r.location.as_deref(),
            Some(format!("{path}?done=sensitivity").as_str())
        );
        let shown = page::get(&app, &path, Some(&grid1.cookie)).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.body.contains("调整密级"), "the timeline says so");
        // The grid worker may read it now, but not change its label.
        assert!(
            !shown
                .body
                .contains(&format!("action=\"{path}/sensitivity\""))
        );
    }
}

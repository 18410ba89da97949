//! Deadline notices through the real router, on every backend: the sweep warns the
//! township that must accept, escalates to the city, and each reader sees only the
//! notices addressed to their own org.

mod common;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use common::{apps_with_stores, call, login};
use serde_json::json;

#[tokio::test]
async fn overdue_acceptance_warns_the_township_and_escalates_to_the_city() {
    for (app, store) in apps_with_stores().await {
        let fengshan = login(&app, "fengshan").await;
        let body = json!({
            "channel": "web_form",
            "reporter": {"kind": "citizen", "name": "李四", "phone": "13912345678"},
            "text": "楼下商铺占道经营，堵塞消防通道",
            "category": "0102",
            "grid": "33028100200101",
        });
        let (s, e) = call(
            &app,
            "POST",
            "/api/v1/events",
            Some(&fengshan),
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        let id = e["id"].as_i64().unwrap();
        let clocks: Vec<&str> = e["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["clock"]["code"].as_str().unwrap())
            .collect();
        assert_eq!(clocks, ["accept", "handle", "feedback"]);
        assert_eq!(e["level"]["code"], "township");

        // Nobody accepted it for a month.
        let r = store
            .sweep_deadlines("test", Utc::now() + Duration::days(30), 100)
            .await
            .unwrap();
        assert_eq!(r.escalated, 1, "{r:?}");

        let (s, mine) = call(
            &app,
            "GET",
            "/api/v1/notifications?unread=true",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let items = mine["items"].as_array().unwrap();
        let kinds: Vec<&str> = items
            .iter()
            .map(|n| n["kind"]["code"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"warn_yellow")
                && kinds.contains(&"warn_red")
                && kinds.contains(&"escalated"),
            "{kinds:?}"
        );
        assert!(items.iter().all(|n| n["event"]["id"] == id));
        assert!(
            !mine.to_string().contains("13912345678"),
            "no reporter phone in a notice"
        );

        let lizhou = login(&app, "lizhou").await;
        let (_, theirs) = call(&app, "GET", "/api/v1/notifications", Some(&lizhou), None).await;
        assert_eq!(theirs["total"], 0, "another township hears nothing");
        let first = items[0]["id"].as_i64().unwrap();
        let (s, _) = call(
            &app,
            "POST",
            &format!("/api/v1/notifications/{first}/read"),
            Some(&lizhou),
            None,
        )
        .await;
        assert_eq!(
            s,
            StatusCode::NOT_FOUND,
            "someone else's notice cannot be touched"
        );
        let (s, _) = call(
            &app,
            "POST",
            &format!("/api/v1/notifications/{first}/read"),
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (_, after) = call(
            &app,
            "GET",
            "/api/v1/notifications?unread=true",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(
            after["total"].as_i64().unwrap(),
            mine["total"].as_i64().unwrap() - 1
        );

        let city = login(&app, "city").await;
        let (_, c) = call(&app, "GET", "/api/v1/notifications", Some(&city), None).await;
        assert!(c.to_string().contains("事件升级"), "{c}");
        // The city runs it now: the township cannot accept any more, the city can.
        let (_, d) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{id}"),
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(d["level"]["code"], "city");
        assert!(
            !d["allowed_actions"].to_string().contains("\"accept\""),
            "{d}"
        );
        let (s, d) = call(
            &app,
            "POST",
            &format!("/api/v1/events/{id}/actions"),
            Some(&city),
            Some(r#"{"action":"accept"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{d}");
    }
}

#[tokio::test]
async fn staff_set_their_notice_contact_and_bad_values_name_the_field() {
    for (app, _) in apps_with_stores().await {
        let fengshan = login(&app, "fengshan").await;
        let (s, v) = call(
            &app,
            "PUT",
            "/api/v1/me/contact",
            Some(&fengshan),
            Some(r#"{"phone":"12345","email":null}"#),
        )
        .await;
        assert!(s.is_client_error(), "{s}");
        assert_eq!(v["error"]["field"], "phone", "{v}");
        let (s, v) = call(
            &app,
            "PUT",
            "/api/v1/me/contact",
            Some(&fengshan),
            Some(r#"{"phone":null,"email":"不是邮箱"}"#),
        )
        .await;
        assert!(s.is_client_error(), "{s}");
        assert_eq!(v["error"]["field"], "email", "{v}");
        let (s, _) = call(
            &app,
            "PUT",
            "/api/v1/me/contact",
            Some(&fengshan),
            Some(r#"{"phone":"13900001111","email":"fs@example.cn"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let citizen = login(&app, "citizen1").await;
        let (s, _) = call(
            &app,
            "PUT",
            "/api/v1/me/contact",
            Some(&citizen),
            Some(r#"{"phone":"13900001111","email":null}"#),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = call(&app, "GET", "/api/v1/notifications", None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
}

//! Recurring problems and governance topics through the real router, on every
//! backend: who sees an alert, who may act on it, and bad input naming its field.

mod common;

use axum::http::StatusCode;
use chrono::Utc;
use common::{apps_with_stores, call, login};
use serde_json::json;

#[tokio::test]
async fn the_township_turns_a_recurring_alert_into_a_topic_and_closes_it() {
    for (app, store) in apps_with_stores().await {
        let fengshan = login(&app, "fengshan").await;
        for i in 0..3 {
            let body = json!({
                "channel": "web_form",
                "text": format!("小区门口占道经营第{}次", i + 1),
                "category": "0102",
                "grid": "33028100200101",
                "location": {"lon": 121.155, "lat": 30.002 + f64::from(i) * 0.0004},
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
        }
        assert_eq!(store.detect_recurring(Utc::now()).await.unwrap(), 1);

        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/recurring?status=open",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{v}");
        assert_eq!(items[0]["events"].as_array().unwrap().len(), 3);
        let id = items[0]["id"].as_i64().unwrap();

        let lizhou = login(&app, "lizhou").await;
        let (_, v) = call(&app, "GET", "/api/v1/recurring", Some(&lizhou), None).await;
        assert_eq!(v["items"], json!([]));
        let (s, _) = call(
            &app,
            "GET",
            &format!("/api/v1/recurring/{id}"),
            Some(&lizhou),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let citizen = login(&app, "citizen1").await;
        let (s, _) = call(&app, "GET", "/api/v1/recurring", Some(&citizen), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/recurring?status=maybe",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("status"))
        );

        let oversight = login(&app, "oversight").await;
        let topic = |title: &str| json!({ "title": title }).to_string();
        let (s, _) = call(
            &app,
            "POST",
            &format!("/api/v1/recurring/{id}/topic"),
            Some(&oversight),
            Some(&topic("专题")),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "oversight reads but does not act");
        let (s, v) = call(
            &app,
            "POST",
            &format!("/api/v1/recurring/{id}/topic"),
            Some(&fengshan),
            Some(&topic("")),
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("title")),
            "{v}"
        );
        let (s, t) = call(
            &app,
            "POST",
            &format!("/api/v1/recurring/{id}/topic"),
            Some(&fengshan),
            Some(&topic("小区门口占道经营专题")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let tid = t["id"].as_i64().unwrap();
        let (s, _) = call(
            &app,
            "POST",
            &format!("/api/v1/recurring/{id}/topic"),
            Some(&fengshan),
            Some(&topic("再来")),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT);

        let (s, v) = call(
            &app,
            "POST",
            &format!("/api/v1/topics/{tid}/close"),
            Some(&fengshan),
            Some(r#"{"measures":"x"}"#),
        )
        .await;
        assert!(
            s.is_client_error() && v["error"]["field"] == "root_cause",
            "{s} {v}"
        );
        let (s, v) = call(
            &app,
            "POST",
            &format!("/api/v1/topics/{tid}/close"),
            Some(&fengshan),
            Some(r#"{"root_cause":"缺少规范的临时摊点","measures":"设立便民疏导点"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["status"]["code"], "closed");
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/topics?status=closed",
            Some(&oversight),
            None,
        )
        .await;
        assert_eq!(v["items"].as_array().unwrap().len(), 1);
    }
}

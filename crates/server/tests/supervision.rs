//! Supervision over HTTP, through the real router on every backend: who may issue,
//! read, reply and close; out of scope is 404; bad input names its field; the focus
//! share; and the public view, which carries no personal numbers.

mod common;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use common::{apps, call, login};

fn event(text: &str, category: &str) -> String {
    json!({
        "channel": "hotline_12345",
        "reporter": {"kind": "citizen", "name": "李四", "phone": "13912345678"},
        "text": format!("{text}，联系电话13912345678，身份证330281199001011234"),
        "category": category,
        "grid": "33028100200101",
    })
    .to_string()
}

fn in_days(n: i64) -> String {
    (Utc::now() + Duration::hours(8) + Duration::days(n))
        .format("%Y-%m-%d")
        .to_string()
}

/// The longest run of ASCII digits: a phone number has 11, an ID number 17 or 18.
fn longest_digit_run(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn orders_are_issued_answered_and_closed_by_the_right_people() {
    for app in apps().await {
        let city = login(&app, "city").await;
        let fengshan = login(&app, "fengshan").await;
        let lizhou = login(&app, "lizhou").await;
        let zhujian = login(&app, "zhujian").await;
        let oversight = login(&app, "oversight").await;
        let citizen = login(&app, "citizen1").await;

        let (s, e) = call(
            &app,
            "POST",
            "/api/v1/events",
            Some(&fengshan),
            Some(&event("舜北路违章搭建", "0102")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        let id = e["id"].as_i64().unwrap();
        let act = |token: &str, body: Value| {
            let (app, token) = (app.clone(), token.to_string());
            async move {
                call(
                    &app,
                    "POST",
                    &format!("/api/v1/events/{id}/actions"),
                    Some(&token),
                    Some(&body.to_string()),
                )
                .await
            }
        };
        let (s, _) = act(&fengshan, json!({"action": "accept"})).await;
        assert_eq!(s, StatusCode::OK);
        let (_, units) = call(&app, "GET", "/api/v1/orgs?kind=unit", Some(&city), None).await;
        let zj = units
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == "D-ZJ")
            .unwrap()["id"]
            .clone();
        let (s, v) = act(&fengshan, json!({"action": "dispatch", "lead_unit": zj})).await;
        assert_eq!(s, StatusCode::OK, "{v}");

        // Oversight follows but does not issue.
        let order = json!({"action": "supervise", "level": "leader_owned", "due_date": in_days(3),
                           "note": "请三日内办结", "leader": "张副主任"});
        let (s, v) = act(&oversight, order.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        // Bad input names the field.
        let (s, v) = act(
            &city,
            json!({"action": "supervise", "level": "leader_owned", "due_date": in_days(3), "note": "请办理"}),
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("leader")),
            "{v}"
        );
        let (s, v) = act(
            &city,
            json!({"action": "supervise", "due_date": "下周一", "note": "请办理"}),
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("due_date")),
            "{v}"
        );
        let (s, v) = act(
            &city,
            json!({"action": "supervise", "due_date": in_days(-2), "note": "请办理"}),
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("due_date")),
            "{v}"
        );

        let (s, v) = act(&city, order).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, list) = call(&app, "GET", "/api/v1/supervision", Some(&oversight), None).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(list["total"], 1);
        let o = &list["items"][0];
        assert_eq!(o["level"]["label"], "包案督办");
        assert_eq!(o["leader_name"], "张副主任");
        assert_eq!(o["status"]["code"], "open");
        assert!(
            longest_digit_run(&o["event"]["excerpt"].to_string()) < 11,
            "{}",
            o["event"]["excerpt"]
        );
        let oid = o["id"].as_i64().unwrap();
        let reply = |token: &str, text: &str| {
            let (app, token, body) = (
                app.clone(),
                token.to_string(),
                json!({ "text": text }).to_string(),
            );
            async move {
                call(
                    &app,
                    "POST",
                    &format!("/api/v1/supervision/{oid}/replies"),
                    Some(&token),
                    Some(&body),
                )
                .await
            }
        };
        let (s, _) = reply(&oversight, "已阅").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // Another township's room: the order does not exist for it.
        let (s, _) = call(
            &app,
            "GET",
            &format!("/api/v1/supervision/{oid}"),
            Some(&lizhou),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = reply(&lizhou, "已办").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (_, l) = call(&app, "GET", "/api/v1/supervision", Some(&lizhou), None).await;
        assert_eq!(l["total"], 0);
        // Citizens read the public view instead.
        let (s, _) = call(&app, "GET", "/api/v1/supervision", Some(&citizen), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = reply(&zhujian, " ").await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("text"))
        );
        let (s, v) = reply(&zhujian, "已拆除，现场已恢复").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["status"]["code"], "replied");
        assert_eq!(v["replies"][0]["text"], "已拆除，现场已恢复");

        let close = |token: &str, body: Value| {
            let (app, token) = (app.clone(), token.to_string());
            async move {
                call(
                    &app,
                    "POST",
                    &format!("/api/v1/supervision/{oid}/close"),
                    Some(&token),
                    Some(&body.to_string()),
                )
                .await
            }
        };
        let (s, v) = close(&city, json!({"outcome": "finished"})).await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("outcome"))
        );
        let (s, _) = close(&fengshan, json!({"outcome": "done"})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the township did not issue it");
        let (s, v) = close(&city, json!({"outcome": "done", "note": "办理到位"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["status"]["label"], "已办结");
        let (_, e) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{id}"),
            Some(&city),
            None,
        )
        .await;
        let codes: Vec<&str> = e["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["action"]["code"].as_str())
            .collect();
        assert!(
            codes.ends_with(&["supervise", "supervision_reply", "supervision_close"]),
            "{codes:?}"
        );

        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/supervision?level=urgent",
            Some(&city),
            None,
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("level"))
        );
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/supervision?status=done&level=leader_owned",
            Some(&city),
            None,
        )
        .await;
        assert_eq!(v["total"], 1);
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/supervision?overdue=true",
            Some(&city),
            None,
        )
        .await;
        assert_eq!(v["total"], 0);
    }
}

#[tokio::test]
async fn focus_issues_are_always_supervised_and_the_public_sees_counts_only() {
    for app in apps().await {
        let admin = login(&app, "admin").await;
        let city = login(&app, "city").await;
        let fengshan = login(&app, "fengshan").await;
        let leader = json!({"category": "0101", "leader_name": "王建国"}).to_string();
        let (s, _) = call(
            &app,
            "PUT",
            "/api/v1/focus-leaders",
            Some(&city),
            Some(&leader),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = call(
            &app,
            "PUT",
            "/api/v1/focus-leaders",
            Some(&admin),
            Some(
                &json!({"category": "0101", "township": "999", "leader_name": "王建国"})
                    .to_string(),
            ),
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("township"))
        );
        let (s, v) = call(
            &app,
            "PUT",
            "/api/v1/focus-leaders",
            Some(&admin),
            Some(&leader),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (_, all) = call(&app, "GET", "/api/v1/focus-leaders", Some(&city), None).await;
        assert_eq!(all[0]["leader_name"], "王建国");

        for (text, category) in [("舜北社区夜间噪音扰民", "0101"), ("舜北路违章搭建", "0102")]
        {
            let (s, e) = call(
                &app,
                "POST",
                "/api/v1/events",
                Some(&fengshan),
                Some(&event(text, category)),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{e}");
            let (s, _) = call(
                &app,
                "POST",
                &format!("/api/v1/events/{}/actions", e["id"]),
                Some(&fengshan),
                Some(r#"{"action":"accept"}"#),
            )
            .await;
            assert_eq!(s, StatusCode::OK);
        }
        let (_, list) = call(
            &app,
            "GET",
            "/api/v1/supervision?level=listed",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(list["total"], 1, "only the focus event: {list}");
        assert_eq!(list["items"][0]["leader_name"], "王建国");
        assert_eq!(list["items"][0]["automatic"], true);
        let (s, share) = call(
            &app,
            "GET",
            "/api/v1/supervision/focus-share",
            Some(&city),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{share}");
        assert_eq!(
            (share["focus_events"].as_i64(), share["share"].as_f64()),
            (Some(1), Some(100.0))
        );
        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/supervision/focus-share?from=2026-13-01",
            Some(&city),
            None,
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("from"))
        );

        // No login, no personal data: no phone or ID number, no reporter, no text.
        let (s, public) = call(&app, "GET", "/api/public/v1/supervision", None, None).await;
        assert_eq!(s, StatusCode::OK, "{public}");
        assert_eq!(public["focus"]["share"], 100.0);
        assert_eq!(public["orders"][0]["township"]["name"], "凤山街道");
        assert_eq!(public["orders"][0]["level"]["label"], "挂牌督办");
        let text = public.to_string();
        assert!(longest_digit_run(&text) < 11, "{text}");
        assert!(
            !text.contains("李四") && !text.contains("噪音扰民，联系"),
            "{text}"
        );
    }
}

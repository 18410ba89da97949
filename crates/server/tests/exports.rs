//! AC-09: reporters' contacts leave in bulk only through the export — for the
//! command rooms, with a reason, at most so often, audited with the row count, and
//! watermarked with the exporter and the time. SQLite always, PostgreSQL with
//! ZHILI_TEST_PG.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{PW, call, login};
use serde_json::json;
use tower::ServiceExt;
use zhili_server::{AppState, app, hash_password};
use zhili_storage::testing::{audit_count, fresh_stores, with_small_city};

const PHONE: &str = "13912345678";

async fn export(
    app: &axum::Router,
    token: &str,
    query: &str,
    reason: &str,
) -> (StatusCode, String) {
    let req = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/exports/contacts{query}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(json!({ "reason": reason }).to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn contacts_leave_in_bulk_only_by_the_audited_watermarked_export() {
    let hash = hash_password(PW);
    for store in fresh_stores().await {
        with_small_city(&store, &hash).await;
        let mut config = common::config();
        // Counted per address before anything else, refusals too: the five refused
        // roles, the missing reason and three exports.
        config.rate_limits.pii_export.hits = 9;
        let app = app(AppState::new(store.clone(), config).load().await.unwrap());
        let fengshan = login(&app, "fengshan").await;
        let body = json!({
            "channel": "hotline_12345",
            "reporter": {"kind": "citizen", "name": "欧阳修远", "phone": PHONE},
            "text": "楼下烧烤油烟扰民",
            "category": "0101",
            "grid": "33028100200101",
        });
        let (s, v) = call(
            &app,
            "POST",
            "/api/v1/events",
            Some(&fengshan),
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let number = v["number"].as_str().unwrap().to_string();

        // Roles outside the permission are refused before anything is read.
        for who in ["zhujian", "grid1", "oversight", "admin", "citizen1"] {
            let t = login(&app, who).await;
            let (s, body) = export(&app, &t, "", "回访满意度调查").await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {body}");
        }
        // A reason is needed.
        let (s, body) = export(&app, &fengshan, "", "").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("\"reason\""), "{body}");
        assert_eq!(audit_count(&store, "pii.export").await, 0);

        let (s, csv) = export(&app, &fengshan, "?status=reported", "回访满意度调查").await;
        assert_eq!(s, StatusCode::OK, "{csv}");
        let first = csv.lines().next().unwrap();
        assert!(
            first.contains("回访满意度调查") && first.contains("共 1 条"),
            "{first}"
        );
        let row = csv
            .lines()
            .find(|l| l.contains(&number))
            .expect("the event's row");
        assert!(row.contains(PHONE) && row.contains("欧阳修远"), "{row}");
        let uid = store
            .user_by_username("fengshan")
            .await
            .unwrap()
            .unwrap()
            .actor
            .user_id
            .0;
        assert!(
            row.contains(&format!("u{uid}@")),
            "every row carries the exporter: {row}"
        );
        assert_eq!(audit_count(&store, "pii.export").await, 1);

        // The other township's command room gets none of 凤山's reporters, and the
        // empty export is recorded all the same. Then the limit (per address).
        let lizhou = login(&app, "lizhou").await;
        let (s, csv) = export(&app, &lizhou, "", "回访满意度调查").await;
        assert_eq!(s, StatusCode::OK);
        assert!(!csv.contains(PHONE) && !csv.contains(&number), "{csv}");
        let (s, _) = export(&app, &fengshan, "", "回访满意度调查").await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = export(&app, &fengshan, "", "回访满意度调查").await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(audit_count(&store, "pii.export").await, 3);
    }
}

/// The same export from the event list page: the form carries the list's filters
/// and the CSRF token; the answer is the watermarked CSV, audited once.
#[tokio::test]
async fn the_event_list_exports_its_contacts_with_a_reason() {
    for (app, store) in common::apps_with_stores().await {
        let token = login(&app, "fengshan").await;
        let body = json!({
            "channel": "hotline_12345",
            "reporter": {"kind": "citizen", "name": "欧阳修远", "phone": PHONE},
            "text": "楼下烧烤油烟扰民",
            "category": "0101",
            "grid": "33028100200101",
        });
        let (s, v) = call(
            &app,
            "POST",
            "/api/v1/events",
            Some(&token),
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");

        let fengshan = common::page::login(&app, "fengshan").await;
        let list = common::page::get(&app, "/events?status=reported", Some(&fengshan.cookie)).await;
        let at = list
            .body
            .find("action=\"/events/export?")
            .expect("the export form")
            + 8;
        let action = list.body[at..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        assert!(action.contains("status=reported"), "{action}");
        let r = common::page::post(
            &app,
            &action,
            Some(&fengshan.cookie),
            &[("csrf", &fengshan.csrf), ("reason", "")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = common::page::post(
            &app,
            &action,
            Some(&fengshan.cookie),
            &[("csrf", "forged"), ("reason", "回访满意度调查")],
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "no export without the token"
        );
        assert_eq!(audit_count(&store, "pii.export").await, 0);
        let r = common::page::post(
            &app,
            &action,
            Some(&fengshan.cookie),
            &[("csrf", &fengshan.csrf), ("reason", "回访满意度调查")],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.header("content-type").starts_with("text/csv"));
        assert!(r.body.contains(PHONE), "{}", r.body);
        assert!(r.body.contains("回访满意度调查"));
        assert_eq!(audit_count(&store, "pii.export").await, 1);

        // Those without the permission see no form and cannot post one.
        let grid1 = common::page::login(&app, "grid1").await;
        let list = common::page::get(&app, "/events", Some(&grid1.cookie)).await;
        assert!(!list.body.contains("/events/export"));
        let r = common::page::post(
            &app,
            "/events/export",
            Some(&grid1.cookie),
            &[("csrf", &grid1.csrf), ("reason", "回访满意度调查")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}

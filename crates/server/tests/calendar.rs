//! Loading a new year's holidays over HTTP, on every backend: only an administrator
//! may; a bad file names every problem and stores nothing; a good one applies at once
//! and counts the deadlines that were estimates again.

mod common;

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use common::{apps_with_stores, call, login};
use zhili_calendar::china_time;
use zhili_domain::{NewEvent, RawNewEvent};
use zhili_storage::CreateOutcome;

fn fictional_2027() -> String {
    let mut holidays = Vec::new();
    let mut push = |name: &str, dates: &[&str]| {
        for d in dates {
            holidays.push(format!(r#"{{"date": "2027-{d}", "name": "{name}"}}"#));
        }
    };
    push("元旦", &["01-01", "01-02", "01-03"]);
    push(
        "春节",
        &[
            "02-06", "02-07", "02-08", "02-09", "02-10", "02-11", "02-12",
        ],
    );
    push("清明", &["04-03", "04-04", "04-05"]);
    push("劳动节", &["05-01", "05-02", "05-03", "05-04", "05-05"]);
    push("端午", &["06-09"]);
    push("中秋", &["09-15"]);
    push(
        "国庆节",
        &[
            "10-01", "10-02", "10-03", "10-04", "10-05", "10-06", "10-07",
        ],
    );
    format!(
        r#"{{"year": 2027, "holidays": [{}], "workdays": [{{"date": "2027-02-20", "name": "春节"}}]}}"#,
        holidays.join(", ")
    )
}

#[tokio::test]
async fn an_admin_loads_2027_and_estimated_deadlines_are_counted_again() {
    for (app, store) in apps_with_stores().await {
        // Reported on 2026-12-30: its deadlines run into 2027, not shipped yet.
        let fengshan = store
            .user_by_username("fengshan")
            .await
            .unwrap()
            .unwrap()
            .actor;
        let received = china_time()
            .with_ymd_and_hms(2026, 12, 30, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let new = NewEvent::parse(RawNewEvent {
            channel: "hotline_12345".into(),
            text: "年底道路施工噪音".into(),
            category: Some("0102".into()),
            grid: Some("33028100200101".into()),
            ..Default::default()
        })
        .unwrap();
        let CreateOutcome::Created(e) = store
            .events_for(&fengshan)
            .create(&new, received)
            .await
            .unwrap()
        else {
            panic!("expected a new event")
        };
        assert!(e.deadlines_estimated);
        // Monday–Friday estimate: 12-31, 01-01, 01-04, 01-05, 01-06.
        let local = |t: chrono::DateTime<Utc>| {
            t.with_timezone(&china_time())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        };
        assert_eq!(local(e.feedback_due_at.unwrap()), "2027-01-06 17:30");

        let admin = login(&app, "admin").await;
        let op = login(&app, "fengshan").await;
        let (s, _) = call(
            &app,
            "GET",
            "/api/v1/calendar/add-working-days?date=2027-01-01&days=1",
            Some(&op),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "2027 is not known yet");

        let (s, _) = call(
            &app,
            "POST",
            "/api/v1/calendar/years",
            Some(&op),
            Some(&fictional_2027()),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "only an administrator loads holidays"
        );

        // A make-up day on a weekday and a date of another year: both named, nothing stored.
        let bad = fictional_2027()
            .replace("2027-02-20", "2027-02-17")
            .replace("\"2027-05-05\"", "\"2026-05-05\"");
        let (s, v) = call(
            &app,
            "POST",
            "/api/v1/calendar/years",
            Some(&admin),
            Some(&bad),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "file");
        let problems = v["error"]["detail"]["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 2, "{v}");
        assert!(
            v.to_string().contains("2027-02-17") && v.to_string().contains("2026-05-05"),
            "{v}"
        );
        let (_, years) = call(&app, "GET", "/api/v1/calendar/years", Some(&op), None).await;
        assert!(!years.to_string().contains("2027"), "{years}");

        let (s, v) = call(
            &app,
            "POST",
            "/api/v1/calendar/years",
            Some(&admin),
            Some(&fictional_2027()),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["loaded"], serde_json::json!([2027]));
        assert_eq!(v["recounted_deadlines"], 1);
        let (_, years) = call(&app, "GET", "/api/v1/calendar/years", Some(&op), None).await;
        let y2027 = years["years"]
            .as_array()
            .unwrap()
            .iter()
            .find(|y| y["year"] == 2027)
            .unwrap()
            .clone();
        assert_eq!(y2027["source"], "loaded");
        let (_, d) = call(
            &app,
            "GET",
            "/api/v1/calendar/add-working-days?date=2027-01-01&days=1",
            Some(&op),
            None,
        )
        .await;
        assert_eq!(d["date"], "2027-01-04");

        // With 01-01..03 as holidays: 12-31, 01-04, 01-05, 01-06, 01-07.
        let (_, ev) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{}", e.id),
            Some(&op),
            None,
        )
        .await;
        assert_eq!(ev["deadlines_estimated"], false, "{ev}");
        let due: chrono::DateTime<Utc> =
            serde_json::from_value(ev["feedback_due_at"].clone()).unwrap();
        assert_eq!(local(due), "2027-01-07 17:30");
    }
}

//! Recurring problems and governance topics on SQLite and (with ZHILI_TEST_PG)
//! PostgreSQL: three reports of one kind at one place within a month raise one alert
//! for the township (however many instances look), later reports join it, far ones
//! do not; a topic links the events and, closed with its root cause, counts as a
//! deep-seated problem found and solved in the KPIs.

use chrono::{DateTime, TimeZone, Utc};
use zhili_calendar::china_time;
use zhili_domain::event::RawLocation;
use zhili_domain::kpi::KpiKind;
use zhili_domain::{Actor, NewEvent, RawNewEvent};
use zhili_storage::kpi::Period;
use zhili_storage::testing::{fresh_stores, with_small_city};
use zhili_storage::{CreateOutcome, Store};

fn at(d: u32) -> DateTime<Utc> {
    china_time()
        .with_ymd_and_hms(2024, 3, d, 10, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

/// A report in 舜北社区第1网格, `north_m` metres north of its middle.
async fn report(store: &Store, category: &str, north_m: f64, when: DateTime<Utc>) -> i64 {
    let new = NewEvent::parse(RawNewEvent {
        channel: "web_form".into(),
        text: "楼下烧烤店油烟扰民".into(),
        category: Some(category.into()),
        grid: Some("33028100200101".into()),
        location: Some(RawLocation {
            lon: 121.155,
            lat: 30.002 + north_m / 111_000.0,
            crs: None,
        }),
        ..Default::default()
    })
    .unwrap();
    match store
        .events_for(&actor(store, "fengshan").await)
        .create(&new, when)
        .await
        .unwrap()
    {
        CreateOutcome::Created(d) => d.id,
        CreateOutcome::Existing(_) => panic!("expected a new event"),
    }
}

#[tokio::test]
async fn a_place_that_keeps_coming_back_becomes_a_topic_and_a_solved_deep_problem() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let a = report(&store, "0102", 0.0, at(1)).await;
        let b = report(&store, "0102", 80.0, at(8)).await;
        // Another kind at the same place, and the same kind 2 km away: not part of it.
        report(&store, "0101", 0.0, at(9)).await;
        report(&store, "0102", 2_000.0, at(10)).await;
        assert_eq!(
            store.detect_recurring(at(12)).await.unwrap(),
            0,
            "two are not a pattern"
        );
        let c = report(&store, "0102", 150.0, at(15)).await;

        // Two instances look at the same moment: one alert.
        let other = store.clone();
        let (x, y) = tokio::join!(
            store.detect_recurring(at(16)),
            other.detect_recurring(at(16))
        );
        assert_eq!(x.unwrap() + y.unwrap(), 1);
        assert_eq!(store.detect_recurring(at(17)).await.unwrap(), 0);

        let fengshan = store.recurring_for(&actor(&store, "fengshan").await);
        let alerts = fengshan.alerts(Some("open")).await.unwrap();
        assert_eq!(alerts.len(), 1);
        let ids: Vec<i64> = alerts[0].events.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![a, b, c]);
        assert_eq!(alerts[0].category.code, "0102");
        let notices = store
            .notifications(&actor(&store, "fengshan").await, true, 1, 50)
            .await
            .unwrap();
        assert!(
            notices
                .items
                .iter()
                .any(|n| n.kind.code == "recurring" && n.title.contains("3 次"))
        );
        // Another township sees nothing; oversight reads but may not act.
        let lizhou = store.recurring_for(&actor(&store, "lizhou").await);
        assert!(lizhou.alerts(None).await.unwrap().is_empty());
        assert!(lizhou.alert(alerts[0].id).await.is_err());
        let oversight = store.recurring_for(&actor(&store, "oversight").await);
        assert_eq!(oversight.alerts(None).await.unwrap().len(), 1);
        assert!(
            oversight
                .open_topic(alerts[0].id, "油烟扰民专题", at(18))
                .await
                .is_err()
        );

        // A fourth report joins the same alert.
        let d = report(&store, "0102", 50.0, at(20)).await;
        assert_eq!(store.detect_recurring(at(21)).await.unwrap(), 0);
        let alert = fengshan.alert(alerts[0].id).await.unwrap();
        assert_eq!(alert.events.len(), 4);
        assert!(alert.events.iter().any(|e| e.id == d));

        // The command room opens a topic and, later, closes it with the root cause.
        let t = fengshan
            .open_topic(alert.id, "舜北社区烧烤店油烟扰民专题", at(22))
            .await
            .unwrap();
        assert_eq!(t.events.len(), 4);
        assert!(
            fengshan
                .open_topic(alert.id, "再开一个", at(22))
                .await
                .is_err(),
            "one topic per alert"
        );
        let ev = store
            .events_for(&actor(&store, "fengshan").await)
            .get(a)
            .await
            .unwrap();
        assert!(ev.timeline.iter().any(|x| x.action.code == "topic_link"));
        assert!(
            fengshan
                .close_topic(t.id, "  ", None, at(25))
                .await
                .is_err(),
            "root cause required"
        );
        let closed = fengshan
            .close_topic(
                t.id,
                "烟道未加装净化设备",
                Some("责令加装油烟净化器并复查"),
                at(28),
            )
            .await
            .unwrap();
        assert_eq!(closed.status.code, "closed");

        // O5: one deep-seated problem found in March, and it was solved.
        let kpis = store.kpis_for(&actor(&store, "fengshan").await);
        let march = Period::month("2024-03").unwrap();
        let report = kpis.kpis("330281002", march).await.unwrap();
        let v = |k: KpiKind| *report.values.iter().find(|x| x.kind == k).unwrap();
        assert_eq!(v(KpiKind::DeepProblemsFound).numerator, 1.0);
        assert_eq!(v(KpiKind::DeepProblemsSolvedRate).value, Some(1.0));
        let behind = kpis
            .kpi_events(
                KpiKind::DeepProblemsFound,
                zhili_storage::kpi::Part::Numerator,
                "330281002",
                march,
                1,
                50,
            )
            .await
            .unwrap();
        assert_eq!(behind.total, 4, "the drill-down shows the topic's events");
        let april = Period::month("2024-04").unwrap();
        let report = kpis.kpis("330281002", april).await.unwrap();
        assert_eq!(
            report
                .values
                .iter()
                .find(|x| x.kind == KpiKind::DeepProblemsFound)
                .unwrap()
                .numerator,
            0.0
        );
    }
}

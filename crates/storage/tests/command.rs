//! The command centre's numbers on SQLite and (with ZHILI_TEST_PG) PostgreSQL: tiles,
//! trend, categories, area loads, the overdue list and the map, each scoped to the
//! viewer, and each count equal to the event list its link opens.

use chrono::{DateTime, Duration, Utc};
use zhili_domain::event::RawLocation;
use zhili_domain::{Action, Actor, NewEvent, RawNewEvent, RawReporter};
use zhili_storage::command::WINDOW_DAYS;
use zhili_storage::testing::{fresh_stores, with_small_city};
use zhili_storage::{EventFilter, Store};

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

fn report(text: &str, category: &str, grid: &str, lon: f64) -> NewEvent {
    NewEvent::parse(RawNewEvent {
        channel: "hotline_12345".into(),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some("张三".into()),
            phone: Some("13812345678".into()),
        }),
        text: text.into(),
        category: Some(category.into()),
        grid: Some(grid.into()),
        location: Some(RawLocation {
            lon,
            lat: 30.005,
            crs: None,
        }),
        ..Default::default()
    })
    .unwrap()
}

async fn count(store: &Store, actor: &Actor, f: EventFilter) -> i64 {
    store
        .events_for(actor)
        .list(&EventFilter {
            per_page: 1,
            page: 1,
            ..f
        })
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn the_command_centre_counts_what_its_lists_hold_in_the_viewers_scope() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let (city, fengshan, lizhou, oversight, citizen) = (
            actor(&store, "city").await,
            actor(&store, "fengshan").await,
            actor(&store, "lizhou").await,
            actor(&store, "oversight").await,
            actor(&store, "citizen1").await,
        );
        let t0 = Utc::now() - Duration::days(2);
        let mut ids = Vec::new();
        // Two in 凤山 (one noise, a focus issue), one in 梨洲.
        for (who, text, cat, grid, lon) in [
            (
                &fengshan,
                "夜间施工噪音扰民，电话13812345678",
                "0101",
                "33028100200101",
                121.155,
            ),
            (
                &fengshan,
                "违章搭建阳光房",
                "0102",
                "33028100200102",
                121.165,
            ),
            (&lizhou, "违章搭建雨棚", "0102", "33028100100101", 121.105),
        ] {
            let d = match store
                .events_for(who)
                .create(&report(text, cat, grid, lon), t0)
                .await
                .unwrap()
            {
                zhili_storage::CreateOutcome::Created(d) => d,
                other => panic!("{other:?}"),
            };
            ids.push(d.id);
        }
        // The first is accepted: its handling clock (5 working days) runs.
        store
            .events_for(&fengshan)
            .act(ids[0], &Action::Accept { note: None }, t0)
            .await
            .unwrap();

        let now = Utc::now();
        let s = store
            .command_for(&city)
            .unwrap()
            .snapshot(now)
            .await
            .unwrap();
        assert_eq!(
            (s.counts.open, s.counts.pending_accept, s.counts.overdue),
            (3, 2, 0)
        );
        assert_eq!(s.counts.window, 3);
        assert_eq!(s.trend.len(), usize::try_from(WINDOW_DAYS).unwrap());
        assert_eq!(s.trend.iter().map(|d| d.count).sum::<i64>(), 3);
        assert_eq!(
            s.categories.len(),
            1,
            "both count to 城市管理: {:?}",
            s.categories
        );
        assert_eq!(
            (
                s.categories[0].category.code.as_str(),
                s.categories[0].count
            ),
            ("01", 3)
        );
        assert_eq!(s.townships.len(), 2);
        assert_eq!(s.grids.len(), 3);
        let focus: Vec<_> = s
            .focus
            .iter()
            .map(|c| (c.category.code.as_str(), c.count))
            .collect();
        assert_eq!(focus, vec![("0101", 1)]);

        // A month on, the accepted one is overdue; the others wait to be accepted.
        let later = now + Duration::days(30);
        let s = store
            .command_for(&city)
            .unwrap()
            .snapshot(later)
            .await
            .unwrap();
        assert_eq!(s.counts.overdue, 1);
        assert_eq!(s.overdue.len(), 1);
        assert_eq!(s.overdue[0].id, ids[0]);
        let overdue_list = EventFilter {
            overdue_at: Some(later),
            ..Default::default()
        };
        assert_eq!(count(&store, &city, overdue_list.clone()).await, 1);
        let fs = s
            .townships
            .iter()
            .find(|t| t.area.code == "330281002")
            .unwrap();
        assert_eq!((fs.open, fs.overdue), (2, 1));

        // A township room sees its own township only.
        let s = store
            .command_for(&lizhou)
            .unwrap()
            .snapshot(later)
            .await
            .unwrap();
        assert_eq!((s.counts.open, s.counts.overdue), (1, 0));
        assert_eq!(s.townships.len(), 1);
        assert_eq!(count(&store, &lizhou, overdue_list).await, 0);
        let map = store.command_for(&lizhou).unwrap();
        let pins = map.map_events(None, later).await.unwrap();
        assert_eq!(pins.iter().map(|p| p.id).collect::<Vec<_>>(), vec![ids[2]]);

        // Oversight sees all, the phone number in the text masked.
        let o = store.command_for(&oversight).unwrap();
        let pins = o.map_events(None, later).await.unwrap();
        assert_eq!(pins.len(), 3);
        let noisy = pins.iter().find(|p| p.id == ids[0]).unwrap();
        assert!(noisy.overdue && noisy.open);
        assert!(!noisy.excerpt.contains("13812345678"), "{}", noisy.excerpt);
        let s = o.snapshot(later).await.unwrap();
        assert!(!s.overdue[0].excerpt.contains("13812345678"));
        // The city handles events: it reads the text as written.
        let pins = store
            .command_for(&city)
            .unwrap()
            .map_events(None, later)
            .await
            .unwrap();
        assert!(pins.iter().any(|p| p.excerpt.contains("13812345678")));

        // Changes since a moment: a rejected event leaves the map as not open.
        let before: DateTime<Utc> = Utc::now() - Duration::seconds(1);
        store
            .events_for(&lizhou)
            .act(
                ids[2],
                &Action::Reject {
                    reason: zhili_domain::RejectReason::NotOurBusiness,
                    note: "不属于受理范围".into(),
                },
                Utc::now(),
            )
            .await
            .unwrap();
        let changed = store
            .command_for(&city)
            .unwrap()
            .map_events(Some(before), Utc::now())
            .await
            .unwrap();
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert!(!changed[0].open);

        assert!(store.command_for(&citizen).is_none());
    }
}

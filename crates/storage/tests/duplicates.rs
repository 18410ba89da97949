//! Duplicate linking on SQLite and (with ZHILI_TEST_PG) PostgreSQL: a new report
//! near an open one of its category, soon after and in much the same words is
//! linked to it, nothing far, old, different or closed is; a category's own
//! settings apply; the master's feedback reaches every duplicate's reporter once;
//! the deadline sweep leaves duplicates alone; operators unlink and link by hand.

use chrono::{DateTime, Duration, TimeZone, Utc};
use zhili_calendar::china_time;
use zhili_domain::event::RawLocation;
use zhili_domain::{
    Action, Actor, DuplicateRule, InformChannel, NewEvent, RawNewEvent, RawReporter,
};
use zhili_storage::testing::{fresh_stores, with_small_city};
use zhili_storage::{
    CreateOutcome, DuplicateFilter, EventDetail, EventFilter, Store, StoreError, TOPIC_SMS,
};

const NOISE: &str = "舜北路小区门口工地夜间施工，噪音很大影响休息";
const NOISE_AGAIN: &str = "市民来电反映：舜北路小区门口的工地晚上施工，噪音太大，影响休息";
const OTHER: &str = "小区门口井盖缺失，存在安全隐患";

fn t0() -> DateTime<Utc> {
    china_time()
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
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

/// A report in 舜北社区第1网格, `north_m` metres north of a fixed point (no location
/// when `None`).
fn new_event(text: &str, category: &str, north_m: Option<f64>, phone: Option<&str>) -> NewEvent {
    NewEvent::parse(RawNewEvent {
        channel: "hotline_12345".into(),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some("王五".into()),
            phone: phone.map(Into::into),
        }),
        text: text.into(),
        category: Some(category.into()),
        grid: Some("33028100200101".into()),
        location: north_m.map(|m| RawLocation {
            lon: 121.155,
            lat: 30.004 + m / 111_195.0,
            crs: None,
        }),
        ..Default::default()
    })
    .unwrap()
}

async fn report(store: &Store, new: NewEvent, at: DateTime<Utc>) -> EventDetail {
    match store
        .events_for(&actor(store, "fengshan").await)
        .create(&new, at)
        .await
        .unwrap()
    {
        CreateOutcome::Created(d) => *d,
        CreateOutcome::Existing(_) => panic!("expected a new event"),
    }
}

async fn get(store: &Store, id: i64) -> EventDetail {
    store
        .events_for(&actor(store, "fengshan").await)
        .get(id)
        .await
        .unwrap()
}

fn master_of(d: &EventDetail) -> Option<i64> {
    d.duplicate_of.as_ref().map(|m| m.id)
}

async fn act(store: &Store, who: &str, id: i64, action: Action, at: DateTime<Utc>) {
    store
        .events_for(&actor(store, who).await)
        .act(id, &action, at)
        .await
        .unwrap();
}

fn step(json: &str) -> Action {
    serde_json::from_str(json).unwrap()
}

/// Takes an event through to 已反馈 with `note` as the feedback.
async fn to_informed(store: &Store, id: i64, note: &str, at: DateTime<Utc>) {
    let zj = store.org_by_code("D-ZJ").await.unwrap().unwrap().id;
    act(store, "fengshan", id, step(r#"{"action":"accept"}"#), at).await;
    let dispatch = Action::Dispatch {
        lead_unit: zj,
        assisting_units: vec![],
        note: None,
    };
    act(store, "fengshan", id, dispatch, at).await;
    act(store, "zhujian", id, step(r#"{"action":"sign"}"#), at).await;
    let resolve = step(r#"{"action":"resolve","result":"已责令夜间停工"}"#);
    act(store, "zhujian", id, resolve, at).await;
    act(
        store,
        "fengshan",
        id,
        step(r#"{"action":"verify_pass"}"#),
        at,
    )
    .await;
    let inform = Action::Inform {
        channel: InformChannel::Phone,
        note: Some(note.into()),
    };
    act(store, "fengshan", id, inform, at).await;
}

#[tokio::test]
async fn near_recent_similar_reports_of_a_category_are_linked_and_nothing_else() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let m = report(&store, new_event(NOISE, "0101", Some(0.0), None), t0()).await;
        assert_eq!(master_of(&m), None);

        let dup = report(
            &store,
            new_event(NOISE_AGAIN, "0101", Some(80.0), None),
            t0() + Duration::hours(24),
        )
        .await;
        assert_eq!(master_of(&dup), Some(m.id), "{:?}", store.backend());
        assert_eq!(dup.duplicate_of.as_ref().unwrap().number, m.number);
        let first = dup.timeline[0].note.clone().unwrap();
        assert!(
            first.contains(&format!("疑似重复件，已关联主件 {}", m.number)),
            "{first}"
        );
        let m_now = get(&store, m.id).await;
        assert_eq!(
            m_now.duplicates.iter().map(|d| d.id).collect::<Vec<_>>(),
            vec![dup.id]
        );

        let soon = t0() + Duration::hours(1);
        // Far (500 m), different words, another category, no location: alone.
        let far = report(&store, new_event(NOISE, "0101", Some(500.0), None), soon).await;
        let other = report(&store, new_event(OTHER, "0101", Some(10.0), None), soon).await;
        let cat = report(&store, new_event(NOISE, "0102", Some(10.0), None), soon).await;
        let nowhere = report(&store, new_event(NOISE, "0101", None, None), soon).await;
        // Older than the window (73 h after the master).
        let late = report(
            &store,
            new_event(NOISE, "0101", Some(10.0), None),
            t0() + Duration::hours(73),
        )
        .await;
        for (what, d) in [
            ("far", &far),
            ("different text", &other),
            ("other category", &cat),
            ("no location", &nowhere),
            ("outside the window", &late),
        ] {
            assert_eq!(master_of(d), None, "{what}");
        }

        // A rejected master takes no duplicates.
        let gone = report(&store, new_event(OTHER, "0102", Some(300.0), None), soon).await;
        let reject = step(r#"{"action":"reject","reason":"invalid","note":"已处理过"}"#);
        act(&store, "fengshan", gone.id, reject, soon).await;
        let again = report(&store, new_event(OTHER, "0102", Some(300.0), None), soon).await;
        assert_eq!(master_of(&again), None, "rejected master");

        // The event list hides or shows only the duplicates.
        let repo = store.events_for(&actor(&store, "fengshan").await);
        let only = repo
            .list(&EventFilter {
                duplicates: Some(DuplicateFilter::Only),
                per_page: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            only.items.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![dup.id]
        );
        let all = repo
            .list(&EventFilter {
                per_page: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        let hidden = repo
            .list(&EventFilter {
                duplicates: Some(DuplicateFilter::Hide),
                per_page: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(hidden.total, all.total - 1);
        assert!(hidden.items.iter().all(|e| e.id != dup.id));
    }
}

#[tokio::test]
async fn a_category_may_have_its_own_rule_set_by_the_admin_only() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let admin = store.duplicates_for(&actor(&store, "admin").await);
        let default = admin.settings("0101").await.unwrap();
        assert!(!default.custom);
        assert_eq!((default.radius_m, default.window_hours), (200.0, 72));

        let wide = DuplicateRule::checked(1_000.0, 24, 0.4).unwrap();
        let refused = store
            .duplicates_for(&actor(&store, "fengshan").await)
            .put_settings("0101", wide, t0())
            .await;
        assert!(matches!(refused, Err(StoreError::Invalid { ref field, .. }) if field == "role"));
        let set = admin.put_settings("0101", wide, t0()).await.unwrap();
        assert!(set.custom);
        assert_eq!((set.radius_m, set.window_hours), (1_000.0, 24));
        assert!(matches!(
            admin.settings("9999").await,
            Err(StoreError::NotFound)
        ));

        // 500 m apart now counts in 0101, and a day is the window; 0102 keeps 200 m.
        let m = report(&store, new_event(NOISE, "0101", Some(0.0), None), t0()).await;
        let at = t0() + Duration::hours(2);
        let near = report(&store, new_event(NOISE, "0101", Some(500.0), None), at).await;
        assert_eq!(master_of(&near), Some(m.id));
        let later = t0() + Duration::hours(30);
        let old = report(&store, new_event(NOISE, "0101", Some(10.0), None), later).await;
        assert_eq!(master_of(&old), None, "outside the category's 24 h");
        report(&store, new_event(NOISE, "0102", Some(0.0), None), t0()).await;
        let far2 = report(&store, new_event(NOISE, "0102", Some(500.0), None), at).await;
        assert_eq!(master_of(&far2), None);

        // Set on the 大类, a rule holds for its 小类 without one of their own.
        admin.put_settings("01", wide, t0()).await.unwrap();
        let inherited = admin.settings("0102").await.unwrap();
        assert!(inherited.custom);
        assert_eq!(inherited.radius_m, 1_000.0);
        let at = t0() + Duration::hours(3);
        let far3 = report(&store, new_event(NOISE, "0102", Some(400.0), None), at).await;
        assert!(master_of(&far3).is_some(), "the 大类's 1 km now applies");
    }
}

#[tokio::test]
async fn the_masters_feedback_reaches_every_duplicate_once() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let m = report(
            &store,
            new_event(NOISE, "0101", Some(0.0), Some("13800000001")),
            t0(),
        )
        .await;
        let at = t0() + Duration::hours(3);
        let d1 = report(
            &store,
            new_event(NOISE_AGAIN, "0101", Some(50.0), Some("13800000002")),
            at,
        )
        .await;
        let d2 = report(&store, new_event(NOISE, "0101", Some(20.0), None), at).await;
        assert_eq!((master_of(&d1), master_of(&d2)), (Some(m.id), Some(m.id)));
        // The operator confirms d2 as a duplicate (不予受理 · 重复件): it still hears.
        let confirm = step(r#"{"action":"reject","reason":"duplicate","note":"同一工地"}"#);
        act(&store, "fengshan", d2.id, confirm, at).await;

        to_informed(&store, m.id, "已责令工地夜间停工，电话13812345678", at).await;

        let said = format!("随主件 {} 反馈：已责令工地夜间停工", m.number);
        for d in [&d1, &d2] {
            let now = get(&store, d.id).await;
            let last = now.timeline.last().unwrap();
            assert_eq!(last.action.code, "duplicate_inform");
            assert!(last.note.as_deref().unwrap().contains(&said), "{last:?}");
        }
        let sms = store
            .lease_outbox("test", TOPIC_SMS, at, Duration::days(1), 100)
            .await
            .unwrap();
        let to_d1: Vec<_> = sms.iter().filter(|s| s.event_id == Some(d1.id)).collect();
        assert_eq!(to_d1.len(), 1, "one SMS for the duplicate's reporter");
        assert_eq!(to_d1[0].payload["to"][0], "13800000002");
        let text = to_d1[0].payload["text"].as_str().unwrap();
        assert!(
            text.contains(&m.number) && text.contains(&d1.number),
            "{text}"
        );
        assert!(!text.contains("13812345678"), "masked: {text}");
        assert!(sms.iter().all(|s| s.event_id != Some(d2.id)), "no phone");
        // The master's reporter gets the rating link as before.
        assert_eq!(sms.iter().filter(|s| s.event_id == Some(m.id)).count(), 1);

        // A later action on the master sends nothing again.
        let rate = step(r#"{"action":"rate","satisfaction":"satisfied"}"#);
        act(&store, "fengshan", m.id, rate, at).await;
        let more = store
            .lease_outbox(
                "test",
                TOPIC_SMS,
                at + Duration::minutes(10),
                Duration::minutes(5),
                100,
            )
            .await
            .unwrap();
        assert!(more.iter().all(|s| s.event_id != Some(d1.id)), "{more:?}");
    }
}

#[tokio::test]
async fn the_sweep_leaves_duplicates_to_their_master() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let m = report(&store, new_event(NOISE, "0101", Some(0.0), None), t0()).await;
        let d = report(
            &store,
            new_event(NOISE, "0101", Some(30.0), None),
            t0() + Duration::minutes(5),
        )
        .await;
        assert_eq!(master_of(&d), Some(m.id));
        let swept = store
            .sweep_deadlines("test", t0() + Duration::days(30), 50)
            .await
            .unwrap();
        assert!(swept.red >= 1, "{swept:?}");
        let warned = |e: &EventDetail| {
            e.timeline
                .iter()
                .filter(|t| t.action.code.starts_with("warn_"))
                .count()
        };
        assert!(warned(&get(&store, m.id).await) > 0);
        assert_eq!(warned(&get(&store, d.id).await), 0);

        // Unlinked, it has clocks of its own again.
        store
            .duplicates_for(&actor(&store, "fengshan").await)
            .unlink(d.id, t0() + Duration::days(30))
            .await
            .unwrap();
        store
            .sweep_deadlines("test", t0() + Duration::days(31), 50)
            .await
            .unwrap();
        assert!(warned(&get(&store, d.id).await) > 0);
    }
}

#[tokio::test]
async fn operators_unlink_and_link_by_hand_within_their_scope() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let m = report(&store, new_event(NOISE, "0101", Some(0.0), None), t0()).await;
        let at = t0() + Duration::hours(1);
        let d = report(&store, new_event(NOISE_AGAIN, "0101", Some(40.0), None), at).await;
        assert_eq!(master_of(&d), Some(m.id));
        let fengshan = store.duplicates_for(&actor(&store, "fengshan").await);

        // Other township: not found; a unit handler or oversight: refused.
        let lizhou = store.duplicates_for(&actor(&store, "lizhou").await);
        assert!(matches!(
            lizhou.unlink(d.id, at).await,
            Err(StoreError::NotFound)
        ));
        for who in ["zhujian", "oversight", "citizen1"] {
            let r = store
                .duplicates_for(&actor(&store, who).await)
                .unlink(d.id, at)
                .await;
            assert!(
                matches!(r, Err(StoreError::Invalid { ref field, .. }) if field == "role"),
                "{who}"
            );
        }

        let after = fengshan.unlink(d.id, at).await.unwrap();
        assert_eq!(after.duplicate_of, None);
        let last = after.timeline.last().unwrap();
        assert_eq!(last.action.code, "duplicate_unlink");
        assert!(last.note.as_deref().unwrap().contains(&m.number));
        assert!(get(&store, m.id).await.duplicates.is_empty());
        assert!(matches!(
            fengshan.unlink(d.id, at).await,
            Err(StoreError::Invalid { ref field, .. }) if field == "duplicate_of"
        ));

        // Linked again by number, then by id (no change), never to itself.
        let again = fengshan.link(d.id, &m.number, at).await.unwrap();
        assert_eq!(master_of(&again), Some(m.id));
        assert_eq!(again.timeline.last().unwrap().action.code, "duplicate_link");
        let entries = again.timeline.len();
        let same = fengshan.link(d.id, &m.id.to_string(), at).await.unwrap();
        assert_eq!(same.timeline.len(), entries);
        assert!(fengshan.link(d.id, &d.number, at).await.is_err());
        assert!(matches!(
            fengshan.link(d.id, "ZL-NOPE", at).await,
            Err(StoreError::Invalid { ref field, .. }) if field == "master"
        ));
        // A master with duplicates cannot become a duplicate itself.
        let lone = report(&store, new_event(OTHER, "0102", Some(0.0), None), at).await;
        assert!(fengshan.link(m.id, &lone.number, at).await.is_err());
        // Naming a duplicate as master links to its master.
        let third = fengshan.link(lone.id, &d.number, at).await.unwrap();
        assert_eq!(master_of(&third), Some(m.id));
        // Moved to another master, the old one's record says so.
        let other = report(&store, new_event(OTHER, "0102", Some(900.0), None), at).await;
        let moved = fengshan.link(lone.id, &other.number, at).await.unwrap();
        assert_eq!(master_of(&moved), Some(other.id));
        let last = get(&store, m.id).await.timeline.last().cloned().unwrap();
        assert!(last.note.unwrap().contains(&other.number));
        fengshan.link(lone.id, &m.number, at).await.unwrap();

        // A master rejected lets its duplicates go.
        let reject = step(r#"{"action":"reject","reason":"invalid","note":"信息不实"}"#);
        act(&store, "fengshan", m.id, reject, at).await;
        for id in [d.id, lone.id] {
            let e = get(&store, id).await;
            assert_eq!(e.duplicate_of, None);
            assert_eq!(e.timeline.last().unwrap().action.code, "duplicate_unlink");
        }
    }
}

/// Reports arriving together are checked together (the intake reads a batch's
/// settings and candidates in a few statements): each still gets the link, or not,
/// that it would get alone, with the category's own setting before its 大类's.
#[tokio::test]
async fn reports_stored_together_are_linked_as_if_alone() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let admin = store.duplicates_for(&actor(&store, "admin").await);
        admin
            .put_settings(
                "01",
                DuplicateRule::checked(1_000.0, 72, 0.4).unwrap(),
                t0(),
            )
            .await
            .unwrap();
        admin
            .put_settings(
                "0101",
                DuplicateRule::checked(100.0, 72, 0.4).unwrap(),
                t0(),
            )
            .await
            .unwrap();
        let m1 = report(&store, new_event(NOISE, "0101", Some(0.0), None), t0()).await;
        let m2 = report(&store, new_event(NOISE, "0102", Some(0.0), None), t0()).await;

        let store = store.with_group_commit(zhili_storage::GroupCommit {
            writers: 1,
            max_batch: 64,
        });
        let fengshan = actor(&store, "fengshan").await;
        let at = t0() + Duration::hours(2);
        // (text, category, metres north, linked to)
        let cases: Vec<(&str, &str, f64, Option<i64>)> = vec![
            (NOISE_AGAIN, "0101", 50.0, Some(m1.id)),
            // 0101's own 100 m, not its 大类's 1 km.
            (NOISE_AGAIN, "0101", 150.0, None),
            // 0102 has no setting of its own: the 大类's 1 km.
            (NOISE_AGAIN, "0102", 400.0, Some(m2.id)),
            (OTHER, "0102", 10.0, None),
        ];
        let mut set = tokio::task::JoinSet::new();
        for (k, (text, cat, north, _)) in cases.iter().cloned().enumerate() {
            let (store, actor) = (store.clone(), fengshan.clone());
            set.spawn(async move {
                let mut new = new_event(text, cat, Some(north), None);
                new.external_id = Some(format!("batch-{k}"));
                (k, store.events_for(&actor).store(&new, at).await)
            });
        }
        // An unknown category in the same rush fails alone.
        let bad = {
            let (store, actor) = (store.clone(), fengshan.clone());
            tokio::spawn(async move {
                let mut new = new_event(NOISE, "0101", Some(0.0), None);
                new.category_code = Some("9999".into());
                store.events_for(&actor).store(&new, at).await
            })
        };
        while let Some(joined) = set.join_next().await {
            let (k, stored) = joined.unwrap();
            let d = get(&store, stored.unwrap().id).await;
            assert_eq!(master_of(&d), cases[k].3, "case {k}: {:?}", store.backend());
        }
        assert!(matches!(
            bad.await.unwrap(),
            Err(StoreError::Invalid { ref field, .. }) if field == "category"
        ));
    }
}

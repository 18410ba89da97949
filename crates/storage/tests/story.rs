//! The storage story, run on SQLite always and on PostgreSQL when ZHILI_TEST_PG is
//! set: an event is reported, scoped, masked, taken through its whole life, refused
//! where the rules say so, and numbered uniquely under concurrency.

use chrono::{Duration, Utc};
use zhili_domain::codes::{InformChannel, RejectReason, Satisfaction};
use zhili_domain::{Action, Actor, LifecycleError, NewEvent, OrgId, RawNewEvent, RawReporter};
use zhili_storage::testing::{fresh_stores, with_small_city};
use zhili_storage::{
    Acting, CreateOutcome, EventDetail, EventFilter, HistoricalEvent, HistoricalStep, Store,
    StoreError,
};

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

fn report(text: &str, grid: &str, ext: Option<&str>) -> NewEvent {
    NewEvent::parse(RawNewEvent {
        channel: "hotline_12345".into(),
        external_id: ext.map(Into::into),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some("张三".into()),
            phone: Some("13812345678".into()),
        }),
        text: text.into(),
        category: Some("0101".into()),
        grid: Some(grid.into()),
        ..Default::default()
    })
    .unwrap()
}

async fn created(store: &Store, who: &str, e: &NewEvent) -> EventDetail {
    match store
        .events_for(&actor(store, who).await)
        .create(e, Utc::now())
        .await
        .unwrap()
    {
        CreateOutcome::Created(d) => *d,
        CreateOutcome::Existing(d) => panic!("expected a new event, got {}", d.number),
    }
}

async fn unit_id(store: &Store, code: &str) -> OrgId {
    store.org_by_code(code).await.unwrap().unwrap().id
}

#[tokio::test]
async fn an_event_lives_from_report_to_archive() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let zhujian = store.events_for(&actor(&store, "zhujian").await);
        let citizen = actor(&store, "citizen1").await;

        // A citizen reports through the web form, as themselves.
        let mut new = report("舜北社区夜间施工噪音扰民", "33028100200101", None);
        new.channel = zhili_domain::Channel::WebForm;
        let e = match store
            .events_for(&citizen)
            .create(&new, Utc::now())
            .await
            .unwrap()
        {
            CreateOutcome::Created(d) => d,
            _ => panic!(),
        };
        assert!(e.number.starts_with("ZL"), "{}", e.number);
        assert_eq!(e.township.name, "凤山街道");
        assert_eq!(e.status.code, "reported");
        let t = Utc::now();
        let step = |a: &str| serde_json::from_str::<Action>(a).unwrap();
        fengshan
            .act(e.id, &step(r#"{"action":"accept"}"#), t)
            .await
            .unwrap();
        let zj = unit_id(&store, "D-ZJ").await.0;
        let d = fengshan
            .act(
                e.id,
                &step(&format!(r#"{{"action":"dispatch","lead_unit":{zj}}}"#)),
                t,
            )
            .await
            .unwrap();
        assert_eq!(d.lead_unit.as_ref().unwrap().code, "D-ZJ");
        // The unit sees it now; the reporter's phone masked until it reveals it,
        // which it may because it handles the event.
        let seen = zhujian.get(e.id).await.unwrap();
        assert_eq!(seen.reporter.phone.as_deref(), Some("138****5678"));
        assert!(seen.reporter.masked && seen.reporter.revealable);
        let revealed = zhujian.reveal_reporter(e.id, "回访核实", t).await.unwrap();
        assert_eq!(revealed.phone.as_deref(), Some("13812345678"));
        assert_eq!(
            seen.allowed_actions
                .iter()
                .map(|a| a.code)
                .collect::<Vec<_>>(),
            vec!["sign", "return"]
        );
        zhujian
            .act(e.id, &step(r#"{"action":"sign"}"#), t)
            .await
            .unwrap();
        zhujian
            .act(
                e.id,
                &step(r#"{"action":"resolve","result":"已责令施工方停止夜间施工"}"#),
                t,
            )
            .await
            .unwrap();
        fengshan
            .act(e.id, &step(r#"{"action":"verify_pass"}"#), t)
            .await
            .unwrap();
        fengshan
            .act(
                e.id,
                &Action::Inform {
                    channel: InformChannel::Phone,
                    note: None,
                },
                t,
            )
            .await
            .unwrap();
        store
            .events_for(&citizen)
            .act(
                e.id,
                &Action::Rate {
                    satisfaction: Satisfaction::Satisfied,
                    comment: None,
                },
                t,
            )
            .await
            .unwrap();
        let done = fengshan
            .act(e.id, &step(r#"{"action":"close"}"#), t)
            .await
            .unwrap();
        assert_eq!(done.status.code, "closed");
        assert!(done.closed_at.is_some());
        let actions: Vec<_> = done.timeline.iter().map(|t| t.action.code).collect();
        assert_eq!(
            actions,
            vec![
                "report",
                "accept",
                // 噪音扰民 is a focus issue: accepting it puts it under 挂牌督办 (O6).
                "supervise",
                "dispatch",
                "sign",
                "resolve",
                "verify_pass",
                "inform",
                "rate",
                "close"
            ]
        );
        // The timeline explains the state: each entry starts where the last ended.
        for w in done.timeline.windows(2) {
            assert_eq!(
                w[1].from_status.as_ref().map(|s| s.code),
                Some(w[0].to_status.code)
            );
        }
        assert!(done.allowed_actions.is_empty());
    }
}

#[tokio::test]
async fn scope_hides_other_areas_and_masks_for_oversight() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let e = created(
            &store,
            "fengshan",
            &report("凤山街道群租房", "33028100200101", None),
        )
        .await;
        let other = created(
            &store,
            "lizhou",
            &report("梨洲街道噪音", "33028100100101", None),
        )
        .await;

        let lizhou = store.events_for(&actor(&store, "lizhou").await);
        assert!(matches!(lizhou.get(e.id).await, Err(StoreError::NotFound)));
        assert!(matches!(
            lizhou.get(999_999).await,
            Err(StoreError::NotFound)
        ));
        let page = lizhou.list(&EventFilter::default()).await.unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.items[0].id, other.id);
        // Acting outside one's scope is a 404 too, and changes nothing.
        let accept: Action = serde_json::from_str(r#"{"action":"accept"}"#).unwrap();
        assert!(matches!(
            lizhou.act(e.id, &accept, Utc::now()).await,
            Err(StoreError::NotFound)
        ));

        let oversight = store.events_for(&actor(&store, "oversight").await);
        let seen = oversight.get(e.id).await.unwrap();
        assert_eq!(seen.reporter.phone.as_deref(), Some("138****5678"));
        assert_eq!(seen.reporter.name.as_deref(), Some("张*"));
        assert!(seen.reporter.masked);
        assert!(!seen.reporter.revealable);
        assert!(matches!(
            oversight.reveal_reporter(e.id, "抽查", Utc::now()).await,
            Err(StoreError::Forbidden(_))
        ));
        assert!(seen.allowed_actions.is_empty());
        assert_eq!(
            oversight.list(&EventFilter::default()).await.unwrap().total,
            2
        );

        // The operator who runs it sees the number in full once it reveals it.
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        assert!(fengshan.get(e.id).await.unwrap().reporter.revealable);
        assert_eq!(
            fengshan
                .reveal_reporter(e.id, "回访", Utc::now())
                .await
                .unwrap()
                .phone
                .as_deref(),
            Some("13812345678")
        );

        // The grid worker sees only their grid's events.
        let grid1 = store.events_for(&actor(&store, "grid1").await);
        assert_eq!(grid1.list(&EventFilter::default()).await.unwrap().total, 1);
        let elsewhere = created(
            &store,
            "fengshan",
            &report("第2网格", "33028100200102", None),
        )
        .await;
        assert!(matches!(
            grid1.get(elsewhere.id).await,
            Err(StoreError::NotFound)
        ));

        // Citizens see only their own reports.
        let c1 = actor(&store, "citizen1").await;
        let mine = created(
            &store,
            "citizen1",
            &report("我家楼下", "33028100200101", None),
        )
        .await;
        let c2 = store.events_for(&actor(&store, "citizen2").await);
        assert!(matches!(c2.get(mine.id).await, Err(StoreError::NotFound)));
        let list = store
            .events_for(&c1)
            .list(&EventFilter::default())
            .await
            .unwrap();
        assert_eq!(
            list.items.iter().map(|i| i.id).collect::<Vec<_>>(),
            vec![mine.id]
        );
    }
}

#[tokio::test]
async fn the_same_external_id_never_makes_two_events() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let new = report("重复推送的工单", "33028100200101", Some("12345-0001"));
        let first = match fengshan.create(&new, Utc::now()).await.unwrap() {
            CreateOutcome::Created(d) => d,
            _ => panic!(),
        };
        let again = match fengshan.create(&new, Utc::now()).await.unwrap() {
            CreateOutcome::Existing(d) => d,
            _ => panic!("replay created a second event"),
        };
        assert_eq!(first.id, again.id);
        // Concurrent replays of one key: still one event.
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            let a = actor(&store, "fengshan").await;
            let new = report("并发推送", "33028100200101", Some("12345-0002"));
            tasks.push(tokio::spawn(async move {
                store.events_for(&a).create(&new, Utc::now()).await
            }));
        }
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(match t.await.unwrap().unwrap() {
                CreateOutcome::Created(d) | CreateOutcome::Existing(d) => d.id,
            });
        }
        ids.dedup();
        assert_eq!(ids.len(), 1);
        let filter = EventFilter {
            text: Some("并发推送".into()),
            ..Default::default()
        };
        assert_eq!(fengshan.list(&filter).await.unwrap().total, 1);
    }
}

#[tokio::test]
async fn bad_references_and_illegal_moves_store_nothing() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let mut bad = report("x", "33028100200101", None);
        bad.category_code = Some("9999".into());
        assert!(
            matches!(fengshan.create(&bad, Utc::now()).await, Err(StoreError::Invalid { field, .. }) if field == "category")
        );
        bad.category_code = Some("01".into());
        assert!(
            matches!(fengshan.create(&bad, Utc::now()).await, Err(StoreError::Invalid { field, .. }) if field == "category")
        );
        let mut bad = report("x", "00000000000000", None);
        assert!(
            matches!(fengshan.create(&bad, Utc::now()).await, Err(StoreError::Invalid { field, .. }) if field == "grid")
        );
        // An operator reports only inside their township.
        bad.grid_code = Some("33028100100101".into());
        assert!(
            matches!(fengshan.create(&bad, Utc::now()).await, Err(StoreError::Invalid { field, .. }) if field == "grid")
        );
        assert_eq!(
            fengshan.list(&EventFilter::default()).await.unwrap().total,
            0
        );

        let e = created(
            &store,
            "fengshan",
            &report("占道经营", "33028100200101", None),
        )
        .await;
        let before = fengshan.get(e.id).await.unwrap();
        // Resolving a reported event: 409 with the allowed actions, nothing written.
        let zhujian = store.events_for(&actor(&store, "zhujian").await);
        let close: Action = serde_json::from_str(r#"{"action":"close"}"#).unwrap();
        match fengshan.act(e.id, &close, Utc::now()).await {
            Err(StoreError::Lifecycle(LifecycleError::NotAllowed { allowed, .. })) => {
                assert!(allowed.iter().any(|k| k.code() == "accept"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(zhujian.get(e.id).await, Err(StoreError::NotFound)));
        fengshan
            .act(
                e.id,
                &serde_json::from_str(r#"{"action":"accept"}"#).unwrap(),
                Utc::now(),
            )
            .await
            .unwrap();
        // 梨洲's stationed unit cannot take a 凤山 event; a department can.
        let lz_pcs = unit_id(&store, "S-330281001-PCS").await.0;
        let dispatch: Action =
            serde_json::from_str(&format!(r#"{{"action":"dispatch","lead_unit":{lz_pcs}}}"#))
                .unwrap();
        assert!(
            matches!(fengshan.act(e.id, &dispatch, Utc::now()).await, Err(StoreError::Invalid { field, .. }) if field == "lead_unit")
        );
        let township = unit_id(&store, "330281002").await.0;
        let dispatch: Action = serde_json::from_str(&format!(
            r#"{{"action":"dispatch","lead_unit":{township}}}"#
        ))
        .unwrap();
        assert!(matches!(
            fengshan.act(e.id, &dispatch, Utc::now()).await,
            Err(StoreError::Invalid { .. })
        ));
        let after = fengshan.get(e.id).await.unwrap();
        // The accept, and the focus issue's automatic 挂牌督办 (O6).
        assert_eq!(after.timeline.len(), before.timeline.len() + 2);
        assert_eq!(after.status.code, "accepted");
    }
}

#[tokio::test]
async fn a_unit_keeps_seeing_what_it_returned() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let pcs = store.events_for(&actor(&store, "pcs").await);
        let e = created(
            &store,
            "fengshan",
            &report("邻里纠纷", "33028100200101", None),
        )
        .await;
        let t = Utc::now();
        fengshan
            .act(
                e.id,
                &serde_json::from_str(r#"{"action":"accept"}"#).unwrap(),
                t,
            )
            .await
            .unwrap();
        let unit = unit_id(&store, "S-330281002-PCS").await.0;
        let dispatch: Action =
            serde_json::from_str(&format!(r#"{{"action":"dispatch","lead_unit":{unit}}}"#))
                .unwrap();
        fengshan.act(e.id, &dispatch, t).await.unwrap();
        let returned = pcs
            .act(
                e.id,
                &Action::Return {
                    reason: "属民事纠纷，建议司法所调解".into(),
                },
                t,
            )
            .await
            .unwrap();
        assert_eq!(returned.status.code, "accepted");
        assert_eq!(returned.return_count, 1);
        // Still visible to the unit (history), but no longer theirs to act on, and masked.
        let seen = pcs.get(e.id).await.unwrap();
        assert!(seen.allowed_actions.is_empty());
        assert!(seen.reporter.masked);
        let reject = Action::Reject {
            reason: RejectReason::NotOurBusiness,
            note: "x".into(),
        };
        assert!(matches!(
            fengshan.act(e.id, &reject, t).await,
            Err(StoreError::Lifecycle(LifecycleError::NotAllowed { .. }))
        ));
    }
}

#[tokio::test]
async fn concurrent_reports_get_distinct_numbers() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let mut tasks = Vec::new();
        for worker in 0..4 {
            let store = store.clone();
            let a = actor(&store, "fengshan").await;
            tasks.push(tokio::spawn(async move {
                let repo = store.events_for(&a);
                let mut numbers = Vec::new();
                for i in 0..15 {
                    let e = report(&format!("并发上报 {worker}-{i}"), "33028100200101", None);
                    match repo.create(&e, Utc::now()).await.unwrap() {
                        CreateOutcome::Created(d) => numbers.push(d.number),
                        _ => panic!(),
                    }
                }
                numbers
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
        assert_eq!(n, 60);
    }
}

#[tokio::test]
async fn history_replays_through_the_lifecycle() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let at = Utc::now() - Duration::days(30);
        let zj = unit_id(&store, "D-ZJ").await;
        let step = |d: i64, action: Action| HistoricalStep {
            at: at + Duration::hours(d),
            actor_name: "历史".into(),
            action,
        };
        let h = HistoricalEvent {
            event: report("历史工单", "33028100200101", Some("H-1")),
            reporter_username: Some("citizen1".into()),
            reported_at: at,
            steps: vec![
                step(1, Action::Accept { note: None }),
                step(
                    2,
                    Action::Dispatch {
                        lead_unit: zj,
                        assisting_units: vec![],
                        note: None,
                    },
                ),
                step(3, Action::Sign { note: None }),
            ],
        };
        let importer = Acting::system("导入");
        assert_eq!(
            store
                .import_history(std::slice::from_ref(&h), &importer)
                .await
                .unwrap(),
            1
        );
        // Importing the same history again adds nothing.
        store
            .import_history(std::slice::from_ref(&h), &importer)
            .await
            .unwrap();
        let c1 = store.events_for(&actor(&store, "citizen1").await);
        let list = c1.list(&EventFilter::default()).await.unwrap();
        assert_eq!(list.total, 1);
        let d = c1.get(list.items[0].id).await.unwrap();
        assert_eq!(d.status.code, "handling");
        assert_eq!(d.reported_at.timestamp(), at.timestamp());
        // A history that breaks the rules is refused whole.
        let bad = HistoricalEvent {
            event: report("坏历史", "33028100200101", Some("H-2")),
            steps: vec![step(1, Action::Sign { note: None })],
            ..h
        };
        assert!(store.import_history(&[bad], &importer).await.is_err());
        assert_eq!(c1.list(&EventFilter::default()).await.unwrap().total, 1);
    }
}

#[tokio::test]
async fn the_outbox_leases_each_message_to_one_worker_and_settles_once() {
    use std::collections::HashSet;
    use zhili_storage::{TOPIC_110, backoff};
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let t0 = Utc::now();
        let transfer = Action::TransferTo110 {
            reason: "打架斗殴，属警情".into(),
        };
        let mut ids = Vec::new();
        for i in 0..12 {
            let e = created(
                &store,
                "fengshan",
                &report(&format!("警情 {i}"), "33028100200101", None),
            )
            .await;
            let d = fengshan.act(e.id, &transfer, t0).await.unwrap();
            assert_eq!(d.status.code, "transferred");
            ids.push(e.id);
        }
        // Transferring again is refused: one matter, one message.
        assert!(fengshan.act(ids[0], &transfer, t0).await.is_err());
        let health = store.outbox_health(None).await.unwrap();
        assert_eq!((health.pending, health.failing), (12, 0));

        // Four workers lease at once: every message goes to exactly one of them.
        let lease = chrono::Duration::seconds(60);
        let mut tasks = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .lease_outbox(&format!("w{w}"), zhili_storage::TOPIC_110, t0, lease, 5)
                    .await
                    .unwrap()
            }));
        }
        let mut leased = Vec::new();
        for t in tasks {
            leased.extend(t.await.unwrap().into_iter().map(|m| m.id));
        }
        let unique: HashSet<_> = leased.iter().collect();
        assert_eq!(unique.len(), leased.len(), "a message leased twice");
        assert_eq!(leased.len(), 12);
        // Nothing is left to lease while the leases hold.
        assert!(
            store
                .lease_outbox("late", zhili_storage::TOPIC_110, t0, lease, 50)
                .await
                .unwrap()
                .is_empty()
        );

        // After the leases run out (the workers "died"), a new worker takes over.
        let later = t0 + chrono::Duration::seconds(61);
        let msgs = store
            .lease_outbox("w9", zhili_storage::TOPIC_110, later, lease, 50)
            .await
            .unwrap();
        assert_eq!(msgs.len(), 12);
        let first = &msgs[0];
        assert_eq!(first.topic, TOPIC_110);
        assert!(first.payload["text"].as_str().unwrap().starts_with("警情"));
        assert_eq!(first.payload["message_id"], first.dedup_key.as_str());

        // A failure schedules a retry with back-off; the lease is given up.
        store
            .outbox_failed(first, "w9", "connection refused", later + backoff(0))
            .await
            .unwrap();
        let h = store.outbox_health(None).await.unwrap();
        assert_eq!((h.pending, h.failing), (12, 1));
        assert_eq!(h.last_error.as_deref(), Some("connection refused"));
        assert!(
            store
                .lease_outbox("w8", zhili_storage::TOPIC_110, later, lease, 50)
                .await
                .unwrap()
                .is_empty()
        );
        let retry_at = later + backoff(0);
        let again = store
            .lease_outbox("w8", zhili_storage::TOPIC_110, retry_at, lease, 50)
            .await
            .unwrap();
        assert_eq!(
            again.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![first.id]
        );
        assert_eq!(again[0].attempts, 1);

        // Settling needs the lease: the old owner's late success does nothing.
        assert!(
            !store
                .outbox_delivered(first, "w9", "110-R-1", retry_at)
                .await
                .unwrap()
        );
        assert!(
            store
                .outbox_delivered(&again[0], "w8", "110-R-1", retry_at)
                .await
                .unwrap()
        );
        assert!(
            !store
                .outbox_delivered(&again[0], "w8", "110-R-1", retry_at)
                .await
                .unwrap()
        );
        // The deliverer is on record, not the owner whose late success was refused.
        let work = store.work_by_instance().await.unwrap();
        assert_eq!(
            work,
            vec![zhili_storage::InstanceWork {
                instance: "w8".into(),
                delivered: 1,
                warnings: 0
            }]
        );
        let event = fengshan.get(first.event_id.unwrap()).await.unwrap();
        let last = event.timeline.last().unwrap();
        assert_eq!(last.action.code, "ack_110");
        assert!(last.note.as_deref().unwrap().contains("110-R-1"));
        let h = store.outbox_health(None).await.unwrap();
        assert_eq!((h.pending, h.failing), (11, 0));
    }
}

#[test]
fn backoff_grows_and_is_capped() {
    use zhili_storage::backoff;
    assert_eq!(backoff(0).num_seconds(), 5);
    assert_eq!(backoff(1).num_seconds(), 10);
    assert_eq!(backoff(3).num_seconds(), 40);
    assert_eq!(backoff(50).num_seconds(), 600);
}

#[tokio::test]
async fn calendar_years_loaded_later_replace_earlier_loads() {
    for store in fresh_stores().await {
        assert!(store.calendar_years().await.unwrap().is_empty());
        let now = Utc::now();
        store
            .put_calendar_year(2027, r#"{"year":2027,"v":1}"#, "admin", now)
            .await
            .unwrap();
        store
            .put_calendar_year(2028, r#"{"year":2028}"#, "admin", now)
            .await
            .unwrap();
        store
            .put_calendar_year(2027, r#"{"year":2027,"v":2}"#, "admin", now)
            .await
            .unwrap();
        let years = store.calendar_years().await.unwrap();
        assert_eq!(
            years.iter().map(|(y, _)| *y).collect::<Vec<_>>(),
            vec![2027, 2028]
        );
        assert!(years[0].1.contains("\"v\":2"));
    }
}

#[tokio::test]
async fn deadlines_count_working_days_and_move_with_an_approved_extension() {
    use zhili_calendar::{Calendar, china_time};
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let zhujian = store.events_for(&actor(&store, "zhujian").await);
        // Received Thursday 2024-02-08 10:00 China time, category limit 5 working days:
        // 02-09, then the Spring Festival, make-up Sunday 02-18, 02-19, 02-20, 02-21.
        let at = chrono::TimeZone::with_ymd_and_hms(&china_time(), 2024, 2, 8, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let e = match fengshan
            .create(&report("春节前的噪音投诉", "33028100200101", None), at)
            .await
            .unwrap()
        {
            CreateOutcome::Created(d) => d,
            _ => panic!(),
        };
        let local = |t: Option<chrono::DateTime<Utc>>| {
            t.unwrap()
                .with_timezone(&china_time())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        };
        assert_eq!(local(e.handle_due_at), "2024-02-21 17:30");
        assert_eq!(local(e.feedback_due_at), "2024-02-21 17:30");
        assert!(!e.deadlines_estimated);
        let zj = unit_id(&store, "D-ZJ").await;
        for (who, action) in [
            (&fengshan, Action::Accept { note: None }),
            (
                &fengshan,
                Action::Dispatch {
                    lead_unit: zj,
                    assisting_units: vec![],
                    note: None,
                },
            ),
            (&zhujian, Action::Sign { note: None }),
            (
                &zhujian,
                Action::RequestExtension {
                    days: 2,
                    reason: "需联合执法".into(),
                },
            ),
        ] {
            who.act(e.id, &action, at).await.unwrap();
        }
        // Pending, the deadline stands; approved, it moves two working days.
        assert_eq!(
            local(fengshan.get(e.id).await.unwrap().handle_due_at),
            "2024-02-21 17:30"
        );
        let d = fengshan
            .act(e.id, &Action::ApproveExtension { note: None }, at)
            .await
            .unwrap();
        assert_eq!(local(d.handle_due_at), "2024-02-23 17:30");
        assert_eq!(d.extension_days, 2);
        assert!(Calendar::shipped().covers(2024));
    }
}

#[tokio::test]
async fn replayed_history_sends_nothing_out_again() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let at = Utc::now() - Duration::days(10);
        let h = HistoricalEvent {
            event: report("历史警情", "33028100200101", Some("H-110")),
            reporter_username: None,
            reported_at: at,
            steps: vec![HistoricalStep {
                at: at + Duration::hours(1),
                actor_name: "余姚市综合指挥中心".into(),
                action: Action::TransferTo110 {
                    reason: "属警情".into(),
                },
            }],
        };
        let importer = Acting::system("导入");
        store.import_history(&[h], &importer).await.unwrap();
        let city = store.events_for(&actor(&store, "city").await);
        let list = city.list(&EventFilter::default()).await.unwrap();
        assert_eq!(list.items[0].status.code, "transferred");
        assert_eq!(store.outbox_health(None).await.unwrap().pending, 0);
    }
}

#[tokio::test]
async fn dispatches_of_law_enforcement_events_go_to_the_province_without_the_reporter() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let zhujian = store.events_for(&actor(&store, "zhujian").await);
        let e = created(
            &store,
            "fengshan",
            &report(
                "小区里违章搭建，请联系我 13812345678",
                "33028100200101",
                None,
            ),
        )
        .await;
        let zj = unit_id(&store, "D-ZJ").await;
        let dispatch = Action::Dispatch {
            lead_unit: zj,
            assisting_units: vec![],
            note: None,
        };
        let t0 = Utc::now();
        fengshan
            .act(e.id, &Action::Accept { note: None }, t0)
            .await
            .unwrap();
        fengshan.act(e.id, &dispatch, t0).await.unwrap();
        // Waiting for the province; nothing for 110.
        let lease = chrono::Duration::seconds(60);
        let none_for_110 = store
            .lease_outbox("w", zhili_storage::TOPIC_110, t0, lease, 10)
            .await
            .unwrap();
        assert!(none_for_110.is_empty());
        let msgs = store
            .lease_outbox("w", zhili_storage::TOPIC_LAW_ENFORCEMENT, t0, lease, 10)
            .await
            .unwrap();
        assert_eq!(msgs.len(), 1);
        let p = &msgs[0].payload;
        assert_eq!(p["event_number"], e.number.as_str());
        assert_eq!(p["lead_unit"]["code"], "D-ZJ");
        assert_eq!(p["category"]["code"], "0101");
        assert!(p.get("reporter").is_none(), "{p}");
        assert!(!p.to_string().contains("13812345678"), "{p}");
        assert!(p["text"].as_str().unwrap().contains("138****5678"), "{p}");
        assert_eq!(p["message_id"], msgs[0].dedup_key.as_str());
        // Returned and dispatched again: news for the province, a second message.
        zhujian
            .act(
                e.id,
                &Action::Return {
                    reason: "不属本单位职责".into(),
                },
                t0,
            )
            .await
            .unwrap();
        fengshan.act(e.id, &dispatch, t0).await.unwrap();
        let later = t0 + chrono::Duration::seconds(61);
        let again = store
            .lease_outbox("w", zhili_storage::TOPIC_LAW_ENFORCEMENT, later, lease, 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 2);
        assert_ne!(again[0].dedup_key, again[1].dedup_key);
    }
}

//! Deadline warnings with a controlled clock, on SQLite and (with ZHILI_TEST_PG)
//! PostgreSQL: events walk through yellow, red and escalation, across a restart of
//! the store, and after downtime every missed warning fires exactly once even with
//! two instances sweeping at the same moment.

use chrono::{DateTime, TimeZone, Utc};
use zhili_calendar::china_time;
use zhili_domain::{Action, Actor, NewEvent, RawNewEvent, RawReporter};
use zhili_storage::testing::{fresh_postgres_url, small_city};
use zhili_storage::{CreateOutcome, EventDetail, Store, SweepReport, TOPIC_SMS};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    china_time()
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Database URLs that outlive a `Store`, so a test can restart it.
async fn urls() -> Vec<String> {
    let dir = std::env::temp_dir().join(format!(
        "zhili-warn-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = vec![format!("sqlite:{}", dir.join("zhili.db").display())];
    out.extend(fresh_postgres_url().await);
    out
}

async fn open(url: &str) -> Store {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    zhili_storage::testing::unlocked(store).await
}

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

fn report(text: &str) -> NewEvent {
    NewEvent::parse(RawNewEvent {
        channel: "hotline_12345".into(),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some("张三".into()),
            phone: Some("13812345678".into()),
        }),
        text: text.into(),
        category: Some("0102".into()),
        grid: Some("33028100200101".into()),
        ..Default::default()
    })
    .unwrap()
}

async fn create(store: &Store, who: &str, text: &str, now: DateTime<Utc>) -> EventDetail {
    match store
        .events_for(&actor(store, who).await)
        .create(&report(text), now)
        .await
        .unwrap()
    {
        CreateOutcome::Created(d) => *d,
        CreateOutcome::Existing(_) => panic!("expected a new event"),
    }
}

async fn act(store: &Store, who: &str, id: i64, json: &str, now: DateTime<Utc>) -> EventDetail {
    let action: Action = serde_json::from_str(json).unwrap();
    store
        .events_for(&actor(store, who).await)
        .act(id, &action, now)
        .await
        .unwrap()
}

async fn get(store: &Store, who: &str, id: i64) -> EventDetail {
    store
        .events_for(&actor(store, who).await)
        .get(id)
        .await
        .unwrap()
}

fn timeline_count(d: &EventDetail, action: &str, note_has: &str) -> usize {
    d.timeline
        .iter()
        .filter(|t| t.action.code == action && t.note.as_deref().unwrap_or("").contains(note_has))
        .count()
}

async fn titles(store: &Store, who: &str) -> Vec<String> {
    store
        .notifications(&actor(store, who).await, false, 1, 100)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| n.title)
        .collect()
}

fn sweep(y: usize, r: usize, e: usize) -> SweepReport {
    SweepReport {
        yellow: y,
        red: r,
        escalated: e,
    }
}

#[tokio::test]
async fn warnings_fire_once_through_restarts_and_downtime_and_escalate() {
    for url in urls().await {
        let store = open(&url).await;
        store
            .import_reference(&small_city("x"), Utc::now())
            .await
            .unwrap();
        store
            .set_user_contact("fengshan", Some("13900001111"), None)
            .await
            .unwrap();
        let t0 = at(2024, 3, 4, 9, 0); // Monday

        // A waits for acceptance: 4 working hours, due 14:30, yellow at 13:42.
        let a = create(&store, "fengshan", "工地夜间违章搭建", t0).await;
        let accept = a
            .deadlines
            .iter()
            .find(|d| d.clock.code == "accept")
            .unwrap();
        assert_eq!(accept.due_at, at(2024, 3, 4, 14, 30));
        assert_eq!(accept.warn_at, at(2024, 3, 4, 13, 42));
        // B is accepted and handled by 住建: due in 5 working days, 03-11 17:30.
        let b = create(&store, "fengshan", "小区楼顶违章搭建阳光房", t0).await;
        act(
            &store,
            "fengshan",
            b.id,
            r#"{"action":"accept"}"#,
            at(2024, 3, 4, 9, 30),
        )
        .await;
        let zj = store.org_by_code("D-ZJ").await.unwrap().unwrap().id.0;
        act(
            &store,
            "fengshan",
            b.id,
            &format!(r#"{{"action":"dispatch","lead_unit":{zj}}}"#),
            at(2024, 3, 4, 9, 40),
        )
        .await;
        act(
            &store,
            "zhujian",
            b.id,
            r#"{"action":"sign"}"#,
            at(2024, 3, 4, 10, 0),
        )
        .await;

        assert_eq!(
            store
                .sweep_deadlines("test", at(2024, 3, 4, 13, 0), 50)
                .await
                .unwrap(),
            sweep(0, 0, 0)
        );
        assert_eq!(
            store
                .sweep_deadlines("test", at(2024, 3, 4, 13, 45), 50)
                .await
                .unwrap(),
            sweep(1, 0, 0)
        );
        assert_eq!(
            store
                .sweep_deadlines("test", at(2024, 3, 4, 13, 50), 50)
                .await
                .unwrap(),
            sweep(0, 0, 0)
        );
        let fs = titles(&store, "fengshan").await;
        assert_eq!(fs.len(), 1, "{fs:?}");
        assert!(
            fs[0].contains("黄色预警") && fs[0].contains(&a.number),
            "{fs:?}"
        );
        assert!(
            titles(&store, "lizhou").await.is_empty(),
            "another township hears nothing"
        );
        // The command room's operator gave a mobile number: an SMS waits in the outbox.
        let sms = store
            .lease_outbox(
                "test",
                TOPIC_SMS,
                Utc::now(),
                chrono::Duration::seconds(60),
                10,
            )
            .await
            .unwrap();
        assert_eq!(sms.len(), 1);
        assert_eq!(sms[0].payload["to"][0], "13900001111");
        assert!(
            !sms[0].payload.to_string().contains("13812345678"),
            "no reporter phone in an SMS"
        );
        drop(sms);

        // Restart.
        store.close().await;
        drop(store);
        let store = open(&url).await;

        // Past the acceptance deadline: red, and up to the city.
        assert_eq!(
            store
                .sweep_deadlines("test", at(2024, 3, 4, 15, 0), 50)
                .await
                .unwrap(),
            sweep(0, 1, 1)
        );
        let a_now = get(&store, "city", a.id).await;
        assert_eq!(a_now.level.code, "city");
        assert_eq!(timeline_count(&a_now, "warn_yellow", "受理时限"), 1);
        assert_eq!(timeline_count(&a_now, "warn_red", "受理时限"), 1);
        assert_eq!(timeline_count(&a_now, "escalate", "市综合指挥中心"), 1);
        assert!(
            !get(&store, "fengshan", a.id)
                .await
                .allowed_actions
                .iter()
                .any(|x| x.code == "accept"),
            "the city runs an escalated event now"
        );
        assert!(
            get(&store, "city", a.id)
                .await
                .allowed_actions
                .iter()
                .any(|x| x.code == "accept")
        );
        let city = titles(&store, "city").await;
        assert!(
            city.iter()
                .any(|t| t.contains("事件升级") && t.contains(&a.number)),
            "{city:?}"
        );

        // Down for a week. Two instances come back and sweep at the same moment: B's
        // handling clock and both events' feedback clocks fire yellow and red once
        // each; B moves up, A is at the city already.
        let other = open(&url).await;
        let later = at(2024, 3, 12, 9, 0);
        let (r1, r2) = tokio::join!(
            store.sweep_deadlines("a", later, 2),
            other.sweep_deadlines("b", later, 2)
        );
        let (r1, r2) = (r1.unwrap(), r2.unwrap());
        // Each alert names the instance whose sweep fired it, and each instance's
        // count is what its sweep reported: none fired twice or by both.
        let work = store.work_by_instance().await.unwrap();
        let fired_by = |name: &str| {
            work.iter()
                .find(|w| w.instance == name)
                .map_or(0, |w| w.warnings)
        };
        assert_eq!(fired_by("a"), (r1.yellow + r1.red) as i64, "{work:?}");
        assert_eq!(fired_by("b"), (r2.yellow + r2.red) as i64, "{work:?}");
        assert_eq!(
            sweep(
                r1.yellow + r2.yellow,
                r1.red + r2.red,
                r1.escalated + r2.escalated
            ),
            sweep(3, 3, 1),
            "{r1:?} {r2:?}"
        );
        assert_eq!(
            store.sweep_deadlines("test", later, 50).await.unwrap(),
            sweep(0, 0, 0)
        );
        let b_now = get(&store, "city", b.id).await;
        assert_eq!(b_now.level.code, "city");
        assert_eq!(timeline_count(&b_now, "warn_yellow", "办理时限"), 1);
        assert_eq!(timeline_count(&b_now, "warn_red", "办理时限"), 1);
        assert_eq!(timeline_count(&b_now, "warn_red", "反馈时限"), 1);
        // The unit handling B heard of its handling clock.
        let zhujian = titles(&store, "zhujian").await;
        assert!(
            zhujian
                .iter()
                .any(|t| t.contains("黄色预警") && t.contains("办理时限") && t.contains(&b.number)),
            "{zhujian:?}"
        );

        // Read marks are per user.
        let fs = actor(&store, "fengshan").await;
        let page = store.notifications(&fs, true, 1, 100).await.unwrap();
        assert!(page.total >= 2);
        store
            .mark_notification_read(&fs, page.items[0].id, later)
            .await
            .unwrap();
        assert_eq!(
            store.unread_notifications(&fs).await.unwrap(),
            page.total - 1
        );
        let lz = actor(&store, "lizhou").await;
        assert!(
            store
                .mark_notification_read(&lz, page.items[1].id, later)
                .await
                .is_err()
        );
        other.close().await;
        store.close().await;
    }
}

#[tokio::test]
async fn suspension_stops_the_clock_and_moves_the_deadline() {
    for url in urls().await {
        let store = open(&url).await;
        store
            .import_reference(&small_city("x"), Utc::now())
            .await
            .unwrap();
        let zj = store.org_by_code("D-ZJ").await.unwrap().unwrap().id.0;
        let t0 = at(2024, 2, 5, 9, 0); // Monday before the Spring Festival
        let e = create(&store, "fengshan", "违章搭建", t0).await;
        act(&store, "fengshan", e.id, r#"{"action":"accept"}"#, t0).await;
        act(
            &store,
            "fengshan",
            e.id,
            &format!(r#"{{"action":"dispatch","lead_unit":{zj}}}"#),
            t0,
        )
        .await;
        act(&store, "zhujian", e.id, r#"{"action":"sign"}"#, t0).await;
        let before = get(&store, "fengshan", e.id).await.handle_due_at.unwrap();
        // 5 working days after 02-05: 02-06..02-09 and the make-up Sunday 02-18.
        assert_eq!(before, at(2024, 2, 18, 17, 30));
        act(
            &store,
            "fengshan",
            e.id,
            r#"{"action":"suspend","reason":"等待鉴定结果"}"#,
            at(2024, 2, 8, 10, 0),
        )
        .await;
        // Suspended past its deadline: nothing fires for handling.
        let r = store
            .sweep_deadlines("test", at(2024, 2, 19, 8, 0), 50)
            .await
            .unwrap();
        let d = get(&store, "fengshan", e.id).await;
        assert_eq!(timeline_count(&d, "warn_red", "办理时限"), 0, "{r:?}");
        assert!(
            d.deadlines
                .iter()
                .any(|x| x.clock.code == "handle" && !x.running)
        );
        // Resumed on 02-19: 02-09, 02-18 and 02-19 were working days suspended.
        let d = act(
            &store,
            "fengshan",
            e.id,
            r#"{"action":"resume"}"#,
            at(2024, 2, 19, 9, 0),
        )
        .await;
        assert_eq!(d.handle_due_at.unwrap(), at(2024, 2, 21, 17, 30));
        assert!(
            d.deadlines.iter().all(|x| x.clock.code != "followup"),
            "not started yet"
        );
        store.close().await;
    }
}

//! Supervision on both backends: issue → reply → close with timeline and audit
//! rows, scope, and the automatic 挂牌督办 of focus issues with a 100% share.

use chrono::{Duration, Utc};
use zhili_domain::supervision::{CloseOutcome, SupervisionLevel};
use zhili_domain::{Action, Actor, NewEvent, RawNewEvent, RawReporter};

use super::*;
use crate::testing::{fresh_stores, with_small_city};
use crate::{CreateOutcome, EventDetail};

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

async fn audits(store: &Store, action: &str) -> i64 {
    let count = async {
        in_tx!(store, Read, |tx| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log WHERE action = $1")
                .bind(action)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from)
        })
    };
    count.await.unwrap()
}

/// Audit records of `action` on the event `event_id`.
async fn audits_on(store: &Store, action: &str, event_id: i64) -> i64 {
    let count = async {
        in_tx!(store, Read, |tx| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND object_type = 'event' \
                 AND object_id = $2",
            )
            .bind(action)
            .bind(event_id.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)
        })
    };
    count.await.unwrap()
}

async fn report(store: &Store, category: &str, text: &str) -> EventDetail {
    let new = NewEvent::parse(RawNewEvent {
        channel: "hotline_12345".into(),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some("张三".into()),
            phone: Some("13812345678".into()),
        }),
        text: text.into(),
        category: Some(category.into()),
        grid: Some("33028100200101".into()),
        ..Default::default()
    })
    .unwrap();
    match store
        .events_for(&actor(store, "city").await)
        .create(&new, Utc::now())
        .await
        .unwrap()
    {
        CreateOutcome::Created(d) => *d,
        CreateOutcome::Existing(d) => panic!("not new: {}", d.number),
    }
}

fn step(json: &str) -> Action {
    serde_json::from_str(json).unwrap()
}

fn supervise(level: &str, due: chrono::NaiveDate, leader: Option<&str>) -> Action {
    Action::Supervise {
        level: SupervisionLevel::parse(level).unwrap(),
        due_date: due.format("%Y-%m-%d").to_string(),
        note: "请于期限内办结并回复".into(),
        leader: leader.map(Into::into),
    }
}

#[tokio::test]
async fn an_order_is_issued_answered_and_closed_within_scope() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let now = Utc::now();
        let today = china_date(now);
        let city = actor(&store, "city").await;
        let fengshan = actor(&store, "fengshan").await;
        let e = report(&store, "0102", "舜北社区违章搭建").await;
        let rooms = store.events_for(&fengshan);
        rooms
            .act(e.id, &step(r#"{"action":"accept"}"#), now)
            .await
            .unwrap();
        let zj = store.org_by_code("D-ZJ").await.unwrap().unwrap().id.0;
        rooms
            .act(
                e.id,
                &step(&format!(r#"{{"action":"dispatch","lead_unit":{zj}}}"#)),
                now,
            )
            .await
            .unwrap();
        let repo = |a: &Actor| store.supervision_for(a).unwrap();
        // A non-focus event accepted gets no order by itself.
        assert!(repo(&city).for_event(e.id, now).await.unwrap().is_empty());

        // Refused with the field named, and nothing stored.
        let events = store.events_for(&city);
        let err = events
            .act(e.id, &supervise("leader_owned", today, None), now)
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                StoreError::Lifecycle(LifecycleError::Invalid {
                    field: "leader",
                    ..
                })
            ),
            "{err:?}"
        );
        let err = events
            .act(
                e.id,
                &supervise("ordinary", today - Duration::days(1), None),
                now,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid { field, .. } if field == "due_date"),
            "{err:?}"
        );
        assert_eq!(audits(&store, "supervision.issue").await, 0);

        let d = events
            .act(
                e.id,
                &supervise("leader_owned", today + Duration::days(3), Some("张副主任")),
                now,
            )
            .await
            .unwrap();
        let last = d.timeline.last().unwrap();
        assert_eq!(
            (last.action.code, last.actor_name.as_str()),
            ("supervise", "市指挥中心（市综合指挥中心）")
        );
        let orders = repo(&city).for_event(e.id, now).await.unwrap();
        assert_eq!(orders.len(), 1);
        let order = &orders[0];
        assert_eq!((order.level.label, order.status.code), ("包案督办", "open"));
        assert_eq!(order.leader_name.as_deref(), Some("张副主任"));
        assert!(!order.may_reply && order.may_close);
        assert_eq!(audits(&store, "supervision.issue").await, 1);
        assert_eq!(audits(&store, "event.supervise").await, 1);

        // Out of scope: another township's room and another unit see nothing.
        for who in ["lizhou", "pcs"] {
            let other = repo(&actor(&store, who).await);
            assert_eq!(
                other
                    .list(&SupervisionFilter::default(), now)
                    .await
                    .unwrap()
                    .total,
                0
            );
            assert!(matches!(
                other.get(order.id, now).await,
                Err(StoreError::NotFound)
            ));
            assert!(matches!(
                other.reply(order.id, "已办", now).await,
                Err(StoreError::NotFound)
            ));
        }
        // Oversight reads but neither replies nor closes.
        let oversight = repo(&actor(&store, "oversight").await);
        assert_eq!(
            oversight
                .list(&SupervisionFilter::default(), now)
                .await
                .unwrap()
                .total,
            1
        );
        assert!(matches!(
            oversight.reply(order.id, "已办", now).await,
            Err(StoreError::Lifecycle(LifecycleError::Forbidden { .. }))
        ));
        assert!(
            store
                .supervision_for(&actor(&store, "citizen1").await)
                .is_none()
        );

        // The lead unit answers; the event's timeline and the audit log say so.
        let zhujian = repo(&actor(&store, "zhujian").await);
        let got = zhujian.get(order.id, now).await.unwrap();
        assert!(got.may_reply && !got.may_close);
        assert!(
            matches!(zhujian.reply(order.id, "  ", now).await, Err(StoreError::Invalid { field, .. }) if field == "text")
        );
        let replied = zhujian
            .reply(order.id, "已拆除违建，现场恢复", now)
            .await
            .unwrap();
        assert_eq!(replied.status.code, "replied");
        assert_eq!(replied.replies.len(), 1);
        assert_eq!(replied.replies[0].text, "已拆除违建，现场恢复");
        let tl = events.get(e.id).await.unwrap().timeline;
        let last = tl.last().unwrap();
        assert_eq!(
            (last.action.code, last.action.label),
            ("supervision_reply", "督办回复")
        );
        assert!(last.note.as_deref().unwrap_or("").contains("已拆除违建"));
        assert_eq!(audits(&store, "supervision.reply").await, 1);
        assert_eq!(audits_on(&store, "supervision.reply", e.id).await, 1);

        // The township room did not issue it, so it does not close it; the city does.
        assert!(matches!(
            repo(&fengshan)
                .close(order.id, CloseOutcome::Done, None, now)
                .await,
            Err(StoreError::Lifecycle(LifecycleError::Forbidden { .. }))
        ));
        let closed = repo(&city)
            .close(order.id, CloseOutcome::Done, Some("办理到位"), now)
            .await
            .unwrap();
        assert_eq!(closed.status.label, "已办结");
        assert!(closed.closed_at.is_some() && !closed.may_close);
        assert_eq!(audits(&store, "supervision.close").await, 1);
        assert_eq!(audits_on(&store, "supervision.close", e.id).await, 1);
        let last = events
            .get(e.id)
            .await
            .unwrap()
            .timeline
            .last()
            .cloned()
            .unwrap();
        assert_eq!(last.action.code, "supervision_close");
        assert!(matches!(
            zhujian.reply(order.id, "补充", now).await,
            Err(StoreError::Invalid { field, .. }) if field == "status"
        ));

        // A township room closes the orders it issued itself.
        let own = store
            .events_for(&fengshan)
            .act(e.id, &supervise("ordinary", today, None), now)
            .await;
        assert!(own.is_ok(), "{own:?}");
        let mine = repo(&fengshan)
            .list(
                &SupervisionFilter {
                    status: Some(OrderStatus::Open),
                    ..Default::default()
                },
                now,
            )
            .await
            .unwrap();
        assert_eq!(mine.total, 1);
        assert!(mine.items[0].may_close && mine.items[0].may_reply);
        let w = repo(&fengshan)
            .close(mine.items[0].id, CloseOutcome::Withdrawn, None, now)
            .await
            .unwrap();
        assert_eq!(w.status.code, "withdrawn");
    }
}

#[tokio::test]
async fn a_focus_event_accepted_is_under_listed_supervision_with_its_leader() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let now = Utc::now();
        let admin = actor(&store, "admin").await;
        let city = actor(&store, "city").await;
        let input = FocusLeaderInput {
            category: "0101".into(),
            township: None,
            leader_name: "王建国".into(),
            leader_username: None,
        };
        assert!(matches!(
            store
                .supervision_for(&city)
                .unwrap()
                .set_focus_leader(&input, now)
                .await,
            Err(StoreError::Lifecycle(LifecycleError::Forbidden { .. }))
        ));
        let bad = FocusLeaderInput {
            category: "0102".into(),
            ..input.clone()
        };
        assert!(matches!(
            store.supervision_for(&admin).unwrap().set_focus_leader(&bad, now).await,
            Err(StoreError::Invalid { field, .. }) if field == "category"
        ));
        let set = store
            .supervision_for(&admin)
            .unwrap()
            .set_focus_leader(&input, now)
            .await
            .unwrap();
        assert_eq!(
            (set.category.code.as_str(), set.leader_name.as_str()),
            ("0101", "王建国")
        );
        // A township's own leader wins over the city-wide one, for that township.
        let fengshan_leader = FocusLeaderInput {
            township: Some("330281002".into()),
            leader_name: "李明".into(),
            ..input.clone()
        };
        store
            .supervision_for(&admin)
            .unwrap()
            .set_focus_leader(&fengshan_leader, now)
            .await
            .unwrap();
        assert_eq!(store.focus_leaders().await.unwrap().len(), 2);

        let focus = report(&store, "0101", "舜北社区夜间施工噪音扰民").await;
        let plain = report(&store, "0102", "舜北社区违章搭建").await;
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let zhujian = store.events_for(&actor(&store, "zhujian").await);
        for id in [focus.id, plain.id] {
            fengshan
                .act(id, &step(r#"{"action":"accept"}"#), now)
                .await
                .unwrap();
        }
        let repo = store.supervision_for(&city).unwrap();
        assert!(repo.for_event(plain.id, now).await.unwrap().is_empty());
        let orders = repo.for_event(focus.id, now).await.unwrap();
        assert_eq!(orders.len(), 1);
        let o = &orders[0];
        assert!(o.automatic);
        assert_eq!(o.level.label, "挂牌督办");
        assert_eq!(o.leader_name.as_deref(), Some("李明"));
        assert_eq!(o.issued_by, SYSTEM_NAME);
        let d = store.events_for(&city).get(focus.id).await.unwrap();
        assert_eq!(Some(o.due_at), d.handle_due_at);
        let last = d.timeline.last().unwrap();
        assert_eq!(
            (last.action.code, last.actor_name.as_str()),
            ("supervise", SYSTEM_NAME)
        );
        assert!(last.note.as_deref().unwrap_or("").contains("李明"));

        let share = repo
            .focus_share(&FocusShareFilter::default())
            .await
            .unwrap();
        assert_eq!(
            (share.focus_events, share.supervised, share.with_leader),
            (1, 1, 1)
        );
        assert_eq!(share.share, Some(100.0));
        assert_eq!(share.by_category[0].category.code, "0101");
        // Another township's room: no focus events of its own yet.
        let lizhou = store
            .supervision_for(&actor(&store, "lizhou").await)
            .unwrap();
        assert_eq!(
            lizhou
                .focus_share(&FocusShareFilter::default())
                .await
                .unwrap()
                .share,
            None
        );
        // Accepted before the period: not counted in it.
        let later = FocusShareFilter {
            from: Some(now + Duration::hours(1)),
            ..Default::default()
        };
        assert_eq!(repo.focus_share(&later).await.unwrap().focus_events, 0);

        // The public view: counts and share, never the texts or the reporter.
        let public = store.public_supervision().await.unwrap();
        assert_eq!(public.orders.len(), 1);
        assert_eq!(public.orders[0].count, 1);
        assert_eq!(public.orders[0].township.name, "凤山街道");
        assert_eq!(public.focus.share, Some(100.0));
        let json = serde_json::to_string(&public).unwrap();
        assert!(
            !json.contains("13812345678")
                && !json.contains("张三")
                && !json.contains("噪音扰民社区")
        );

        // History replayed (the demo): accepting a focus event there orders it too.
        let before = repo
            .list(&SupervisionFilter::default(), now)
            .await
            .unwrap()
            .total;
        let ev = NewEvent::parse(RawNewEvent {
            channel: "patrol".into(),
            external_id: Some("H-1".into()),
            text: "广场舞噪音".into(),
            category: Some("0101".into()),
            grid: Some("33028100100101".into()),
            ..Default::default()
        })
        .unwrap();
        let h = crate::HistoricalEvent {
            event: ev,
            reporter_username: None,
            reported_at: now - Duration::days(2),
            steps: vec![crate::HistoricalStep {
                at: now - Duration::days(2) + Duration::hours(1),
                actor_name: "梨洲指挥室".into(),
                action: step(r#"{"action":"accept"}"#),
            }],
        };
        let importer = Acting::system("导入");
        store.import_history(&[h], &importer).await.unwrap();
        let all = repo.list(&SupervisionFilter::default(), now).await.unwrap();
        assert_eq!(all.total, before + 1);
        let replayed = all
            .items
            .iter()
            .find(|o| o.township.code == "330281001")
            .unwrap_or_else(|| {
                panic!(
                    "{:?}",
                    all.items
                        .iter()
                        .map(|o| (&o.township, &o.leader_name))
                        .collect::<Vec<_>>()
                )
            });
        assert_eq!(replayed.leader_name.as_deref(), Some("王建国"));
        assert!(replayed.automatic);
        let share = repo
            .focus_share(&FocusShareFilter::default())
            .await
            .unwrap();
        assert_eq!((share.focus_events, share.share), (2, Some(100.0)));
        // Overdue: open orders whose due time has passed.
        let far = now + Duration::days(400);
        let overdue = repo
            .list(
                &SupervisionFilter {
                    overdue: true,
                    ..Default::default()
                },
                far,
            )
            .await
            .unwrap();
        assert_eq!(overdue.total, 2);
        assert!(overdue.items.iter().all(|o| o.overdue));
        assert_eq!(
            repo.list(
                &SupervisionFilter {
                    overdue: true,
                    ..Default::default()
                },
                now - Duration::days(3)
            )
            .await
            .unwrap()
            .total,
            0
        );

        // Archiving the event ends its open orders.
        let zj = store.org_by_code("D-ZJ").await.unwrap().unwrap().id.0;
        for a in [
            format!(r#"{{"action":"dispatch","lead_unit":{zj}}}"#),
            r#"{"action":"sign"}"#.to_string(),
            r#"{"action":"resolve","result":"已停工"}"#.to_string(),
            r#"{"action":"verify_pass"}"#.to_string(),
            r#"{"action":"inform","channel":"phone"}"#.to_string(),
            r#"{"action":"close"}"#.to_string(),
        ] {
            let acting = if a.contains("sign") || a.contains("resolve") {
                &zhujian
            } else {
                &fengshan
            };
            acting.act(focus.id, &step(&a), now).await.unwrap();
        }
        let done = repo.for_event(focus.id, now).await.unwrap();
        assert_eq!(done[0].status.code, "done");
        assert_eq!(done[0].close_note.as_deref(), Some(ARCHIVED_NOTE));
        assert!(!done[0].may_close);
    }
}

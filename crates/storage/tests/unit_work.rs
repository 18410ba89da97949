//! A unit's queue, bulk actions, patrol check-ins and the admin's edits, on SQLite
//! always and on PostgreSQL when ZHILI_TEST_PG is set.

use chrono::{Duration, Utc};
use zhili_domain::{Action, Actor, GeoPoint, NewEvent, RawNewEvent, RawReporter, Role};
use zhili_storage::admin::NewAccount;
use zhili_storage::patrols::{NewPatrol, PatrolFilter};
use zhili_storage::testing::{audit_count, fresh_stores, with_small_city};
use zhili_storage::{Acting, CreateOutcome, Store, StoreError};

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

fn report(text: &str, grid: &str, priority: &str) -> NewEvent {
    NewEvent::parse(RawNewEvent {
        channel: "hotline_12345".into(),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some("张三".into()),
            phone: Some("13812345678".into()),
        }),
        text: text.into(),
        category: Some("0101".into()),
        grid: Some(grid.into()),
        priority: Some(priority.into()),
        ..Default::default()
    })
    .unwrap()
}

async fn created(store: &Store, who: &str, e: &NewEvent) -> i64 {
    match store
        .events_for(&actor(store, who).await)
        .create(e, Utc::now())
        .await
        .unwrap()
    {
        CreateOutcome::Created(d) => d.id,
        CreateOutcome::Existing(d) => panic!("expected a new event, got {}", d.number),
    }
}

fn act(json: serde_json::Value) -> Action {
    serde_json::from_value(json).unwrap()
}

#[tokio::test]
async fn the_queue_holds_the_units_open_events_nearest_deadline_first() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let zhujian_actor = actor(&store, "zhujian").await;
        let zhujian = store.events_for(&zhujian_actor);
        let zj = store.org_by_code("D-ZJ").await.unwrap().unwrap().id;
        let pcs = store
            .org_by_code("S-330281002-PCS")
            .await
            .unwrap()
            .unwrap()
            .id;
        let now = Utc::now();
        // Normal (5 working days) and urgent (1 day): the urgent one comes first.
        let normal = created(
            &store,
            "fengshan",
            &report("夜间施工噪音", "33028100200101", "normal"),
        )
        .await;
        let urgent = created(
            &store,
            "fengshan",
            &report("工地深夜打桩", "33028100200101", "urgent"),
        )
        .await;
        let other = created(
            &store,
            "fengshan",
            &report("广场舞噪音", "33028100200102", "normal"),
        )
        .await;
        let assisted = created(
            &store,
            "fengshan",
            &report("酒吧噪音", "33028100200102", "high"),
        )
        .await;
        for id in [normal, urgent, other, assisted] {
            fengshan
                .act(id, &act(serde_json::json!({"action": "accept"})), now)
                .await
                .unwrap();
        }
        for id in [normal, urgent] {
            fengshan
                .act(
                    id,
                    &act(serde_json::json!({"action": "dispatch", "lead_unit": zj.0})),
                    now,
                )
                .await
                .unwrap();
        }
        fengshan
            .act(
                other,
                &act(serde_json::json!({"action": "dispatch", "lead_unit": pcs.0})),
                now,
            )
            .await
            .unwrap();
        fengshan
            .act(
                assisted,
                &act(serde_json::json!({"action": "dispatch", "lead_unit": pcs.0, "assisting_units": [zj.0]})),
                now,
            )
            .await
            .unwrap();

        let q = zhujian.unit_queue(now).await.unwrap();
        let ids: Vec<i64> = q.iter().map(|i| i.event.id).collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        assert_eq!(ids[0], urgent, "nearest deadline first");
        assert!(!ids.contains(&other), "another unit's event stays out");
        let a = q.iter().find(|i| i.event.id == assisted).unwrap();
        assert_eq!(a.unit_role.code, "assist");
        assert!(
            a.allowed_actions.is_empty(),
            "an assisting unit signs nothing"
        );
        let u = &q[0];
        assert_eq!(u.unit_role.code, "lead");
        assert_eq!(u.warning.as_ref().map(|w| w.code), Some("green"));
        assert!(u.working_minutes_left.unwrap() > 0);
        assert!(u.allowed_actions.iter().any(|c| c.code == "sign"));
        for w in q.windows(2) {
            assert!(w[0].handle_due_at <= w[1].handle_due_at);
        }
        // Past the deadline it is red, with negative time left.
        let later = zhujian.unit_queue(now + Duration::days(40)).await.unwrap();
        assert_eq!(later[0].warning.as_ref().map(|w| w.code), Some("red"));
        assert!(later[0].working_minutes_left.unwrap() < 0);

        // Signed, it stays; returned, it leaves the queue.
        zhujian
            .act(urgent, &act(serde_json::json!({"action": "sign"})), now)
            .await
            .unwrap();
        zhujian
            .act(
                normal,
                &act(serde_json::json!({"action": "return", "reason": "不属于住建职责"})),
                now,
            )
            .await
            .unwrap();
        let ids: Vec<i64> = zhujian
            .unit_queue(now)
            .await
            .unwrap()
            .iter()
            .map(|i| i.event.id)
            .collect();
        assert!(ids.contains(&urgent) && !ids.contains(&normal), "{ids:?}");
        // Nobody but a unit handler has a queue.
        assert!(fengshan.unit_queue(now).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_bulk_action_acts_on_each_event_alone() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let now = Utc::now();
        let a = created(
            &store,
            "fengshan",
            &report("噪音一", "33028100200101", "normal"),
        )
        .await;
        let b = created(
            &store,
            "fengshan",
            &report("噪音二", "33028100200102", "normal"),
        )
        .await;
        let lizhou_event = created(
            &store,
            "lizhou",
            &report("梨洲噪音", "33028100100101", "normal"),
        )
        .await;
        fengshan
            .act(b, &act(serde_json::json!({"action": "accept"})), now)
            .await
            .unwrap();
        let before = audit_count(&store, "event.accept").await;

        let out = fengshan
            .act_many(
                &[a, b, lizhou_event],
                &act(serde_json::json!({"action": "accept"})),
                now,
            )
            .await
            .unwrap();
        assert_eq!(
            out.iter().map(|o| o.id).collect::<Vec<_>>(),
            vec![a, b, lizhou_event]
        );
        assert_eq!(out[0].result.as_ref().unwrap().status.code, "accepted");
        assert!(
            matches!(out[1].result, Err(StoreError::Lifecycle(_))),
            "already accepted"
        );
        assert!(
            matches!(out[2].result, Err(StoreError::NotFound)),
            "another township's"
        );
        assert_eq!(audit_count(&store, "event.accept").await, before + 1);
        let d = fengshan.get(a).await.unwrap();
        // Its own timeline entry (a focus issue also gets its listed supervision).
        assert_eq!(
            d.timeline
                .iter()
                .filter(|t| t.action.code == "accept")
                .count(),
            1
        );

        assert!(matches!(
            fengshan.act_many(&[], &act(serde_json::json!({"action": "accept"})), now).await,
            Err(StoreError::Invalid { field, .. }) if field == "ids"
        ));
    }
}

fn check_in(lon: f64, grid: Option<&str>, key: &str) -> NewPatrol {
    NewPatrol {
        location: GeoPoint::parse(lon, 30.005).unwrap(),
        grid_code: grid.map(Into::into),
        accuracy_m: Some(12.0),
        note: Some("  小区东门巡查  ".into()),
        idempotency_key: key.into(),
        photo: None,
    }
}

#[tokio::test]
async fn patrol_check_ins_are_idempotent_flagged_outside_and_scoped() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let grid1 = actor(&store, "grid1").await;
        let repo = store.patrols_for(&grid1).unwrap();
        assert!(repo.may_check_in());
        let now = Utc::now();
        let (p, created) = repo
            .check_in(&check_in(121.155, Some("33028100200101"), "k1"), now)
            .await
            .unwrap();
        assert!(created);
        assert!(!p.outside_own_grid);
        assert_eq!(p.note.as_deref(), Some("小区东门巡查"));
        assert_eq!(p.township.as_ref().unwrap().name, "凤山街道");
        assert_eq!(p.grid.as_ref().unwrap().code, "33028100200101");
        // A retry with the same key is the same check-in.
        let (again, created) = repo
            .check_in(&check_in(121.155, Some("33028100200101"), "k1"), now)
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(again.id, p.id);
        // In the neighbouring grid, and in no grid at all: stored, flagged.
        let (next, _) = repo
            .check_in(&check_in(121.165, Some("33028100200102"), "k2"), now)
            .await
            .unwrap();
        assert!(next.outside_own_grid);
        let (nowhere, _) = repo
            .check_in(&check_in(121.5, None, "k3"), now)
            .await
            .unwrap();
        assert!(nowhere.outside_own_grid && nowhere.grid.is_none());
        assert_eq!(nowhere.township.as_ref().unwrap().name, "凤山街道");
        assert_eq!(audit_count(&store, "patrol.check_in").await, 3);

        let all = PatrolFilter {
            limit: 100,
            ..Default::default()
        };
        assert_eq!(repo.list(&all).await.unwrap().len(), 3);
        let fengshan = store.patrols_for(&actor(&store, "fengshan").await).unwrap();
        assert!(!fengshan.may_check_in());
        assert_eq!(fengshan.list(&all).await.unwrap().len(), 3);
        let counts = fengshan.counts_by_grid(&all).await.unwrap();
        assert_eq!(counts.len(), 2);
        assert_eq!(counts.iter().map(|c| c.total).sum::<i64>(), 2);
        assert_eq!(counts.iter().map(|c| c.outside).sum::<i64>(), 1);
        let outside = PatrolFilter {
            outside_only: true,
            grid: Some("33028100200102".into()),
            limit: 100,
            ..Default::default()
        };
        assert_eq!(fengshan.list(&outside).await.unwrap().len(), 1);
        let lizhou = store.patrols_for(&actor(&store, "lizhou").await).unwrap();
        assert!(lizhou.list(&all).await.unwrap().is_empty());
        assert!(matches!(lizhou.get(p.id).await, Err(StoreError::NotFound)));
        let window = PatrolFilter {
            from: Some(now + Duration::hours(1)),
            limit: 100,
            ..Default::default()
        };
        assert!(fengshan.list(&window).await.unwrap().is_empty());
        // Only grid workers check in; citizens and units have no patrols at all.
        assert!(
            fengshan
                .check_in(&check_in(121.155, None, "x"), now)
                .await
                .is_err()
        );
        assert!(store.patrols_for(&actor(&store, "zhujian").await).is_none());
        assert!(
            store
                .patrols_for(&actor(&store, "citizen1").await)
                .is_none()
        );
        assert!(matches!(
            repo.check_in(&check_in(121.155, None, ""), now).await,
            Err(StoreError::Invalid { field, .. }) if field == "idempotency_key"
        ));
    }
}

#[tokio::test]
async fn the_admin_edits_users_and_category_limits_with_audit() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let admin = Acting::from(&actor(&store, "admin").await);
        let now = Utc::now();
        let u = store
            .create_user(
                &NewAccount {
                    username: "newop",
                    display_name: "新操作员",
                    password_hash: "hash",
                    role: Role::TownshipOperator,
                    org_code: Some("330281002"),
                },
                &admin,
                now,
            )
            .await
            .unwrap();
        assert_eq!(u.org.as_ref().unwrap().name, "凤山街道");
        assert!(u.active);
        // The org must fit the role; the username must be free and well-formed.
        let bad = store
            .create_user(
                &NewAccount {
                    username: "newgrid",
                    display_name: "",
                    password_hash: "hash",
                    role: Role::GridWorker,
                    org_code: Some("330281002"),
                },
                &admin,
                now,
            )
            .await;
        assert!(matches!(bad, Err(StoreError::Invalid { field, .. }) if field == "org"));
        let dup = store
            .create_user(
                &NewAccount {
                    username: "newop",
                    display_name: "",
                    password_hash: "hash",
                    role: Role::Citizen,
                    org_code: None,
                },
                &admin,
                now,
            )
            .await;
        assert!(matches!(dup, Err(StoreError::Duplicate { .. })), "{dup:?}");
        let odd = store
            .create_user(
                &NewAccount {
                    username: "new op",
                    display_name: "",
                    password_hash: "hash",
                    role: Role::Citizen,
                    org_code: None,
                },
                &admin,
                now,
            )
            .await;
        assert!(matches!(odd, Err(StoreError::Invalid { field, .. }) if field == "username"));

        let changed = store
            .update_user(
                u.id,
                &zhili_storage::admin::UserChange {
                    role: Some(Role::UnitHandler),
                    org_code: Some("D-ZJ".into()),
                    active: None,
                },
                &admin,
                now,
            )
            .await
            .unwrap();
        assert_eq!(changed.role, Role::UnitHandler);
        assert_eq!(changed.org.as_ref().unwrap().code, "D-ZJ");
        let off = store
            .update_user(
                u.id,
                &zhili_storage::admin::UserChange {
                    active: Some(false),
                    ..Default::default()
                },
                &admin,
                now,
            )
            .await
            .unwrap();
        assert!(!off.active);
        assert_eq!(off.org.as_ref().unwrap().code, "D-ZJ");
        // The admin cannot lock themselves out.
        let me = actor(&store, "admin").await.user_id.0;
        assert!(
            store
                .update_user(
                    me,
                    &zhili_storage::admin::UserChange {
                        active: Some(false),
                        ..Default::default()
                    },
                    &admin,
                    now,
                )
                .await
                .is_err()
        );
        assert_eq!(audit_count(&store, "user.update").await, 2);
        assert!(
            store
                .users()
                .await
                .unwrap()
                .iter()
                .any(|x| x.username == "newop")
        );

        let c = store
            .update_category("0102", 9, Some("D-GA"), &admin, now)
            .await
            .unwrap();
        assert_eq!(c.limit_days, 9);
        let ga = store.org_by_code("D-GA").await.unwrap().unwrap().id;
        assert_eq!(c.department_id, Some(ga));
        assert!(matches!(
            store.update_category("0102", 0, None, &admin, now).await,
            Err(StoreError::Invalid { field, .. }) if field == "limit_days"
        ));
        assert!(matches!(
            store.update_category("9999", 3, None, &admin, now).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(audit_count(&store, "category.update").await, 1);
    }
}

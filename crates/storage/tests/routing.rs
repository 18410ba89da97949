//! The routing matrix on SQLite and (with ZHILI_TEST_PG) PostgreSQL: the most
//! specific rule wins (grid over village over township over city), the category's
//! department without one; a new event records its rule, a city-level rule hands it
//! to the city; dispatches and returns make each rule's mis-routing rate; every
//! change is audited, and a bad import stores nothing.

use chrono::{DateTime, TimeZone, Utc};
use zhili_domain::{Action, Actor, NewEvent, OrgId, RawNewEvent};
use zhili_storage::routing::{RuleFilter, RuleInput, RuleLine};
use zhili_storage::testing::{fresh_stores, with_small_city};
use zhili_storage::{CreateOutcome, EventDetail, Store, StoreError};

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 4, h, 0, 0).unwrap()
}

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

async fn org(store: &Store, code: &str) -> OrgId {
    store.org_by_code(code).await.unwrap().unwrap().id
}

fn rule(
    category: &str,
    area: Option<&str>,
    lead: &str,
    assisting: &[&str],
    level: &str,
) -> RuleInput {
    RuleInput {
        category: category.into(),
        area: area.map(Into::into),
        lead_unit: lead.into(),
        assisting_units: assisting.iter().map(|s| s.to_string()).collect(),
        level: level.into(),
        note: None,
    }
}

async fn report(store: &Store, by: &str, category: &str, grid: &str) -> EventDetail {
    let new = NewEvent::parse(RawNewEvent {
        channel: "web_form".into(),
        text: "楼下夜间施工噪音扰民".into(),
        category: Some(category.into()),
        grid: Some(grid.into()),
        ..Default::default()
    })
    .unwrap();
    match store
        .events_for(&actor(store, by).await)
        .create(&new, at(9))
        .await
        .unwrap()
    {
        CreateOutcome::Created(d) => *d,
        CreateOutcome::Existing(_) => panic!("expected a new event"),
    }
}

fn invalid_field(e: StoreError) -> String {
    match e {
        StoreError::Invalid { field, .. } => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_most_specific_rule_wins_and_the_category_department_is_the_fallback() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let admin = store.routing_for(&actor(&store, "admin").await);
        let city = admin
            .create(&rule("0101", None, "D-ZJ", &[], "township"), at(8))
            .await
            .unwrap();
        let township = admin
            .create(
                &rule(
                    "0101",
                    Some("330281002"),
                    "S-330281002-PCS",
                    &[],
                    "township",
                ),
                at(8),
            )
            .await
            .unwrap();
        let village = admin
            .create(
                &rule(
                    "0101",
                    Some("330281002001"),
                    "D-GA",
                    &["S-330281002-PCS"],
                    "village",
                ),
                at(8),
            )
            .await
            .unwrap();
        let grid = admin
            .create(
                &rule("0101", Some("33028100200101"), "D-ZJ", &["D-GA"], "grid"),
                at(8),
            )
            .await
            .unwrap();
        assert_eq!(grid.area_kind.code, "grid");
        assert_eq!(grid.assisting_units[0].code, "D-GA");

        let in_grid = report(&store, "fengshan", "0101", "33028100200101").await;
        let r = in_grid.routing.clone().unwrap();
        assert_eq!(r.rule_id, Some(grid.id));
        assert_eq!((r.lead_unit.code.as_str(), r.level.code), ("D-ZJ", "grid"));
        assert_eq!(r.assisting_units.len(), 1);
        // A grid-level rule leaves the event to its grid first.
        assert_eq!(in_grid.level.code, "grid");

        let in_village = report(&store, "fengshan", "0101", "33028100200102").await;
        assert_eq!(in_village.routing.unwrap().rule_id, Some(village.id));

        // Another township: its village and grid have no rule, the city-wide one applies.
        let elsewhere = report(&store, "lizhou", "0101", "33028100100101").await;
        assert_eq!(elsewhere.routing.unwrap().rule_id, Some(city.id));

        // No rule for 0102: the category's department, said to be the default.
        let fallback = report(&store, "fengshan", "0102", "33028100200101").await;
        let r = fallback.routing.unwrap();
        assert_eq!(r.rule_id, None);
        assert_eq!(
            (r.source.label, r.lead_unit.code.as_str()),
            ("类别默认部门", "D-ZJ")
        );
        assert_eq!(r.level.code, "city");
        assert_eq!(fallback.level.code, "township", "the default moves nothing");

        // The grid rule goes: its event falls back to what the matrix says now.
        admin.delete(grid.id, at(10)).await.unwrap();
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let again = fengshan.get(in_grid.id).await.unwrap();
        assert_eq!(again.routing.unwrap().rule_id, Some(village.id));
        // With the village rule gone too, the township's.
        admin.delete(village.id, at(10)).await.unwrap();
        let again = fengshan.get(in_grid.id).await.unwrap();
        assert_eq!(again.routing.unwrap().rule_id, Some(township.id));

        // Citizens do not see where the matrix sends their report.
        let mine = report(&store, "citizen1", "0101", "33028100200101").await;
        assert_eq!(mine.routing, None);

        let listed = admin.list(&RuleFilter::default()).await.unwrap();
        assert_eq!(listed.len(), 2);
        let only_city = admin
            .list(&RuleFilter {
                category: Some("01".into()),
                area: Some("city".into()),
            })
            .await
            .unwrap();
        assert_eq!(only_city.len(), 1);
        assert_eq!(only_city[0].id, city.id);
    }
}

#[tokio::test]
async fn a_city_level_rule_hands_the_event_to_the_city_command_centre() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let admin = store.routing_for(&actor(&store, "admin").await);
        admin
            .create(&rule("0102", None, "D-ZJ", &[], "city"), at(8))
            .await
            .unwrap();
        let e = report(&store, "fengshan", "0102", "33028100200101").await;
        assert_eq!(e.level.code, "city");
        assert!(e.allowed_actions.is_empty(), "{:?}", e.allowed_actions);
        let city = store.events_for(&actor(&store, "city").await);
        let seen = city.get(e.id).await.unwrap();
        assert!(seen.allowed_actions.iter().any(|a| a.code == "accept"));
    }
}

// The bottom rung of the ladder: a grid-level rule leaves the event to its grid's
// worker; unaccepted past its limit it climbs to the township.
#[tokio::test]
async fn a_grid_level_rule_leaves_the_event_to_its_grid_until_it_climbs() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let admin = store.routing_for(&actor(&store, "admin").await);
        admin
            .create(
                &rule("0102", Some("33028100200101"), "D-ZJ", &[], "grid"),
                at(8),
            )
            .await
            .unwrap();
        let e = report(&store, "fengshan", "0102", "33028100200101").await;
        assert_eq!(e.level.code, "grid");
        let grid = store.events_for(&actor(&store, "grid1").await);
        let seen = grid.get(e.id).await.unwrap();
        assert!(
            seen.allowed_actions.iter().any(|a| a.code == "accept"),
            "the grid worker runs it: {:?}",
            seen.allowed_actions
        );
        let township = store.events_for(&actor(&store, "fengshan").await);
        assert!(
            township
                .get(e.id)
                .await
                .unwrap()
                .allowed_actions
                .iter()
                .any(|a| a.code == "accept"),
            "the township keeps its hand on it"
        );

        // Nobody accepts it: at its red acceptance deadline it climbs to the township.
        let report = store
            .sweep_deadlines("test", at(9) + chrono::Duration::days(7), 50)
            .await
            .unwrap();
        assert!(report.escalated >= 1, "{report:?}");
        let seen = township.get(e.id).await.unwrap();
        assert_eq!(seen.level.code, "township");
        assert!(seen.timeline.iter().any(|t| t.action.code == "escalate"));
        let seen = grid.get(e.id).await.unwrap();
        assert!(
            !seen.allowed_actions.iter().any(|a| a.code == "accept"),
            "off the grid's hands: {:?}",
            seen.allowed_actions
        );
    }
}

#[tokio::test]
async fn rules_are_checked_field_by_field_and_only_admins_change_them() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let admin = store.routing_for(&actor(&store, "admin").await);
        let bad = [
            (rule("01", None, "D-ZJ", &[], "city"), "category"),
            (rule("0999", None, "D-ZJ", &[], "city"), "category"),
            (rule("0101", Some("D-ZJ"), "D-ZJ", &[], "city"), "area"),
            (rule("0101", Some("nowhere"), "D-ZJ", &[], "city"), "area"),
            (rule("0101", None, "330281002", &[], "city"), "lead_unit"),
            // A stationed unit serves its own township only.
            (
                rule("0101", None, "S-330281002-PCS", &[], "city"),
                "lead_unit",
            ),
            (
                rule("0101", Some("330281002"), "S-330281001-PCS", &[], "city"),
                "lead_unit",
            ),
            (
                rule("0101", None, "D-ZJ", &["D-ZJ"], "city"),
                "assisting_units",
            ),
            (
                rule("0101", None, "D-ZJ", &["D-XX"], "city"),
                "assisting_units",
            ),
            (rule("0101", None, "D-ZJ", &[], "province"), "level"),
        ];
        for (input, field) in bad {
            let e = admin.create(&input, at(8)).await.unwrap_err();
            assert_eq!(invalid_field(e), field, "{input:?}");
        }
        let first = admin
            .create(
                &rule("0101", Some("330281002"), "D-ZJ", &[], "乡镇（街道）"),
                at(8),
            )
            .await
            .unwrap();
        assert_eq!(first.level.code, "township");
        match admin
            .create(&rule("0101", Some("330281002"), "D-GA", &[], "市"), at(8))
            .await
        {
            Err(StoreError::Duplicate { field }) => assert_eq!(field, "area"),
            other => panic!("expected a duplicate, got {other:?}"),
        }
        // City-wide rules are unique per category too (NULL areas).
        admin
            .create(&rule("0101", None, "D-ZJ", &[], "市"), at(8))
            .await
            .unwrap();
        assert!(matches!(
            admin
                .create(&rule("0101", None, "D-GA", &[], "市"), at(8))
                .await,
            Err(StoreError::Duplicate { .. })
        ));

        let updated = admin
            .update(
                first.id,
                &rule(
                    "0101",
                    Some("330281002"),
                    "S-330281002-PCS",
                    &["D-ZJ"],
                    "grid",
                ),
                at(9),
            )
            .await
            .unwrap();
        assert_eq!(updated.lead_unit.code, "S-330281002-PCS");
        assert_eq!(updated.level.code, "grid");

        let township = store.routing_for(&actor(&store, "fengshan").await);
        assert!(township.may_read() && !township.may_edit());
        assert_eq!(
            township.list(&RuleFilter::default()).await.unwrap().len(),
            2
        );
        let e = township
            .create(&rule("0102", None, "D-ZJ", &[], "市"), at(8))
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "role");
        let citizen = store.routing_for(&actor(&store, "citizen1").await);
        assert!(citizen.list(&RuleFilter::default()).await.is_err());

        admin.delete(first.id, at(10)).await.unwrap();
        assert!(matches!(
            admin.delete(first.id, at(10)).await,
            Err(StoreError::NotFound)
        ));

        let changes = admin.changes(50).await.unwrap();
        let actions: Vec<&str> = changes.iter().map(|c| c.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "routing.delete",
                "routing.update",
                "routing.create",
                "routing.create"
            ],
            "refused changes leave no audit record"
        );
        assert_eq!(changes[0].rule_id, Some(first.id));
        assert!(changes[0].actor_name.contains("管理员"));
    }
}

#[tokio::test]
async fn returns_by_the_suggested_unit_make_the_mis_routing_rate() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let admin = store.routing_for(&actor(&store, "admin").await);
        let r = admin
            .create(
                &rule(
                    "0101",
                    Some("330281002"),
                    "S-330281002-PCS",
                    &[],
                    "township",
                ),
                at(8),
            )
            .await
            .unwrap();
        let e = report(&store, "fengshan", "0101", "33028100200101").await;
        assert_eq!(e.routing.as_ref().unwrap().rule_id, Some(r.id));
        // The event keeps the rule that routed it (events.routing_rule_id) when a more
        // specific one comes later; new events get the new one.
        let grid = admin
            .create(
                &rule("0101", Some("33028100200101"), "D-ZJ", &[], "grid"),
                at(8),
            )
            .await
            .unwrap();
        let later = report(&store, "fengshan", "0101", "33028100200101").await;
        assert_eq!(later.routing.unwrap().rule_id, Some(grid.id));
        let pcs = org(&store, "S-330281002-PCS").await;
        let zj = org(&store, "D-ZJ").await;
        let room = store.events_for(&actor(&store, "fengshan").await);
        let police = store.events_for(&actor(&store, "pcs").await);
        let zhujian = store.events_for(&actor(&store, "zhujian").await);
        let dispatch = |unit: OrgId| Action::Dispatch {
            lead_unit: unit,
            assisting_units: Vec::new(),
            note: None,
        };
        let back = || Action::Return {
            reason: "不属于本单位职责".into(),
        };
        room.act(e.id, &Action::Accept { note: None }, at(10))
            .await
            .unwrap();
        room.act(e.id, &dispatch(pcs), at(11)).await.unwrap();
        police.act(e.id, &back(), at(12)).await.unwrap();
        // Not what the rule said: counted as a dispatch, and its return not held
        // against the rule.
        room.act(e.id, &dispatch(zj), at(13)).await.unwrap();
        zhujian.act(e.id, &back(), at(14)).await.unwrap();
        room.act(e.id, &dispatch(pcs), at(15)).await.unwrap();
        police
            .act(e.id, &Action::Sign { note: None }, at(16))
            .await
            .unwrap();

        let again = room.get(e.id).await.unwrap();
        assert_eq!(again.routing.unwrap().rule_id, Some(r.id));
        let s = admin.get(r.id).await.unwrap().stats;
        assert_eq!((s.dispatches, s.followed, s.returned), (3, 2, 1));
        assert_eq!(s.misrouting_rate, Some(0.5));

        // A rule nobody followed yet has no rate.
        let fresh = admin
            .create(&rule("0102", None, "D-ZJ", &[], "township"), at(8))
            .await
            .unwrap();
        assert_eq!(fresh.stats.misrouting_rate, None);
    }
}

#[tokio::test]
async fn an_import_replaces_the_matrix_or_stores_nothing() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let admin = store.routing_for(&actor(&store, "admin").await);
        let kept = admin
            .create(&rule("0101", None, "D-ZJ", &[], "township"), at(8))
            .await
            .unwrap();
        let dropped = admin
            .create(&rule("0102", None, "D-ZJ", &[], "township"), at(8))
            .await
            .unwrap();
        let line = |row: usize, r: RuleInput| RuleLine { row, rule: r };
        let bad = vec![
            line(2, rule("0101", None, "D-ZJ", &[], "township")),
            line(3, rule("01", None, "D-ZJ", &[], "township")),
            line(4, rule("0101", Some("330281002"), "D-ZJ", &[], "高层")),
            line(5, rule("0101", None, "D-GA", &[], "市")),
        ];
        let refused = admin
            .import(&bad, Vec::new(), "test.xlsx", at(9))
            .await
            .unwrap()
            .unwrap_err();
        let rows: Vec<(usize, &str)> = refused
            .bad_rows
            .iter()
            .map(|b| (b.row, b.field.as_str()))
            .collect();
        assert_eq!(rows, [(3, "category"), (4, "level"), (5, "area")]);
        assert_eq!(admin.list(&RuleFilter::default()).await.unwrap().len(), 2);

        let good = vec![
            line(2, rule("0101", None, "D-ZJ", &[], "township")),
            line(
                3,
                rule(
                    "0101",
                    Some("330281002"),
                    "S-330281002-PCS",
                    &["D-ZJ"],
                    "乡镇街道",
                ),
            ),
        ];
        let out = admin
            .import(&good, Vec::new(), "test.xlsx", at(9))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (out.created, out.updated, out.unchanged, out.deleted),
            (1, 0, 1, 1)
        );
        let now = admin.list(&RuleFilter::default()).await.unwrap();
        assert_eq!(now.len(), 2);
        assert_eq!(now[0].id, kept.id, "an unchanged rule keeps its id");
        assert!(now.iter().all(|r| r.id != dropped.id));
        assert_eq!(admin.changes(1).await.unwrap()[0].action, "routing.import");
    }
}

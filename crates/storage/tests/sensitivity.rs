//! AC-08, PI-09: an event whose text names a sensitive matter is labelled 敏感 at
//! intake; list, search and detail hide it from the roles without clearance (the
//! grid worker, the system administrator) while everyone else sees what their area
//! gives them; it is never in the public list; the units handling it cannot reveal
//! its reporter's contact, the command room can; the command room raises and
//! lowers labels by hand, with a reason, on the timeline and in the audit log. On
//! both backends.

use chrono::Utc;
use zhili_domain::{Action, Actor, NewEvent, RawNewEvent, RawReporter, Sensitivity};
use zhili_storage::public::PublicFilter;
use zhili_storage::routing::RuleInput;
use zhili_storage::testing::{audit_count, fresh_stores, with_small_city};
use zhili_storage::{CreateOutcome, EventDetail, EventFilter, Store, StoreError};

const GRID: &str = "33028100200101";
const SENSITIVE_TEXT: &str = "邻居家未成年孩子长期被关在家中无人照看，希望有人管一管";
const NORMAL_TEXT: &str = "小区门口占道经营，早高峰堵塞通道";

/// Every account of the small city.
const USERS: &[&str] = &[
    "admin",
    "secadmin",
    "auditor",
    "city",
    "fengshan",
    "lizhou",
    "zhujian",
    "pcs",
    "grid1",
    "oversight",
    "citizen1",
    "citizen2",
    "sys110",
];

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

async fn report(store: &Store, by: &str, text: &str) -> EventDetail {
    let new = NewEvent::parse(RawNewEvent {
        channel: "web_form".into(),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some("欧阳娜娜".into()),
            phone: Some("13987654321".into()),
        }),
        text: text.into(),
        category: Some("0101".into()),
        grid: Some(GRID.into()),
        ..Default::default()
    })
    .unwrap();
    match store
        .events_for(&actor(store, by).await)
        .create(&new, Utc::now())
        .await
        .unwrap()
    {
        CreateOutcome::Created(d) => *d,
        CreateOutcome::Existing(_) => panic!("new event expected"),
    }
}

fn all() -> EventFilter {
    EventFilter {
        per_page: 100,
        ..EventFilter::default()
    }
}

/// Who finds the event by list, by search and by its id.
async fn who_sees(store: &Store, id: i64, words: &str) -> Vec<&'static str> {
    let mut seen = Vec::new();
    for &u in USERS {
        let repo = store.events_for(&actor(store, u).await);
        let listed = repo
            .list(&all())
            .await
            .unwrap()
            .items
            .iter()
            .any(|s| s.id == id);
        let searched = repo
            .list(&EventFilter {
                text: Some(words.into()),
                ..all()
            })
            .await
            .unwrap()
            .items
            .iter()
            .any(|s| s.id == id);
        let opened = match repo.get(id).await {
            Ok(d) => d.id == id,
            Err(StoreError::NotFound) => false,
            Err(e) => panic!("{u}: {e}"),
        };
        assert_eq!(
            (listed, searched),
            (opened, opened),
            "{u}: list, search and detail must agree"
        );
        if opened {
            seen.push(u);
        }
    }
    seen
}

#[tokio::test]
async fn a_sensitive_event_is_hidden_from_roles_without_clearance() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let sensitive = report(&store, "citizen1", SENSITIVE_TEXT).await;
        let normal = report(&store, "citizen1", NORMAL_TEXT).await;
        assert_eq!(sensitive.sensitivity.code, "sensitive");
        assert_eq!(
            sensitive.sensitivity_reason.as_deref(),
            Some("涉及未成年人（“未成年”）")
        );
        assert!(
            sensitive.timeline[0]
                .note
                .as_deref()
                .unwrap()
                .contains("自动标注为敏感"),
            "{:?}",
            sensitive.timeline[0].note
        );
        assert_eq!(normal.sensitivity.code, "normal");

        // The area decides for the normal event; for the sensitive one the grid
        // worker and the system administrator drop out.
        assert_eq!(
            who_sees(&store, normal.id, "占道").await,
            [
                "admin",
                "city",
                "fengshan",
                "grid1",
                "oversight",
                "citizen1"
            ]
        );
        assert_eq!(
            who_sees(&store, sensitive.id, "未成年").await,
            ["city", "fengshan", "oversight", "citizen1"]
        );

        // Never in public, whatever its channel.
        let public: Vec<String> = store
            .public_events(&PublicFilter::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.number)
            .collect();
        assert!(public.contains(&normal.number), "{public:?}");
        assert!(!public.contains(&sensitive.number), "{public:?}");

        // Sent to 住建: its handler now sees both, but reveals the reporter of the
        // normal one only; the command room reveals either.
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let zj = store.org_by_code("D-ZJ").await.unwrap().unwrap().id;
        for id in [sensitive.id, normal.id] {
            fengshan
                .act(id, &Action::Accept { note: None }, Utc::now())
                .await
                .unwrap();
            fengshan
                .act(
                    id,
                    &Action::Dispatch {
                        lead_unit: zj,
                        assisting_units: vec![],
                        note: None,
                    },
                    Utc::now(),
                )
                .await
                .unwrap();
        }
        let zhujian = store.events_for(&actor(&store, "zhujian").await);
        let handled = zhujian.get(sensitive.id).await.unwrap();
        assert!(!handled.reporter.revealable);
        assert!(handled.reporter.masked);
        assert!(zhujian.get(normal.id).await.unwrap().reporter.revealable);
        match zhujian
            .reveal_reporter(sensitive.id, "回访联系", Utc::now())
            .await
        {
            Err(StoreError::Forbidden(m)) => assert!(m.contains("敏感"), "{m}"),
            other => panic!("a unit revealed a sensitive reporter: {other:?}"),
        }
        assert!(
            zhujian
                .reveal_reporter(normal.id, "回访联系", Utc::now())
                .await
                .is_ok()
        );
        let revealed = fengshan
            .reveal_reporter(sensitive.id, "回访联系", Utc::now())
            .await
            .unwrap();
        assert_eq!(revealed.phone.as_deref(), Some("13987654321"));
    }
}

#[tokio::test]
async fn the_command_room_sets_labels_by_hand_with_a_reason() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let e = report(&store, "citizen1", NORMAL_TEXT).await;
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let grid1 = store.events_for(&actor(&store, "grid1").await);
        assert!(grid1.get(e.id).await.is_ok());
        assert!(fengshan.get(e.id).await.unwrap().can_label);
        assert!(!grid1.get(e.id).await.unwrap().can_label);

        // Only the command room running it, and only with a reason.
        match grid1
            .set_sensitivity(e.id, Sensitivity::Sensitive, "上报人担心被报复", Utc::now())
            .await
        {
            Err(StoreError::Forbidden(_)) => {}
            other => panic!("a grid worker set a label: {other:?}"),
        }
        match fengshan
            .set_sensitivity(e.id, Sensitivity::Sensitive, "怕", Utc::now())
            .await
        {
            Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "reason"),
            other => panic!("a label without a reason: {other:?}"),
        }
        assert_eq!(audit_count(&store, "event.sensitivity").await, 0);

        let raised = fengshan
            .set_sensitivity(e.id, Sensitivity::Sensitive, "上报人担心被报复", Utc::now())
            .await
            .unwrap();
        assert_eq!(raised.sensitivity.code, "sensitive");
        assert_eq!(
            raised.sensitivity_reason.as_deref(),
            Some("上报人担心被报复")
        );
        let step = raised.timeline.last().unwrap();
        assert_eq!(step.action.code, "label");
        assert_eq!(
            step.note.as_deref(),
            Some("密级由普通调整为敏感：上报人担心被报复")
        );
        // Gone from the grid worker at once, list and detail.
        assert!(matches!(grid1.get(e.id).await, Err(StoreError::NotFound)));
        assert_eq!(grid1.list(&all()).await.unwrap().total, 0);
        // Setting it to what it is already is refused.
        match fengshan
            .set_sensitivity(e.id, Sensitivity::Sensitive, "再次确认敏感", Utc::now())
            .await
        {
            Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "sensitivity"),
            other => panic!("{other:?}"),
        }

        fengshan
            .set_sensitivity(
                e.id,
                Sensitivity::Normal,
                "经核实不涉及个人隐私",
                Utc::now(),
            )
            .await
            .unwrap();
        assert!(grid1.get(e.id).await.is_ok());
        assert_eq!(audit_count(&store, "event.sensitivity").await, 2);
    }
}

#[tokio::test]
async fn a_sensitive_matter_is_not_left_to_the_grid() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        // The matrix leaves 噪音扰民 in this grid to its grid worker …
        store
            .routing_for(&actor(&store, "admin").await)
            .create(
                &RuleInput {
                    category: "0101".into(),
                    area: Some(GRID.into()),
                    lead_unit: "D-ZJ".into(),
                    assisting_units: vec![],
                    level: "grid".into(),
                    note: None,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(
            report(&store, "citizen1", NORMAL_TEXT).await.level.code,
            "grid"
        );
        // … but not a sensitive matter: the township runs it, and its grid worker
        // does not see it.
        let e = report(&store, "citizen1", "楼上邻居家暴，半夜经常听到哭喊声").await;
        assert_eq!(e.sensitivity.code, "sensitive");
        assert_eq!(e.level.code, "township");
        let grid1 = store.events_for(&actor(&store, "grid1").await);
        assert!(matches!(grid1.get(e.id).await, Err(StoreError::NotFound)));
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        assert!(
            fengshan
                .get(e.id)
                .await
                .unwrap()
                .allowed_actions
                .iter()
                .any(|a| a.code == "accept")
        );
    }
}

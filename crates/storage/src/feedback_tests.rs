//! The rating link on both backends: made on inform with its SMS, used once,
//! expiring, applying the rating (and a reopening) as the reporter with timeline and
//! audit. Here rather than in `tests/` because it reads the audit log.

use chrono::{DateTime, Duration, TimeZone, Utc};
use zhili_domain::{
    Action, Actor, InformChannel, NewEvent, RawNewEvent, RawReporter, Satisfaction,
};

use super::*;
use crate::testing::{fresh_stores, with_small_city};
use crate::{CreateOutcome, EventDetail};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0)
        .single()
        .expect("valid time")
}

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

fn report(phone: Option<&str>) -> NewEvent {
    NewEvent::parse(RawNewEvent {
        channel: "hotline_12345".into(),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some("张三".into()),
            phone: phone.map(Into::into),
        }),
        text: "舜北社区夜间施工噪音扰民，我是张三，电话13812345678".into(),
        category: Some("0101".into()),
        grid: Some("33028100200101".into()),
        ..Default::default()
    })
    .unwrap()
}

/// An event taken to 已反馈 at `at`; returns it and the link from its SMS, if any.
async fn informed(
    store: &Store,
    phone: Option<&str>,
    at: DateTime<Utc>,
) -> (EventDetail, Option<String>) {
    let fengshan = store.events_for(&actor(store, "fengshan").await);
    let e = match fengshan.create(&report(phone), at).await.unwrap() {
        CreateOutcome::Created(d) => *d,
        CreateOutcome::Existing(_) => panic!("expected a new event"),
    };
    to_informed(store, &e, at).await;
    let token = sms_link(store, e.id, at).await;
    (e, token)
}

async fn to_informed(store: &Store, e: &EventDetail, at: DateTime<Utc>) {
    let fengshan = store.events_for(&actor(store, "fengshan").await);
    let zhujian = store.events_for(&actor(store, "zhujian").await);
    let zj = store.org_by_code("D-ZJ").await.unwrap().unwrap().id;
    let step = |a: &str| serde_json::from_str::<Action>(a).unwrap();
    let status = fengshan.get(e.id).await.unwrap().status.code;
    if status == "reported" {
        fengshan
            .act(e.id, &step(r#"{"action":"accept"}"#), at)
            .await
            .unwrap();
        fengshan
            .act(
                e.id,
                &Action::Dispatch {
                    lead_unit: zj,
                    assisting_units: vec![],
                    note: None,
                },
                at,
            )
            .await
            .unwrap();
        zhujian
            .act(e.id, &step(r#"{"action":"sign"}"#), at)
            .await
            .unwrap();
    }
    zhujian
        .act(
            e.id,
            &step(r#"{"action":"resolve","result":"已约谈施工方，张三可拨13812345678回访"}"#),
            at,
        )
        .await
        .unwrap();
    fengshan
        .act(e.id, &step(r#"{"action":"verify_pass"}"#), at)
        .await
        .unwrap();
    fengshan
        .act(
            e.id,
            &Action::Inform {
                channel: InformChannel::Sms,
                note: None,
            },
            at,
        )
        .await
        .unwrap();
}

/// The token inside the event's newest SMS.
async fn sms_link(store: &Store, event_id: i64, at: DateTime<Utc>) -> Option<String> {
    let msgs = store
        .lease_outbox("test", crate::TOPIC_SMS, at, Duration::minutes(5), 100)
        .await
        .unwrap();
    let msg = msgs
        .into_iter()
        .rev()
        .find(|m| m.event_id == Some(event_id))?;
    assert_eq!(msg.payload["to"][0], "13800000000");
    let text = msg.payload["text"].as_str().unwrap().to_string();
    assert!(text.contains("评价"), "{text}");
    Some(text.split("/f/").nth(1).unwrap().chars().take(32).collect())
}

async fn audits_by_link(store: &Store, action: &str) -> i64 {
    let count = async || -> Result<i64, StoreError> {
        in_tx!(store, Read, |tx| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND actor_name = $2",
            )
            .bind(action)
            .bind(LINK_ACTOR)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)
        })
    };
    count().await.unwrap()
}

fn answer(s: Satisfaction, reopen: Option<&str>) -> FeedbackAnswer {
    FeedbackAnswer {
        satisfaction: s,
        comment: Some("处理及时".into()),
        reopen_reason: reopen.map(Into::into),
    }
}

#[tokio::test]
async fn a_link_is_made_on_inform_and_rates_once() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let (e, token) = informed(&store, Some("13800000000"), t0()).await;
        let token = token.expect("an SMS with the link");
        assert_eq!(token.len(), 32);

        let open = store
            .feedback_link(&token, t0() + Duration::hours(1))
            .await
            .unwrap();
        let LinkState::Open(link) = open else {
            panic!("expected an open link, got {open:?}")
        };
        assert_eq!(link.event_number, e.number);
        assert_eq!(link.expires_at, t0() + Duration::days(7));
        let result = link.result.unwrap();
        assert!(
            !result.contains("13812345678") && !result.contains("张三"),
            "{result}"
        );

        let done = store
            .answer_feedback(
                &token,
                &answer(Satisfaction::VerySatisfied, None),
                t0() + Duration::hours(2),
            )
            .await
            .unwrap();
        assert!(
            matches!(done, AnswerOutcome::Answered(ref a) if !a.reopened),
            "{done:?}"
        );
        let d = store
            .events_for(&actor(&store, "fengshan").await)
            .get(e.id)
            .await
            .unwrap();
        assert_eq!(d.status.code, "rated");
        assert_eq!(
            d.satisfaction.as_ref().map(|s| s.code),
            Some("very_satisfied")
        );
        let last = d.timeline.last().unwrap();
        assert_eq!(
            (last.action.code, last.actor_name.as_str()),
            ("rate", LINK_ACTOR)
        );
        assert_eq!(last.note.as_deref(), Some("处理及时"));
        assert_eq!(audits_by_link(&store, "event.rate").await, 1);

        // Used up: the page and a second answer say so, and nothing changes.
        let later = t0() + Duration::hours(3);
        assert_eq!(
            store.feedback_link(&token, later).await.unwrap(),
            LinkState::Used
        );
        let again = store
            .answer_feedback(&token, &answer(Satisfaction::VeryDissatisfied, None), later)
            .await
            .unwrap();
        assert_eq!(again, AnswerOutcome::Used);
        assert_eq!(audits_by_link(&store, "event.rate").await, 1);
        assert!(matches!(
            store
                .feedback_link("0123456789abcdef0123456789abcdef", later)
                .await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn a_link_expires_and_is_spent_by_a_rating_by_phone() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let (e, token) = informed(&store, Some("13800000000"), t0()).await;
        let token = token.unwrap();
        let just_before = t0() + Duration::days(7) - Duration::seconds(1);
        assert!(matches!(
            store.feedback_link(&token, just_before).await.unwrap(),
            LinkState::Open(_)
        ));
        let after = t0() + Duration::days(7);
        assert_eq!(
            store.feedback_link(&token, after).await.unwrap(),
            LinkState::Expired
        );
        let late = store
            .answer_feedback(&token, &answer(Satisfaction::Satisfied, None), after)
            .await
            .unwrap();
        assert_eq!(late, AnswerOutcome::Expired);
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        assert_eq!(fengshan.get(e.id).await.unwrap().status.code, "informed");

        // The operator records the rating from a phone call: the open link is spent.
        let (e2, token2) = informed(&store, Some("13800000000"), t0()).await;
        fengshan
            .act(
                e2.id,
                &Action::Rate {
                    satisfaction: Satisfaction::Basic,
                    comment: None,
                },
                t0() + Duration::hours(1),
            )
            .await
            .unwrap();
        let token2 = token2.unwrap();
        assert_eq!(
            store
                .feedback_link(&token2, t0() + Duration::hours(2))
                .await
                .unwrap(),
            LinkState::Used
        );

        // No phone, no link and no SMS.
        let (_, none) = informed(&store, None, t0()).await;
        assert_eq!(none, None);
    }
}

#[tokio::test]
async fn a_dissatisfied_reporter_has_the_event_handled_again() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let (e, token) = informed(&store, Some("13800000000"), t0()).await;
        let token = token.unwrap();
        let at = t0() + Duration::hours(1);
        // Asking for a reopening while satisfied is refused, and the link stays open.
        let refused = store
            .answer_feedback(&token, &answer(Satisfaction::Satisfied, Some("再看看")), at)
            .await;
        assert!(
            matches!(refused, Err(StoreError::Invalid { ref field, .. }) if field == "reopen_reason")
        );
        assert!(matches!(
            store.feedback_link(&token, at).await.unwrap(),
            LinkState::Open(_)
        ));

        let done = store
            .answer_feedback(
                &token,
                &answer(Satisfaction::Dissatisfied, Some("夜里还在施工")),
                at,
            )
            .await
            .unwrap();
        assert!(
            matches!(done, AnswerOutcome::Answered(ref a) if a.reopened),
            "{done:?}"
        );
        let fengshan = store.events_for(&actor(&store, "fengshan").await);
        let d = fengshan.get(e.id).await.unwrap();
        assert_eq!(d.status.code, "handling");
        assert_eq!(d.rework_count, 1);
        let tail: Vec<_> = d
            .timeline
            .iter()
            .rev()
            .take(2)
            .map(|t| (t.action.code, t.actor_name.as_str(), t.note.as_deref()))
            .collect();
        assert_eq!(
            tail,
            vec![
                ("reopen", LINK_ACTOR, Some("夜里还在施工")),
                ("rate", LINK_ACTOR, Some("处理及时")),
            ]
        );
        assert_eq!(audits_by_link(&store, "event.reopen").await, 1);

        // Handled again and informed again: a new link, the history kept.
        let later = t0() + Duration::days(1);
        to_informed(&store, &e, later).await;
        let second = sms_link(&store, e.id, later).await.unwrap();
        assert_ne!(second, token);
        assert!(matches!(
            store.feedback_link(&second, later).await.unwrap(),
            LinkState::Open(_)
        ));
        let d = fengshan.get(e.id).await.unwrap();
        assert_eq!(
            d.timeline
                .iter()
                .filter(|t| t.action.code == "resolve")
                .count(),
            2
        );
    }
}

#[tokio::test]
async fn check_codes_are_the_same_for_every_handle_and_find_only_their_event() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let (e, _) = informed(&store, Some("13800000000"), t0()).await;
        let code = store.check_code(&e.number).await.unwrap();
        assert_eq!(code.len(), 6);
        // Another handle on the same database (another instance) reads the same secret.
        let other = store
            .clone()
            .with_feedback_settings(FeedbackSettings::default());
        assert_eq!(other.check_code(&e.number).await.unwrap(), code);

        let found = store.public_lookup(&e.number, &code, t0()).await.unwrap();
        assert_eq!(found.event.number, e.number);
        assert_eq!(found.rating_link.code, "open");
        assert!(
            found
                .timeline
                .iter()
                .any(|s| s.by == "余姚市住房和城乡建设局")
        );
        assert!(!found.event.text.contains("13812345678"));
        let wrong = if code == "000000" { "000001" } else { "000000" };
        assert!(matches!(
            store.public_lookup(&e.number, wrong, t0()).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.public_lookup("ZL20991231999999", &code, t0()).await,
            Err(StoreError::NotFound)
        ));
    }
}

//! IA-11 and PI-08: a reporter proves their phone with an SMS one-time code (six
//! digits, ten minutes, once, five tries, three sends per phone in ten minutes),
//! then sees everything held about them in their reports and asks for a correction
//! or a deletion, which the command room running the event decides within its
//! deadline: on the timeline, in the audit log, and told to the reporter by SMS.
//! On both backends, with the clock given.

use chrono::{DateTime, Duration, Utc};
use zhili_domain::rights::CodePolicy;
use zhili_domain::{Actor, NewEvent, RawNewEvent, RawReporter};
use zhili_storage::rights::NewRequest;
use zhili_storage::testing::{audit_count, fresh_stores, stored_text, with_small_city};
use zhili_storage::{CreateOutcome, EventDetail, Store, StoreError, TOPIC_SMS};

const PHONE: &str = "13987654321";
const OTHER: &str = "13711112222";

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

async fn report(store: &Store, phone: &str, text: &str, at: DateTime<Utc>) -> EventDetail {
    let new = NewEvent::parse(RawNewEvent {
        channel: "hotline_12345".into(),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some("欧阳娜娜".into()),
            phone: Some(phone.into()),
        }),
        text: text.into(),
        category: Some("0101".into()),
        grid: Some("33028100200101".into()),
        ..Default::default()
    })
    .unwrap();
    match store
        .events_for(&actor(store, "fengshan").await)
        .create(&new, at)
        .await
        .unwrap()
    {
        CreateOutcome::Created(d) => *d,
        CreateOutcome::Existing(_) => panic!("new event expected"),
    }
}

/// The SMS texts waiting for `phone`, oldest first (leased, so each is read once).
async fn texts_to(store: &Store, phone: &str, at: DateTime<Utc>) -> Vec<String> {
    let leased = store
        .lease_outbox("test", TOPIC_SMS, at, Duration::days(1), 100)
        .await
        .unwrap();
    leased
        .into_iter()
        .filter(|m| m.payload["to"][0] == phone)
        .map(|m| m.payload["text"].as_str().unwrap().to_string())
        .collect()
}

/// The code of the newest SMS to `phone`.
async fn code_sent(store: &Store, phone: &str, at: DateTime<Utc>) -> String {
    let texts = texts_to(store, phone, at).await;
    let text = texts.last().expect("a code was sent");
    let start = text.find("验证码为 ").expect("a code text") + "验证码为 ".len();
    text[start..start + 6].to_string()
}

fn is_bad_code(r: Result<zhili_storage::rights::ReporterPass, StoreError>) -> bool {
    matches!(r, Err(StoreError::Invalid { ref field, .. }) if field == "code")
}

#[tokio::test]
async fn one_time_codes_expire_are_used_once_and_die_after_five_wrong_tries() {
    let p = CodePolicy::default();
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let t0 = Utc::now();
        let sent = store.send_phone_code(PHONE, &p, t0).await.unwrap();
        assert_eq!(sent.expires_at, t0 + Duration::minutes(10));
        let code = code_sent(&store, PHONE, t0).await;
        assert!(code.chars().all(|c| c.is_ascii_digit()) && code.len() == 6);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        // Five wrong tries kill the code, even for its right value.
        for _ in 0..5 {
            assert!(is_bad_code(
                store.verify_phone_code(PHONE, wrong, &p, t0).await
            ));
        }
        assert!(is_bad_code(
            store.verify_phone_code(PHONE, &code, &p, t0).await
        ));

        // A new code works once.
        let t1 = t0 + Duration::minutes(1);
        store.send_phone_code(PHONE, &p, t1).await.unwrap();
        let code = code_sent(&store, PHONE, t1).await;
        let pass = store
            .verify_phone_code(PHONE, &format!(" {code} "), &p, t1)
            .await
            .unwrap();
        assert_eq!(pass.expires_at, t1 + Duration::minutes(30));
        assert!(is_bad_code(
            store.verify_phone_code(PHONE, &code, &p, t1).await
        ));

        // Three sends in ten minutes to one phone; another phone is not held up.
        store.send_phone_code(PHONE, &p, t1).await.unwrap();
        match store.send_phone_code(PHONE, &p, t1).await {
            Err(StoreError::RateLimited(m)) => assert!(m.contains("分钟"), "{m}"),
            other => panic!("a fourth code in ten minutes: {other:?}"),
        }
        store.send_phone_code(OTHER, &p, t1).await.unwrap();

        // Ten minutes later a code is dead.
        let t2 = t0 + Duration::minutes(12);
        store.send_phone_code(PHONE, &p, t2).await.unwrap();
        let code = code_sent(&store, PHONE, t2).await;
        assert!(is_bad_code(
            store
                .verify_phone_code(PHONE, &code, &p, t2 + Duration::minutes(10))
                .await
        ));

        // Bad input is named; a landline gets no SMS.
        for (phone, field) in [("0574-62345678", "phone"), ("12", "phone")] {
            match store.send_phone_code(phone, &p, t2).await {
                Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{phone}: {other:?}"),
            }
        }
        match store.verify_phone_code(PHONE, "12ab56", &p, t2).await {
            Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "code"),
            other => panic!("{other:?}"),
        }
        // Neither the phone nor a pass is stored in plain text.
        let text = stored_text(&store).await;
        assert!(!text.iter().any(|v| v.contains(PHONE)));
        assert!(!text.iter().any(|v| v.contains(&pass.pass)));
        assert_eq!(audit_count(&store, "rights.code_sent").await, 5);
        assert_eq!(audit_count(&store, "rights.verified").await, 1);
    }
}

#[tokio::test]
async fn a_reporter_sees_corrects_and_deletes_their_data_through_the_command_room() {
    let p = CodePolicy::default();
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let t0 = Utc::now();
        let first = report(&store, PHONE, "小区门口占道经营，早高峰堵塞通道", t0).await;
        let second = report(&store, PHONE, "楼下烧烤店油烟扰民", t0).await;
        let someone_else = report(&store, OTHER, "路灯不亮", t0).await;
        store.send_phone_code(PHONE, &p, t0).await.unwrap();
        let code = code_sent(&store, PHONE, t0).await;
        let pass = store
            .verify_phone_code(PHONE, &code, &p, t0)
            .await
            .unwrap()
            .pass;

        // Their own reports, in full, and nobody else's.
        let mine = store.my_reports(&pass, t0).await.unwrap();
        let numbers: Vec<&str> = mine.iter().map(|r| r.number.as_str()).collect();
        assert_eq!(numbers.len(), 2);
        assert!(numbers.contains(&first.number.as_str()));
        assert!(numbers.contains(&second.number.as_str()));
        assert!(mine.iter().all(|r| r.phone.as_deref() == Some(PHONE)));
        assert!(mine.iter().all(|r| r.name.as_deref() == Some("欧阳娜娜")));
        assert_eq!(audit_count(&store, "pii.subject_access").await, 1);
        match store.my_reports("not-a-pass", t0).await {
            Err(StoreError::Forbidden(_)) => {}
            other => panic!("{other:?}"),
        }
        match store.my_reports(&pass, t0 + Duration::minutes(31)).await {
            Err(StoreError::Forbidden(_)) => {}
            other => panic!("a pass past its half hour: {other:?}"),
        }

        let file = |number: &str, kind: &str, name: Option<&str>| NewRequest {
            number: number.into(),
            kind: kind.into(),
            new_name: name.map(Into::into),
            new_phone: None,
            note: Some("登记时名字写错了".into()),
        };
        let correct = store
            .file_rights_request(&pass, &file(&first.number, "correct", Some("欧阳娜")), t0)
            .await
            .unwrap();
        assert_eq!(correct.due_at, t0 + Duration::days(15));
        for (new, field) in [
            (file(&first.number, "correct", Some("欧阳娜")), "kind"),
            (file(&someone_else.number, "delete", None), "event"),
            (file(&first.number, "correct", None), "name"),
            (file(&first.number, "forget", None), "kind"),
        ] {
            match store.file_rights_request(&pass, &new, t0).await {
                Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field, "{new:?}"),
                other => panic!("{new:?}: {other:?}"),
            }
        }
        let delete = store
            .file_rights_request(&pass, &file(&second.number, "delete", None), t0)
            .await
            .unwrap();

        // The township's command room decides; another township sees none, the
        // grid worker may not look.
        let fengshan = actor(&store, "fengshan").await;
        let open = store.rights_requests(&fengshan, true, t0).await.unwrap();
        assert_eq!(open.len(), 2);
        assert_eq!(open[0].new_name.as_deref(), Some("欧阳娜"));
        assert_eq!(open[0].note.as_deref(), Some("登记时名字写错了"));
        assert!(
            store
                .rights_requests(&actor(&store, "lizhou").await, true, t0)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            store
                .rights_requests(&actor(&store, "grid1").await, true, t0)
                .await,
            Err(StoreError::Forbidden(_))
        ));
        // Past its deadline an open request says so.
        let late = store
            .rights_requests(&fengshan, true, t0 + Duration::days(16))
            .await
            .unwrap();
        assert!(late.iter().all(|r| r.overdue));

        let t1 = t0 + Duration::days(2);
        let done = store
            .decide_rights_request(&fengshan, correct.id, true, "", t1)
            .await
            .unwrap();
        assert_eq!(done.status.code, "done");
        let events = store.events_for(&fengshan);
        let revealed = events
            .reveal_reporter(first.id, "核实更正", t1)
            .await
            .unwrap();
        assert_eq!(revealed.name.as_deref(), Some("欧阳娜"));
        assert_eq!(revealed.phone.as_deref(), Some(PHONE));
        match store
            .decide_rights_request(&fengshan, delete.id, false, "", t1)
            .await
        {
            Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "note"),
            other => panic!("a refusal without a reason: {other:?}"),
        }
        store
            .decide_rights_request(&fengshan, delete.id, true, "已删除", t1)
            .await
            .unwrap();
        let erased = events
            .reveal_reporter(second.id, "核实删除", t1)
            .await
            .unwrap();
        assert_eq!((erased.name, erased.phone), (None, None));
        match store
            .decide_rights_request(&fengshan, delete.id, true, "", t1)
            .await
        {
            Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "id"),
            other => panic!("decided twice: {other:?}"),
        }
        assert_eq!(audit_count(&store, "rights.decided").await, 2);
        assert_eq!(audit_count(&store, "event.anonymised").await, 1);
        let timeline = events.get(second.id).await.unwrap().timeline;
        let notes: Vec<&str> = timeline
            .iter()
            .filter(|t| t.action.code == "rights")
            .filter_map(|t| t.note.as_deref())
            .collect();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[1].contains("删除申请：已办理"), "{notes:?}");

        // Told by SMS at the number given.
        // (Leases run a day: the code sent two days ago is leased again here.)
        let told: Vec<String> = texts_to(&store, PHONE, t1)
            .await
            .into_iter()
            .filter(|t| !t.contains("验证码"))
            .collect();
        assert_eq!(told.len(), 2, "{told:?}");
        assert!(told.iter().all(|t| t.contains("申请已办理")), "{told:?}");

        // The erased report is no longer theirs to see; the corrected one is.
        let pass = {
            store.send_phone_code(PHONE, &p, t1).await.unwrap();
            let code = code_sent(&store, PHONE, t1).await;
            store
                .verify_phone_code(PHONE, &code, &p, t1)
                .await
                .unwrap()
                .pass
        };
        let mine = store.my_reports(&pass, t1).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].number, first.number);
        assert_eq!(mine[0].name.as_deref(), Some("欧阳娜"));
        assert_eq!(mine[0].requests[0].status.code, "done");
    }
}

#[tokio::test]
async fn a_request_past_its_deadline_reminds_the_command_rooms_once() {
    let p = CodePolicy::default();
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let t0 = Utc::now();
        let e = report(&store, PHONE, "小区门口占道经营，早高峰堵塞通道", t0).await;
        store.send_phone_code(PHONE, &p, t0).await.unwrap();
        let code = code_sent(&store, PHONE, t0).await;
        let pass = store
            .verify_phone_code(PHONE, &code, &p, t0)
            .await
            .unwrap()
            .pass;
        let filed = store
            .file_rights_request(
                &pass,
                &NewRequest {
                    number: e.number.clone(),
                    kind: "delete".into(),
                    ..NewRequest::default()
                },
                t0,
            )
            .await
            .unwrap();
        // Not before the deadline; once after it, however often the sweep runs.
        assert_eq!(
            store
                .remind_overdue_rights(t0 + Duration::days(14), 100)
                .await
                .unwrap(),
            0
        );
        let late = t0 + Duration::days(15) + Duration::minutes(1);
        assert_eq!(store.remind_overdue_rights(late, 100).await.unwrap(), 1);
        assert_eq!(store.remind_overdue_rights(late, 100).await.unwrap(), 0);
        for user in ["fengshan", "city"] {
            let notices = store
                .notifications(&actor(&store, user).await, false, 1, 50)
                .await
                .unwrap();
            let overdue: Vec<_> = notices
                .items
                .iter()
                .filter(|n| n.kind.code == "rights_overdue")
                .collect();
            assert_eq!(overdue.len(), 1, "{user}");
            assert!(
                overdue[0]
                    .body
                    .contains(&format!("第 {} 号删除申请", filed.id)),
                "{}",
                overdue[0].body
            );
        }
        // The other township is not told.
        let lizhou = store
            .notifications(&actor(&store, "lizhou").await, false, 1, 50)
            .await
            .unwrap();
        assert!(lizhou.items.iter().all(|n| n.kind.code != "rights_overdue"));
    }
}

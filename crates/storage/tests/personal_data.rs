//! Reporters' personal data at rest (issue #7 item 4, DC-01, PI-03): sealed in every
//! table, readable only with the master key, shown masked until a handler reveals
//! it with a reason, which is audited. SQLite always, PostgreSQL when ZHILI_TEST_PG
//! is set.

use chrono::Utc;
use zhili_domain::{Action, Actor, NewEvent, RawNewEvent, RawReporter};
use zhili_storage::crypto::Suite;
use zhili_storage::pii::MasterKey;
use zhili_storage::testing::{
    audit_count, execute, fresh_urls, master_key, stored_text, suite_for_url, unlocked,
    with_small_city,
};
use zhili_storage::{CreateOutcome, EventDetail, Store, StoreError};

const PHONE: &str = "13987654321";
const NAME: &str = "欧阳娜娜";
/// An authenticator's secret (base32, as `server/src/totp.rs` makes them).
const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const TOTP_PENDING: &str = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";

async fn open(url: &str) -> Store {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

async fn reported(store: &Store) -> EventDetail {
    let new = NewEvent::parse(RawNewEvent {
        channel: "hotline_12345".into(),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some(NAME.into()),
            phone: Some(PHONE.into()),
        }),
        text: "小区门口占道经营，早高峰堵塞通道".into(),
        category: Some("0101".into()),
        grid: Some("33028100200101".into()),
        ..Default::default()
    })
    .unwrap();
    match store
        .events_for(&actor(store, "fengshan").await)
        .create(&new, Utc::now())
        .await
        .unwrap()
    {
        CreateOutcome::Created(d) => *d,
        CreateOutcome::Existing(_) => panic!("new event expected"),
    }
}

fn plain_anywhere(store_text: &[String]) -> Vec<&String> {
    store_text
        .iter()
        .filter(|v| {
            [PHONE, NAME, TOTP_SECRET, TOTP_PENDING]
                .iter()
                .any(|p| v.contains(p))
        })
        .collect()
}

/// `admin` has `TOTP_SECRET` bound;
/// `secadmin` has `TOTP_PENDING` waiting for its first code.
async fn with_authenticators(store: &Store) {
    let admin = actor(store, "admin").await.user_id;
    store
        .start_totp_enrolment(admin, TOTP_SECRET)
        .await
        .unwrap();
    let by = zhili_storage::Acting::system("test");
    assert!(
        store
            .bind_totp(admin, &by, TOTP_SECRET, 1, Utc::now())
            .await
            .unwrap()
    );
    let secadmin = actor(store, "secadmin").await.user_id;
    store
        .start_totp_enrolment(secadmin, TOTP_PENDING)
        .await
        .unwrap();
}

#[tokio::test]
async fn no_table_holds_the_reporters_name_or_phone_in_plain_text() {
    for url in fresh_urls().await {
        let store = unlocked(open(&url).await).await;
        with_small_city(&store, "x").await;
        let e = reported(&store).await;
        // The transfer to 110 queues a message that carries name and phone.
        let transfer: Action =
            serde_json::from_str(r#"{"action":"transfer_110","reason":"涉及人身安全"}"#).unwrap();
        store
            .events_for(&actor(&store, "fengshan").await)
            .act(e.id, &transfer, Utc::now())
            .await
            .unwrap();
        // A staff member's phone for notices, sealed too.
        store
            .set_user_contact("zhujian", Some("13911112222"), None)
            .await
            .unwrap();
        // Authenticator secrets, bound and pending: a copy of the database must not
        // be a copy of the second factor.
        with_authenticators(&store).await;
        let text = stored_text(&store).await;
        assert!(text.len() > 50, "the scan read the tables");
        assert_eq!(plain_anywhere(&text), Vec::<&String>::new(), "{url}");
        assert!(
            !text.iter().any(|t| t.contains("13911112222")),
            "staff phone"
        );

        // What leaves through the outbox is the plain message.
        let out = store
            .lease_outbox(
                "t",
                zhili_storage::TOPIC_110,
                Utc::now(),
                chrono::Duration::seconds(60),
                10,
            )
            .await
            .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].payload["reporter"]["phone"], PHONE);
        assert_eq!(out[0].payload["reporter"]["name"], NAME);

        // The server reads them opened, to check codes.
        let admin = store.user_by_username("admin").await.unwrap().unwrap();
        assert_eq!(admin.totp.secret.as_deref(), Some(TOTP_SECRET));
        let secadmin = store.user_by_username("secadmin").await.unwrap().unwrap();
        assert_eq!(secadmin.totp.pending.as_deref(), Some(TOTP_PENDING));
        // A store that was never unlocked does not hand out a sealed secret.
        assert!(matches!(
            open(&url).await.user_by_username("admin").await,
            Err(StoreError::PiiLocked)
        ));
    }
}

#[tokio::test]
async fn handlers_see_the_mask_until_they_reveal_with_a_reason_which_is_audited() {
    for url in fresh_urls().await {
        let store = unlocked(open(&url).await).await;
        with_small_city(&store, "x").await;
        let e = reported(&store).await;
        let op = store.events_for(&actor(&store, "fengshan").await);
        let seen = op.get(e.id).await.unwrap();
        assert_eq!(seen.reporter.phone.as_deref(), Some("139****4321"));
        assert_eq!(seen.reporter.name.as_deref(), Some("欧***"));
        assert!(seen.reporter.revealable);

        assert!(matches!(
            op.reveal_reporter(e.id, " ", Utc::now()).await,
            Err(StoreError::Invalid { field, .. }) if field == "reason"
        ));
        assert_eq!(audit_count(&store, "pii.reveal").await, 0);

        let c = op
            .reveal_reporter(e.id, "回访联系", Utc::now())
            .await
            .unwrap();
        assert_eq!(c.phone.as_deref(), Some(PHONE));
        assert_eq!(c.name.as_deref(), Some(NAME));
        assert_eq!(audit_count(&store, "pii.reveal").await, 1);
        assert!(
            stored_text(&store)
                .await
                .iter()
                .any(|t| t.contains("回访联系")),
            "the reason is in the audit record"
        );
        // Revealing changes nothing for the next look: masked again.
        assert!(op.get(e.id).await.unwrap().reporter.masked);

        // Oversight reads the event, masked, and may not reveal.
        let oversight = store.events_for(&actor(&store, "oversight").await);
        assert!(!oversight.get(e.id).await.unwrap().reporter.revealable);
        assert!(matches!(
            oversight.reveal_reporter(e.id, "抽查", Utc::now()).await,
            Err(StoreError::Forbidden(_))
        ));
        // Another township does not learn the event exists.
        let lizhou = store.events_for(&actor(&store, "lizhou").await);
        assert!(matches!(
            lizhou.reveal_reporter(e.id, "回访联系", Utc::now()).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(audit_count(&store, "pii.reveal").await, 1);
    }
}

#[tokio::test]
async fn another_master_key_is_refused_and_a_rewrap_moves_the_keys_to_a_new_one() {
    for url in fresh_urls().await {
        let store = unlocked(open(&url).await).await;
        with_small_city(&store, "x").await;
        let e = reported(&store).await;

        let stranger = MasterKey::generate();
        let suite = suite_for_url(&url);
        match open(&url)
            .await
            .unlock_pii(&stranger, suite, Utc::now())
            .await
        {
            Err(StoreError::PiiKey(m)) => {
                assert!(
                    m.contains(master_key().id()) && m.contains(stranger.id()),
                    "{m}"
                )
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // A store that was never unlocked reads no personal data.
        assert!(matches!(
            open(&url)
                .await
                .events_for(&actor(&store, "fengshan").await)
                .get(e.id)
                .await,
            Err(StoreError::PiiLocked)
        ));

        let next = MasterKey::generate();
        store
            .rewrap_pii(master_key(), &next, "test", Utc::now())
            .await
            .unwrap();
        assert_eq!(
            store.pii_master_key_id().await.unwrap().as_deref(),
            Some(next.id())
        );
        // The suite is the database's: an instance configured for the other is
        // refused, naming both (DC-05).
        let other = match suite {
            Suite::Standard => Suite::Commercial,
            Suite::Commercial => Suite::Standard,
        };
        match open(&url).await.unlock_pii(&next, other, Utc::now()).await {
            Err(StoreError::PiiKey(m)) => {
                assert!(
                    m.contains(suite.label()) && m.contains(other.label()),
                    "{m}"
                )
            }
            other => panic!("expected a refusal of the other suite, got {other:?}"),
        }
        let reopened = open(&url)
            .await
            .unlock_pii(&next, suite, Utc::now())
            .await
            .unwrap();
        let c = reopened
            .events_for(&actor(&reopened, "fengshan").await)
            .reveal_reporter(e.id, "回访联系", Utc::now())
            .await
            .unwrap();
        assert_eq!(c.phone.as_deref(), Some(PHONE));
        assert!(
            open(&url)
                .await
                .unlock_pii(master_key(), suite, Utc::now())
                .await
                .is_err()
        );
        assert_eq!(audit_count(&store, "pii.master_key_changed").await, 1);
    }
}

#[tokio::test]
async fn values_stored_before_sealing_are_sealed_at_the_next_start() {
    for url in fresh_urls().await {
        let store = unlocked(open(&url).await).await;
        with_small_city(&store, "x").await;
        let e = reported(&store).await;
        // As a database from before migration 0025 holds them: plain, no hash.
        execute(
            &store,
            &format!(
                "UPDATE events SET reporter_name = '{NAME}', reporter_phone = '{PHONE}', \
                 reporter_phone_index = NULL WHERE id = {}",
                e.id
            ),
        )
        .await;
        // TOTP secrets as bound before they were sealed (before migration 0026).
        execute(
            &store,
            &format!(
                "UPDATE users SET totp_secret = '{TOTP_SECRET}', totp_last_step = 1 \
                 WHERE username = 'admin'"
            ),
        )
        .await;
        execute(
            &store,
            &format!(
                "UPDATE users SET totp_pending = '{TOTP_PENDING}' WHERE username = 'secadmin'"
            ),
        )
        .await;
        execute(&store, "UPDATE pii_keys SET sealed_at = NULL").await;
        assert_eq!(plain_anywhere(&stored_text(&store).await).len(), 4);

        let restarted = unlocked(open(&url).await).await;
        assert_eq!(
            plain_anywhere(&stored_text(&restarted).await),
            Vec::<&String>::new()
        );
        assert_eq!(audit_count(&restarted, "pii.sealed").await, 1);
        let c = restarted
            .events_for(&actor(&restarted, "fengshan").await)
            .reveal_reporter(e.id, "回访联系", Utc::now())
            .await
            .unwrap();
        assert_eq!(c.name.as_deref(), Some(NAME));
        let admin = restarted.user_by_username("admin").await.unwrap().unwrap();
        assert_eq!(admin.totp.secret.as_deref(), Some(TOTP_SECRET));
        assert!(admin.credentials.second_factor);
        let secadmin = restarted
            .user_by_username("secadmin")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(secadmin.totp.pending.as_deref(), Some(TOTP_PENDING));
        // The pending secret binds as one enrolled after sealing does.
        assert!(
            restarted
                .bind_totp(
                    secadmin.actor.user_id,
                    &zhili_storage::Acting::system("test"),
                    TOTP_PENDING,
                    7,
                    Utc::now()
                )
                .await
                .unwrap()
        );
        assert_eq!(
            plain_anywhere(&stored_text(&restarted).await),
            Vec::<&String>::new()
        );
        // The pass ran once: the next start finds nothing to do.
        let _ = unlocked(open(&url).await).await;
        assert_eq!(audit_count(&restarted, "pii.sealed").await, 1);
    }
}

/// Takes an event from report to closed, the reporter texting their number into the
/// description and the unit informing them by SMS on the way.
async fn closed_event(store: &Store) -> EventDetail {
    let e = reported(store).await;
    let op = store.events_for(&actor(store, "fengshan").await);
    let unit = store.events_for(&actor(store, "zhujian").await);
    let zj = store.org_by_code("D-ZJ").await.unwrap().unwrap().id.0;
    let t = Utc::now();
    let step = |a: &str| serde_json::from_str::<Action>(a).unwrap();
    op.act(e.id, &step(r#"{"action":"accept"}"#), t)
        .await
        .unwrap();
    op.act(
        e.id,
        &step(&format!(r#"{{"action":"dispatch","lead_unit":{zj}}}"#)),
        t,
    )
    .await
    .unwrap();
    unit.act(e.id, &step(r#"{"action":"sign"}"#), t)
        .await
        .unwrap();
    unit.act(
        e.id,
        &step(r#"{"action":"resolve","result":"已清理占道摊位"}"#),
        t,
    )
    .await
    .unwrap();
    op.act(e.id, &step(r#"{"action":"verify_pass"}"#), t)
        .await
        .unwrap();
    op.act(e.id, &step(r#"{"action":"inform","channel":"sms"}"#), t)
        .await
        .unwrap();
    op.act(e.id, &step(r#"{"action":"close"}"#), t)
        .await
        .unwrap()
}

#[tokio::test]
async fn personal_data_of_closed_events_is_erased_after_the_retention_period_and_audited() {
    for url in fresh_urls().await {
        let store = unlocked(open(&url).await).await;
        with_small_city(&store, "x").await;
        let e = closed_event(&store).await;
        assert_eq!(e.status.code, "closed");
        let open_one = reported(&store).await;
        let keep = chrono::Duration::days(730);

        // Within the period nothing is erased.
        let now = Utc::now() + chrono::Duration::days(729);
        assert_eq!(
            store.anonymise_closed(keep, now, "w1", 100).await.unwrap(),
            0
        );

        // After it, the closed event loses its reporter; the open one keeps theirs.
        let later = Utc::now() + chrono::Duration::days(731);
        assert_eq!(
            store
                .anonymise_closed(keep, later, "w1", 100)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .anonymise_closed(keep, later, "w2", 100)
                .await
                .unwrap(),
            0,
            "once"
        );
        assert_eq!(audit_count(&store, "event.anonymised").await, 1);

        let op = store.events_for(&actor(&store, "fengshan").await);
        let gone = op.get(e.id).await.unwrap();
        assert_eq!(gone.reporter.name, None);
        assert_eq!(gone.reporter.phone, None);
        assert_eq!(gone.status.code, "closed", "the event itself stays");
        assert_eq!(gone.timeline.len(), e.timeline.len());
        let kept = op
            .reveal_reporter(open_one.id, "回访联系", Utc::now())
            .await
            .unwrap();
        assert_eq!(kept.phone.as_deref(), Some(PHONE));
    }
}

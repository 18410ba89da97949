//! IP-09: synthetic audit trails raise the security alerts — credential stuffing
//! from one address, bulk reveals by one account, an administrator signing in at
//! night, a tampered audit record — each once, however often and by however many
//! instances the detection runs; an alert is acknowledged once, audited. On both
//! backends, with the clock given.

use chrono::{DateTime, TimeZone, Utc};
use zhili_domain::{AlertKind, AlertRules, Role};
use zhili_storage::audit::RequestContext;
use zhili_storage::testing::{audit_count, execute, fresh_stores, with_small_city};
use zhili_storage::{Acting, AuditRecord, Backend, Store};

/// China time on Monday 2026-12-07.
fn monday(h: u32, m: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 12, 7, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn record(store: &Store, ip: &str, actor: Acting, action: &str, at: DateTime<Utc>) {
    record_with(store, ip, actor, action, at, None).await
}

async fn record_with(
    store: &Store,
    ip: &str,
    actor: Acting,
    action: &str,
    at: DateTime<Utc>,
    detail: Option<serde_json::Value>,
) {
    RequestContext {
        ip: Some(ip.into()),
        request_id: None,
    }
    .scope(store.audit(AuditRecord {
        at,
        actor,
        action: action.into(),
        object_type: "session",
        object_id: None,
        detail,
    }))
    .await
    .unwrap();
}

fn staff(name: &str, role: Role) -> Acting {
    Acting {
        role: Some(role),
        ..Acting::system(name)
    }
}

fn kinds(alerts: &[zhili_domain::Finding]) -> Vec<AlertKind> {
    let mut k: Vec<AlertKind> = alerts.iter().map(|a| a.kind).collect();
    k.sort_by_key(|k| k.code());
    k
}

#[tokio::test]
async fn synthetic_attacks_raise_each_alert_once() {
    let rules = AlertRules {
        bulk_records: 5,
        ..AlertRules::default()
    };
    for store in fresh_stores().await {
        with_small_city(&store, "not-a-real-hash").await;
        let now = monday(17, 0);
        // A normal afternoon: one person mistypes twice, an operator reveals two
        // contacts, the admin signs in at 16:30.
        for m in [1, 2] {
            record(
                &store,
                "10.1.1.5",
                Acting::system("fengshan"),
                "auth.login_failed",
                monday(16, m),
            )
            .await;
        }
        for m in [5, 6] {
            record(
                &store,
                "10.1.1.5",
                staff("fengshan", Role::TownshipOperator),
                "pii.reveal",
                monday(16, m),
            )
            .await;
        }
        record(
            &store,
            "10.1.1.9",
            staff("admin", Role::Admin),
            "auth.login",
            monday(16, 30),
        )
        .await;
        assert!(
            store
                .detect_security_alerts(&rules, now)
                .await
                .unwrap()
                .is_empty(),
            "an ordinary afternoon raises nothing"
        );

        // Six accounts tried from one address; eight reveals by one handler; the
        // security admin signs in at 17:50, after the office closed.
        for (i, name) in ["a1", "b2", "c3", "d4", "e5", "f6"].iter().enumerate() {
            record(
                &store,
                "203.0.113.50",
                Acting::system(*name),
                "auth.login_failed",
                monday(17, 10 + i as u32),
            )
            .await;
        }
        for m in 0..8 {
            record(
                &store,
                "10.1.2.3",
                staff("zhujian", Role::UnitHandler),
                "pii.reveal",
                monday(17, 20 + m),
            )
            .await;
        }
        record(
            &store,
            "10.1.1.9",
            staff("secadmin", Role::SecurityAdmin),
            "auth.login",
            monday(17, 50),
        )
        .await;
        // One export of 40 contacts is as much as 40 reveals.
        record_with(
            &store,
            "10.1.1.7",
            staff("city", Role::CityOperator),
            "pii.export",
            monday(17, 30),
            Some(serde_json::json!({ "rows": 40, "reason": "回访" })),
        )
        .await;

        let now = monday(18, 0);
        let raised = store.detect_security_alerts(&rules, now).await.unwrap();
        assert_eq!(
            kinds(&raised),
            vec![
                AlertKind::BulkPersonalData,
                AlertKind::BulkPersonalData,
                AlertKind::CredentialStuffing,
                AlertKind::OffHoursPrivileged
            ],
            "{raised:?}"
        );
        let stuffing = raised
            .iter()
            .find(|a| a.kind == AlertKind::CredentialStuffing)
            .unwrap();
        assert_eq!(stuffing.subject, "203.0.113.50");
        assert_eq!(stuffing.count, 6);
        let bulk = |who: &str| {
            raised
                .iter()
                .find(|a| a.kind == AlertKind::BulkPersonalData && a.subject == who)
                .map(|a| a.count)
        };
        assert_eq!(bulk("zhujian"), Some(8));
        assert_eq!(bulk("city"), Some(40));
        let night = raised
            .iter()
            .find(|a| a.kind == AlertKind::OffHoursPrivileged)
            .unwrap();
        assert_eq!(night.subject, "secadmin");

        // Found again by this instance a minute later, and by a second one: no new alert.
        assert!(
            store
                .detect_security_alerts(&rules, now + chrono::Duration::minutes(1))
                .await
                .unwrap()
                .is_empty()
        );
        let twin = store.clone();
        assert!(
            twin.detect_security_alerts(&rules, now)
                .await
                .unwrap()
                .is_empty()
        );
        let open = store.security_alerts(true, 100).await.unwrap();
        assert_eq!(open.len(), 4, "{open:?}");

        // Acknowledged with a note, once; audited both ways.
        let by = staff("secadmin", Role::SecurityAdmin);
        let id = open
            .iter()
            .find(|a| a.kind == "credential_stuffing")
            .unwrap()
            .id;
        assert!(
            store.acknowledge_alert(id, &by, "x", now).await.is_err(),
            "a note is needed"
        );
        store
            .acknowledge_alert(id, &by, "已封禁该地址", now)
            .await
            .unwrap();
        assert!(
            store
                .acknowledge_alert(id, &by, "再次确认", now)
                .await
                .is_err()
        );
        assert_eq!(store.security_alerts(true, 100).await.unwrap().len(), 3);
        let all = store.security_alerts(false, 100).await.unwrap();
        let done = all.iter().find(|a| a.id == id).unwrap();
        assert_eq!(done.acknowledged_by.as_deref(), Some("secadmin"));
        assert_eq!(done.note.as_deref(), Some("已封禁该地址"));
        assert_eq!(audit_count(&store, "alert.raised").await, 4);
        assert_eq!(audit_count(&store, "alert.acknowledged").await, 1);
    }
}

#[tokio::test]
async fn a_tampered_audit_record_raises_the_chain_alert_once() {
    for store in fresh_stores().await {
        with_small_city(&store, "not-a-real-hash").await;
        let now = monday(11, 0);
        assert!(
            store
                .verify_audit_chain_for_alerts(now)
                .await
                .unwrap()
                .is_none()
        );
        record(
            &store,
            "10.1.1.5",
            Acting::system("fengshan"),
            "auth.login_failed",
            now,
        )
        .await;
        // Someone with the database owner's rights edits the oldest record.
        let drop: &[&str] = match store.backend() {
            Backend::Sqlite => &["DROP TRIGGER audit_log_no_update"],
            Backend::Postgres => &["DROP TRIGGER audit_log_no_update ON audit_log"],
        };
        for sql in drop {
            execute(&store, sql).await;
        }
        execute(
            &store,
            "UPDATE audit_log SET actor_name = 'nobody' WHERE id = (SELECT MIN(id) FROM audit_log)",
        )
        .await;
        let broken = store.verify_audit_chain_for_alerts(now).await.unwrap();
        let b = broken.expect("the edit is found");
        store.verify_audit_chain_for_alerts(now).await.unwrap();
        let open = store.security_alerts(true, 100).await.unwrap();
        let chain: Vec<_> = open.iter().filter(|a| a.kind == "audit_chain").collect();
        assert_eq!(chain.len(), 1, "{open:?}");
        assert_eq!(chain[0].subject, format!("#{}", b.id));
        assert_eq!(chain[0].kind_label(), "审计链校验失败");
    }
}

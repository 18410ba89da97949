//! Separation of duties (三员分立, issue #7 item 2, AC-07) and the audit log for its
//! administrator (AU-08, PI-06): accounts are the security administrator's alone,
//! the audit log the audit administrator's alone, neither sees events, and nobody
//! in the application makes or changes the accounts of those two. SQLite always,
//! PostgreSQL with ZHILI_TEST_PG.

mod common;

use axum::http::StatusCode;
use common::page::{self, get, post};
use common::{apps_with_stores, call, login};
use serde_json::Value;

async fn user_id(store: &zhili_storage::Store, name: &str) -> i64 {
    store
        .user_by_username(name)
        .await
        .unwrap()
        .unwrap()
        .actor
        .user_id
        .0
}

#[tokio::test]
async fn accounts_are_the_security_administrators_and_not_the_system_administrators() {
    for (app, store) in apps_with_stores().await {
        let admin = page::login(&app, "admin").await;
        let sec = page::login(&app, "secadmin").await;
        assert_eq!(
            get(&app, "/admin/users", Some(&admin.cookie)).await.status,
            StatusCode::FORBIDDEN,
            "the system administrator no longer manages accounts"
        );
        let list = get(&app, "/admin/users", Some(&sec.cookie)).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.body.contains("zhujian"));
        assert!(
            !list.body.contains("value=\"auditor\">"),
            "the role lists offer no auditor (only the auditor's own row shows it, selected)"
        );

        // A new unit handler: made, with its one-time password shown once.
        let made = post(
            &app,
            "/admin/users",
            Some(&sec.cookie),
            &[
                ("csrf", &sec.csrf),
                ("username", "zj2"),
                ("display_name", "住建承办人乙"),
                ("role", "unit_handler"),
                ("org", "D-ZJ"),
            ],
        )
        .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.body);
        assert!(made.body.contains("zj2"));
        // A friendly auditor is refused, and so is a change of one's own account.
        let auditor = post(
            &app,
            "/admin/users",
            Some(&sec.cookie),
            &[
                ("csrf", &sec.csrf),
                ("username", "aud2"),
                ("display_name", "审计乙"),
                ("role", "auditor"),
            ],
        )
        .await;
        assert_eq!(auditor.status, StatusCode::FORBIDDEN);
        assert!(auditor.body.contains("只能由命令行"), "{}", auditor.body);
        assert!(store.user_by_username("aud2").await.unwrap().is_none());
        let own = user_id(&store, "secadmin").await;
        let r = post(
            &app,
            &format!("/admin/users/{own}"),
            Some(&sec.cookie),
            &[("csrf", &sec.csrf), ("role", "admin"), ("active", "on")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        // Password resets over the API: the security admin for a handler, nobody
        // for the auditor, never the system admin.
        let sec_token = login(&app, "secadmin").await;
        let admin_token = login(&app, "admin").await;
        let zj = user_id(&store, "zhujian").await;
        let aud = user_id(&store, "auditor").await;
        let reset = |id: i64| format!("/api/v1/admin/users/{id}/password");
        let (s, v) = call(&app, "POST", &reset(zj), Some(&sec_token), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(
            v["one_time_password"]
                .as_str()
                .is_some_and(|p| p.len() >= 12),
            "{v}"
        );
        let (s, _) = call(&app, "POST", &reset(aud), Some(&sec_token), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = call(&app, "POST", &reset(zj), Some(&admin_token), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // Neither administrator reaches the events: the route's permission leaves
        // them out (and their scope is empty besides).
        for who in [&sec_token, &login(&app, "auditor").await] {
            let (s, v) = call(&app, "GET", "/api/v1/events", Some(who), None).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
            assert!(v.to_string().contains("查看事件"), "{v}");
        }
    }
}

#[tokio::test]
async fn the_audit_administrator_alone_reads_and_checks_the_log_and_is_recorded_doing_it() {
    for (app, store) in apps_with_stores().await {
        // Something worth auditing: a reporter's contact revealed.
        let fengshan = login(&app, "fengshan").await;
        let (s, e) = call(
            &app,
            "POST",
            "/api/v1/events",
            Some(&fengshan),
            Some(
                r#"{"channel":"hotline_12345","text":"楼道堆放杂物","grid":"33028100200101",
                "reporter":{"kind":"citizen","name":"孙七","phone":"13912340000"}}"#,
            ),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        common::reveal(&app, &fengshan, e["id"].as_i64().unwrap()).await;

        for who in ["admin", "secadmin", "city", "oversight"] {
            let t = login(&app, who).await;
            let (s, _) = call(&app, "GET", "/api/v1/audit", Some(&t), None).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
        }
        let auditor = login(&app, "auditor").await;
        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/audit?action=pii.reveal",
            Some(&auditor),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["total"], 1, "{v}");
        let r = &v["items"][0];
        assert!(
            r["actor_name"].as_str().unwrap().starts_with("凤山指挥室"),
            "{r}"
        );
        assert_eq!(r["detail"]["reason"], "回访联系");
        assert_eq!(r["object_id"], e["id"].to_string());

        // Each of those refusals is itself on record, with route, request id and role.
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/audit?action=access.denied",
            Some(&auditor),
            None,
        )
        .await;
        assert_eq!(v["total"], 4, "{v}");
        let denial = &v["items"][0];
        assert_eq!(denial["object_id"], "/api/v1/audit");
        assert_eq!(denial["detail"]["method"], "GET");
        assert!(
            denial["request_id"].as_str().is_some_and(|r| !r.is_empty()),
            "{denial}"
        );
        assert_eq!(denial["actor_role"], "oversight", "{denial}");
        // So is a logout.
        let city = login(&app, "city").await;
        let (s, _) = call(&app, "POST", "/api/v1/auth/logout", Some(&city), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = call(&app, "GET", "/api/v1/events", Some(&city), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "the session ended");
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/audit?action=auth.logout",
            Some(&auditor),
            None,
        )
        .await;
        assert_eq!(v["total"], 1, "{v}");

        // A family of actions, the auditor's own reads among them.
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/audit?action=audit.",
            Some(&auditor),
            None,
        )
        .await;
        assert!(
            v["total"].as_i64().unwrap() >= 1,
            "the first search is recorded: {v}"
        );
        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/audit?from=yesterday",
            Some(&auditor),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "from");

        // The check covers the signed anchors the background work writes.
        store
            .anchor_audit_chain(chrono::Duration::hours(1), chrono::Utc::now(), "test")
            .await
            .unwrap()
            .expect("an anchor");
        let (s, v) = call(&app, "GET", "/api/v1/audit/verify", Some(&auditor), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["first_break"], Value::Null, "{v}");
        assert!(v["records"].as_u64().unwrap() > 3);
        assert_eq!(v["anchors"], 1, "{v}");

        // The page: a search and the chain check, in the auditor's start page.
        let p = page::login(&app, "auditor").await;
        let shown = get(&app, "/audit?action=pii.reveal&verify=1", Some(&p.cookie)).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.body.contains("回访联系"), "{}", shown.body);
        assert!(shown.body.contains("id=\"chain-status\""));
        assert!(shown.body.contains("1 个签名锚点均有效"), "{}", shown.body);
        assert!(!shown.body.contains("13912340000"), "no phone in the log");
        assert_eq!(
            get(
                &app,
                "/audit",
                Some(&page::login(&app, "city").await.cookie)
            )
            .await
            .status,
            StatusCode::FORBIDDEN
        );
    }
}

/// IP-09: the security administrator reads the alerts the background work raised,
/// on the page and over the API, and acknowledges one with a note; the system
/// administrator and the auditor cannot.
#[tokio::test]
async fn the_security_administrator_sees_and_acknowledges_the_alerts() {
    use chrono::Utc;
    use zhili_domain::AlertRules;
    use zhili_storage::{Acting, AuditRecord, audit::RequestContext};
    for (app, store) in apps_with_stores().await {
        // Failed logins for six accounts from one address, as the trail has them.
        for name in ["a1", "b2", "c3", "d4", "e5", "f6"] {
            RequestContext {
                ip: Some("198.51.100.23".into()),
                request_id: None,
            }
            .scope(store.audit(AuditRecord {
                at: Utc::now(),
                actor: Acting::system(name),
                action: "auth.login_failed".into(),
                object_type: "session",
                object_id: None,
                detail: None,
            }))
            .await
            .unwrap();
        }
        let raised = store
            .detect_security_alerts(&AlertRules::default(), Utc::now())
            .await
            .unwrap();
        assert!(
            raised.iter().any(|a| a.subject == "198.51.100.23"),
            "{raised:?}"
        );

        let sec = page::login(&app, "secadmin").await;
        let list = get(&app, "/admin/alerts", Some(&sec.cookie)).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(
            list.body.contains("撞库登录") && list.body.contains("198.51.100.23"),
            "{}",
            list.body
        );
        for who in ["admin", "auditor"] {
            let p = page::login(&app, who).await;
            assert_eq!(
                get(&app, "/admin/alerts", Some(&p.cookie)).await.status,
                StatusCode::FORBIDDEN,
                "{who}"
            );
        }

        let token = login(&app, "secadmin").await;
        let (s, v) = call(&app, "GET", "/api/v1/admin/alerts", Some(&token), None).await;
        assert_eq!(s, StatusCode::OK);
        let id = v
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["subject"] == "198.51.100.23")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let done = post(
            &app,
            &format!("/admin/alerts/{id}/ack"),
            Some(&sec.cookie),
            &[("csrf", &sec.csrf), ("note", "已在防火墙封禁该地址")],
        )
        .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let (_, open) = call(&app, "GET", "/api/v1/admin/alerts", Some(&token), None).await;
        assert!(
            open.as_array().unwrap().iter().all(|a| a["id"] != id),
            "{open}"
        );
        let (_, all) = call(
            &app,
            "GET",
            "/api/v1/admin/alerts?all=true",
            Some(&token),
            None,
        )
        .await;
        let acked = all
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()
            .clone();
        assert_eq!(acked["note"], "已在防火墙封禁该地址");
        assert!(
            acked["acknowledged_by"]
                .as_str()
                .unwrap()
                .contains("安全管理员"),
            "{acked}"
        );
        let (s, _) = call(
            &app,
            "POST",
            &format!("/api/v1/admin/alerts/{id}/ack"),
            Some(&token),
            Some(r#"{"note":"再次确认"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "acknowledged once");
    }
}

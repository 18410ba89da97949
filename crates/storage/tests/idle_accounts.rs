//! IA-13: staff accounts unused for the configured period are disabled by the
//! background work, once, audited; a login restarts the clock; citizens' and
//! machine accounts are left alone. On both backends, with the clock given.

use chrono::{Duration, Utc};
use zhili_storage::Acting;
use zhili_storage::audit::AuditFilter;
use zhili_storage::testing::{fresh_stores, with_small_city};

#[tokio::test]
async fn staff_accounts_idle_past_the_period_are_disabled_once() {
    for store in fresh_stores().await {
        with_small_city(&store, "not-a-real-hash").await;
        let t0 = Utc::now();
        let days = Duration::days;
        let actor = |name: &'static str| {
            let store = store.clone();
            async move { store.user_by_username(name).await.unwrap().unwrap().actor }
        };
        // The city operator logs in on day 60, the unit handler on day 0 (and keeps
        // that session open); nobody else ever logs in.
        let far = t0 + days(400);
        store
            .create_session(&actor("city").await, "city-token", "c", t0 + days(60), far)
            .await
            .unwrap();
        store
            .create_session(&actor("zhujian").await, "zj-token", "c", t0, far)
            .await
            .unwrap();

        let idle = days(90);
        let early = store
            .disable_idle_accounts(idle, t0 + days(89), "worker-a", 100)
            .await
            .unwrap();
        assert!(early.is_empty(), "nobody idle yet: {early:?}");

        let gone = store
            .disable_idle_accounts(idle, t0 + days(91), "worker-a", 100)
            .await
            .unwrap();
        for name in [
            "admin",
            "secadmin",
            "auditor",
            "fengshan",
            "zhujian",
            "grid1",
            "oversight",
        ] {
            assert!(
                gone.iter().any(|g| g == name),
                "{name} idle since day 0: {gone:?}"
            );
        }
        for name in ["city", "citizen1", "sys110"] {
            assert!(!gone.iter().any(|g| g == name), "{name} kept: {gone:?}");
        }
        // A disabled account's open session ends with it (sessions are kept by the
        // token's hash; here the "hash" is given as is).
        assert!(
            store
                .session("zj-token", t0 + days(91), days(1000))
                .await
                .unwrap()
                .is_none()
        );
        // Done once: a second pass (another instance) finds nothing more.
        let again = store
            .disable_idle_accounts(idle, t0 + days(91), "worker-b", 100)
            .await
            .unwrap();
        assert!(again.is_empty(), "{again:?}");
        // The city operator's clock started at its login on day 60.
        let later = store
            .disable_idle_accounts(idle, t0 + days(151), "worker-b", 100)
            .await
            .unwrap();
        assert_eq!(later, vec!["city".to_string()]);

        let reader = Acting::system("测试");
        let records = store
            .search_audit(
                &AuditFilter {
                    action: Some("user.disabled_idle".into()),
                    per_page: 200,
                    ..Default::default()
                },
                &reader,
                t0 + days(151),
            )
            .await
            .unwrap();
        assert_eq!(
            records.total as usize,
            gone.len() + 1,
            "one record per account"
        );
    }
}

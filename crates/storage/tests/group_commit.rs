//! Group commit: many creates at once share transactions, yet each gets its own
//! answer — a refused one fails alone, two with the same key make one event, and
//! every stored event has its own number, timeline entry and audit record.
//! On SQLite and, when ZHILI_TEST_PG is set, PostgreSQL.

use chrono::Utc;
use zhili_domain::{NewEvent, RawNewEvent};
use zhili_storage::testing::{fresh_stores, with_small_city};
use zhili_storage::{EventFilter, GroupCommit, Store, StoreError};

fn report(i: usize, ext: String, category: &str) -> NewEvent {
    NewEvent::parse(RawNewEvent {
        channel: "hotline_12345".into(),
        external_id: Some(ext),
        text: format!("第 {i} 个来电：楼下夜市噪音扰民"),
        category: Some(category.into()),
        grid: Some(if i.is_multiple_of(2) {
            "33028100200101".into()
        } else {
            "33028100200102".into()
        }),
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn concurrent_creates_share_commits_but_not_fates() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let store = store.with_group_commit(GroupCommit {
            writers: 2,
            max_batch: 16,
        });
        let fengshan = store
            .user_by_username("fengshan")
            .await
            .unwrap()
            .unwrap()
            .actor;
        // 60 unique, 20 sent twice (same order number), 10 with an unknown category.
        let mut jobs = Vec::new();
        for i in 0..60 {
            jobs.push((format!("u-{i}"), "0101", true));
        }
        for i in 0..20 {
            jobs.push((format!("d-{i}"), "0101", true));
            jobs.push((format!("d-{i}"), "0101", true));
        }
        for i in 0..10 {
            jobs.push((format!("bad-{i}"), "9999", false));
        }
        let mut set = tokio::task::JoinSet::new();
        for (i, (ext, cat, _)) in jobs.iter().cloned().enumerate() {
            let store: Store = store.clone();
            let actor = fengshan.clone();
            set.spawn(async move {
                let r = store
                    .events_for(&actor)
                    .store(&report(i, ext.clone(), cat), Utc::now())
                    .await;
                (ext, r)
            });
        }
        let mut created = 0;
        let mut replayed = 0;
        let mut by_key = std::collections::HashMap::<String, Vec<i64>>::new();
        let mut numbers = std::collections::HashSet::new();
        while let Some(joined) = set.join_next().await {
            let (ext, r) = joined.unwrap();
            match r {
                Ok(s) => {
                    if s.created {
                        created += 1;
                        assert!(
                            numbers.insert(s.number.clone()),
                            "number {} twice",
                            s.number
                        );
                    } else {
                        replayed += 1;
                    }
                    by_key.entry(ext).or_default().push(s.id);
                }
                Err(StoreError::Invalid { field, .. }) => {
                    assert!(ext.starts_with("bad-"), "{ext} refused");
                    assert_eq!(field, "category");
                }
                Err(e) => panic!("{ext}: {e}"),
            }
        }
        assert_eq!(created, 80, "{:?}", store.backend());
        assert_eq!(replayed, 20);
        for (ext, ids) in &by_key {
            assert!(ids.iter().all(|id| *id == ids[0]), "{ext} made {ids:?}");
        }
        // What the command room sees: exactly the 80 events, each with its timeline.
        let city = store.user_by_username("city").await.unwrap().unwrap().actor;
        let repo = store.events_for(&city);
        let page = repo
            .list(&EventFilter {
                per_page: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.total, 80);
        let one = repo.get(page.items[0].id).await.unwrap();
        assert_eq!(one.timeline.len(), 1);
        assert!(one.handle_due_at.is_some());
    }
}

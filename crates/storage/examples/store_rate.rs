//! How fast group commit stores events with no HTTP in front: N concurrent tasks
//! call `EventRepo::store` on a fresh SQLite file with the small city.
//! `cargo run --release -p zhili-storage --example store_rate -- 64 20000`

use std::time::Instant;

use chrono::Utc;
use zhili_domain::{NewEvent, RawNewEvent};
use zhili_storage::GroupCommit;
use zhili_storage::testing::{fresh_sqlite, with_small_city};

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let tasks = args.first().copied().unwrap_or(64);
    let total = args.get(1).copied().unwrap_or(20_000);
    let store = fresh_sqlite().await;
    with_small_city(&store, "x").await;
    let gc = GroupCommit::for_backend(store.backend());
    let store = store.with_group_commit(gc);
    let actor = store
        .user_by_username("fengshan")
        .await
        .unwrap()
        .unwrap()
        .actor;
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let store = store.clone();
        let actor = actor.clone();
        set.spawn(async move {
            let repo = store.events_for(&actor);
            for i in (t..total).step_by(tasks) {
                let new = NewEvent::parse(RawNewEvent {
                    channel: "hotline_12345".into(),
                    external_id: Some(format!("rate-{i}")),
                    text: format!("第 {i} 个来电：楼下夜市噪音扰民"),
                    category: Some("0101".into()),
                    grid: Some("33028100200101".into()),
                    ..Default::default()
                })
                .unwrap();
                repo.store(&new, Utc::now()).await.unwrap();
            }
        });
    }
    while set.join_next().await.is_some() {}
    let s = started.elapsed().as_secs_f64();
    println!(
        "{total} events, {tasks} tasks: {:.0} events/s",
        total as f64 / s
    );
}

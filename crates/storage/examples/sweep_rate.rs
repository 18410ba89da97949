//! How fast the deadline sweep catches up after downtime: N events reported a month
//! ago and never touched, so every acceptance and feedback clock is past both its
//! yellow time and its deadline, then one sweep (and a second, which must find
//! nothing). SQLite by default; with a PostgreSQL URL in ZHILI_TEST_PG, that too.
//! `cargo run --release -p zhili-storage --example sweep_rate -- 2000`

use std::time::Instant;

use chrono::{Duration, Utc};
use zhili_domain::{NewEvent, RawNewEvent};
use zhili_storage::testing::{fresh_stores, with_small_city};

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let actor = store
            .user_by_username("fengshan")
            .await
            .unwrap()
            .unwrap()
            .actor;
        let repo = store.events_for(&actor);
        let then = Utc::now() - Duration::days(30);
        for i in 0..n {
            let new = NewEvent::parse(RawNewEvent {
                channel: "hotline_12345".into(),
                external_id: Some(format!("sweep-{i}")),
                text: format!("第 {i} 个来电：楼下夜市噪音扰民"),
                category: Some("0102".into()),
                grid: Some("33028100200101".into()),
                ..Default::default()
            })
            .unwrap();
            repo.create(&new, then).await.unwrap();
        }
        let started = Instant::now();
        let r = store
            .sweep_deadlines("example", Utc::now(), 200)
            .await
            .unwrap();
        let s = started.elapsed().as_secs_f64();
        let again = Instant::now();
        let r2 = store
            .sweep_deadlines("example", Utc::now(), 200)
            .await
            .unwrap();
        let s2 = again.elapsed().as_secs_f64();
        let fired = r.yellow + r.red;
        println!(
            "{:?}: {n} overdue events → {} yellow, {} red, {} escalated in {s:.2} s ({:.0} warnings/s); \
             the next sweep found {} in {:.1} ms",
            store.backend(),
            r.yellow,
            r.red,
            r.escalated,
            fired as f64 / s,
            r2.yellow + r2.red,
            s2 * 1000.0
        );
        store.close().await;
    }
}

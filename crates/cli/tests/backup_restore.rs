//! `zhili backup` and `zhili restore` as an operator runs them: a backup of a
//! database with a city, events and their audit chain, restored into a new database,
//! holds the same rows in every table (the table digests match) and its audit chain
//! verifies; a damaged backup, a non-empty target or the wrong backend is refused
//! and leaves the target as it was. SQLite always; PostgreSQL with ZHILI_TEST_PG
//! (and pg_dump/pg_restore on PATH).

mod common;

use std::path::Path;

use chrono::Utc;
use zhili_storage::Store;
use zhili_storage::testing::{fresh_postgres_url, unlocked, with_small_city};

fn zhili(args: &[&str]) -> (bool, String) {
    common::run_zhili(args)
}

async fn city_with_events(url: &str) -> Store {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let store = unlocked(store).await;
    with_small_city(&store, "x").await;
    let op = store
        .user_by_username("fengshan")
        .await
        .unwrap()
        .unwrap()
        .actor;
    for i in 0..5 {
        let event = zhili_domain::NewEvent::parse(zhili_domain::RawNewEvent {
            channel: "hotline_12345".into(),
            external_id: Some(format!("bk-{i}")),
            reporter: Some(zhili_domain::RawReporter {
                kind: "citizen".into(),
                name: Some("王小明".into()),
                phone: Some("13800000009".into()),
            }),
            text: format!("备份测试 {i}：楼道堆放杂物"),
            category: Some("0101".into()),
            grid: Some("33028100200101".into()),
            ..Default::default()
        })
        .unwrap();
        store
            .events_for(&op)
            .store(&event, Utc::now())
            .await
            .unwrap();
    }
    store
}

fn backup_and_restore(source: &str, target: &str, file: &Path) {
    let file_arg = file.to_str().unwrap();
    let (ok, text) = zhili(&["backup", "--to", file_arg, "--database-url", source]);
    assert!(ok, "{text}");
    assert!(text.contains("备份完成"), "{text}");
    let (ok, text) = zhili(&["backup", "--to", file_arg, "--database-url", source]);
    assert!(!ok && text.contains("已存在"), "never overwrites: {text}");

    let (ok, text) = zhili(&["restore", "--from", file_arg, "--database-url", target]);
    assert!(ok, "{text}");
    assert!(text.contains("逐表一致"), "{text}");
    // Into a database that holds something now: refused.
    let (ok, text) = zhili(&["restore", "--from", file_arg, "--database-url", target]);
    assert!(!ok, "{text}");
    let (ok, text) = zhili(&["audit", "verify", "--database-url", target]);
    assert!(ok && text.contains("审计链完整"), "{text}");
}

async fn same_tables(a: &str, b: &str) {
    let a = Store::connect(a).await.unwrap();
    let b = Store::connect(b).await.unwrap();
    let (da, db) = (
        a.table_digests().await.unwrap(),
        b.table_digests().await.unwrap(),
    );
    assert!(da.iter().any(|t| t.table == "events" && t.rows == 5));
    assert_eq!(da, db);
}

#[tokio::test]
async fn a_sqlite_backup_restores_table_for_table() {
    let dir = std::env::temp_dir().join(format!("zhili-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let source = format!("sqlite:{}", dir.join("live.db").display());
    let target = format!("sqlite:{}", dir.join("restored.db").display());
    let live = city_with_events(&source).await;
    let file = dir.join("zhili-backup.db");
    backup_and_restore(&source, &target, &file);
    same_tables(&source, &target).await;
    live.close().await;

    // A SQLite backup does not go into PostgreSQL.
    let (ok, text) = zhili(&[
        "restore",
        "--from",
        file.to_str().unwrap(),
        "--database-url",
        "postgres://nobody@127.0.0.1:1/x",
    ]);
    assert!(!ok && text.contains("不能恢复到"), "{text}");

    // One byte changed in the backup: refused before anything is written.
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let other = dir.join("other.db");
    let (ok, text) = zhili(&[
        "restore",
        "--from",
        file.to_str().unwrap(),
        "--database-url",
        &format!("sqlite:{}", other.display()),
    ]);
    assert!(!ok && text.contains("校验和不符"), "{text}");
    assert!(!other.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_postgres_backup_restores_table_for_table() {
    let (Some(source), Some(target)) = (fresh_postgres_url().await, fresh_postgres_url().await)
    else {
        eprintln!("skipped: set ZHILI_TEST_PG to run the PostgreSQL backup test");
        return;
    };
    let dir = std::env::temp_dir().join(format!("zhili-backup-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let live = city_with_events(&source).await;
    backup_and_restore(&source, &target, &dir.join("zhili.pgdump"));
    same_tables(&source, &target).await;
    live.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

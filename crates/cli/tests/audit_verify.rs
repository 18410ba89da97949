//! `zhili audit verify` and `zhili audit head` on a database file changed behind the
//! application's back, as someone with access to the file could: the command names
//! the record, and fails.

mod common;

fn zhili(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    all.extend([std::ffi::OsStr::new("--data-dir"), dir.as_os_str()]);
    common::run_zhili(&all)
}

async fn tamper(dir: &std::path::Path, sql: &[&'static str]) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", dir.join("zhili.db").display()))
        .await
        .unwrap();
    for s in sql {
        sqlx::query(*s).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

#[tokio::test]
async fn verify_names_the_first_changed_record_and_the_anchor_catches_a_cut() {
    let dir = std::env::temp_dir().join(format!("zhili-audit-verify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for name in ["chief", "auditor", "ops"] {
        let (ok, text) = zhili(&dir, &["user", "add", name, "--role", "admin"]);
        assert!(ok, "{text}");
    }
    let (ok, text) = zhili(&dir, &["audit", "verify"]);
    assert!(ok, "{text}");
    assert!(text.contains("审计链完整"), "{text}");

    let (ok, head) = zhili(&dir, &["audit", "head"]);
    assert!(ok, "{head}");
    let anchor = dir.join("head.json");
    std::fs::write(&anchor, head.trim()).unwrap();
    let anchor_arg = anchor.to_str().unwrap();
    let (ok, text) = zhili(&dir, &["audit", "verify", "--anchor", anchor_arg]);
    assert!(ok, "{text}");

    // The newest record removed: what is left holds together, but not with the anchor.
    tamper(
        &dir,
        &[
            "DROP TRIGGER audit_log_no_delete",
            "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)",
        ],
    )
    .await;
    let (ok, text) = zhili(&dir, &["audit", "verify"]);
    assert!(ok, "{text}");
    let (ok, text) = zhili(&dir, &["audit", "verify", "--anchor", anchor_arg]);
    assert!(!ok, "{text}");
    assert!(text.contains("anchor mismatch"), "{text}");

    // An edited record is named by its id.
    tamper(
        &dir,
        &[
            "DROP TRIGGER audit_log_no_update",
            "UPDATE audit_log SET actor_name = '某人' WHERE id = (SELECT MIN(id) FROM audit_log)",
        ],
    )
    .await;
    let (ok, text) = zhili(&dir, &["audit", "verify", "--json"]);
    assert!(!ok, "{text}");
    assert!(text.contains("\"kind\": \"edited\""), "{text}");
    let (ok, text) = zhili(&dir, &["audit", "verify"]);
    assert!(!ok);
    assert!(text.contains("记录 #1 被改动过"), "{text}");
    let (ok, text) = zhili(&dir, &["audit", "head"]);
    assert!(!ok, "a broken chain is not anchored: {text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn verify_checks_the_signed_anchors_without_a_file() {
    let dir = std::env::temp_dir().join(format!("zhili-audit-anchors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for name in ["chief", "ops"] {
        let (ok, text) = zhili(&dir, &["user", "add", name, "--role", "admin"]);
        assert!(ok, "{text}");
    }
    let (ok, text) = zhili(&dir, &["audit", "verify"]);
    assert!(ok && text.contains("尚无签名锚点"), "{text}");

    // What the background work of `zhili serve` does every hour.
    let url = format!("sqlite:{}", dir.join("zhili.db").display());
    let store =
        zhili_storage::testing::unlocked(zhili_storage::Store::connect(&url).await.unwrap()).await;
    store
        .anchor_audit_chain(chrono::Duration::hours(1), chrono::Utc::now(), "test")
        .await
        .unwrap()
        .expect("an anchor");
    store.close().await;
    let (ok, text) = zhili(&dir, &["audit", "verify"]);
    assert!(ok && text.contains("1 个签名锚点均有效"), "{text}");

    // An anchor written by hand, without the key.
    tamper(
        &dir,
        &[
            "INSERT INTO audit_anchors (head_id, head_hash, at, signature, written_by) \
           SELECT MAX(id) + 100, 'ab', '2026-12-04 08:00:00+00:00', 'cd', 'dba' FROM audit_log",
        ],
    )
    .await;
    let (ok, text) = zhili(&dir, &["audit", "verify"]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("签名锚点 #2") && text.contains("anchor forged"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

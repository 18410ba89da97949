//! AU-07: `zhili serve` logs one JSON object per line, and a value carrying a newline
//! and a JSON fragment (a username typed at the login) stays inside its record.

mod common;

use std::process::{Command, Stdio};

#[tokio::test]
async fn a_username_with_a_newline_stays_inside_one_json_record() {
    let dir = std::env::temp_dir().join(format!("zhili-json-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join("stderr.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhili"));
    cmd.args(["serve", "--bind", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&dir)
        .env("RUST_LOG", "info")
        .env("ZHILI_LOG_FORMAT", "json")
        .env("ZHILI_PII_KEY", common::pii_key());
    let proc =
        common::spawn_with_stderr(cmd, Stdio::from(std::fs::File::create(&log_path).unwrap()));

    let evil = "mallory\n{\"evil\":1}";
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{}/api/v1/auth/login", proc.base))
        .json(&serde_json::json!({"username": evil, "password": "wrong-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // The refusal is logged before the answer goes out.
    drop(proc);

    let log = std::fs::read_to_string(&log_path).unwrap();
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON record ({e}): {l:?}"))
        })
        .collect();
    assert!(records.len() > 1, "{log}");
    let refused: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["message"] == "login refused")
        .collect();
    assert_eq!(refused.len(), 1, "{log}");
    // The whole input, newline and all, is that record's field (Debug-quoted).
    let field = refused[0]["username"].as_str().unwrap();
    assert_eq!(field, format!("{evil:?}"), "{log}");
    assert!(
        !records.iter().any(|r| r.get("evil").is_some()),
        "no record forged: {log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

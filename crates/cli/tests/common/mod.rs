//! What the process-level tests share: running `zhili` (or its 110 stand-in) as a
//! real child process on a free port, and logging in to it.

#![allow(dead_code)] // each test binary uses its own part

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// The password every account of the small test city gets in these tests.
pub const PASSWORD: &str = "pw";

/// The master key of personal data for every `zhili` started here: the one the
/// test's own store handles use, so both read the same database.
pub fn pii_key() -> String {
    zhili_storage::testing::master_key()
        .to_base64()
        .as_str()
        .to_string()
}

/// The `crypto_suite` setting for a test database at `url` (DC-05).
pub fn suite_of(url: &str) -> &'static str {
    zhili_storage::testing::suite_for_url(url).code()
}

/// Runs `zhili ARGS…` to its end: whether it succeeded, and what it printed (stdout,
/// then stderr).
pub fn run_zhili<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (bool, String) {
    // The database among the arguments decides the algorithm suite.
    let url = args
        .iter()
        .filter_map(|a| a.as_ref().to_str())
        .find(|a| a.starts_with("postgres") || a.starts_with("sqlite"))
        .unwrap_or("sqlite:");
    let out = Command::new(env!("CARGO_BIN_EXE_zhili"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env("ZHILI_PII_KEY", pii_key())
        .env("ZHILI_CRYPTO_SUITE", suite_of(url))
        .output()
        .expect("run zhili");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A child process that listens on `base`; killed (SIGKILL) when dropped.
pub struct Proc {
    child: Child,
    pub base: String,
}

impl Proc {
    /// The child's process id (zhili names its background worker after it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` and waits for its `listening on http://ADDR` line.
pub fn spawn(cmd: Command) -> Proc {
    spawn_with_stderr(cmd, Stdio::inherit())
}

/// [`spawn`] with the child's stderr (its log) sent to `stderr`.
pub fn spawn_with_stderr(mut cmd: Command, stderr: Stdio) -> Proc {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on ") {
                let _ = tx.send(addr.trim().to_string());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("no 'listening on' line");
    Proc { child, base }
}

/// `zhili serve` on `database_url`, a free port and `data_dir`, with extra env.
pub fn zhili_serve(database_url: &str, data_dir: &std::path::Path, env: &[(&str, String)]) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhili"));
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        database_url,
    ])
    .arg("--data-dir")
    .arg(data_dir)
    .env("RUST_LOG", "warn")
    .env("ZHILI_PII_KEY", pii_key())
    .env("ZHILI_CRYPTO_SUITE", suite_of(database_url));
    for (k, v) in env {
        cmd.env(k, v);
    }
    spawn(cmd)
}

pub async fn login(client: &reqwest::Client, base: &str, user: &str) -> String {
    let v: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"].as_str().expect("token").to_string()
}

/// GET `path` with a bearer token, as JSON.
pub async fn get_json(client: &reqwest::Client, base: &str, token: &str, path: &str) -> Value {
    client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

//! The two-way 110 exchange against a separate process playing 110: matters go out
//! through the outbox while 110 is down, zhili is killed mid-delivery and restarted,
//! and afterwards every matter has arrived exactly once in effect, in both
//! directions. Runs on PostgreSQL when ZHILI_TEST_PG is set, else on SQLite.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zhili_storage::Store;
use zhili_storage::testing::{fresh_postgres_url, with_small_city};

use common::{Proc, get_json, login, spawn};

fn zhili(url: &str, dir: &std::path::Path, fake: &str) -> Proc {
    common::zhili_serve(
        url,
        dir,
        &[
            ("ZHILI_EXCHANGE_110_URL", format!("{fake}/matters")),
            ("ZHILI_OUTBOX_LEASE_SECS", "2".to_string()),
        ],
    )
}

async fn fake_state(c: &reqwest::Client, fake: &str) -> Value {
    c.get(format!("{fake}/received"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn control(c: &reqwest::Client, fake: &str, query: &str) {
    c.post(format!("{fake}/control?{query}"))
        .send()
        .await
        .unwrap();
}

/// Posts the same 110 matters (110's retries): created once, acknowledged every time.
async fn push_matters(c: &reqwest::Client, base: &str, token: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..4 {
        let body = json!({
            "matter_id": format!("110-2026-{i:04}"),
            "text": format!("来电反映小区楼道堆放杂物堵塞消防通道（第{i}起），非警情，转12345处理"),
            "address": "余姚市凤山街道舜北社区舜北路88号",
            "caller": {"name": "赵先生", "phone": "13700001111"}
        });
        let res = c
            .post(format!("{base}/api/v1/channels/110/matters"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["ack"], true);
        ids.push(v["event_id"].as_i64().unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matters_cross_the_110_exchange_exactly_once_through_outage_and_crash() {
    let dir = std::env::temp_dir().join(format!("zhili-110-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = match fresh_postgres_url().await {
        Some(pg) => pg,
        None => format!("sqlite:{}", dir.join("zhili.db").display()),
    };
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    with_small_city(&store, &zhili_server::hash_password(common::PASSWORD)).await;
    store.close().await;

    let c = reqwest::Client::new();
    let fake = spawn({
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhili-fake-110"));
        cmd.args(["--bind", "127.0.0.1:0"]);
        cmd
    });
    control(&c, &fake.base, "state=down").await;

    let z = zhili(&url, &dir, &fake.base);
    let fengshan = login(&c, &z.base, "fengshan").await;
    let sys110 = login(&c, &z.base, "sys110").await;

    // Inbound: 110 sends 4 matters and retries them; the address decides the township.
    let first = push_matters(&c, &z.base, &sys110).await;
    assert_eq!(push_matters(&c, &z.base, &sys110).await, first);
    let ev: Value = get_json(
        &c,
        &z.base,
        &fengshan,
        &format!("/api/v1/events/{}", first[0]),
    )
    .await;
    assert_eq!(ev["township"]["name"], "凤山街道");
    assert_eq!(ev["village"]["name"], "舜北社区");
    assert_eq!(ev["channel"]["code"], "exchange_110");

    // Outbound: 6 police matters go to 110 while it is down.
    let mut numbers = Vec::new();
    for i in 0..6 {
        let e: Value = c
            .post(format!("{}/api/v1/events", z.base))
            .bearer_auth(&fengshan)
            .json(&json!({"channel": "hotline_12345", "text": format!("有人在菜场门口打架斗殴（{i}）"), "grid": "33028100200101"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = e["id"].as_i64().unwrap();
        numbers.push(e["number"].as_str().unwrap().to_string());
        let res = c
            .post(format!("{}/api/v1/events/{id}/actions", z.base))
            .bearer_auth(&fengshan)
            .json(&json!({"action": "transfer_110", "reason": "属警情，移交110"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // The outage shows up for the command room.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let h: Value = get_json(&c, &z.base, &fengshan, "/api/v1/outbox/health").await;
        if h["failing"].as_i64().unwrap_or(0) > 0 {
            assert_eq!(h["pending"], 6);
            assert!(h["last_error"].as_str().unwrap().contains("503"), "{h}");
            break;
        }
        assert!(Instant::now() < deadline, "failures never showed: {h}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 110 comes back, slowly; zhili is killed while deliveries are in flight.
    control(&c, &fake.base, "state=up&delay_ms=1500").await;
    let deadline = Instant::now() + Duration::from_secs(40);
    while fake_state(&c, &fake.base).await["distinct"]
        .as_i64()
        .unwrap()
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "no delivery attempt after 110 came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(z); // SIGKILL
    control(&c, &fake.base, "delay_ms=0").await;

    let z = zhili(&url, &dir, &fake.base);
    // 110 retries its matters against the restarted zhili: still the same events.
    let sys110 = login(&c, &z.base, "sys110").await;
    assert_eq!(push_matters(&c, &z.base, &sys110).await, first);

    let deadline = Instant::now() + Duration::from_secs(90);
    let fengshan = login(&c, &z.base, "fengshan").await;
    loop {
        let h: Value = get_json(&c, &z.base, &fengshan, "/api/v1/outbox/health").await;
        if h["pending"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "outbox never drained: {h}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let got = fake_state(&c, &fake.base).await;
    assert_eq!(got["distinct"], 6, "{got}");
    let mut received: Vec<String> = got["matters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["event_number"].as_str().unwrap().to_string())
        .collect();
    received.sort();
    numbers.sort();
    assert_eq!(
        received, numbers,
        "each matter arrived, none twice in effect"
    );

    // Each transferred event records 110's receipt exactly once.
    let list: Value = get_json(
        &c,
        &z.base,
        &fengshan,
        "/api/v1/events?status=transferred&per_page=50",
    )
    .await;
    assert_eq!(list["total"], 6);
    for item in list["items"].as_array().unwrap() {
        let e: Value = get_json(
            &c,
            &z.base,
            &fengshan,
            &format!("/api/v1/events/{}", item["id"]),
        )
        .await;
        let acks = e["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["action"]["code"] == "ack_110")
            .count();
        assert_eq!(acks, 1, "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

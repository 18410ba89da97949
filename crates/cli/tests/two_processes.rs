//! Two real `zhili serve` processes on one PostgreSQL database take events at the
//! same time: no duplicate event number, no lost event, one event per external id
//! even when the same id reaches both processes, and a session opened on one
//! process is valid on the other, and the command centre on either shows the same.
//! Skipped (with a message) without ZHILI_TEST_PG.

mod common;

use serde_json::{Value, json};
use zhili_storage::Store;
use zhili_storage::testing::{fresh_postgres_url, with_small_city};

use common::{login, zhili_serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_one_postgres() {
    let Some(url) = fresh_postgres_url().await else {
        eprintln!("skipped: set ZHILI_TEST_PG to run the two-process test");
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    with_small_city(&store, &zhili_server::hash_password(common::PASSWORD)).await;

    let dir = std::env::temp_dir().join(format!("zhili-two-{}", std::process::id()));
    let a = zhili_serve(&url, &dir.join("a"), &[]);
    let b = zhili_serve(&url, &dir.join("b"), &[]);
    let client = reqwest::Client::new();

    // A session is database state: opened on A, it works on B.
    let token = login(&client, &a.base, "fengshan").await;
    let me = client
        .get(format!("{}/api/v1/me", b.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 20;
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let base = if c % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let other = if c % 2 == 0 {
            b.base.clone()
        } else {
            a.base.clone()
        };
        let client = client.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut numbers = Vec::new();
            for i in 0..PER_CLIENT {
                // Every fifth request's id is also sent to the other process.
                let ext = format!("two-{c}-{i}");
                let body = json!({
                    "channel": "hotline_12345",
                    "external_id": ext,
                    "text": format!("并发工单 {c}-{i}：小区夜间噪音"),
                    "category": "0101",
                    "grid": "33028100200101"
                });
                let targets = if i % 5 == 0 {
                    vec![&base, &other]
                } else {
                    vec![&base]
                };
                for target in targets {
                    let res = client
                        .post(format!("{target}/api/v1/events"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert!(res.status().is_success(), "{}", res.status());
                    let v: Value = res.json().await.unwrap();
                    numbers.push((ext.clone(), v["number"].as_str().unwrap().to_string()));
                }
            }
            numbers
        }));
    }
    let mut seen = std::collections::HashMap::new();
    for t in tasks {
        for (ext, number) in t.await.unwrap() {
            // The same external id always maps to the same event number.
            let first = seen.entry(ext).or_insert_with(|| number.clone());
            assert_eq!(*first, number);
        }
    }
    let mut numbers: Vec<_> = seen.values().cloned().collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(
        numbers.len(),
        CLIENTS * PER_CLIENT,
        "one distinct number per external id"
    );

    let list: Value = client
        .get(format!("{}/api/v1/events?per_page=1", b.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["total"],
        json!(CLIENTS * PER_CLIENT),
        "no event lost, none doubled"
    );

    // The command centre reads the database: both processes show the same numbers,
    // and a poll on B sees a report made on A since B's last answer.
    let get = |url: String| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let res = client.get(url).bearer_auth(&token).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let open = |v: &Value| {
        v["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["key"] == "open")
            .map(|t| t["value"].clone())
    };
    let on_a = get(format!("{}/api/v1/command/summary", a.base)).await;
    let on_b = get(format!("{}/api/v1/command/summary", b.base)).await;
    assert_eq!(open(&on_a), Some(json!(CLIENTS * PER_CLIENT)));
    assert_eq!(open(&on_a), open(&on_b));
    let first = get(format!("{}/api/v1/command/events", b.base)).await;
    let cursor = first["cursor"].as_str().unwrap().to_string();
    let res = client
        .post(format!("{}/api/v1/events", a.base))
        .bearer_auth(&token)
        .json(&json!({
            "channel": "hotline_12345",
            "text": "两个进程：指挥中心轮询看到另一进程的新事件",
            "category": "0101",
            "grid": "33028100200101",
            "location": {"lon": 121.155, "lat": 30.005},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let polled = get(format!(
        "{}/api/v1/command/events?since={}",
        b.base,
        cursor.replace('+', "%2B")
    ))
    .await;
    assert!(
        polled["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == created["id"]),
        "{polled}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

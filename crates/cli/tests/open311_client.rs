//! `zhili open311 add-client` and a real `zhili serve` over a socket: the printed key
//! is the only way to post, a FixMyStreet-shaped form (sent twice, as its retries
//! do) makes one event that can be followed, and a revoked key stops working. Runs
//! on PostgreSQL when ZHILI_TEST_PG is set, else on SQLite.

mod common;

use serde_json::Value;
use zhili_storage::Store;
use zhili_storage::testing::{fresh_postgres_url, with_small_city};

fn zhili(url: &str, dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    all.extend([
        std::ffi::OsStr::new("--database-url"),
        std::ffi::OsStr::new(url),
        std::ffi::OsStr::new("--data-dir"),
        dir.as_os_str(),
    ]);
    common::run_zhili(&all)
}

#[tokio::test]
async fn an_issued_key_posts_over_a_socket_until_revoked() {
    let dir = std::env::temp_dir().join(format!("zhili-open311-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = match fresh_postgres_url().await {
        Some(pg) => pg,
        None => format!("sqlite:{}", dir.join("zhili.db").display()),
    };
    {
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        with_small_city(&store, &zhili_server::hash_password(common::PASSWORD)).await;
        store.close().await;
    }
    let (ok, text) = zhili(&url, &dir, &["open311", "add-client", "fixmystreet"]);
    assert!(ok, "{text}");
    let key = text
        .lines()
        .find_map(|l| {
            l.split_once("API 密钥")
                .map(|(_, rest)| rest.rsplit(' ').next().unwrap_or("").trim().to_string())
        })
        .expect("a key line");
    assert!(key.starts_with("zo311-") && key.len() > 60, "{text}");
    let (ok, text) = zhili(&url, &dir, &["open311", "add-client", "fixmystreet"]);
    assert!(
        !ok && text.contains("already exists"),
        "a name is taken once: {text}"
    );
    let (ok, text) = zhili(&url, &dir, &["open311", "list-clients"]);
    assert!(
        ok && text.contains("fixmystreet") && text.contains("有效"),
        "{text}"
    );
    assert!(!text.contains(&key), "the key is never shown again");

    let server = common::zhili_serve(&url, &dir, &[]);
    let base = &server.base;
    let c = reqwest::Client::new();
    let form = format!(
        "api_key={key}&jurisdiction_id=yuyao.zhili&service_code=0101&lat=30.005&long=121.155\
         &email=a%40example.com&first_name=Ann&last_name=Lee\
         &description=title%3A+Noise%0A%0Adetail%3A+every+night%0A%0Aurl%3A+https%3A%2F%2Ffms.example%2Freport%2F7\
         &attribute%5Bfixmystreet_id%5D=7"
    );
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = c
            .post(format!("{base}/open311/v2/requests.xml"))
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(form.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body = res.text().await.unwrap();
        let id = body
            .split("<service_request_id>")
            .nth(1)
            .and_then(|s| s.split("</service_request_id>").next())
            .expect("a service_request_id")
            .to_string();
        ids.push(id);
    }
    assert_eq!(ids[0], ids[1], "the retry found the first request");

    let v: Value = c
        .get(format!(
            "{base}/open311/v2/requests.json?service_request_id={}",
            ids[0]
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["status"], "open");
    assert_eq!(v[0]["service_code"], "0101");
    assert!(
        v[0]["description"]
            .as_str()
            .unwrap()
            .contains("every night")
    );

    let (ok, text) = zhili(&url, &dir, &["open311", "revoke-client", "fixmystreet"]);
    assert!(ok, "{text}");
    let res = c
        .post(format!("{base}/open311/v2/requests.json"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.replace("every+night", "again"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v[0]["code"], 403);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

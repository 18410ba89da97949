//! Several instances (issue #7, item 7): two `zhili serve` on one PostgreSQL database
//! share the background work — outbox deliveries to 110 and to the SMS gateway, and
//! the deadline sweep — through the database alone (leases taken with SKIP LOCKED,
//! warnings unique per event, clock, level and deadline). Clients post events with
//! idempotency keys to both, and retry on the other instance when one fails; each
//! instance is SIGKILLed once mid-load, with deliveries in flight, and restarted.
//! Afterwards: every acknowledged event is stored once; every outbox message reached
//! the receiver and was settled once with the receiver's one receipt (repeats on the
//! wire are allowed, the receiver deduplicates them by Idempotency-Key); every
//! deadline warning fired once per event and level, with one notice, one timeline
//! entry and one SMS; and more than one instance did each kind of work.
//! PostgreSQL only (SQLite is one process by design): skipped without ZHILI_TEST_PG.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zhili_storage::testing::{fresh_postgres_url, with_small_city};
use zhili_storage::{InstanceWork, Store};

use common::{Proc, login, spawn};

const CLIENTS: usize = 4;
/// What a client waits between two events: the load must outlast both kills without
/// burying a debug build on a small machine.
const PACE: Duration = Duration::from_millis(100);
/// Events the load makes at least, however slow the machine, so that the shares of
/// the work mean something.
const MIN_EVENTS: usize = 60;

fn instance(url: &str, dir: &std::path::Path, fake: &str) -> Proc {
    common::zhili_serve(
        url,
        dir,
        &[
            ("ZHILI_EXCHANGE_110_URL", format!("{fake}/matters")),
            ("ZHILI_SMS_GATEWAY_URL", format!("{fake}/sms")),
            // A dead instance's leases run out soon: the survivor takes its messages
            // over within the test.
            ("ZHILI_OUTBOX_LEASE_SECS", "2".into()),
            ("ZHILI_DEADLINE_SWEEP_SECS", "1".into()),
            // 1% of an urgent event's one working hour to accept rounds down to no
            // time at all: its yellow warning is due at once, at any hour of any day.
            ("ZHILI_DEADLINE_WARN_PERCENT", "1".into()),
        ],
    )
}

/// The instances' current addresses; a restarted instance has a new port.
type Bases = Arc<RwLock<[String; 2]>>;

/// Sends a request to instance `home`, and after a transport error or a 5xx to the
/// other one, until an answer that is not a failure of the server: the 2xx's body,
/// or the 4xx's status. Counts the failed tries in `retries`.
async fn until_answered(
    http: &reqwest::Client,
    bases: &Bases,
    home: usize,
    retries: &mut u64,
    what: &str,
    send: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
) -> Result<Value, reqwest::StatusCode> {
    let mut at = home;
    let mut last = String::new();
    for _ in 0..1000 {
        let base = bases.read().unwrap()[at].clone();
        match send(http, &base).send().await {
            Ok(res) if res.status().is_success() => {
                if let Ok(v) = res.json::<Value>().await {
                    return Ok(v);
                }
                last = "unreadable answer".into();
            }
            Ok(res) if res.status().is_client_error() => return Err(res.status()),
            Ok(res) => last = res.status().to_string(),
            Err(e) => last = e.to_string(),
        }
        *retries += 1;
        at = 1 - at;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: never answered; last {last}");
}

struct Acked {
    ext: String,
    number: String,
    id: i64,
    police: bool,
}

/// One client: events until `stop`, every third a police matter handed to 110, the
/// others urgent (warned at once by the sweep).
async fn client(
    c: usize,
    http: reqwest::Client,
    token: String,
    bases: Bases,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicUsize>,
) -> (Vec<Acked>, u64) {
    let home = c % 2;
    let mut acked = Vec::new();
    let mut retries = 0;
    for i in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let ext = format!("inst-{c}-{i}");
        let police = i % 3 == 0;
        let body = if police {
            json!({
                "channel": "hotline_12345",
                "external_id": ext,
                "text": format!("有人在菜场门口打架斗殴（{c}-{i}）"),
                "grid": "33028100200101"
            })
        } else {
            json!({
                "channel": "hotline_12345",
                "external_id": ext,
                "text": format!("楼道堆放杂物堵塞消防通道（{c}-{i}）"),
                "category": "0101",
                "grid": "33028100200101",
                "priority": "urgent"
            })
        };
        let url = |base: &str| format!("{base}/api/v1/events");
        let v = until_answered(&http, &bases, home, &mut retries, &ext, |h, base| {
            h.post(url(base)).bearer_auth(&token).json(&body)
        })
        .await
        .unwrap_or_else(|s| panic!("{ext}: {s}"));
        let id = v["id"].as_i64().expect("id");
        let number = v["number"].as_str().expect("number").to_string();
        if police {
            let action = json!({"action": "transfer_110", "reason": "属警情，移交110"});
            let done = until_answered(&http, &bases, home, &mut retries, &ext, |h, base| {
                h.post(format!("{base}/api/v1/events/{id}/actions"))
                    .bearer_auth(&token)
                    .json(&action)
            })
            .await;
            if let Err(status) = done {
                // Refused after a retry: the first try went through before its answer
                // was lost with the instance. Then the event is transferred already.
                let e = until_answered(&http, &bases, home, &mut retries, &ext, |h, base| {
                    h.get(format!("{base}/api/v1/events/{id}"))
                        .bearer_auth(&token)
                })
                .await
                .unwrap();
                assert_eq!(e["status"]["code"], "transferred", "{ext}: {status}");
            }
        }
        acked.push(Acked {
            ext,
            number,
            id,
            police,
        });
        count.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(PACE).await;
    }
    (acked, retries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_background_work_through_kills() {
    let Some(url) = fresh_postgres_url().await else {
        eprintln!("skipped: set ZHILI_TEST_PG to run the several-instances test");
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    with_small_city(&store, &zhili_server::hash_password(common::PASSWORD)).await;
    let db = sqlx::PgPool::connect(&url).await.unwrap();

    // 110 and the SMS gateway in one process of their own, a little slow, so that
    // the kills meet deliveries in flight.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let fake = spawn({
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhili-fake-110"));
        cmd.args(["--bind", "127.0.0.1:0"]);
        cmd
    });
    http.post(format!("{}/control?delay_ms=150", fake.base))
        .send()
        .await
        .unwrap();

    let dir = std::env::temp_dir().join(format!("zhili-instances-{}", std::process::id()));
    let mut procs = [
        Some(instance(&url, &dir.join("a"), &fake.base)),
        Some(instance(&url, &dir.join("b"), &fake.base)),
    ];
    let live = |p: &Option<Proc>| p.as_ref().expect("running").base.clone();
    let mut pids: Vec<u32> = procs.iter().flatten().map(Proc::pid).collect();
    let bases: Bases = Arc::new(RwLock::new([live(&procs[0]), live(&procs[1])]));
    let token = login(&http, &live(&procs[0]), "fengshan").await;
    // The township's operator gives a mobile number: each warning to the township
    // becomes an SMS through the outbox too.
    let res = http
        .put(format!("{}/api/v1/me/contact", live(&procs[1])))
        .bearer_auth(&token)
        .json(&json!({"phone": "13900001111"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());

    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            tokio::spawn(client(
                c,
                http.clone(),
                token.clone(),
                bases.clone(),
                stop.clone(),
                count.clone(),
            ))
        })
        .collect();

    // Kill A, then B, each while the other takes the load, and bring each back.
    for (victim, name) in [(0, "a"), (1, "b")] {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        // SIGKILL: no shutdown; its leases and open transactions are left behind.
        procs[victim] = None;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let p = instance(&url, &dir.join(name), &fake.base);
        pids.push(p.pid());
        bases.write().unwrap()[victim] = p.base.clone();
        procs[victim] = Some(p);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // On a slow machine the load goes on a little longer (within reason).
    let bound = Instant::now() + Duration::from_secs(20);
    while count.load(Ordering::Relaxed) < MIN_EVENTS && Instant::now() < bound {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    let mut retries = 0;
    for c in clients {
        let (events, tries) = c.await.unwrap();
        acked.extend(events);
        retries += tries;
    }
    assert!(retries > 0, "no request met a killed instance");
    let police: Vec<&Acked> = acked.iter().filter(|a| a.police).collect();
    let urgent: HashSet<i64> = acked.iter().filter(|a| !a.police).map(|a| a.id).collect();
    assert!(
        police.len() >= CLIENTS && urgent.len() >= CLIENTS,
        "load ran: {} events",
        acked.len()
    );

    // Wait (no timing asserted) until the sweep has warned every urgent event and the
    // outbox is empty; a year whose holidays are not loaded counts wall-clock time,
    // which puts the yellow warning 36 s after receipt, hence the generous bound.
    let bound = Instant::now() + Duration::from_secs(120);
    loop {
        let (alerts, pending): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM deadline_alerts), \
             (SELECT COUNT(*) FROM outbox WHERE status <> 'delivered')",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        if alerts >= urgent.len() as i64 && pending == 0 {
            break;
        }
        assert!(
            Instant::now() < bound,
            "background work never finished: {alerts} of {} warnings, {pending} messages pending",
            urgent.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Every acknowledged event is stored once, under the number it was acknowledged
    // with, and nothing else was stored.
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT external_id, number FROM events WHERE external_id IS NOT NULL")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events")
            .fetch_one(&db)
            .await
            .unwrap(),
        acked.len() as i64,
        "events lost or doubled"
    );
    let stored: HashMap<String, String> = stored.into_iter().collect();
    for a in &acked {
        assert_eq!(stored.get(&a.ext), Some(&a.number), "{}", a.ext);
    }

    // The outbox: one 110 matter per police event, one SMS per warning, all settled,
    // each with the receipt the receiver gave its key (a repeat on the wire gets the
    // same receipt there, so it is the same matter in effect).
    let rows: Vec<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT dedup_key, topic, status, receipt FROM outbox")
            .fetch_all(&db)
            .await
            .unwrap();
    let got: Value = http
        .get(format!("{}/received", fake.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let received: HashMap<String, (String, u64)> = got["matters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["key"].as_str().unwrap().to_string(),
                (
                    m["receipt_id"].as_str().unwrap().to_string(),
                    m["times"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    let count = |topic: &str| rows.iter().filter(|r| r.1 == topic).count();
    assert_eq!(count(zhili_storage::TOPIC_110), police.len());
    assert_eq!(count(zhili_storage::TOPIC_SMS), urgent.len());
    assert_eq!(rows.len(), police.len() + urgent.len(), "{rows:?}");
    assert_eq!(received.len(), rows.len(), "the receiver saw each message");
    for (key, _, status, receipt) in &rows {
        assert_eq!(status, "delivered", "{key}");
        let (first_receipt, _) = received
            .get(key)
            .unwrap_or_else(|| panic!("{key} never reached the receiver"));
        assert_eq!(receipt.as_ref(), Some(first_receipt), "{key}");
    }
    let on_wire: u64 = received.values().map(|(_, n)| n).sum();

    // Each transferred event notes 110's receipt once.
    let acks: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT event_id, COUNT(*) FROM timeline WHERE action = 'ack_110' GROUP BY event_id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(acks.len(), police.len());
    assert!(acks.iter().all(|(_, n)| *n == 1), "{acks:?}");

    // One warning per event and level: the yellow acceptance warning of every urgent
    // event and nothing else, each with one notice and one timeline entry.
    let alerts: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT event_id, clock, level, COUNT(*) FROM deadline_alerts GROUP BY event_id, clock, level",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(alerts.iter().all(|a| a.3 == 1), "{alerts:?}");
    assert!(
        alerts.iter().all(|a| a.1 == "accept" && a.2 == "yellow"),
        "{alerts:?}"
    );
    let warned: HashSet<i64> = alerts.iter().map(|a| a.0).collect();
    assert_eq!(warned, urgent);
    for (what, sql) in [
        (
            "notice",
            "SELECT event_id, COUNT(*) FROM notifications WHERE kind = 'warn_yellow' GROUP BY event_id",
        ),
        (
            "timeline entry",
            "SELECT event_id, COUNT(*) FROM timeline WHERE action = 'warn_yellow' GROUP BY event_id",
        ),
    ] {
        let per_event: Vec<(i64, i64)> = sqlx::query_as(sql).fetch_all(&db).await.unwrap();
        assert_eq!(per_event.len(), urgent.len(), "{what}");
        assert!(
            per_event.iter().all(|(_, n)| *n == 1),
            "{what}: {per_event:?}"
        );
    }

    // Shared, not done by one: every worker name is one of the processes started here
    // (host and pid), and more than one of them delivered messages and fired warnings.
    let work: Vec<InstanceWork> = store.work_by_instance().await.unwrap();
    for w in &work {
        assert!(
            pids.iter().any(|p| w.instance.contains(&format!("-{p}-"))),
            "{w:?} is none of {pids:?}"
        );
    }
    let delivered: i64 = work.iter().map(|w| w.delivered).sum();
    let warnings: i64 = work.iter().map(|w| w.warnings).sum();
    assert_eq!(delivered as usize, rows.len());
    assert_eq!(warnings as usize, urgent.len());
    assert!(
        work.iter().filter(|w| w.delivered > 0).count() >= 2,
        "one instance delivered everything: {work:?}"
    );
    assert!(
        work.iter().filter(|w| w.warnings > 0).count() >= 2,
        "one instance swept everything: {work:?}"
    );
    eprintln!(
        "{} events ({} to 110, {} warned) through 2 kills, {retries} retried requests; \
         {} messages, {on_wire} deliveries on the wire; work by instance: {work:?}",
        acked.len(),
        police.len(),
        urgent.len(),
        rows.len()
    );
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}

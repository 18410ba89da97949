//! A small load generator for event intake: logs in once, then N concurrent clients
//! POST new events with unique external ids — to the generic API (`--channel events`)
//! or as 12345 work orders with GCJ-02 coordinates (`--channel 12345`, the whole
//! pipeline: CRS conversion, grid lookup, store) — and reports throughput and latency.
//! With `--rate` it sends at a fixed rate and measures each request from the moment
//! it was due, so a slow server cannot hide its queueing (no coordinated omission).
//! It only talks to the local machine, so it cannot be turned on someone else's server.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::Args;
use reqwest::Url;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Args)]
pub struct LoadgenArgs {
    /// Base URL of the server; only 127.0.0.1, localhost or [::1]. Several instances
    /// of one database: repeat the flag or separate by commas; request i goes to the
    /// (i mod n)-th, the login and the setup queries to the first.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_delimiter = ',')]
    url: Vec<String>,
    #[arg(long, default_value = "fengshan")]
    username: String,
    #[arg(long, default_value = "zhili-demo")]
    password: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Requests in total, shared by the clients.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Grid code for every event [default: the grids of the user's township].
    #[arg(long, value_name = "CODE")]
    grid: Option<String>,
    /// Also print the summary as one JSON object on the last line.
    #[arg(long)]
    json: bool,
    /// `events`: POST /api/v1/events; `12345`: POST /api/v1/channels/12345/orders
    /// (log in as the call centre's account, e.g. `--username hotline12345`).
    #[arg(long, default_value = "events", value_parser = ["events", "12345"])]
    channel: String,
    /// Requests per second in total (open loop); unset: as fast as the clients go.
    /// With --batch, orders per second.
    #[arg(long)]
    rate: Option<f64>,
    /// 12345 only: N orders a request, through POST /api/v1/channels/12345/orders/batch
    /// (`--requests` then counts orders, and latency is per batch).
    #[arg(long, value_name = "N")]
    batch: Option<usize>,
}

/// Refuses anything but a plain-HTTP loopback URL.
pub fn loopback_url(raw: &str) -> anyhow::Result<Url> {
    let url = Url::parse(raw).with_context(|| format!("URL 无效: {raw}"))?;
    if url.scheme() != "http" {
        bail!("只支持 http:// 地址（本机压测）: {raw}");
    }
    // The parser normalises hosts: lower case, IPv4 in dotted form, IPv6 in brackets.
    let ok = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if !ok {
        bail!("压测只允许本机地址（127.0.0.1、localhost、::1），拒绝 {raw}");
    }
    Ok(url)
}

#[derive(Deserialize)]
struct LoginResponse {
    token: String,
    user: LoginUser,
}

#[derive(Deserialize)]
struct LoginUser {
    org_id: Option<i64>,
}

#[derive(Deserialize)]
struct OrgView {
    id: i64,
    code: String,
    township_id: Option<i64>,
}

#[derive(Deserialize)]
struct CategoryView {
    id: i64,
    code: String,
    parent_id: Option<i64>,
}

/// Codes of the categories no other category has as parent (小类).
fn leaf_codes(categories: &[CategoryView]) -> Vec<String> {
    let parents: HashSet<i64> = categories.iter().filter_map(|c| c.parent_id).collect();
    categories
        .iter()
        .filter(|c| !parents.contains(&c.id))
        .map(|c| c.code.clone())
        .collect()
}

const TEXTS: &[&str] = &[
    "小区门口夜间有工地施工，噪音很大影响休息，希望尽快处理。",
    "路边人行道上有一处窨井盖破损，行人经过有安全隐患。",
    "楼道里有人给电动自行车充电，电线从窗户拉下来，存在火灾隐患。",
    "菜市场旁边有流动摊贩占道经营，早上交通很堵，请城管来看看。",
    "小区垃圾桶已经两天没人清运了，气味很大，天热招苍蝇。",
    "附近一家小作坊晚上偷偷排放废水，河水发黑发臭。",
    "路灯坏了好几盏，晚上走路看不清，老人孩子出行不安全。",
    "隔壁出租房住了十几个人，进出人员复杂，担心消防安全。",
];

/// What every client shares: the session, the round-robin choices and the counters.
struct Shared {
    client: reqwest::Client,
    /// The intake URL on every instance, taken in turn.
    events_urls: Vec<Url>,
    token: String,
    grids: Vec<String>,
    /// For 12345 orders: a GCJ-02 point inside each grid, as a phone map gives it.
    points: Vec<(f64, f64)>,
    hotline: bool,
    /// Orders a request (batch pushes), or None: one per request.
    batch: Option<usize>,
    /// Seconds between two requests' due times, when the rate is fixed.
    interval: Option<f64>,
    started: Instant,
    categories: Vec<String>,
    run_id: String,
    next: AtomicUsize,
    total: usize,
}

#[derive(Default)]
struct ClientResult {
    latencies: Vec<Duration>,
    created: usize,
    errors: BTreeMap<String, usize>,
    /// The body of the first error response, to show what went wrong.
    first_error: Option<String>,
}

async fn client_loop(shared: Arc<Shared>) -> ClientResult {
    let mut r = ClientResult::default();
    loop {
        let take = shared.batch.unwrap_or(1);
        let i = shared.next.fetch_add(take, Ordering::Relaxed);
        if i >= shared.total {
            return r;
        }
        let body = if let Some(n) = shared.batch {
            let orders: Vec<_> = (i..(i + n).min(shared.total))
                .map(|k| order_12345(&shared, k))
                .collect();
            json!({ "orders": orders })
        } else if shared.hotline {
            order_12345(&shared, i)
        } else {
            json!({
                "channel": "hotline_12345",
                "external_id": format!("loadgen-{}-{i}", shared.run_id),
                "reporter": { "kind": "citizen", "name": "压测用户", "phone": "13800000000" },
                "text": format!("{}（压测 {i}）", TEXTS[i % TEXTS.len()]),
                "category": shared.categories[i % shared.categories.len()],
                "grid": shared.grids[i % shared.grids.len()],
            })
        };
        // At a fixed rate, request i is due at i × interval: latency counts from
        // then, including any time it had to wait for a free client.
        let started = match shared.interval {
            Some(dt) => {
                let due = shared.started + Duration::from_secs_f64(dt * i as f64);
                tokio::time::sleep_until(due.into()).await;
                due
            }
            None => Instant::now(),
        };
        let res = shared
            .client
            // By request, not by order: batches of an even size would all go to one.
            .post(shared.events_urls[(i / take) % shared.events_urls.len()].clone())
            .bearer_auth(&shared.token)
            .json(&body)
            .send()
            .await;
        let outcome = match res {
            Ok(resp) => {
                let status = resp.status();
                // Read the body so the connection can be reused and the time is complete.
                let body = resp.bytes().await.unwrap_or_default();
                if shared.batch.is_some() && status == reqwest::StatusCode::OK {
                    Ok(batch_outcome(&body, &mut r))
                } else if status == reqwest::StatusCode::CREATED {
                    Ok(1)
                } else {
                    if r.first_error.is_none() {
                        r.first_error =
                            Some(String::from_utf8_lossy(&body).chars().take(300).collect());
                    }
                    Err(format!("HTTP {}", status.as_u16()))
                }
            }
            Err(e) => Err(if e.is_timeout() {
                "timeout".to_string()
            } else if e.is_connect() {
                "connect".to_string()
            } else {
                "transport".to_string()
            }),
        };
        r.latencies.push(started.elapsed());
        match outcome {
            Ok(n) => r.created += n,
            Err(kind) => *r.errors.entry(kind).or_default() += 1,
        }
    }
}

/// Work order `i` as the call centre sends it, GCJ-02 inside a grid.
fn order_12345(shared: &Shared, i: usize) -> serde_json::Value {
    let (lon, lat) = shared.points[i % shared.points.len()];
    json!({
        "order_no": format!("loadgen-{}-{i}", shared.run_id),
        "content": format!("{}（压测 {i}）", TEXTS[i % TEXTS.len()]),
        "caller_name": "压测用户",
        "caller_phone": "13800000000",
        "lon": lon,
        "lat": lat,
        "crs": "gcj02",
        "category": shared.categories[i % shared.categories.len()],
    })
}

/// The orders a batch answer says were stored now (201); the others count as errors
/// by their status.
fn batch_outcome(body: &[u8], r: &mut ClientResult) -> usize {
    #[derive(Deserialize)]
    struct Answer {
        results: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        status: u16,
    }
    let Ok(answer) = serde_json::from_slice::<Answer>(body) else {
        *r.errors
            .entry("unreadable batch answer".into())
            .or_default() += 1;
        return 0;
    };
    let mut created = 0;
    for item in answer.results {
        if item.status == 201 {
            created += 1;
        } else {
            if r.first_error.is_none() {
                r.first_error = Some(String::from_utf8_lossy(body).chars().take(300).collect());
            }
            *r.errors
                .entry(format!("order {}", item.status))
                .or_default() += 1;
        }
    }
    created
}

#[derive(Deserialize)]
struct GridCollection {
    features: Vec<GridFeature>,
}

#[derive(Deserialize)]
struct GridFeature {
    properties: GridProps,
}

#[derive(Deserialize)]
struct GridProps {
    code: String,
    label: Option<[f64; 2]>,
}

/// A point inside each grid (all grids, or those named), in GCJ-02 as a phone's
/// map app would report it, so the server has to convert and look up every one.
async fn grid_points(
    client: &reqwest::Client,
    base: &Url,
    token: &str,
    only: &[String],
) -> anyhow::Result<Vec<(f64, f64)>> {
    let all: GridCollection = get_json(client, base.join("/api/v1/grids")?, token).await?;
    Ok(all
        .features
        .into_iter()
        .filter(|f| only.is_empty() || only.contains(&f.properties.code))
        .filter_map(|f| f.properties.label)
        .map(|[lon, lat]| zhili_geo::crs::wgs84_to_gcj02((lon, lat)))
        .collect())
}

/// The value at quantile `q` of sorted durations (nearest rank).
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn get_json<T: for<'de> Deserialize<'de>>(
    client: &reqwest::Client,
    url: Url,
    token: &str,
) -> anyhow::Result<T> {
    let resp = client
        .get(url.clone())
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    if !status.is_success() {
        bail!("GET {url}: HTTP {status}");
    }
    resp.json()
        .await
        .with_context(|| format!("GET {url}: 响应无法解析"))
}

pub async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    let bases = args
        .url
        .iter()
        .map(|u| loopback_url(u))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let Some(base) = bases.first().cloned() else {
        bail!("--url 不能为空");
    };
    if args.clients == 0 || args.requests == 0 {
        bail!("--clients 与 --requests 须大于 0");
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(args.clients)
        .build()?;

    let login_url = base.join("/api/v1/auth/login")?;
    let resp = client
        .post(login_url)
        .json(&json!({ "username": args.username, "password": args.password }))
        .send()
        .await
        .with_context(|| format!("无法连接 {base}"))?;
    if !resp.status().is_success() {
        bail!("登录失败: HTTP {}（用户 {}）", resp.status(), args.username);
    }
    let login: LoginResponse = resp.json().await.context("登录响应无法解析")?;
    let token = login.token;

    let hotline = args.channel == "12345";
    if let Some(n) = args.batch
        && (!hotline || n == 0 || n > 500)
    {
        bail!("--batch 只用于 --channel 12345，取 1–500");
    }
    if let Some(r) = args.rate
        && !(r.is_finite() && r > 0.0)
    {
        bail!("--rate 须为正数");
    }
    let grids = match &args.grid {
        Some(code) => vec![code.clone()],
        // The call centre reports anywhere in the city.
        None if hotline => Vec::new(),
        None => {
            let all: Vec<OrgView> =
                get_json(&client, base.join("/api/v1/orgs?kind=grid")?, &token).await?;
            let org = login.user.org_id;
            // A grid worker reports in their grid, a township operator in the township.
            let own: Vec<String> = match all.iter().find(|g| Some(g.id) == org) {
                Some(g) => vec![g.code.clone()],
                None => all
                    .iter()
                    .filter(|g| org.is_some() && g.township_id == org)
                    .map(|g| g.code.clone())
                    .collect(),
            };
            if own.is_empty() {
                // A user without a township (city level) may report anywhere.
                all.into_iter().map(|g| g.code).collect()
            } else {
                own
            }
        }
    };
    let points = if hotline {
        grid_points(&client, &base, &token, &grids).await?
    } else {
        Vec::new()
    };
    if grids.is_empty() && points.is_empty() {
        bail!("没有可用的网格（用 --grid 指定）");
    }
    let categories: Vec<CategoryView> =
        get_json(&client, base.join("/api/v1/categories")?, &token).await?;
    let categories = leaf_codes(&categories);
    if categories.is_empty() {
        return Err(anyhow!("没有可用的事件小类"));
    }

    let run_id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d%H%M%S%3f"),
        std::process::id()
    );
    eprintln!(
        "压测 {}: {} 个客户端，共 {} 个请求，{} 个网格，{} 个小类",
        bases
            .iter()
            .map(Url::as_str)
            .collect::<Vec<_>>()
            .join(" + "),
        args.clients,
        args.requests,
        grids.len(),
        categories.len()
    );
    let path = if args.batch.is_some() {
        "/api/v1/channels/12345/orders/batch"
    } else if hotline {
        "/api/v1/channels/12345/orders"
    } else {
        "/api/v1/events"
    };
    let shared = Arc::new(Shared {
        client,
        events_urls: bases
            .iter()
            .map(|b| b.join(path))
            .collect::<Result<_, _>>()?,
        token,
        grids,
        points,
        hotline,
        batch: args.batch,
        interval: args.rate.map(|r| 1.0 / r),
        started: Instant::now(),
        categories,
        run_id,
        next: AtomicUsize::new(0),
        total: args.requests,
    });
    let started = shared.started;
    let handles: Vec<_> = (0..args.clients)
        .map(|_| tokio::spawn(client_loop(shared.clone())))
        .collect();
    let mut latencies = Vec::with_capacity(args.requests);
    let mut created = 0;
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut first_error = None;
    for h in handles {
        let r = h.await.context("压测客户端异常退出")?;
        latencies.extend(r.latencies);
        created += r.created;
        first_error = first_error.or(r.first_error);
        for (k, v) in r.errors {
            *errors.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let error_count: usize = errors.values().sum();
    let rate = created as f64 / elapsed.as_secs_f64().max(1e-9);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (p50, p95, p99) = (
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.95)),
        ms(percentile(&latencies, 0.99)),
    );
    println!("requests   {}", latencies.len());
    println!("created    {created} (HTTP 201)");
    println!("errors     {error_count} {errors:?}");
    if let Some(body) = &first_error {
        println!("first error response: {body}");
    }
    println!("clients    {}", args.clients);
    println!("elapsed    {:.2} s", elapsed.as_secs_f64());
    println!("events/s   {rate:.1}");
    println!("latency    p50 {p50:.1} ms   p95 {p95:.1} ms   p99 {p99:.1} ms");
    if args.json {
        println!(
            "{}",
            json!({
                "requests": latencies.len(),
                "created": created,
                "errors": error_count,
                "clients": args.clients,
                "elapsed_s": elapsed.as_secs_f64(),
                "events_per_s": rate,
                "p50_ms": p50,
                "p95_ms": p95,
                "p99_ms": p99,
            })
        );
    }
    if created == 0 {
        bail!("没有一个请求成功");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1234/",
            "http://LOCALHOST",
            "http://[::1]:8080",
        ] {
            assert!(loopback_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1:8080",
            "http://127.0.0.2:8080",
            "http://example.com",
            "http://localhost.example.com",
            "https://127.0.0.1",
            "http://0.0.0.0:8080",
            "not a url",
        ] {
            assert!(loopback_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&v, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn leaves_are_categories_without_children() {
        let c = |id, code: &str, parent| CategoryView {
            id,
            code: code.into(),
            parent_id: parent,
        };
        let cats = vec![
            c(1, "01", None),
            c(2, "0101", Some(1)),
            c(3, "0102", Some(1)),
            c(4, "02", None),
        ];
        assert_eq!(leaf_codes(&cats), vec!["0101", "0102", "02"]);
    }
}

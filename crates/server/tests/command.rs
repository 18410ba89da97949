//! The command centre over HTTP on every backend: who may see it, the township's own
//! scope, oversight masked, bad input naming its field, every tile's number equal to
//! the list its link opens, the page and its session JSON, the vendored libraries.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{PW, apps, call, login};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn report(app: &Router, token: &str, text: &str, grid: &str, lon: f64) -> i64 {
    let body = json!({
        "channel": "hotline_12345",
        "text": text,
        "category": "0101",
        "grid": grid,
        "reporter": {"kind": "citizen", "name": "张三", "phone": "13812345678"},
        "location": {"lon": lon, "lat": 30.005},
    });
    let (s, e) = call(
        app,
        "POST",
        "/api/v1/events",
        Some(token),
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    e["id"].as_i64().unwrap()
}

fn tile(summary: &Value, key: &str) -> (i64, String) {
    let t = summary["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == key)
        .unwrap_or_else(|| panic!("tile {key} in {summary}"));
    (
        t["value"].as_i64().unwrap(),
        t["href"].as_str().unwrap().to_string(),
    )
}

/// The total of the API's event list under the query of a page link `/events?…`.
async fn list_total(app: &Router, token: &str, href: &str) -> i64 {
    let query = href.strip_prefix("/events?").expect("an event-list link");
    let (s, v) = call(
        app,
        "GET",
        &format!("/api/v1/events?{query}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{href}: {v}");
    v["total"].as_i64().unwrap()
}

#[tokio::test]
async fn each_viewer_sees_their_own_area_and_every_number_is_its_list() {
    for app in apps().await {
        let fengshan = login(&app, "fengshan").await;
        let lizhou = login(&app, "lizhou").await;
        let first = report(
            &app,
            &fengshan,
            "夜间施工噪音扰民，电话13812345678",
            "33028100200101",
            121.155,
        )
        .await;
        report(&app, &fengshan, "广场舞噪音", "33028100200102", 121.165).await;
        let theirs = report(&app, &lizhou, "酒吧噪音", "33028100100101", 121.105).await;

        for path in ["/api/v1/command/summary", "/api/v1/command/events"] {
            let (s, v) = call(&app, "GET", path, None, None).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}: {v}");
            for who in ["citizen1", "grid1", "zhujian"] {
                let t = login(&app, who).await;
                let (s, _) = call(&app, "GET", path, Some(&t), None).await;
                assert_eq!(s, StatusCode::FORBIDDEN, "{who} {path}");
            }
        }

        // The township room: its own township, nothing of 梨洲.
        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/command/summary",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["area"], "凤山街道");
        assert_eq!(v["township_code"], "330281002");
        assert_eq!(tile(&v, "open").0, 2);
        let towns: Vec<&Value> = v["townships"].as_array().unwrap().iter().collect();
        assert_eq!(towns.len(), 1);
        assert_eq!(towns[0]["name"], "凤山街道");
        assert!(v["channels"].is_object(), "the room sees its channels");
        let (_, m) = call(&app, "GET", "/api/v1/command/events", Some(&fengshan), None).await;
        let ids: Vec<i64> = m["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), 2);
        assert!(!ids.contains(&theirs));
        assert!(
            m["events"][0].get("reporter").is_none(),
            "no reporter data on the map"
        );

        // The city: all three; each tile's number is the total of its link's list.
        let city = login(&app, "city").await;
        let (_, v) = call(&app, "GET", "/api/v1/command/summary", Some(&city), None).await;
        assert_eq!(v["area"], "余姚市");
        for key in ["today", "pending_accept", "open", "overdue", "window"] {
            let (n, href) = tile(&v, key);
            assert_eq!(list_total(&app, &city, &href).await, n, "{key} {href}");
        }
        assert_eq!(tile(&v, "open").0, 3);
        assert_eq!(tile(&v, "today").0, 3);
        for day in v["trend"].as_array().unwrap() {
            let href = day["href"].as_str().unwrap();
            assert_eq!(
                list_total(&app, &city, href).await,
                day["count"].as_i64().unwrap(),
                "{href}"
            );
        }
        for c in v["categories"]
            .as_array()
            .unwrap()
            .iter()
            .chain(v["focus"].as_array().unwrap())
        {
            let href = c["href"].as_str().unwrap();
            assert_eq!(
                list_total(&app, &city, href).await,
                c["count"].as_i64().unwrap(),
                "{href}"
            );
        }
        for t in v["townships"]
            .as_array()
            .unwrap()
            .iter()
            .chain(v["grids"].as_array().unwrap())
        {
            for (n, h) in [("open", "open_href"), ("overdue", "overdue_href")] {
                let href = t[h].as_str().unwrap();
                assert_eq!(
                    list_total(&app, &city, href).await,
                    t[n].as_i64().unwrap(),
                    "{href}"
                );
            }
        }
        let focus = &v["focus"][0];
        assert_eq!(
            (focus["code"].clone(), focus["count"].clone()),
            (json!("0101"), json!(3))
        );

        // Oversight: everything, read-only, personal data masked, no channel internals.
        let oversight = login(&app, "oversight").await;
        let (_, o) = call(
            &app,
            "GET",
            "/api/v1/command/summary",
            Some(&oversight),
            None,
        )
        .await;
        assert_eq!(
            (o["masked"].clone(), o["channels"].clone()),
            (json!(true), Value::Null)
        );
        let (_, m) = call(
            &app,
            "GET",
            "/api/v1/command/events",
            Some(&oversight),
            None,
        )
        .await;
        let noisy = m["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == first)
            .unwrap();
        assert!(
            !noisy["excerpt"].as_str().unwrap().contains("13812345678"),
            "{noisy}"
        );

        // Changes since the cursor: the poll sees a rejection, as no longer open.
        let cursor = m["cursor"].as_str().unwrap().to_string();
        let (s, r) = call(
            &app,
            "POST",
            &format!("/api/v1/events/{theirs}/actions"),
            Some(&lizhou),
            Some(r#"{"action":"reject","reason":"not_our_business","note":"不属于受理范围"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let since = format!(
            "/api/v1/command/events?since={}",
            cursor.replace('+', "%2B")
        );
        let (s, m) = call(&app, "GET", &since, Some(&city), None).await;
        assert_eq!(s, StatusCode::OK, "{m}");
        let changed = m["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == theirs)
            .unwrap();
        assert_eq!(changed["open"], false);

        // Bad input names its field.
        for (uri, field) in [
            ("/api/v1/command/events?since=yesterday", "since"),
            ("/api/v1/command/events?from=2026-01-01", "query"),
            ("/api/v1/command/summary?area=330281", "query"),
            ("/api/v1/events?overdue=yes", "overdue"),
        ] {
            let (s, v) = call(&app, "GET", uri, Some(&city), None).await;
            assert_eq!(
                (s, v["error"]["field"].clone()),
                (StatusCode::UNPROCESSABLE_ENTITY, json!(field)),
                "{uri}: {v}"
            );
        }
    }
}

async fn get(
    app: &Router,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, Vec<(String, String)>, String) {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn page_login(app: &Router, username: &str) -> String {
    common::page::login(app, username).await.cookie
}

fn header_of<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

#[tokio::test]
async fn the_page_its_session_json_and_the_vendored_libraries() {
    for app in apps().await {
        let city = page_login(&app, "city").await;
        let (s, _, html) = get(&app, "/command", Some(&city)).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("综合指挥中心"));
        assert!(
            html.contains(r#"href="/events?overdue=1""#),
            "tiles link to their events"
        );
        assert!(
            html.contains("/static/vendor/leaflet@"),
            "Leaflet from zhili itself"
        );
        assert!(
            !html.contains("https://"),
            "no other host named in the page"
        );
        let (s, _, wall) = get(&app, "/command?wall=1", Some(&city)).await;
        assert_eq!(s, StatusCode::OK);
        assert!(wall.contains(r#"class="command wall""#));
        let (s, _, _) = get(&app, "/command?big=1", Some(&city)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        let citizen = page_login(&app, "citizen1").await;
        let (s, _, html) = get(&app, "/command", Some(&citizen)).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert!(!html.contains("cmd-tile"));
        let (s, _, body) = get(&app, "/command/summary.json", Some(&citizen)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        let (s, h, _) = get(&app, "/command", None).await;
        assert_eq!(
            (s, header_of(&h, "location")),
            (StatusCode::SEE_OTHER, "/login")
        );

        let (s, h, body) = get(&app, "/command/summary.json", Some(&city)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(header_of(&h, "cache-control"), "no-store");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v["tiles"].is_array());
        let (s, _, body) = get(&app, "/command/events.json?since=bad", Some(&city)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

        // Grids and each township's outline (the union of its grids), for any user.
        let (s, _, body) = get(&app, "/map/grids.json", Some(&citizen)).await;
        assert_eq!(s, StatusCode::OK);
        let fc: Value = serde_json::from_str(&body).unwrap();
        let features = fc["features"].as_array().unwrap();
        let towns: Vec<&Value> = features
            .iter()
            .filter(|f| f["properties"]["kind"] == "township")
            .collect();
        assert_eq!(features.len() - towns.len(), 3, "three grids");
        assert_eq!(towns.len(), 2, "two townships");
        let fengshan = towns
            .iter()
            .find(|t| t["properties"]["code"] == "330281002")
            .unwrap();
        // 凤山's two grids touch: one piece.
        assert_eq!(
            fengshan["geometry"]["coordinates"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let vendor = script_src(&html_of(&app, &city).await, "/static/vendor/leaflet@");
        let (s, h, body) = get(&app, &vendor, None).await;
        assert_eq!(s, StatusCode::OK, "{vendor}");
        assert_eq!(
            header_of(&h, "content-type"),
            "text/javascript; charset=utf-8"
        );
        assert!(header_of(&h, "cache-control").contains("immutable"));
        assert!(body.len() > 100_000);
        let (s, _, _) = get(&app, "/static/vendor/leaflet@0.0.1/leaflet.js", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, h, _) = get(&app, "/static/command.js", None).await;
        assert_eq!(
            (s, header_of(&h, "content-type")),
            (StatusCode::OK, "text/javascript; charset=utf-8")
        );
    }
}

async fn html_of(app: &Router, cookie: &str) -> String {
    get(app, "/command", Some(cookie)).await.2
}

/// The first `<script src>` in `html` that starts with `prefix`.
fn script_src(html: &str, prefix: &str) -> String {
    let marker = format!("<script src=\"{prefix}");
    let start = html.find(&marker).expect("script in page") + "<script src=\"".len();
    let len = html[start..].find('"').expect("closing quote");
    html[start..start + len].to_string()
}

#[tokio::test]
async fn background_tiles_appear_only_when_an_admin_configures_them() {
    for store in zhili_storage::testing::fresh_stores().await {
        zhili_storage::testing::with_small_city(&store, &zhili_server::hash_password(PW)).await;
        let config = zhili_server::ServerConfig {
            map_tile_url: Some("https://tiles.yuyao.example/{z}/{x}/{y}.png".into()),
            ..common::config()
        };
        let app = zhili_server::app(zhili_server::AppState::new(store, config));
        let city = page_login(&app, "city").await;
        let (s, _, html) = get(&app, "/command", Some(&city)).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains(r#"data-tile-url="https://tiles.yuyao.example/{z}/{x}/{y}.png""#));
    }
    // The default: no tiles, so the map asks no other host.
    for app in apps().await {
        let city = page_login(&app, "city").await;
        let (_, _, html) = get(&app, "/command", Some(&city)).await;
        assert!(html.contains(r#"data-tile-url="""#));
    }
}

//! Zero leaks across areas (issue #7 item 2, AC-02/AC-03, PI-03): every GET route of
//! the router, found in its source, is called by every role of the small city — with
//! each event's id in its path, and as lists with area, search and feed parameters
//! naming the own area, a child, the parent, a sibling and another township. No
//! answer may carry an event the caller's scope does not hold (its marker word or its
//! number), nor any reporter's full phone number (those are only revealed by a POST
//! with a reason), and an area parameter outside the caller's area is refused.
//!
//! The expected visibility is written out by hand below, from the scope rules of
//! docs/roles.md, not computed by the code under test. SQLite always, PostgreSQL
//! with ZHILI_TEST_PG.

mod common;

use std::collections::BTreeSet;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use tower::ServiceExt;
use zhili_domain::{Action, Actor, NewEvent, RawNewEvent, RawReporter};
use zhili_storage::{CreateOutcome, Store};

/// The events of the test, where they lie and who put them in.
struct Placed {
    key: char,
    /// (reporting account, channel, grid or township code)
    by: &'static str,
    channel: &'static str,
    grid: Option<&'static str>,
    township: Option<&'static str>,
    phone: &'static str,
}

const EVENTS: &[Placed] = &[
    // A: grid1's own grid in 凤山, reported by citizen1, dispatched to 住建.
    Placed {
        key: 'A',
        by: "citizen1",
        channel: "web_form",
        grid: Some("33028100200101"),
        township: None,
        phone: "13976543211",
    },
    // B: the sibling grid in 凤山, put in by its command room.
    Placed {
        key: 'B',
        by: "fengshan",
        channel: "hotline_12345",
        grid: Some("33028100200102"),
        township: None,
        phone: "13976543212",
    },
    // C: another township (梨洲), dispatched to its police station.
    Placed {
        key: 'C',
        by: "lizhou",
        channel: "hotline_12345",
        grid: Some("33028100100101"),
        township: None,
        phone: "13976543213",
    },
    // D: 凤山 at township level, no grid (the parent of grid1's grid).
    Placed {
        key: 'D',
        by: "fengshan",
        channel: "hotline_12345",
        grid: None,
        township: Some("330281002"),
        phone: "13976543214",
    },
    // E: put in by the 110 exchange's account, in 凤山.
    Placed {
        key: 'E',
        by: "sys110",
        channel: "exchange_110",
        grid: Some("33028100200102"),
        township: None,
        phone: "13976543215",
    },
];

/// Who may see which events (docs/roles.md): city roles everything, a command room
/// its township, a grid worker their grid, a unit what was dispatched to it, a
/// citizen their own reports, an integration account what it put in.
const SEES: &[(&str, &str)] = &[
    ("admin", "ABCDE"),
    ("city", "ABCDE"),
    ("oversight", "ABCDE"),
    ("fengshan", "ABDE"),
    ("lizhou", "C"),
    ("zhujian", "A"),
    ("pcs", ""),
    ("grid1", "A"),
    ("citizen1", "A"),
    ("citizen2", ""),
    ("sys110", "E"),
    ("secadmin", ""),
    ("auditor", ""),
];

/// Area codes of the small city, for the area-parameter variants.
const AREAS: &[&str] = &[
    "330281",         // the city
    "330281001",      // 梨洲 (another township)
    "330281002",      // 凤山
    "330281002001",   // 舜北社区, in 凤山
    "33028100200101", // grid1's grid
    "33028100200102", // its sibling
    "33028100100101", // a grid of 梨洲
];

/// Routes anyone may read: the public disclosure and the Open311 view of requests
/// (as `security.rs` lists them). Scanned for phones, not for events.
const PUBLIC: &[&str] = &["/public", "/api/public/", "/open311/"];

/// Whether `number` stands in `text` as a number of its own, not inside a longer
/// run of digits (a duration like 0.0564541397654321 is no phone).
fn has_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + number.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

fn marker(key: char) -> String {
    format!("泄漏标记{key}号")
}

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

/// Reports the events and moves A and C to their units. Returns (key, id, number).
async fn place(store: &Store) -> Vec<(char, i64, String)> {
    let mut out = Vec::new();
    for p in EVENTS {
        let new = NewEvent::parse(RawNewEvent {
            channel: p.channel.into(),
            reporter: Some(RawReporter {
                kind: "citizen".into(),
                name: Some("赵六".into()),
                phone: Some(p.phone.into()),
            }),
            text: format!("{}：楼下饭店油烟直排", marker(p.key)),
            category: Some("0101".into()),
            grid: p.grid.map(Into::into),
            township: p.township.map(Into::into),
            ..Default::default()
        })
        .unwrap();
        let e = match store
            .events_for(&actor(store, p.by).await)
            .create(&new, Utc::now())
            .await
            .unwrap()
        {
            CreateOutcome::Created(d) => *d,
            CreateOutcome::Existing(_) => panic!("new event expected"),
        };
        out.push((p.key, e.id, e.number));
    }
    let step = |a: String| serde_json::from_str::<Action>(&a).unwrap();
    let org = async |code: &str| store.org_by_code(code).await.unwrap().unwrap().id.0;
    let (zj, pcs) = (org("D-ZJ").await, org("S-330281001-PCS").await);
    let city = store.events_for(&actor(store, "city").await);
    for (key, unit) in [('A', zj), ('C', pcs)] {
        let id = out.iter().find(|e| e.0 == key).unwrap().1;
        city.act(id, &step(r#"{"action":"accept"}"#.into()), Utc::now())
            .await
            .unwrap();
        city.act(
            id,
            &step(format!(r#"{{"action":"dispatch","lead_unit":{unit}}}"#)),
            Utc::now(),
        )
        .await
        .unwrap();
    }
    // A supervision order on C: its pages and API must stay in C's scope too.
    let c = out.iter().find(|e| e.0 == 'C').unwrap().1;
    city.act(
        c,
        &step(r#"{"action":"supervise","due_date":"2099-01-01","note":"泄漏标记C号督办"}"#.into()),
        Utc::now(),
    )
    .await
    .unwrap();
    out
}

/// How many workbooks [`readable`] opened (the exports are scanned, not skipped).
static WORKBOOKS_READ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// An answer as the text a person would read in it: an Excel workbook's cells, one
/// per line (an export is a zip that no text search sees into), else the body.
fn readable(bytes: &[u8]) -> String {
    use calamine::{Reader, Xlsx};
    if bytes.starts_with(b"PK\x03\x04")
        && let Ok(mut wb) = Xlsx::new(std::io::Cursor::new(bytes.to_vec()))
    {
        let mut text = String::new();
        for name in wb.sheet_names() {
            if let Ok(range) = wb.worksheet_range(&name) {
                for cell in range.used_cells() {
                    text.push_str(&cell.2.to_string());
                    text.push('\n');
                }
            }
        }
        WORKBOOKS_READ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return text;
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// GET `uri` with the session as both bearer token and page cookie: the body as
/// text (workbooks by their cells, other binary answers lossily), and the status.
async fn get(app: &Router, token: &str, uri: &str) -> (StatusCode, String) {
    let req = Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .header(
            "cookie",
            format!("{}={token}", zhili_server::auth::SESSION_COOKIE),
        )
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, readable(&bytes))
}

/// The URIs to call for one route: with every event id (and a few other ids) in
/// an `{id}`, with KPI kinds in a `{kind}`; routes without parameters plain and
/// with area, search and feed parameters.
fn uris(route: &str, ids: &[i64]) -> Vec<String> {
    // Assets, the language switch and logout are not about events.
    if route.starts_with("/static/") || route.starts_with("/lang/") || route == "/logout" {
        return Vec::new();
    }
    if route.contains("{id}") {
        let extra = [1, 2, 3, 4, 5, 6];
        return ids
            .iter()
            .chain(extra.iter())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|id| route.replace("{id}", &id.to_string()))
            .collect();
    }
    if route.contains("{kind}") {
        return [
            "accepted",
            "close_rate",
            "participation",
            "satisfaction_rate",
        ]
        .iter()
        .flat_map(|k| {
            let base = route.replace("{kind}", k);
            let mut v = vec![base.clone()];
            v.extend(AREAS.iter().map(|a| format!("{base}?area={a}")));
            v
        })
        .collect();
    }
    if route.contains('{') {
        return vec![
            route
                .split('/')
                .map(|s| if s.starts_with('{') { "1" } else { s })
                .collect::<Vec<_>>()
                .join("/"),
        ];
    }
    let mut v = vec![
        route.to_string(),
        format!("{route}?q=泄漏标记"),
        format!("{route}?since=2000-01-01T00:00:00Z"),
    ];
    for a in AREAS {
        v.push(format!("{route}?area={a}"));
        // Townships are 9 digits, grids 14.
        let param = if a.len() > 9 { "grid" } else { "township" };
        v.push(format!("{route}?{param}={a}"));
    }
    v
}

/// What one role's pass over every URI found: leaks, and the events it may see
/// that it did see somewhere (so the scan is known not to be blind).
async fn scan(
    app: Router,
    user: &'static str,
    sees: &'static str,
    placed: std::sync::Arc<Vec<(char, i64, String)>>,
    uris: std::sync::Arc<Vec<String>>,
) -> (Vec<String>, BTreeSet<char>) {
    let token = common::login(&app, user).await;
    let mut leaks = Vec::new();
    let mut seen = BTreeSet::new();
    for uri in uris.iter() {
        let (status, body) = get(&app, &token, uri).await;
        // The public disclosure lists every event, masked, by design (O2); the
        // audit log names every event it records, for its administrator to read.
        let public = PUBLIC.iter().any(|p| uri.starts_with(p))
            || (user == "auditor"
                && (uri.starts_with("/api/v1/audit") || uri.starts_with("/audit")));
        for (key, _, number) in placed.iter() {
            let may = sees.contains(*key);
            let shown = body.contains(&marker(*key)) || body.contains(number.as_str());
            if shown && !may && !public {
                leaks.push(format!("{user} GET {uri} → {status}: event {key}"));
            }
            if shown && may && status == StatusCode::OK {
                seen.insert(*key);
            }
        }
        for p in EVENTS {
            // The reporter's own phone is theirs to see; nobody else's is shown in
            // full without a reveal.
            let own = user == p.by && p.by.starts_with("citizen");
            if !own && has_number(&body, p.phone) {
                leaks.push(format!("{user} GET {uri} → {status}: phone of {}", p.key));
            }
        }
        if status.is_server_error() {
            leaks.push(format!("{user} GET {uri} → {status}"));
        }
    }
    (leaks, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn no_route_shows_any_role_an_event_outside_its_area() {
    for (app, store) in common::apps_with_stores().await {
        let placed = place(&store).await;
        let ids: Vec<i64> = placed.iter().map(|e| e.1).collect();
        let uris: Vec<String> = common::routes_in_source()
            .iter()
            .flat_map(|r| uris(r, &ids))
            .collect();
        assert!(uris.len() > 500, "{}", uris.len());
        let (placed, uris) = (std::sync::Arc::new(placed), std::sync::Arc::new(uris));
        let mut roles = tokio::task::JoinSet::new();
        for (user, sees) in SEES {
            roles.spawn(scan(app.clone(), user, sees, placed.clone(), uris.clone()));
        }
        let mut leaks = Vec::new();
        let mut blind = Vec::new();
        while let Some(done) = roles.join_next().await {
            let (found, seen) = done.unwrap();
            leaks.extend(found);
            blind.push(seen);
        }
        assert!(
            leaks.is_empty(),
            "{} leaks:\n{}",
            leaks.len(),
            leaks.join("\n")
        );
        // Everyone saw each event they may see somewhere: the scan is not blind.
        let saw: usize = blind.iter().map(BTreeSet::len).sum();
        let may: usize = SEES.iter().map(|(_, s)| s.len()).sum();
        assert_eq!(saw, may, "some role never saw an event it may see");
        // The Excel exports (routing matrix, assessment scores) were read as cells.
        assert!(WORKBOOKS_READ.load(std::sync::atomic::Ordering::Relaxed) > 0);
    }
}

/// KPIs and their drill-downs for an area outside the caller's are refused, not
/// answered with numbers (a count is a leak too).
#[tokio::test]
async fn kpis_of_an_area_outside_the_callers_are_refused() {
    // (user, area codes they may ask for); every other code of AREAS is refused.
    const MAY: &[(&str, &[&str])] = &[
        (
            "city",
            &[
                "330281",
                "330281001",
                "330281002",
                "330281002001",
                "33028100200101",
                "33028100200102",
                "33028100100101",
            ],
        ),
        (
            "fengshan",
            &[
                "330281002",
                "330281002001",
                "33028100200101",
                "33028100200102",
            ],
        ),
        ("lizhou", &["330281001", "33028100100101"]),
        ("grid1", &["33028100200101"]),
    ];
    for (app, _) in common::apps_with_stores().await {
        for (user, may) in MAY {
            let token = common::login(&app, user).await;
            for area in AREAS {
                for uri in [
                    format!("/api/v1/kpis?area={area}"),
                    format!("/api/v1/kpis/accepted/events?area={area}"),
                ] {
                    let (status, body) = get(&app, &token, &uri).await;
                    if may.contains(area) {
                        assert_eq!(status, StatusCode::OK, "{user} {uri}: {body}");
                    } else {
                        assert!(
                            matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                            "{user} {uri} → {status}: {body}"
                        );
                    }
                }
            }
        }
    }
}

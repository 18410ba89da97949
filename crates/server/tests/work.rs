//! The day's work over HTTP, on every backend under test: a unit handler's queue
//! (API and page), bulk actions (API and the event list's form), patrol check-ins
//! (API and the phone page) and the admin pages for users and categories. Each
//! checks role and area: another unit or township gets 403/404, no login 401.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::page::{self, get, post, send};
use common::{apps, call, login};
use serde_json::{Value, json};
use tower::ServiceExt;

fn event(text: &str, grid: &str, priority: &str) -> Value {
    json!({
        "channel": "hotline_12345",
        "reporter": {"kind": "citizen", "name": "李四", "phone": "13912345678"},
        "text": text,
        "category": "0101",
        "grid": grid,
        "priority": priority,
    })
}

async fn report(app: &Router, token: &str, text: &str, grid: &str, priority: &str) -> i64 {
    let body = event(text, grid, priority).to_string();
    let (s, v) = call(app, "POST", "/api/v1/events", Some(token), Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

async fn act(app: &Router, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
    let uri = format!("/api/v1/events/{id}/actions");
    call(app, "POST", &uri, Some(token), Some(&body.to_string())).await
}

async fn unit_id(app: &Router, token: &str, code: &str) -> i64 {
    let (s, v) = call(app, "GET", "/api/v1/orgs?kind=unit", Some(token), None).await;
    assert_eq!(s, StatusCode::OK);
    v.as_array()
        .unwrap()
        .iter()
        .find(|o| o["code"] == code)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// Accepted and dispatched to `unit` by fengshan.
async fn dispatched(app: &Router, fengshan: &str, id: i64, unit: i64) {
    let (s, v) = act(app, fengshan, id, json!({"action": "accept"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = act(
        app,
        fengshan,
        id,
        json!({"action": "dispatch", "lead_unit": unit}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn the_queue_api_lists_the_units_events_by_deadline_for_its_handlers_only() {
    for app in apps().await {
        let fengshan = login(&app, "fengshan").await;
        let zhujian = login(&app, "zhujian").await;
        let pcs = login(&app, "pcs").await;
        let zj = unit_id(&app, &fengshan, "D-ZJ").await;
        let pcs_unit = unit_id(&app, &fengshan, "S-330281002-PCS").await;
        let normal = report(&app, &fengshan, "夜间施工噪音", "33028100200101", "normal").await;
        let urgent = report(&app, &fengshan, "深夜打桩噪音", "33028100200101", "urgent").await;
        let theirs = report(&app, &fengshan, "广场舞噪音", "33028100200102", "normal").await;
        dispatched(&app, &fengshan, normal, zj).await;
        dispatched(&app, &fengshan, urgent, zj).await;
        dispatched(&app, &fengshan, theirs, pcs_unit).await;

        let (s, v) = call(&app, "GET", "/api/v1/queue", Some(&zhujian), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let ids: Vec<i64> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["event"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![urgent, normal], "nearest deadline first");
        let first = &v["items"][0];
        assert_eq!(first["unit_role"]["code"], "lead");
        assert_eq!(first["warning"]["code"], "green");
        assert!(first["working_minutes_left"].as_i64().unwrap() > 0);
        assert!(
            first["allowed_actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["code"] == "sign")
        );

        // Another unit's handler neither sees nor touches these.
        let (_, v) = call(&app, "GET", "/api/v1/queue", Some(&pcs), None).await;
        assert_eq!(v["total"], 1);
        assert_eq!(v["items"][0]["event"]["id"], theirs);
        let (s, _) = act(&app, &pcs, urgent, json!({"action": "sign"})).await;
        assert!(
            matches!(s, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{s}"
        );
        // Only handlers have a queue; without a login, nobody.
        let (s, v) = call(&app, "GET", "/api/v1/queue", Some(&fengshan), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, _) = call(&app, "GET", "/api/v1/queue", None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn the_bulk_api_acts_on_each_event_and_reports_each_failure() {
    for app in apps().await {
        let fengshan = login(&app, "fengshan").await;
        let lizhou = login(&app, "lizhou").await;
        let zhujian = login(&app, "zhujian").await;
        let a = report(&app, &fengshan, "噪音一", "33028100200101", "normal").await;
        let b = report(&app, &fengshan, "噪音二", "33028100200102", "normal").await;
        let c = report(&app, &lizhou, "梨洲噪音", "33028100100101", "normal").await;
        let (s, _) = act(&app, &fengshan, b, json!({"action": "accept"})).await;
        assert_eq!(s, StatusCode::OK);

        let body = json!({"ids": [a, b, c], "action": {"action": "accept", "note": "批量受理"}});
        let (s, v) = call(
            &app,
            "POST",
            "/api/v1/events/bulk",
            Some(&fengshan),
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["succeeded"], 1);
        assert_eq!(v["failed"], 2);
        let r = v["results"].as_array().unwrap();
        assert_eq!(r[0]["id"], a);
        assert_eq!(r[0]["ok"], true);
        assert_eq!(r[0]["status"]["code"], "accepted");
        assert_eq!(r[1]["ok"], false);
        assert_eq!(r[1]["error"]["code"], "illegal_transition");
        assert_eq!(
            r[2]["error"]["code"], "not_found",
            "another township's event"
        );
        // Its own timeline entry on the one that succeeded.
        let (_, d) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{a}"),
            Some(&fengshan),
            None,
        )
        .await;
        assert!(
            d["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["action"]["code"] == "accept" && t["note"] == "批量受理")
        );
        // lizhou's event is untouched.
        let (_, d) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{c}"),
            Some(&lizhou),
            None,
        )
        .await;
        assert_eq!(d["status"]["code"], "reported");

        // Bad input names its field.
        for (body, field) in [
            (json!({"ids": [], "action": {"action": "accept"}}), "ids"),
            (
                json!({"ids": [0], "action": {"action": "accept"}}),
                "ids[0]",
            ),
            (
                json!({"ids": [a, a], "action": {"action": "accept"}}),
                "ids[1]",
            ),
            (json!({"ids": [a]}), "action"),
            (
                json!({"ids": [a], "action": {"action": "accept"}, "x": 1}),
                "x",
            ),
            (json!({"ids": "a", "action": {"action": "accept"}}), "ids"),
        ] {
            let (s, v) = call(
                &app,
                "POST",
                "/api/v1/events/bulk",
                Some(&fengshan),
                Some(&body.to_string()),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {v}");
            assert_eq!(v["error"]["field"], field, "{body} → {v}");
        }
        let body = json!({"ids": [a], "action": {"action": "accept"}}).to_string();
        let (s, _) = call(
            &app,
            "POST",
            "/api/v1/events/bulk",
            Some(&zhujian),
            Some(&body),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = call(&app, "POST", "/api/v1/events/bulk", None, Some(&body)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // Documented.
        let (_, doc) = call(&app, "GET", "/api/openapi.json", None, None).await;
        for path in ["/api/v1/events/bulk", "/api/v1/queue", "/api/v1/patrols"] {
            assert!(doc["paths"][path].is_object(), "{path} documented");
        }
    }
}

fn check_in(lon: f64, key: &str) -> String {
    json!({"lon": lon, "lat": 30.005, "accuracy_m": 8.0, "note": "巡查", "idempotency_key": key})
        .to_string()
}

#[tokio::test]
async fn patrol_check_ins_find_their_grid_and_are_seen_by_the_township() {
    for app in apps().await {
        let grid1 = login(&app, "grid1").await;
        let fengshan = login(&app, "fengshan").await;
        let lizhou = login(&app, "lizhou").await;
        let zhujian = login(&app, "zhujian").await;

        let (s, p) = call(
            &app,
            "POST",
            "/api/v1/patrols",
            Some(&grid1),
            Some(&check_in(121.155, "k1")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        assert_eq!(p["grid"]["code"], "33028100200101");
        assert_eq!(p["outside_own_grid"], false);
        let (s, again) = call(
            &app,
            "POST",
            "/api/v1/patrols",
            Some(&grid1),
            Some(&check_in(121.155, "k1")),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "a retry is the same check-in");
        assert_eq!(again["id"], p["id"]);
        let (s, q) = call(
            &app,
            "POST",
            "/api/v1/patrols",
            Some(&grid1),
            Some(&check_in(121.165, "k2")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        assert_eq!(q["grid"]["code"], "33028100200102");
        assert_eq!(q["outside_own_grid"], true, "in the neighbouring grid");

        // Bad input names its field; only grid workers check in.
        let bad = json!({"lon": 0.0, "lat": 0.0, "idempotency_key": "x"}).to_string();
        let (s, v) = call(&app, "POST", "/api/v1/patrols", Some(&grid1), Some(&bad)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "lon");
        let bad = json!({"lon": 121.155, "lat": 30.005}).to_string();
        let (_, v) = call(&app, "POST", "/api/v1/patrols", Some(&grid1), Some(&bad)).await;
        assert_eq!(v["error"]["field"], "idempotency_key");
        let (s, _) = call(
            &app,
            "POST",
            "/api/v1/patrols",
            Some(&fengshan),
            Some(&check_in(121.155, "f")),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = call(
            &app,
            "POST",
            "/api/v1/patrols",
            None,
            Some(&check_in(121.155, "n")),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // The township sees both, per grid; another township and units do not.
        let (s, v) = call(&app, "GET", "/api/v1/patrols", Some(&fengshan), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["total"], 2);
        assert_eq!(v["by_grid"].as_array().unwrap().len(), 2);
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/patrols?outside=true",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(v["total"], 1);
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/patrols?grid=33028100200101",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(v["total"], 1);
        let (_, v) = call(&app, "GET", "/api/v1/patrols", Some(&lizhou), None).await;
        assert_eq!(v["total"], 0);
        let (s, _) = call(&app, "GET", "/api/v1/patrols", Some(&zhujian), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/patrols?date=2026-13-01",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "date");
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/patrols?date=2020-01-01",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(v["total"], 0);
    }
}

// ---------------------------------------------------------------------------
// Pages, driven like a browser: cookie sessions, forms with CSRF tokens.

#[tokio::test]
async fn the_queue_page_signs_and_returns_with_a_reason() {
    for app in apps().await {
        let fengshan = login(&app, "fengshan").await;
        let zj = unit_id(&app, &fengshan, "D-ZJ").await;
        let a = report(&app, &fengshan, "施工噪音", "33028100200101", "normal").await;
        let b = report(&app, &fengshan, "装修噪音", "33028100200101", "urgent").await;
        dispatched(&app, &fengshan, a, zj).await;
        dispatched(&app, &fengshan, b, zj).await;
        let s = page::login(&app, "zhujian").await;
        let page = get(&app, "/queue", Some(&s.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("我的待办（2）"), "{}", page.body);
        let (pa, pb) = (
            page.body.find(&format!("/events/{a}\"")).unwrap(),
            page.body.find(&format!("/events/{b}\"")).unwrap(),
        );
        assert!(pb < pa, "the urgent event comes first");
        assert!(page.body.contains("剩余"));
        // The red and yellow counts link to the queue cut down to those rows: both
        // events are far from their deadlines, so the red cut is empty.
        let red = get(&app, "/queue?warning=red", Some(&s.cookie)).await;
        assert_eq!(red.status, StatusCode::OK);
        assert!(
            red.body.contains("我的待办（2）"),
            "the headline counts all"
        );
        assert!(red.body.contains("红色 0 件"));
        assert!(red.body.contains("没有这一档预警的待办事件。"));
        assert!(!red.body.contains(&format!("/events/{a}\"")));
        assert!(red.body.contains("显示全部 2 件"));
        assert!(red.body.contains("href=\"/queue?warning=yellow\""));

        let r = post(
            &app,
            &format!("/queue/{b}"),
            Some(&s.cookie),
            &[("csrf", &s.csrf), ("action", "sign")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(r.location.unwrap().starts_with("/queue?done=sign"));
        // Returning needs a reason.
        let r = post(
            &app,
            &format!("/queue/{a}"),
            Some(&s.cookie),
            &[("csrf", &s.csrf), ("action", "return"), ("reason", " ")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = post(
            &app,
            &format!("/queue/{a}"),
            Some(&s.cookie),
            &[
                ("csrf", &s.csrf),
                ("action", "return"),
                ("reason", "非住建职责"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = get(&app, "/queue", Some(&s.cookie)).await;
        assert!(page.body.contains("我的待办（1）"));
        // Resolve is not taken here (photos belong on the event page); no CSRF, no action.
        let r = post(
            &app,
            &format!("/queue/{b}"),
            Some(&s.cookie),
            &[("csrf", &s.csrf), ("action", "resolve"), ("result", "已办")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = post(
            &app,
            &format!("/queue/{b}"),
            Some(&s.cookie),
            &[("action", "sign")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // Another unit's handler cannot act on it; the township has no queue.
        let pcs = page::login(&app, "pcs").await;
        let r = post(
            &app,
            &format!("/queue/{b}"),
            Some(&pcs.cookie),
            &[
                ("csrf", &pcs.csrf),
                ("action", "request_extension"),
                ("days", "3"),
                ("reason", "x"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let f = page::login(&app, "fengshan").await;
        assert_eq!(
            get(&app, "/queue", Some(&f.cookie)).await.status,
            StatusCode::FORBIDDEN
        );
        let r = post(&app, "/queue/1", None, &[("action", "sign")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "to the login page");
    }
}

#[tokio::test]
async fn the_event_list_bulk_form_reports_each_event() {
    for app in apps().await {
        let fengshan = login(&app, "fengshan").await;
        let a = report(&app, &fengshan, "噪音甲", "33028100200101", "normal").await;
        let b = report(&app, &fengshan, "噪音乙", "33028100200101", "normal").await;
        let (s, _) = act(&app, &fengshan, b, json!({"action": "accept"})).await;
        assert_eq!(s, StatusCode::OK);
        let f = page::login(&app, "fengshan").await;
        let list = get(&app, "/events", Some(&f.cookie)).await;
        assert!(list.body.contains("id=\"bulk-form\""));
        assert!(list.body.contains(&format!("name=\"ids\" value=\"{a}\"")));
        let (a_s, b_s) = (a.to_string(), b.to_string());
        let r = post(
            &app,
            "/events/bulk",
            Some(&f.cookie),
            &[
                ("csrf", &f.csrf),
                ("ids", &a_s),
                ("ids", &b_s),
                ("action", "accept"),
                ("note", ""),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("成功 1 件，失败 1 件"), "{}", r.body);
        assert!(r.body.contains("成功，现为「已受理」"));
        assert!(r.body.contains("失败：当前状态为「已受理」"));
        // Both now accepted: dispatched to one unit, then supervised, in one go each.
        let zj = unit_id(&app, &fengshan, "D-ZJ").await.to_string();
        let dispatch = [
            ("csrf", f.csrf.as_str()),
            ("ids", &a_s),
            ("ids", &b_s),
            ("action", "dispatch"),
            ("lead_unit", &zj),
        ];
        let r = post(&app, "/events/bulk", Some(&f.cookie), &dispatch).await;
        assert!(r.body.contains("成功 2 件，失败 0 件"), "{}", r.body);
        let supervise = [
            ("csrf", f.csrf.as_str()),
            ("ids", &a_s),
            ("ids", &b_s),
            ("action", "supervise"),
            ("due_date", "2099-12-31"),
            ("note", "请加快办理"),
        ];
        let r = post(&app, "/events/bulk", Some(&f.cookie), &supervise).await;
        assert!(r.body.contains("成功 2 件，失败 0 件"), "{}", r.body);
        let (_, d) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{a}"),
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(d["lead_unit"]["code"], "D-ZJ");
        // A dispatch without a unit is refused before anything is done.
        let r = post(
            &app,
            "/events/bulk",
            Some(&f.cookie),
            &[("csrf", &f.csrf), ("ids", &a_s), ("action", "dispatch")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Nothing ticked, or a unit handler: refused.
        let r = post(
            &app,
            "/events/bulk",
            Some(&f.cookie),
            &[("csrf", &f.csrf), ("action", "accept")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let z = page::login(&app, "zhujian").await;
        assert!(
            !get(&app, "/events", Some(&z.cookie))
                .await
                .body
                .contains("bulk-form")
        );
        let r = post(
            &app,
            "/events/bulk",
            Some(&z.cookie),
            &[("csrf", &z.csrf), ("ids", &a_s), ("action", "accept")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn the_patrol_page_checks_in_and_lists_the_day() {
    for app in apps().await {
        let g = page::login(&app, "grid1").await;
        let page = get(&app, "/patrol", Some(&g.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("还没有打卡记录"));
        let r = post(
            &app,
            "/patrol",
            Some(&g.cookie),
            &[
                ("csrf", &g.csrf),
                ("key", "abc"),
                ("lon", "121.165"),
                ("lat", "30.005"),
                ("note", "东门"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location.as_deref(), Some("/patrol?done=outside"));
        let page = get(&app, "/patrol?done=outside", Some(&g.cookie)).await;
        assert!(page.body.contains("今天的打卡（1）"), "{}", page.body);
        assert!(page.body.contains("不在本人网格"));
        let r = post(
            &app,
            "/patrol",
            Some(&g.cookie),
            &[("csrf", &g.csrf), ("key", "abd"), ("lon", ""), ("lat", "")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        // The township reads it, with the count linking to the grid's list.
        let f = page::login(&app, "fengshan").await;
        let page = get(&app, "/patrol", Some(&f.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("grid=33028100200102"), "{}", page.body);
        assert!(!page.body.contains("id=\"patrol-form\""));
        let r = post(
            &app,
            "/patrol",
            Some(&f.cookie),
            &[
                ("csrf", &f.csrf),
                ("key", "x"),
                ("lon", "121.165"),
                ("lat", "30.005"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let z = page::login(&app, "zhujian").await;
        assert_eq!(
            get(&app, "/patrol", Some(&z.cookie)).await.status,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn the_admin_pages_create_users_and_edit_limits() {
    for app in apps().await {
        // Accounts are the security administrator's; categories the system's.
        let sec = page::login(&app, "secadmin").await;
        let a = page::login(&app, "admin").await;
        let page = get(&app, "/admin/users", Some(&sec.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("zhujian"));
        let r = post(
            &app,
            "/admin/users",
            Some(&sec.cookie),
            &[
                ("csrf", &sec.csrf),
                ("username", "wang"),
                ("display_name", "王五"),
                ("role", "grid_worker"),
                ("org", "33028100200102"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let marker = "id=\"new-password\">";
        let start = r.body.find(marker).unwrap() + marker.len();
        let password = &r.body[start..start + 16];
        // The new account signs in with it.
        let (s, v) = call(
            &app,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&json!({"username": "wang", "password": password}).to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["user"]["role"], "grid_worker");
        let id = v["user"]["id"].as_i64().unwrap();
        let token = v["token"].as_str().unwrap().to_string();
        // A wrong area for the role is refused, naming it.
        let r = post(
            &app,
            "/admin/users",
            Some(&sec.cookie),
            &[
                ("csrf", &sec.csrf),
                ("username", "li"),
                ("role", "unit_handler"),
                ("org", "330281002"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Deactivated (the box left unticked): the session ends at once.
        let r = post(
            &app,
            &format!("/admin/users/{id}"),
            Some(&sec.cookie),
            &[
                ("csrf", &sec.csrf),
                ("role", "grid_worker"),
                ("org", "33028100200102"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let (s, _) = call(&app, "GET", "/api/v1/me", Some(&token), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        let page = get(&app, "/admin/categories", Some(&a.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("/events?category=0102"));
        let r = post(
            &app,
            "/admin/categories/0102",
            Some(&a.cookie),
            &[
                ("csrf", &a.csrf),
                ("limit_days", "7"),
                ("department", "D-ZJ"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let (_, cats) = call(
            &app,
            "GET",
            "/api/v1/categories",
            Some(&token_of(&app, "admin").await),
            None,
        )
        .await;
        let c = cats
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "0102")
            .unwrap();
        assert_eq!(c["limit_days"], 7);
        let r = post(
            &app,
            "/admin/categories/0102",
            Some(&a.cookie),
            &[("csrf", &a.csrf), ("limit_days", "0")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = post(
            &app,
            "/admin/categories/0102",
            Some(&a.cookie),
            &[("csrf", "wrong"), ("limit_days", "3")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        // Nobody else has these pages.
        let f = page::login(&app, "fengshan").await;
        assert_eq!(
            get(&app, "/admin/users", Some(&f.cookie)).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            get(&app, "/admin/categories", Some(&f.cookie)).await.status,
            StatusCode::FORBIDDEN
        );
        let r = post(
            &app,
            "/admin/categories/0102",
            Some(&f.cookie),
            &[("csrf", &f.csrf), ("limit_days", "3")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}

async fn token_of(app: &Router, user: &str) -> String {
    login(app, user).await
}

/// A real 16×16 JPEG.
fn jpeg() -> Vec<u8> {
    let mut out = Vec::new();
    let pixels: Vec<u8> = (0..16 * 16 * 3u32)
        .map(|i| (i as u8).wrapping_mul(7))
        .collect();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&pixels, 16, 16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

#[tokio::test]
async fn a_patrol_photo_is_kept_and_shown_to_those_who_see_the_check_in() {
    const B: &str = "zhili-work-boundary";
    for app in apps().await {
        let g = page::login(&app, "grid1").await;
        let mut body = Vec::new();
        for (name, value) in [
            ("csrf", g.csrf.as_str()),
            ("key", "photo-1"),
            ("lon", "121.155"),
            ("lat", "30.005"),
        ] {
            body.extend_from_slice(
                format!(
                    "--{B}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!("--{B}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(&jpeg());
        body.extend_from_slice(format!("\r\n--{B}--\r\n").as_bytes());
        let req = Request::post("/patrol")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={B}"),
            )
            .header(header::COOKIE, &g.cookie)
            .body(Body::from(body))
            .unwrap();
        let r = send(&app, req).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location.as_deref(), Some("/patrol?done=in"));

        let token = login(&app, "grid1").await;
        let (_, v) = call(&app, "GET", "/api/v1/patrols", Some(&token), None).await;
        assert_eq!(v["items"][0]["has_photo"], true, "{v}");
        let id = v["items"][0]["id"].as_i64().unwrap();
        let path = format!("/patrol/{id}/photo");
        let req = Request::get(&path).header(header::COOKIE, &g.cookie);
        let res = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "image/jpeg");
        let status_for = async |cookie: &str| {
            let req = Request::get(&path).header(header::COOKIE, cookie);
            app.clone()
                .oneshot(req.body(Body::empty()).unwrap())
                .await
                .unwrap()
                .status()
        };
        let f = page::login(&app, "fengshan").await;
        assert_eq!(status_for(&f.cookie).await, StatusCode::OK, "the township");
        let l = page::login(&app, "lizhou").await;
        assert_eq!(
            status_for(&l.cookie).await,
            StatusCode::NOT_FOUND,
            "another township"
        );
    }
}

#[tokio::test]
async fn the_admin_page_saves_assessment_schemes_by_the_rules() {
    for app in apps().await {
        let a = page::login(&app, "admin").await;
        let page = get(&app, "/admin/assessment", Some(&a.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("新建考核方案"));
        // Satisfaction under 30% of a township's weight is refused, naming the rule.
        let low = [
            ("csrf", a.csrf.as_str()),
            ("name", "乡镇月度考核"),
            ("assessed", "township"),
            ("w-satisfaction_rate", "20"),
            ("w-close_rate", "80"),
        ];
        let r = post(&app, "/admin/assessment", Some(&a.cookie), &low).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("30"), "{}", r.body);
        let ok = [
            ("csrf", a.csrf.as_str()),
            ("name", "乡镇月度考核"),
            ("assessed", "township"),
            ("w-satisfaction_rate", "40"),
            ("w-close_rate", "50"),
            ("w-accepted", "10"),
            ("t-accepted", "100"),
            ("w-return_rate", "0"),
        ];
        let r = post(&app, "/admin/assessment", Some(&a.cookie), &ok).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let token = login(&app, "admin").await;
        let (_, v) = call(
            &app,
            "GET",
            "/api/v1/assessment/schemes",
            Some(&token),
            None,
        )
        .await;
        let s = v
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "乡镇月度考核")
            .unwrap();
        assert_eq!(s["indicators"].as_array().unwrap().len(), 3, "{s}");
        let page = get(&app, "/admin/assessment", Some(&a.cookie)).await;
        assert!(page.body.contains("权重合计 100"));
        let r = post(&app, "/admin/assessment", Some(&a.cookie), &[("name", "x")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
        let f = page::login(&app, "fengshan").await;
        assert_eq!(
            get(&app, "/admin/assessment", Some(&f.cookie)).await.status,
            StatusCode::FORBIDDEN
        );
    }
}

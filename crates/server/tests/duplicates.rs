//! Duplicate links over HTTP, through the real router on every backend: a second
//! report of one problem shows its master in the event JSON (and the master its
//! duplicates); operators in scope unlink and link by hand, others get 403, other
//! townships 404; the per-category settings are the admin's; the event page shows
//! the "疑似重复件" box with a working unlink button.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use common::{PW, apps, call, login};

/// A web-form report `north_m` metres north of a point in 舜北社区第1网格.
async fn report(app: &Router, token: &str, text: &str, north_m: f64) -> Value {
    let body = json!({
        "channel": "web_form",
        "reporter": {"kind": "citizen", "name": "赵六", "phone": "13700000001"},
        "text": text,
        "category": "0101",
        "grid": "33028100200101",
        "location": {"lon": 121.155, "lat": 30.005 + north_m / 111_195.0, "crs": "wgs84"},
    })
    .to_string();
    let (s, v) = call(app, "POST", "/api/v1/events", Some(token), Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

const NOISE: &str = "舜北路工地夜间施工，噪音很大影响休息";
const NOISE_AGAIN: &str = "舜北路的工地晚上一直施工，噪音太大，影响休息";

#[tokio::test]
async fn links_show_in_the_event_and_operators_in_scope_change_them() {
    for app in apps().await {
        let fengshan = login(&app, "fengshan").await;
        let m = report(&app, &fengshan, NOISE, 0.0).await;
        let d = report(&app, &fengshan, NOISE_AGAIN, 60.0).await;
        let (mid, did) = (m["id"].as_i64().unwrap(), d["id"].as_i64().unwrap());
        assert_eq!(d["duplicate_of"]["id"], mid, "{d}");
        assert_eq!(d["duplicate_of"]["number"], m["number"]);
        let (s, mv) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{mid}"),
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(mv["duplicate_of"], Value::Null);
        assert_eq!(mv["duplicates"][0]["id"], did);

        // The list hides or shows only duplicates; a bad value names its field.
        let (_, only) = call(
            &app,
            "GET",
            "/api/v1/events?duplicates=only",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(only["total"], 1);
        assert_eq!(only["items"][0]["id"], did);
        let (_, hide) = call(
            &app,
            "GET",
            "/api/v1/events?duplicates=hide",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(hide["total"], 1);
        let (s, bad) = call(
            &app,
            "GET",
            "/api/v1/events?duplicates=maybe",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad["error"]["field"], "duplicates");

        let uri = format!("/api/v1/events/{did}/duplicate-of");
        // Another township: 404; a unit handler, oversight: 403.
        let lizhou = login(&app, "lizhou").await;
        let (s, _) = call(&app, "DELETE", &uri, Some(&lizhou), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        for who in ["zhujian", "oversight"] {
            let t = login(&app, who).await;
            let (s, v) = call(&app, "DELETE", &uri, Some(&t), None).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
        }
        let (s, _) = call(
            &app,
            "DELETE",
            "/api/v1/events/abc/duplicate-of",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        let (s, v) = call(&app, "DELETE", &uri, Some(&fengshan), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["duplicate_of"], Value::Null);
        assert_eq!(
            v["timeline"].as_array().unwrap().last().unwrap()["action"]["code"],
            "duplicate_unlink"
        );
        let (s, v) = call(&app, "DELETE", &uri, Some(&fengshan), None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

        // Linked by hand, by number and by id.
        let by_number = json!({"master": m["number"]}).to_string();
        let (s, v) = call(&app, "PUT", &uri, Some(&fengshan), Some(&by_number)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["duplicate_of"]["id"], mid);
        let by_id = json!({"master": mid}).to_string();
        let (s, _) = call(&app, "PUT", &uri, Some(&fengshan), Some(&by_id)).await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = call(
            &app,
            "PUT",
            &uri,
            Some(&fengshan),
            Some(r#"{"master":"ZL-NONE"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "master");
        let (s, _) = call(&app, "PUT", &uri, Some(&lizhou), Some(&by_number)).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let city = login(&app, "city").await;
        let (s, _) = call(&app, "PUT", &uri, Some(&city), Some(&by_id)).await;
        assert_eq!(s, StatusCode::OK, "the city operator covers every township");

        // Documented.
        let (_, doc) = call(&app, "GET", "/api/openapi.json", None, None).await;
        for path in [
            "/api/v1/events/{id}/duplicate-of",
            "/api/v1/duplicates/settings/{category_code}",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} documented");
        }
    }
}

#[tokio::test]
async fn the_settings_are_the_admins() {
    for app in apps().await {
        let uri = "/api/v1/duplicates/settings/0101";
        let admin = login(&app, "admin").await;
        let (s, v) = call(&app, "GET", uri, Some(&admin), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["custom"], false);
        assert_eq!(v["radius_m"], 200.0);
        let body = r#"{"radius_m": 500, "window_hours": 48, "min_similarity": 0.5}"#;
        for who in ["fengshan", "city"] {
            let t = login(&app, who).await;
            let (s, _) = call(&app, "GET", uri, Some(&t), None).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
            let (s, _) = call(&app, "PUT", uri, Some(&t), Some(body)).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
        }
        let (s, v) = call(&app, "PUT", uri, Some(&admin), Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (v["custom"].clone(), v["window_hours"].clone()),
            (json!(true), json!(48))
        );
        let bad = r#"{"radius_m": 500, "window_hours": 48, "min_similarity": 2}"#;
        let (s, v) = call(&app, "PUT", uri, Some(&admin), Some(bad)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "min_similarity");
        let (s, _) = call(
            &app,
            "GET",
            "/api/v1/duplicates/settings/9999",
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

// ---------------------------------------------------------------------------
// The event page

async fn send(
    app: &Router,
    req: Request<Body>,
) -> (StatusCode, Option<String>, Vec<String>, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        location,
        cookies,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

fn form_post(path: &str, cookie: Option<&str>, body: String) -> Request<Body> {
    let mut req =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    req.body(Body::from(body)).unwrap()
}

fn page(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    let len = html[start..].find('"').expect("closing quote");
    html[start..start + len].to_string()
}

#[tokio::test]
async fn the_event_page_shows_the_box_and_unlinks() {
    for app in apps().await {
        let token = login(&app, "fengshan").await;
        let m = report(&app, &token, NOISE, 0.0).await;
        let d = report(&app, &token, NOISE_AGAIN, 60.0).await;
        let did = d["id"].as_i64().unwrap();
        assert!(d["duplicate_of"].is_object(), "{d}");

        let (s, _, cookies, _) = send(
            &app,
            form_post("/login", None, format!("username=fengshan&password={PW}")),
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let cookie = cookies
            .iter()
            .find(|c| c.starts_with("zhili_session="))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();

        let (s, _, _, html) = send(&app, page(&format!("/events/{did}"), &cookie)).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("疑似重复件"));
        let number = m["number"].as_str().unwrap();
        assert!(
            html.contains(&format!("/events/{}\">{number}</a>", m["id"])),
            "link to the master"
        );
        assert!(html.contains(&format!("/events/{did}/duplicate-of/unlink")));
        let (_, _, _, master_html) =
            send(&app, page(&format!("/events/{}", m["id"]), &cookie)).await;
        assert!(
            master_html.contains(d["number"].as_str().unwrap()),
            "master lists its duplicate"
        );

        // Oversight reads the box but has nothing to press.
        let (_, _, cookies, _) = send(
            &app,
            form_post("/login", None, format!("username=oversight&password={PW}")),
        )
        .await;
        let watcher = cookies
            .iter()
            .find(|c| c.starts_with("zhili_session="))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let (s, _, _, watched) = send(&app, page(&format!("/events/{}", m["id"]), &watcher)).await;
        assert_eq!(s, StatusCode::OK);
        assert!(watched.contains("疑似重复件"));
        assert!(!watched.contains("duplicate-of/unlink"));

        // Without the CSRF token nothing happens.
        let unlink = format!("/events/{did}/duplicate-of/unlink");
        let (s, _, _, _) = send(&app, form_post(&unlink, Some(&cookie), String::new())).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let csrf = csrf_in(&html);
        let (s, location, _, _) = send(
            &app,
            form_post(&unlink, Some(&cookie), format!("csrf={csrf}")),
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(
            location.as_deref(),
            Some(format!("/events/{did}?done=duplicate_unlink").as_str())
        );
        let (_, _, _, html) = send(
            &app,
            page(&format!("/events/{did}?done=duplicate_unlink"), &cookie),
        )
        .await;
        assert!(html.contains("已完成「解除重复关联」"));
        assert!(html.contains("未关联重复件"));
    }
}

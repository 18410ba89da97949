//! The public side through the real router, on every backend under test: the
//! rating link page and its JSON twin (open, used, expired, unknown), the check-code
//! lookup, the public list and statistics, and the scan of every public response
//! for phone numbers, ID numbers and the reporter's name.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use common::{PW, call, login};
use serde_json::{Value, json};
use tower::ServiceExt;
use zhili_server::{AppState, app, hash_password};
use zhili_storage::Store;
use zhili_storage::feedback::FeedbackSettings;
use zhili_storage::testing::{fresh_stores, with_small_city};

const REPORTER: &str = "欧阳修远";
/// A valid 18-digit ID number (GB 11643 check digit 5).
const ID_NUMBER: &str = "330281199001011235";

/// Every public route, pages and JSON, for one event. A new public route goes
/// here, so that the scan below covers it.
fn public_routes(number: &str, code: &str, token: &str) -> Vec<String> {
    vec![
        "/public".into(),
        "/public?township=330281002&category=01&from=2020-01-01&to=2099-12-31".into(),
        "/public/events".into(),
        "/public/events?township=330281002&category=0101&status=informed".into(),
        "/public/lookup".into(),
        "/public/notice".into(),
        "/api/public/v1/notice".into(),
        format!("/public/lookup?number={number}&code={code}"),
        format!("/f/{token}"),
        "/api/public/v1/stats".into(),
        "/api/public/v1/stats?township=330281002&category=01".into(),
        "/api/public/v1/events".into(),
        "/api/public/v1/events?township=330281002&status=informed&page=1".into(),
        format!("/api/public/v1/lookup?number={number}&code={code}"),
        format!("/api/public/v1/feedback/{token}"),
        "/api/public/v1/supervision".into(),
    ]
}

/// `1[3-9]\d{9}` somewhere in the text.
fn has_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(10)).any(|i| {
        b[i] == b'1'
            && (b'3'..=b'9').contains(&b[i + 1])
            && b[i + 2..i + 11].iter().all(u8::is_ascii_digit)
    })
}

/// `\d{17}[\dXx]` somewhere in the text.
fn has_id_number(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(17)).any(|i| {
        b[i..i + 17].iter().all(u8::is_ascii_digit)
            && (b[i + 17].is_ascii_digit() || matches!(b[i + 17], b'X' | b'x'))
    })
}

fn assert_clean(what: &str, body: &str) {
    assert!(!has_mobile(body), "{what}: a mobile number in\n{body}");
    assert!(!has_id_number(body), "{what}: an ID number in\n{body}");
    assert!(
        !body.contains(REPORTER),
        "{what}: the reporter's name in\n{body}"
    );
}

/// One request without login; the status and the body as text.
async fn raw(app: &Router, method: &str, uri: &str, form: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if form.is_some() {
        req = req.header("content-type", "application/x-www-form-urlencoded");
    }
    let req = req
        .body(Body::from(form.unwrap_or("").to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The app over the small city, with the store kept to read the SMS outbox.
async fn apps(settings: FeedbackSettings) -> Vec<(Router, Store)> {
    let hash = hash_password(PW);
    let mut out = Vec::new();
    for store in fresh_stores().await {
        with_small_city(&store, &hash).await;
        let store = store.with_feedback_settings(settings.clone());
        // As every start does (PI-02).
        store
            .publish_notice(
                &zhili_domain::ProcessingNotice::render(&zhili_domain::NoticeTerms {
                    retention_days: 730,
                    contact: "拨打 12345 政务服务热线".into(),
                }),
                Utc::now(),
            )
            .await
            .unwrap();
        let state = AppState::new(store.clone(), common::config())
            .load()
            .await
            .unwrap();
        out.push((app(state), store));
    }
    out
}

struct Reported {
    id: i64,
    number: String,
    check_code: String,
}

async fn report(app: &Router, token: &str, channel: &str) -> Reported {
    let body = json!({
        "channel": channel,
        "reporter": {"kind": "citizen", "name": REPORTER, "phone": "13912345678"},
        "text": format!("我是{REPORTER}，身份证{ID_NUMBER}，电话13812345678，楼下烧烤油烟扰民"),
        "address": "舜北社区3栋2单元1201室",
        "location": {"lon": 121.154_67, "lat": 30.005_23, "crs": "wgs84"},
        "category": "0101",
        "grid": "33028100200101",
    });
    let (s, v) = call(
        app,
        "POST",
        "/api/v1/events",
        Some(token),
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let code = v["check_code"]
        .as_str()
        .expect("check_code in the create response");
    assert!(
        code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
        "{code}"
    );
    Reported {
        id: v["id"].as_i64().unwrap(),
        number: v["number"].as_str().unwrap().to_string(),
        check_code: code.to_string(),
    }
}

async fn act(app: &Router, token: &str, id: i64, action: Value) {
    let (s, v) = call(
        app,
        "POST",
        &format!("/api/v1/events/{id}/actions"),
        Some(token),
        Some(&action.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{action}: {v}");
}

/// Takes an event to 已反馈 and returns the link token from its SMS.
async fn to_informed(app: &Router, store: &Store, id: i64) -> String {
    let fengshan = login(app, "fengshan").await;
    let zhujian = login(app, "zhujian").await;
    let (_, units) = call(app, "GET", "/api/v1/orgs?kind=unit", Some(&fengshan), None).await;
    let zj = units
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == "D-ZJ")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    act(app, &fengshan, id, json!({"action": "accept"})).await;
    act(
        app,
        &fengshan,
        id,
        json!({"action": "dispatch", "lead_unit": zj}),
    )
    .await;
    act(app, &zhujian, id, json!({"action": "sign"})).await;
    let result = format!("已约谈商户，{REPORTER}（{ID_NUMBER}）可拨13812345678回访");
    act(
        app,
        &zhujian,
        id,
        json!({"action": "resolve", "result": result}),
    )
    .await;
    act(app, &fengshan, id, json!({"action": "verify_pass"})).await;
    act(
        app,
        &fengshan,
        id,
        json!({"action": "inform", "channel": "sms"}),
    )
    .await;
    let msgs = store
        .lease_outbox(
            "test",
            zhili_storage::TOPIC_SMS,
            Utc::now(),
            chrono::Duration::minutes(5),
            100,
        )
        .await
        .unwrap();
    let msg = msgs
        .iter()
        .find(|m| m.event_id == Some(id))
        .expect("an SMS with the link");
    assert_eq!(msg.payload["to"][0], "13912345678");
    let text = msg.payload["text"].as_str().unwrap();
    text.split("/f/").nth(1).unwrap().chars().take(32).collect()
}

#[tokio::test]
async fn every_public_response_is_free_of_personal_data() {
    for (app, store) in apps(FeedbackSettings::default()).await {
        let fengshan = login(&app, "fengshan").await;
        let e = report(&app, &fengshan, "hotline_12345").await;
        let token = to_informed(&app, &store, e.id).await;
        let mut scanned = 0;
        for uri in public_routes(&e.number, &e.check_code, &token) {
            let (s, body) = raw(&app, "GET", &uri, None).await;
            assert_eq!(s, StatusCode::OK, "{uri}: {body}");
            assert_clean(&uri, &body);
            scanned += 1;
        }
        // The answer and what the link says afterwards, on both twins.
        let (s, body) = raw(
            &app,
            "POST",
            &format!("/f/{token}"),
            Some("satisfaction=dissatisfied&comment=&reopen=1&reopen_reason=%E8%BF%98%E5%9C%A8%E7%83%A7%E7%83%A4"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(body.contains("重新办理"), "{body}");
        assert_clean("answer", &body);
        for uri in public_routes(&e.number, &e.check_code, &token) {
            let (_, body) = raw(&app, "GET", &uri, None).await;
            assert_clean(&uri, &body);
            scanned += 1;
        }
        assert_eq!(scanned, 2 * public_routes("", "", "").len());
        // The masked text still says what happened.
        let (_, v) = call(&app, "GET", "/api/public/v1/events", None, None).await;
        let item = &v["items"][0];
        assert_eq!(item["number"], e.number.as_str());
        assert!(item["text"].as_str().unwrap().contains("烧烤油烟扰民"));
        assert_eq!(item["location"], json!([121.155, 30.005]));
        for absent in ["reporter", "address", "phone", "photos"] {
            assert!(item.get(absent).is_none(), "{absent} in {item}");
        }
    }
}

#[tokio::test]
async fn the_rating_link_is_used_once_on_the_page_and_its_json_twin() {
    for (app, store) in apps(FeedbackSettings::default()).await {
        let fengshan = login(&app, "fengshan").await;
        let a = report(&app, &fengshan, "hotline_12345").await;
        let token = to_informed(&app, &store, a.id).await;

        let (s, page) = raw(&app, "GET", &format!("/f/{token}"), None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains(&a.number)
                && page.contains("非常不满意")
                && page.contains("要求重新办理")
        );
        let (s, v) = call(
            &app,
            "GET",
            &format!("/api/public/v1/feedback/{token}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["state"], "open");
        assert_eq!(v["levels"].as_array().unwrap().len(), 5);

        // A satisfied answer cannot ask for a reopening; the link stays usable.
        let body = json!({"satisfaction": "satisfied", "reopen_reason": "再看看"}).to_string();
        let uri = format!("/api/public/v1/feedback/{token}");
        let (s, v) = call(&app, "POST", &uri, None, Some(&body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "reopen_reason");

        let body = json!({"satisfaction": "very_satisfied", "comment": "很及时"}).to_string();
        let (s, v) = call(&app, "POST", &uri, None, Some(&body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["satisfaction"]["code"], "very_satisfied");
        assert_eq!(v["reopened"], false);
        let (_, d) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{}", a.id),
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(d["status"]["code"], "rated");
        assert_eq!(
            d["timeline"].as_array().unwrap().last().unwrap()["actor_name"],
            "报告人（回访链接）"
        );

        // Used: 410 everywhere, with a Chinese message.
        let (s, v) = call(&app, "POST", &uri, None, Some(&body)).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::GONE, Some("link_used"))
        );
        let (s, v) = call(&app, "GET", &uri, None, None).await;
        assert_eq!(s, StatusCode::GONE, "{v}");
        let (s, page) = raw(&app, "GET", &format!("/f/{token}"), None).await;
        assert_eq!(s, StatusCode::GONE);
        assert!(page.contains("已使用"), "{page}");
        let (s, _) = raw(
            &app,
            "POST",
            &format!("/f/{token}"),
            Some("satisfaction=satisfied"),
        )
        .await;
        assert_eq!(s, StatusCode::GONE);

        // Unknown: 404 on both.
        let unknown = "0123456789abcdef0123456789abcdef";
        let (s, page) = raw(&app, "GET", &format!("/f/{unknown}"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(page.contains("不存在"));
        let (s, v) = call(
            &app,
            "GET",
            &format!("/api/public/v1/feedback/{unknown}"),
            None,
            None,
        )
        .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );

        // The page form: no choice made is refused with the form kept; then it works.
        let b = report(&app, &fengshan, "hotline_12345").await;
        let token_b = to_informed(&app, &store, b.id).await;
        let (s, page) = raw(&app, "POST", &format!("/f/{token_b}"), Some("comment=ok")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains("请选择满意程度"));
        let (s, page) = raw(
            &app,
            "POST",
            &format!("/f/{token_b}"),
            Some("satisfaction=basic"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(page.contains("基本满意"));
    }
}

#[tokio::test]
async fn an_expired_link_is_gone() {
    // Links that live no time at all are expired as soon as they are made.
    let instant = FeedbackSettings {
        link_ttl: chrono::Duration::zero(),
        ..FeedbackSettings::default()
    };
    for (app, store) in apps(instant).await {
        let fengshan = login(&app, "fengshan").await;
        let e = report(&app, &fengshan, "hotline_12345").await;
        let token = to_informed(&app, &store, e.id).await;
        let (s, page) = raw(&app, "GET", &format!("/f/{token}"), None).await;
        assert_eq!(s, StatusCode::GONE);
        assert!(page.contains("已过期"), "{page}");
        let uri = format!("/api/public/v1/feedback/{token}");
        let (s, v) = call(&app, "GET", &uri, None, None).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::GONE, Some("link_expired"))
        );
        let body = json!({"satisfaction": "satisfied"}).to_string();
        let (s, _) = call(&app, "POST", &uri, None, Some(&body)).await;
        assert_eq!(s, StatusCode::GONE);
        let (_, d) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{}", e.id),
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(d["status"]["code"], "informed");
    }
}

#[tokio::test]
async fn a_reporter_looks_up_their_event_with_the_check_code() {
    for (app, store) in apps(FeedbackSettings::default()).await {
        let fengshan = login(&app, "fengshan").await;
        let e = report(&app, &fengshan, "hotline_12345").await;
        to_informed(&app, &store, e.id).await;

        let uri = format!(
            "/api/public/v1/lookup?number={}&code={}",
            e.number, e.check_code
        );
        let (s, v) = call(&app, "GET", &uri, None, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["event"]["status"]["code"], "informed");
        assert_eq!(v["rating_link"]["code"], "open");
        let by: Vec<&str> = v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["by"].as_str().unwrap())
            .collect();
        assert!(by.contains(&"余姚市住房和城乡建设局"), "{by:?}");
        assert!(by.contains(&"凤山街道"), "{by:?}");
        // Staff are named by their office only.
        assert!(
            !by.iter()
                .any(|b| b.contains("承办人") || b.contains("指挥室")),
            "{by:?}"
        );

        let wrong_code = if e.check_code == "000000" {
            "000001"
        } else {
            "000000"
        };
        let (s1, v1) = call(
            &app,
            "GET",
            &format!(
                "/api/public/v1/lookup?number={}&code={wrong_code}",
                e.number
            ),
            None,
            None,
        )
        .await;
        let (s2, v2) = call(
            &app,
            "GET",
            &format!(
                "/api/public/v1/lookup?number=ZL20991231000001&code={}",
                e.check_code
            ),
            None,
            None,
        )
        .await;
        assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
        assert_eq!(v1, v2, "a wrong number and a wrong code look the same");
        let (s, v) = call(
            &app,
            "GET",
            &format!("/api/public/v1/lookup?number={}", e.number),
            None,
            None,
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("code"))
        );

        let (s, page) = raw(
            &app,
            "GET",
            &format!("/public/lookup?number={}&code={}", e.number, e.check_code),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("已反馈") && page.contains("待评价"), "{page}");
        let (s, page) = raw(
            &app,
            "GET",
            &format!("/public/lookup?number={}&code={wrong_code}", e.number),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(page.contains("编号或查询码不正确"));
    }
}

#[tokio::test]
async fn the_public_list_and_stats_show_progress_by_area_and_category() {
    for (app, store) in apps(FeedbackSettings::default()).await {
        let fengshan = login(&app, "fengshan").await;
        let done = report(&app, &fengshan, "hotline_12345").await;
        to_informed(&app, &store, done.id).await;
        let fresh = report(&app, &fengshan, "hotline_12345").await;
        let petition = report(&app, &fengshan, "petition").await;

        let (s, v) = call(&app, "GET", "/api/public/v1/events", None, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let numbers: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["number"].as_str().unwrap())
            .collect();
        assert!(
            numbers.contains(&done.number.as_str()) && numbers.contains(&fresh.number.as_str())
        );
        assert!(
            !numbers.contains(&petition.number.as_str()),
            "petitions are never listed"
        );
        assert_eq!(v["total"], 2);

        let (_, v) = call(
            &app,
            "GET",
            "/api/public/v1/events?status=informed",
            None,
            None,
        )
        .await;
        assert_eq!(v["total"], 1);
        let (_, v) = call(
            &app,
            "GET",
            "/api/public/v1/events?township=330281001",
            None,
            None,
        )
        .await;
        assert_eq!(v["total"], 0, "梨洲街道 has none");
        let (s, v) = call(
            &app,
            "GET",
            "/api/public/v1/events?status=nonsense",
            None,
            None,
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("status"))
        );
        let (s, v) = call(
            &app,
            "GET",
            "/api/public/v1/stats?from=2026-13-01",
            None,
            None,
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("from"))
        );

        let (s, v) = call(&app, "GET", "/api/public/v1/stats", None, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let fs = v["by_township"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "凤山街道")
            .unwrap()
            .clone();
        assert_eq!(fs["received"], 3);
        assert_eq!(fs["accepted"], 1);
        assert_eq!(fs["resolved"], 1);
        assert_eq!(fs["resolved_on_time"], 1);
        assert_eq!(fs["on_time_share"], 1.0);
        let cat = &v["by_category"][0];
        assert_eq!(
            (cat["name"].as_str(), cat["received"].as_i64()),
            (Some("城市管理"), Some(3))
        );
        assert_eq!(v["total"]["received"], 3);
        let (_, v) = call(
            &app,
            "GET",
            "/api/public/v1/stats?township=330281001",
            None,
            None,
        )
        .await;
        assert_eq!(v["total"]["received"], 0);

        let (s, page) = raw(&app, "GET", "/public", None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("凤山街道") && page.contains("100%") && page.contains("按期办结率"));
        let (s, page) = raw(&app, "GET", "/public/events?status=informed", None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains(&done.number) && !page.contains(&fresh.number));
    }
}

#[test]
fn the_scan_finds_what_it_looks_for() {
    assert!(has_mobile("电话13812345678。"));
    assert!(has_mobile("x19900000000"));
    assert!(!has_mobile("138****5678 与 12345678901"));
    assert!(has_id_number(ID_NUMBER));
    assert!(has_id_number("33028119900101123X"));
    assert!(!has_id_number("330***********1235"));
    assert!(!has_mobile("ZL20261201000001") && !has_id_number("ZL20261201000001"));
}

/// Signs in on the pages; the session cookie.
async fn page_login(app: &Router, username: &str) -> String {
    let req = Request::builder()
        .method("POST")
        .uri("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("username={username}&password={PW}")))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "login of {username}");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("zhili_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_event_page_shows_the_check_code_to_those_who_talk_to_the_reporter() {
    for (app, _) in apps(FeedbackSettings::default()).await {
        let fengshan = login(&app, "fengshan").await;
        let e = report(&app, &fengshan, "hotline_12345").await;
        for (user, shown) in [("fengshan", true), ("oversight", false)] {
            let cookie = page_login(&app, user).await;
            let req = Request::get(format!("/events/{}", e.id))
                .header("cookie", &cookie)
                .body(Body::empty())
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
                .await
                .unwrap();
            let page = String::from_utf8_lossy(&bytes);
            assert_eq!(page.contains("查询码"), shown, "{user}");
            assert_eq!(
                page.contains(&format!("<strong>{}</strong>", e.check_code)),
                shown,
                "{user}"
            );
        }
    }
}

/// PI-02: the notice in force is readable by anyone, in both languages; every event
/// taken in records the version its reporter was given, and an older version stays
/// readable after the text changed.
#[tokio::test]
async fn every_event_records_the_processing_notice_its_reporter_was_given() {
    use zhili_domain::{NoticeTerms, ProcessingNotice};
    let terms = |days| NoticeTerms {
        retention_days: days,
        contact: "拨打 12345".into(),
    };
    for (app, store) in apps(FeedbackSettings::default()).await {
        let v1 = store
            .publish_notice(&ProcessingNotice::render(&terms(730)), Utc::now())
            .await
            .unwrap();
        // Published again (a second instance, a restart): the same version, once.
        assert_eq!(
            store
                .publish_notice(&ProcessingNotice::render(&terms(730)), Utc::now())
                .await
                .unwrap(),
            v1
        );
        let (s, n) = call(&app, "GET", "/api/public/v1/notice", None, None).await;
        assert_eq!(s, StatusCode::OK, "{n}");
        assert_eq!(n["version"], v1.as_str());
        assert!(n["text_zh"].as_str().unwrap().contains("730 天"), "{n}");
        assert!(n["text_en"].as_str().unwrap().contains("730 days"), "{n}");
        let (s, page) = raw(&app, "GET", "/public/notice", None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains("个人信息处理告知") && page.contains(&v1),
            "{page}"
        );

        let fengshan = login(&app, "fengshan").await;
        let first = report(&app, &fengshan, "hotline_12345").await;
        let (_, d) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{}", first.id),
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(d["notice_version"], v1.as_str(), "{d}");

        // The retention period changes: a new version, recorded from then on.
        let v2 = store
            .publish_notice(&ProcessingNotice::render(&terms(365)), Utc::now())
            .await
            .unwrap();
        assert_ne!(v1, v2);
        let second = report(&app, &fengshan, "web_form").await;
        for (id, version) in [(first.id, &v1), (second.id, &v2)] {
            let (_, d) = call(
                &app,
                "GET",
                &format!("/api/v1/events/{id}"),
                Some(&fengshan),
                None,
            )
            .await;
            assert_eq!(d["notice_version"], version.as_str(), "{d}");
        }
        // What the first reporter was told is still there, word for word.
        let (s, old) = call(
            &app,
            "GET",
            &format!("/api/public/v1/notice?version={v1}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(old["text_zh"], n["text_zh"]);
        let (s, _) = call(
            &app,
            "GET",
            "/api/public/v1/notice?version=N-000000000000",
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, page) = raw(&app, "GET", "/public/notice?version=N-000000000000", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{page}");
    }
}

//! Supervision in the browser, through the real router on every backend: the
//! event page's 督办 section with its reply form, the supervise form with level,
//! due date and leader, and the /supervision list with the focus share.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use tower::ServiceExt;
use zhili_server::{AppState, ServerConfig, app, hash_password};
use zhili_storage::testing::{fresh_stores, with_small_city};

const PW: &str = "pw";

struct Resp {
    status: StatusCode,
    location: Option<String>,
    cookie: Option<String>,
    body: String,
}

async fn send(app: &Router, req: Request<Body>) -> Resp {
    let res = app.clone().oneshot(req).await.expect("router answers");
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    let cookie = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("zhili_session="))
        .map(|c| c.split(';').next().unwrap().to_string());
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body");
    Resp {
        status,
        location,
        cookie,
        body: String::from_utf8(bytes.to_vec()).expect("utf-8 body"),
    }
}

async fn get(app: &Router, path: &str, cookie: &str) -> Resp {
    let req = Request::get(path).header(header::COOKIE, cookie);
    send(app, req.body(Body::empty()).unwrap()).await
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn post(app: &Router, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Resp {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut req =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(app, req.body(Body::from(body)).unwrap()).await
}

/// A signed-in browser: its cookie and the CSRF token its pages carry.
struct Session {
    cookie: String,
    csrf: String,
}

fn between<'a>(html: &'a str, before: &str, after: char) -> Option<&'a str> {
    let start = html.find(before)? + before.len();
    let len = html[start..].find(after)?;
    Some(&html[start..start + len])
}

async fn login(app: &Router, username: &str) -> Session {
    let r = post(
        app,
        "/login",
        None,
        &[("username", username), ("password", PW)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "login of {username}");
    let cookie = r.cookie.expect("session cookie");
    let page = get(app, "/events", &cookie).await;
    Session {
        csrf: between(&page.body, "name=\"csrf\" value=\"", '"')
            .expect("csrf")
            .to_string(),
        cookie,
    }
}

async fn form(app: &Router, s: &Session, path: &str, fields: &[(&str, &str)]) -> Resp {
    let mut all = vec![("csrf", s.csrf.as_str())];
    all.extend_from_slice(fields);
    post(app, path, Some(&s.cookie), &all).await
}

#[tokio::test]
async fn the_event_page_shows_its_orders_and_the_list_shows_the_focus_share() {
    for store in fresh_stores().await {
        with_small_city(&store, &hash_password(PW)).await;
        let app = app(AppState::new(store, ServerConfig::default()));
        let fengshan = login(&app, "fengshan").await;
        let city = login(&app, "city").await;
        let oversight = login(&app, "oversight").await;
        let citizen = login(&app, "citizen1").await;

        let r = form(
            &app,
            &fengshan,
            "/events",
            &[
                ("text", "舜北社区夜间施工噪音扰民"),
                ("category", "0101"),
                ("grid", "33028100200101"),
                ("reporter_kind", "citizen"),
                ("reporter_name", "张三"),
                ("reporter_phone", "13812345678"),
                ("channel", "hotline_12345"),
                ("priority", "normal"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let event = r.location.unwrap();
        let r = form(
            &app,
            &fengshan,
            &format!("{event}/actions"),
            &[("action", "accept")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

        // 噪音扰民 is a focus issue: listed supervision by the system, answerable by
        // the township's room.
        let page = get(&app, &event, &fengshan.cookie).await;
        assert!(page.body.contains("督办（1）"), "{}", page.body);
        assert!(page.body.contains("挂牌督办"));
        assert!(page.body.contains("系统（焦点问题自动挂牌督办）"));
        let reply_path = between(&page.body, "action=\"/supervision/", '"')
            .map(|p| format!("/supervision/{p}"))
            .expect("a reply form");
        assert!(reply_path.ends_with("/reply"), "{reply_path}");

        // The supervise form asks for level, due date and leader; a leader-owned
        // case without its leader is refused on the page.
        let page = get(&app, &event, &city.cookie).await;
        assert!(page.body.contains("name=\"due_date\"") && page.body.contains("包案督办"));
        let tomorrow = (Utc::now() + Duration::hours(8) + Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        let fields = [
            ("action", "supervise"),
            ("level", "leader_owned"),
            ("due_date", tomorrow.as_str()),
            ("note", "请加快办理"),
            ("leader", ""),
        ];
        let r = form(&app, &city, &format!("{event}/actions"), &fields).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("包案督办须填写包案领导姓名"), "{}", r.body);
        let mut fields = fields;
        fields[4] = ("leader", "张副主任");
        let r = form(&app, &city, &format!("{event}/actions"), &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

        // The township room answers the focus order; the event page shows the reply.
        let r = form(
            &app,
            &fengshan,
            &reply_path,
            &[("text", "已约谈施工方，夜间停工")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let back = r.location.unwrap();
        assert!(
            back.starts_with(&format!("{event}?done=supervision_reply")),
            "{back}"
        );
        let page = get(&app, &back, &fengshan.cookie).await;
        assert!(page.body.contains("已约谈施工方，夜间停工"));
        assert!(page.body.contains("已完成「回复督办」"));
        let r = form(&app, &fengshan, &reply_path, &[("text", " ")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        // The list: both orders, the share at 100%.
        let list = get(&app, "/supervision", &city.cookie).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(
            list.body.contains("焦点问题督办率") && list.body.contains("100.0%"),
            "{}",
            list.body
        );
        assert!(list.body.contains("包案督办") && list.body.contains("张副主任"));
        assert!(list.body.contains("共 2 件"));
        let listed = get(&app, "/supervision?level=listed&status=bogus", &city.cookie).await;
        assert!(listed.body.contains("共 1 件") && listed.body.contains("未知督办状态"));

        // Oversight reads without forms; a citizen has no supervision pages.
        let o = get(&app, &event, &oversight.cookie).await;
        assert!(o.body.contains("督办（2）") && !o.body.contains("回复督办</h4>"));
        assert_eq!(
            get(&app, "/supervision", &oversight.cookie).await.status,
            StatusCode::OK
        );
        let r = form(&app, &oversight, &reply_path, &[("text", "已阅")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            get(&app, "/supervision", &citizen.cookie).await.status,
            StatusCode::FORBIDDEN
        );
    }
}

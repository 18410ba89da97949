//! The server-rendered pages, driven like a browser through the real router: cookies,
//! form posts with CSRF tokens, redirects. Runs on every store `fresh_stores` gives.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::page::{Resp, Session, get, login_as, post, send};
use zhili_server::{AppState, ServerConfig, app, hash_password};
use zhili_storage::Store;
use zhili_storage::testing::{fresh_stores, with_small_city};

const PW: &str = "pw";

async fn setup(store: Store, demo_mode: bool) -> Router {
    with_small_city(&store, &hash_password(PW)).await;
    app(AppState::new(
        store,
        ServerConfig {
            demo_mode,
            ..common::config()
        },
    ))
}

async fn login(app: &Router, username: &str) -> Session {
    login_as(app, username, PW).await
}

/// Reports an event through the form as `s`; returns its id.
async fn report(app: &Router, s: &Session, text: &str) -> i64 {
    let r = post(
        app,
        "/events",
        Some(&s.cookie),
        &[
            ("csrf", &s.csrf),
            ("text", text),
            ("category", "0101"),
            ("grid", "33028100200101"),
            ("township", ""),
            ("address", "舜北路 1 号"),
            ("lon", ""),
            ("lat", ""),
            ("reporter_kind", "citizen"),
            ("reporter_name", "张三"),
            ("reporter_phone", "13812345678"),
            ("channel", "hotline_12345"),
            ("priority", "normal"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "create: {}", r.body);
    let loc = r.location.expect("redirect to the event");
    loc.strip_prefix("/events/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("unexpected location {loc}"))
}

async fn act(app: &Router, s: &Session, id: i64, form: &[(&str, &str)]) -> Resp {
    let mut all = vec![("csrf", s.csrf.as_str())];
    all.extend_from_slice(form);
    post(app, &format!("/events/{id}/actions"), Some(&s.cookie), &all).await
}

async fn act_ok(app: &Router, s: &Session, id: i64, form: &[(&str, &str)]) {
    let r = act(app, s, id, form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{form:?}: {}", r.body);
    let loc = r.location.unwrap();
    assert!(loc.starts_with(&format!("/events/{id}?done=")), "{loc}");
    let page = get(app, &loc, Some(&s.cookie)).await;
    assert!(page.body.contains("已完成「"), "confirmation shown");
}

#[tokio::test]
async fn pages_need_a_session_and_the_login_page_shows_demo_accounts_only_in_demo_mode() {
    for store in fresh_stores().await {
        let demo = setup(store, true).await;
        for path in ["/events", "/events/new", "/events/1", "/"] {
            let r = get(&demo, path, None).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(r.location.as_deref(), Some("/login"), "{path}");
        }
        let r = get(&demo, "/events", Some("zhili_session=forged")).await;
        assert_eq!(r.location.as_deref(), Some("/login"));
        assert!(
            r.set_cookie.iter().any(|c| c.contains("Max-Age=0")),
            "stale cookie cleared"
        );
        let r = post(&demo, "/events/1/actions", None, &[("action", "accept")]).await;
        assert_eq!(r.location.as_deref(), Some("/login"));

        let page = get(&demo, "/login", None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("<label for=\"username\">用户名</label>"));
        assert!(page.body.contains("演示账号"));
        assert!(page.body.contains("zhili-demo"));
        for user in [
            "admin",
            "city",
            "fengshan",
            "lizhou",
            "zhujian",
            "grid1",
            "oversight",
            "citizen1",
        ] {
            assert!(
                page.body.contains(&format!("<code>{user}</code>")),
                "{user} listed"
            );
        }

        let css = get(&demo, "/static/app.css", None).await;
        assert_eq!(css.status, StatusCode::OK);
        assert!(css.body.contains("@media"));
    }
    for store in fresh_stores().await {
        let prod = setup(store, false).await;
        let page = get(&prod, "/login", None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("演示账号"));
        assert!(!page.body.contains("zhili-demo"));
        assert!(!page.body.contains("<code>fengshan</code>"));
    }
}

#[tokio::test]
async fn login_sets_the_cookie_bad_credentials_do_not_and_logout_ends_the_session() {
    for store in fresh_stores().await {
        let app = setup(store, false).await;
        let bad = post(
            &app,
            "/login",
            None,
            &[("username", "fengshan"), ("password", "wrong")],
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        assert!(bad.body.contains("用户名、密码或动态口令错误"));
        assert!(bad.body.contains("value=\"fengshan\""), "username kept");
        assert!(bad.set_cookie.is_empty());
        let nobody = post(
            &app,
            "/login",
            None,
            &[("username", "nobody"), ("password", PW)],
        )
        .await;
        assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
        assert!(nobody.body.contains("用户名、密码或动态口令错误"));
        assert!(nobody.set_cookie.is_empty());

        let good = post(
            &app,
            "/login",
            None,
            &[("username", "fengshan"), ("password", PW)],
        )
        .await;
        assert_eq!(good.status, StatusCode::SEE_OTHER);
        let set = good.set_cookie.join("\n");
        assert!(set.contains("zhili_session="));
        assert!(set.contains("HttpOnly"));

        let s = login(&app, "fengshan").await;
        let list = get(&app, "/events", Some(&s.cookie)).await;
        assert!(list.body.contains("凤山指挥室"));
        assert!(list.body.contains("乡镇（街道）综合指挥室"));
        assert!(list.body.contains("href=\"/events/new\""));
        let r = get(&app, "/", Some(&s.cookie)).await;
        assert_eq!(r.location.as_deref(), Some("/events"));
        let r = get(&app, "/login", Some(&s.cookie)).await;
        assert_eq!(r.location.as_deref(), Some("/events"));

        // Logout needs the token too.
        let r = post(&app, "/logout", Some(&s.cookie), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            get(&app, "/events", Some(&s.cookie)).await.status,
            StatusCode::OK
        );
        let r = post(&app, "/logout", Some(&s.cookie), &[("csrf", &s.csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location.as_deref(), Some("/login"));
        assert!(r.set_cookie.iter().any(|c| c.contains("Max-Age=0")));
        let r = get(&app, "/events", Some(&s.cookie)).await;
        assert_eq!(r.location.as_deref(), Some("/login"), "session is gone");
    }
}

#[tokio::test]
async fn an_event_lives_its_whole_life_in_the_browser() {
    for store in fresh_stores().await {
        let app = setup(store.clone(), false).await;
        let zj = store
            .org_by_code("D-ZJ")
            .await
            .unwrap()
            .expect("D-ZJ")
            .id
            .0
            .to_string();
        let pcs = store
            .org_by_code("S-330281002-PCS")
            .await
            .unwrap()
            .expect("pcs")
            .id
            .0
            .to_string();
        let fengshan = login(&app, "fengshan").await;

        let form = get(&app, "/events/new", Some(&fengshan.cookie)).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(
            form.body
                .contains("<option value=\"hotline_12345\" selected>"),
            "operators default to 12345"
        );
        assert!(form.body.contains("<optgroup label=\"城市管理\""));
        assert!(
            form.body.contains("value=\"330281002\" selected>"),
            "own township preselected"
        );

        let id = report(&app, &fengshan, "小区门口夜间施工噪音扰民，持续到凌晨").await;
        let page = get(&app, &format!("/events/{id}"), Some(&fengshan.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("小区门口夜间施工噪音扰民"));
        assert!(page.body.contains("status-reported"));
        // The caller's phone is masked even for the operator, who reveals it
        // with a reason when calling back; the reveal shows it in that answer only.
        assert!(page.body.contains("138****5678"), "masked by default");
        assert!(!page.body.contains("13812345678"));
        let shown = post(
            &app,
            &format!("/events/{id}/reveal"),
            Some(&fengshan.cookie),
            &[("csrf", &fengshan.csrf), ("reason", "x")],
        )
        .await;
        assert_eq!(shown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            shown.body.contains("请说明查看联系方式的原因"),
            "{}",
            shown.body
        );
        let shown = post(
            &app,
            &format!("/events/{id}/reveal"),
            Some(&fengshan.cookie),
            &[("csrf", &fengshan.csrf), ("reason", "回访联系")],
        )
        .await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.body.contains("tel:13812345678"), "{}", shown.body);
        assert!(shown.body.contains("回访联系"));
        let again = get(&app, &format!("/events/{id}"), Some(&fengshan.cookie)).await;
        assert!(
            !again.body.contains("13812345678"),
            "masked again on the next look"
        );
        assert!(page.body.contains("name=\"action\" value=\"accept\""));
        assert!(page.body.contains("name=\"action\" value=\"reject\""));
        assert!(!page.body.contains("name=\"action\" value=\"close\""));
        let list = get(&app, "/events", Some(&fengshan.cookie)).await;
        assert!(list.body.contains(&format!("href=\"/events/{id}\"")));
        assert!(list.body.contains("噪音扰民"));

        act_ok(&app, &fengshan, id, &[("action", "accept"), ("note", "")]).await;
        let page = get(&app, &format!("/events/{id}"), Some(&fengshan.cookie)).await;
        assert!(
            page.body.contains("余姚市住房和城乡建设局"),
            "dispatch offers departments"
        );
        assert!(
            page.body.contains("凤山派出所"),
            "and the township's stationed units"
        );
        assert!(
            !page.body.contains("梨洲派出所"),
            "but not another township's"
        );
        act_ok(
            &app,
            &fengshan,
            id,
            &[
                ("action", "dispatch"),
                ("lead_unit", &zj),
                ("assisting_units", &pcs),
                ("note", "请住建局牵头处置"),
            ],
        )
        .await;

        let zhujian = login(&app, "zhujian").await;
        let list = get(&app, "/events", Some(&zhujian.cookie)).await;
        assert!(
            list.body.contains(&format!("href=\"/events/{id}\"")),
            "the unit sees its event"
        );
        act_ok(&app, &zhujian, id, &[("action", "sign"), ("note", "")]).await;
        act_ok(
            &app,
            &zhujian,
            id,
            &[
                ("action", "resolve"),
                ("result", "已责令施工方夜间停工，噪音消除"),
            ],
        )
        .await;

        act_ok(
            &app,
            &fengshan,
            id,
            &[("action", "verify_pass"), ("note", "现场核实")],
        )
        .await;
        act_ok(
            &app,
            &fengshan,
            id,
            &[
                ("action", "inform"),
                ("channel", "phone"),
                ("note", "已电话告知"),
            ],
        )
        .await;
        // The caller has no account: the command room records the follow-up call's rating.
        act_ok(
            &app,
            &fengshan,
            id,
            &[
                ("action", "rate"),
                ("satisfaction", "satisfied"),
                ("comment", "处理及时"),
            ],
        )
        .await;
        act_ok(&app, &fengshan, id, &[("action", "close"), ("note", "")]).await;

        let page = get(&app, &format!("/events/{id}"), Some(&fengshan.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("status-closed"));
        assert!(page.body.contains("已归档"));
        assert!(page.body.contains("满意"));
        assert!(page.body.contains("凤山派出所"), "assisting unit shown");
        for step in [
            "上报",
            "受理",
            "分派",
            "签收",
            "办结",
            "核查通过",
            "反馈",
            "评价",
            "归档",
        ] {
            assert!(
                page.body.contains(&format!("<strong>{step}</strong>")),
                "timeline has {step}"
            );
        }
        assert!(page.body.contains("已责令施工方夜间停工，噪音消除"));
        assert!(
            page.body.contains("凤山指挥室（乡镇（街道）综合指挥室）"),
            "actors named"
        );
        assert!(page.body.contains("已反馈 → 已评价"));
        assert!(page.body.contains("当前状态下您没有可执行的操作"));

        // Oversight follows the whole process, read-only and without personal data.
        let oversight = login(&app, "oversight").await;
        let page = get(&app, &format!("/events/{id}"), Some(&oversight.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("138****5678"));
        assert!(!page.body.contains("13812345678"));
        assert!(page.body.contains("已脱敏"));
        let list = get(&app, "/events", Some(&oversight.cookie)).await;
        assert!(
            !list.body.contains("href=\"/events/new\""),
            "no 上报事件 for oversight"
        );
        let r = get(&app, "/events/new", Some(&oversight.cookie)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn a_post_without_the_right_csrf_token_is_refused_and_changes_nothing() {
    for store in fresh_stores().await {
        let app = setup(store, false).await;
        let s = login(&app, "fengshan").await;
        let id = report(&app, &s, "路灯不亮").await;
        let path = format!("/events/{id}/actions");
        for form in [
            vec![("action", "accept")],
            vec![("csrf", "0000"), ("action", "accept")],
            vec![("csrf", ""), ("action", "accept")],
        ] {
            let r = post(&app, &path, Some(&s.cookie), &form).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{form:?}");
            assert!(r.body.contains("安全校验失败"));
        }
        // Another user's token is no good either.
        let other = login(&app, "city").await;
        let r = post(
            &app,
            &path,
            Some(&s.cookie),
            &[("csrf", &other.csrf), ("action", "accept")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let page = get(&app, &format!("/events/{id}"), Some(&s.cookie)).await;
        assert!(page.body.contains("status-reported"), "still reported");
        assert!(
            !page.body.contains("<strong>受理</strong>"),
            "no timeline entry"
        );

        let r = post(
            &app,
            "/events",
            Some(&s.cookie),
            &[
                ("text", "无令牌上报"),
                ("township", "330281002"),
                ("channel", "hotline_12345"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let list = get(&app, "/events", Some(&s.cookie)).await;
        assert!(list.body.contains("共 1 条"), "nothing created");
    }
}

#[tokio::test]
async fn another_township_neither_sees_nor_touches_the_event() {
    for store in fresh_stores().await {
        let app = setup(store, false).await;
        let fengshan = login(&app, "fengshan").await;
        let id = report(&app, &fengshan, "凤山的事件").await;
        let lizhou = login(&app, "lizhou").await;
        let r = get(&app, &format!("/events/{id}"), Some(&lizhou.cookie)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(r.body.contains("未找到"));
        assert!(!r.body.contains("凤山的事件"));
        let r = act(&app, &lizhou, id, &[("action", "accept")]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let list = get(&app, "/events", Some(&lizhou.cookie)).await;
        assert!(list.body.contains("共 0 条"));
        assert!(!list.body.contains(&format!("/events/{id}\"")));
        assert!(!list.body.contains("凤山的事件"));
        let r = get(&app, "/events/999999", Some(&fengshan.cookie)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = get(&app, "/events/abc", Some(&fengshan.cookie)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let page = get(&app, &format!("/events/{id}"), Some(&fengshan.cookie)).await;
        assert!(page.body.contains("status-reported"), "untouched");
    }
}

#[tokio::test]
async fn illegal_actions_and_bad_input_are_explained_on_the_page() {
    for store in fresh_stores().await {
        let app = setup(store, false).await;
        let s = login(&app, "fengshan").await;
        let id = report(&app, &s, "违章搭建").await;

        let r = act(&app, &s, id, &[("action", "close"), ("note", "")]).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.body.contains("当前状态为「上报」"), "{}", r.body);
        assert!(r.body.contains("不能执行「归档」"));
        assert!(r.body.contains("违章搭建"), "the event is still shown");

        let r = act(&app, &s, id, &[("action", "reject"), ("note", "重复")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("请选择不予受理的原因"));
        assert!(r.body.contains(">重复</textarea>"), "the note is kept");

        let r = act(
            &app,
            &s,
            id,
            &[
                ("action", "reject"),
                ("reason", "duplicate"),
                ("note", "  "),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

        let zhujian = login(&app, "zhujian").await;
        let r = act(&app, &zhujian, id, &[("action", "sign")]).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "not dispatched to this unit: out of scope"
        );

        // The new-event form names the field at fault and keeps the input.
        let r = post(
            &app,
            "/events",
            Some(&s.cookie),
            &[
                ("csrf", &s.csrf),
                ("text", "楼道堆物"),
                ("township", "330281002"),
                ("address", "舜北路 9 号"),
                ("reporter_kind", "citizen"),
                ("reporter_phone", "123"),
                ("channel", "hotline_12345"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.body.contains("id=\"e-reporter-phone\""),
            "error next to the phone field"
        );
        assert!(r.body.contains("value=\"舜北路 9 号\""), "input kept");
        assert!(r.body.contains(">楼道堆物</textarea>"));
        let r = post(
            &app,
            "/events",
            Some(&s.cookie),
            &[
                ("csrf", &s.csrf),
                ("text", " "),
                ("township", "330281002"),
                ("channel", "hotline_12345"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("id=\"e-text\""));
        let r = post(
            &app,
            "/events",
            Some(&s.cookie),
            &[
                ("csrf", &s.csrf),
                ("text", "梨洲的事"),
                ("township", "330281001"),
                ("channel", "hotline_12345"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("不在您的辖区内"));
        assert!(r.body.contains("id=\"e-township\""));
        let r = post(
            &app,
            "/events",
            Some(&s.cookie),
            &[
                ("csrf", &s.csrf),
                ("text", "有经度没纬度"),
                ("township", "330281002"),
                ("lon", "121.1"),
                ("channel", "hotline_12345"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("id=\"e-location\""));
    }
}

#[tokio::test]
async fn user_text_is_escaped() {
    for store in fresh_stores().await {
        let app = setup(store, false).await;
        let s = login(&app, "fengshan").await;
        let id = report(&app, &s, "<script>alert(1)</script> & \"quotes\"").await;
        for path in [format!("/events/{id}"), "/events".to_string()] {
            let page = get(&app, &path, Some(&s.cookie)).await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(!page.body.contains("<script>"), "{path}");
            assert!(
                page.body
                    .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
                "{path}"
            );
        }
        let page = get(&app, "/events?q=%3Cscript%3E", Some(&s.cookie)).await;
        assert!(!page.body.contains("<script>"));
        assert!(
            page.body.contains("value=\"&#60;script&#62;\""),
            "search box escaped"
        );
        assert!(page.body.contains("共 1 条"));
    }
}

#[tokio::test]
async fn the_list_filters_sorts_and_pages() {
    for store in fresh_stores().await {
        let app = setup(store, false).await;
        let s = login(&app, "fengshan").await;
        for i in 0..23 {
            report(&app, &s, &format!("第{i}号 噪音")).await;
        }
        let first = get(&app, "/events", Some(&s.cookie)).await;
        assert!(first.body.contains("共 23 条，第 1 / 2 页"));
        assert!(first.body.contains("第22号 噪音"), "newest first");
        assert!(first.body.contains("rel=\"next\""));
        let second = get(&app, "/events?q=%E5%99%AA&page=2", Some(&s.cookie)).await;
        assert!(second.body.contains("第 2 / 2 页"));
        assert!(second.body.contains("rel=\"prev\""));
        assert!(
            second.body.contains("q=%E5%99%AA"),
            "filters kept in page links"
        );
        let one = get(&app, "/events?q=%E7%AC%AC7%E5%8F%B7", Some(&s.cookie)).await;
        assert!(one.body.contains("共 1 条"));
        let none = get(
            &app,
            "/events?status=closed&category=01&township=330281002",
            Some(&s.cookie),
        )
        .await;
        assert!(none.body.contains("共 0 条"));
        assert!(none.body.contains("<option value=\"closed\" selected>"));
        let bad = get(
            &app,
            "/events?status=nonsense&from=yesterday&page=x&sort=up",
            Some(&s.cookie),
        )
        .await;
        assert_eq!(bad.status, StatusCode::OK);
        assert!(bad.body.contains("未知状态「nonsense」"));
        assert!(bad.body.contains("共 23 条"));
        let dated = get(
            &app,
            "/events?from=2000-01-01&to=2000-01-02",
            Some(&s.cookie),
        )
        .await;
        assert!(dated.body.contains("共 0 条"));
        let oldest = get(&app, "/events?sort=reported_at", Some(&s.cookie)).await;
        assert!(oldest.body.contains("第0号 噪音"));
    }
}

#[tokio::test]
async fn the_command_room_sees_a_failing_110_exchange_on_its_list_page() {
    for store in fresh_stores().await {
        let app = setup(store.clone(), false).await;
        let fengshan = login(&app, "fengshan").await;
        let id = report(&app, &fengshan, "菜场门口有人持械斗殴").await;
        act_ok(
            &app,
            &fengshan,
            id,
            &[("action", "transfer_110"), ("reason", "属警情，移交110")],
        )
        .await;
        let page = get(&app, "/events", Some(&fengshan.cookie)).await;
        assert!(
            !page.body.contains("对外通道异常"),
            "nothing has failed yet"
        );

        // A delivery attempt fails (110 unreachable).
        let now = chrono::Utc::now();
        let msgs = store
            .lease_outbox(
                "test",
                zhili_storage::TOPIC_110,
                now,
                chrono::Duration::seconds(60),
                10,
            )
            .await
            .unwrap();
        assert_eq!(msgs.len(), 1);
        store
            .outbox_failed(
                &msgs[0],
                "test",
                "receiver unreachable: connection refused",
                now,
            )
            .await
            .unwrap();
        let page = get(&app, "/events", Some(&fengshan.cookie)).await;
        assert!(page.body.contains("对外通道异常"), "{}", page.body);
        assert!(page.body.contains("connection refused"));
        // A grid worker's list does not carry the command room's alarms.
        let grid1 = login(&app, "grid1").await;
        assert!(
            !get(&app, "/events", Some(&grid1.cookie))
                .await
                .body
                .contains("对外通道异常")
        );

        // The command centre's counts link to the messages behind them: the failed
        // hand-over, its event, how often it failed and why.
        let event_link = format!("href=\"/events/{id}\"");
        let city = login(&app, "city").await;
        let command = get(&app, "/command", Some(&city.cookie)).await;
        assert!(command.body.contains("href=\"/outbox?failing=1\""));
        for path in ["/outbox", "/outbox?failing=1"] {
            let list = get(&app, path, Some(&city.cookie)).await;
            assert_eq!(list.status, StatusCode::OK, "{path}");
            assert!(list.body.contains("发送失败（1）"), "{path}: {}", list.body);
            assert!(list.body.contains(&event_link), "{path}");
            assert!(list.body.contains("移交110"));
            assert!(list.body.contains("connection refused"));
        }
        // The township whose event it is sees it; another township does not, in
        // its counts either.
        let own = get(&app, "/outbox", Some(&fengshan.cookie)).await;
        assert!(own.body.contains(&event_link));
        let lizhou = login(&app, "lizhou").await;
        let other = get(&app, "/outbox", Some(&lizhou.cookie)).await;
        assert_eq!(other.status, StatusCode::OK);
        assert!(!other.body.contains(&event_link));
        assert!(other.body.contains("全部待发送（0）"), "{}", other.body);
        assert!(
            !get(&app, "/events", Some(&lizhou.cookie))
                .await
                .body
                .contains("对外通道异常")
        );
        // Units and grid workers have no business with the outbound queue.
        assert_eq!(
            get(&app, "/outbox", Some(&grid1.cookie)).await.status,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn the_command_room_turns_a_recurring_problem_into_a_topic_on_its_page() {
    for store in fresh_stores().await {
        let app = setup(store.clone(), false).await;
        let actor = store
            .user_by_username("fengshan")
            .await
            .unwrap()
            .unwrap()
            .actor;
        for i in 0..3 {
            let new = zhili_domain::NewEvent::parse(zhili_domain::RawNewEvent {
                channel: "web_form".into(),
                text: format!("菜场门口垃圾乱堆第{i}次"),
                category: Some("0102".into()),
                grid: Some("33028100200101".into()),
                location: Some(zhili_domain::event::RawLocation {
                    lon: 121.155,
                    lat: 30.002,
                    crs: None,
                }),
                ..Default::default()
            })
            .unwrap();
            store
                .events_for(&actor)
                .create(&new, chrono::Utc::now())
                .await
                .unwrap();
        }
        store.detect_recurring(chrono::Utc::now()).await.unwrap();
        let fengshan = login(&app, "fengshan").await;
        let page = get(&app, "/recurring", Some(&fengshan.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("凤山街道 · 违章搭建 · 3 起"),
            "{}",
            page.body
        );
        let marker = "action=\"/recurring/";
        let at = page.body.find(marker).unwrap() + marker.len();
        let id: String = page.body[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();

        let lizhou = login(&app, "lizhou").await;
        let other = get(&app, "/recurring", Some(&lizhou.cookie)).await;
        assert!(
            !other.body.contains("3 起"),
            "another township sees nothing"
        );
        let r = post(
            &app,
            &format!("/recurring/{id}/topic"),
            Some(&lizhou.cookie),
            &[("csrf", &lizhou.csrf), ("title", "越权")],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        let r = post(
            &app,
            &format!("/recurring/{id}/topic"),
            Some(&fengshan.cookie),
            &[("csrf", &fengshan.csrf), ("title", "菜场门口垃圾治理专题")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = get(&app, "/recurring", Some(&fengshan.cookie)).await;
        assert!(page.body.contains("菜场门口垃圾治理专题") && page.body.contains("治理中"));
        let marker = "action=\"/topics/";
        let at = page.body.find(marker).unwrap() + marker.len();
        let tid: String = page.body[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let r = post(
            &app,
            &format!("/topics/{tid}/close"),
            Some(&fengshan.cookie),
            &[("csrf", &fengshan.csrf), ("root_cause", "")],
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "the root cause is required"
        );
        let r = post(
            &app,
            &format!("/topics/{tid}/close"),
            Some(&fengshan.cookie),
            &[
                ("csrf", &fengshan.csrf),
                ("root_cause", "菜场缺少垃圾收集点"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = get(&app, "/recurring", Some(&fengshan.cookie)).await;
        assert!(page.body.contains("菜场缺少垃圾收集点") && page.body.contains("已化解"));
    }
}

/// The text between `before` and the next `after` in a page.
fn between<'a>(html: &'a str, before: &str, after: char) -> Option<&'a str> {
    let start = html.find(before)? + before.len();
    let len = html[start..].find(after)?;
    Some(&html[start..start + len])
}

/// A form post as `s`, with its CSRF token.
async fn form(app: &Router, s: &Session, path: &str, fields: &[(&str, &str)]) -> Resp {
    let mut all = vec![("csrf", s.csrf.as_str())];
    all.extend_from_slice(fields);
    post(app, path, Some(&s.cookie), &all).await
}

// Supervision in the browser: the event page's 督办 section with its reply form, the
// supervise form with level, due date and leader, and the /supervision list with the
// focus share.
#[tokio::test]
async fn the_event_page_shows_its_orders_and_the_list_shows_the_focus_share() {
    for store in fresh_stores().await {
        let app = setup(store, false).await;
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
        let page = get(&app, &event, Some(&fengshan.cookie)).await;
        assert!(page.body.contains("督办（1）"), "{}", page.body);
        assert!(page.body.contains("挂牌督办"));
        assert!(page.body.contains("系统（焦点问题自动挂牌督办）"));
        let reply_path = between(&page.body, "action=\"/supervision/", '"')
            .map(|p| format!("/supervision/{p}"))
            .expect("a reply form");
        assert!(reply_path.ends_with("/reply"), "{reply_path}");

        // The supervise form asks for level, due date and leader; a leader-owned
        // case without its leader is refused on the page.
        let page = get(&app, &event, Some(&city.cookie)).await;
        assert!(page.body.contains("name=\"due_date\"") && page.body.contains("包案督办"));
        let tomorrow =
            (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::days(1))
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
        let page = get(&app, &back, Some(&fengshan.cookie)).await;
        assert!(page.body.contains("已约谈施工方，夜间停工"));
        assert!(page.body.contains("已完成「回复督办」"));
        let r = form(&app, &fengshan, &reply_path, &[("text", " ")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        // The list: both orders, the share at 100%.
        let list = get(&app, "/supervision", Some(&city.cookie)).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(
            list.body.contains("焦点问题督办率") && list.body.contains("100.0%"),
            "{}",
            list.body
        );
        assert!(list.body.contains("包案督办") && list.body.contains("张副主任"));
        assert!(list.body.contains("共 2 件"));
        let listed = get(
            &app,
            "/supervision?level=listed&status=bogus",
            Some(&city.cookie),
        )
        .await;
        assert!(listed.body.contains("共 1 件") && listed.body.contains("未知督办状态"));

        // Oversight reads without forms; a citizen has no supervision pages.
        let o = get(&app, &event, Some(&oversight.cookie)).await;
        assert!(o.body.contains("督办（2）") && !o.body.contains("回复督办</h4>"));
        assert_eq!(
            get(&app, "/supervision", Some(&oversight.cookie))
                .await
                .status,
            StatusCode::OK
        );
        let r = form(&app, &oversight, &reply_path, &[("text", "已阅")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            get(&app, "/supervision", Some(&citizen.cookie))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }
}

/// Reports through the form without a category, for the classifier to decide.
async fn report_uncategorised(app: &Router, s: &Session, text: &str) -> i64 {
    let r = form(
        app,
        s,
        "/events",
        &[
            ("text", text),
            ("category", ""),
            ("grid", "33028100200101"),
            ("township", ""),
            ("address", ""),
            ("lon", ""),
            ("lat", ""),
            ("reporter_kind", "citizen"),
            ("reporter_name", ""),
            ("reporter_phone", ""),
            ("channel", "web_form"),
            ("priority", "normal"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "create: {}", r.body);
    r.location
        .and_then(|l| l.strip_prefix("/events/").and_then(|id| id.parse().ok()))
        .expect("redirect to the event")
}

// Classification in the browser: the admin's rule page, an event the rule decides,
// one it cannot, and the command room deciding it in the triage queue.
#[tokio::test]
async fn the_command_room_decides_unsure_categories_in_the_triage_queue() {
    for store in fresh_stores().await {
        let app = setup(store, false).await;
        let admin = login(&app, "admin").await;
        let page = get(&app, "/admin/classification", Some(&admin.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("仅关键词规则"), "no model is loaded");
        let r = form(
            &app,
            &admin,
            "/admin/classification",
            &[
                ("terms", "噪音"),
                ("category", "0101"),
                ("mode", "fill"),
                ("note", ""),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = form(
            &app,
            &admin,
            "/admin/classification",
            &[
                ("terms", ""),
                ("category", "0101"),
                ("mode", "fill"),
                ("note", ""),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("请填写至少一个关键词"));

        let fengshan = login(&app, "fengshan").await;
        let page = get(&app, "/admin/classification", Some(&fengshan.cookie)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        let noise = report_uncategorised(&app, &fengshan, "楼下饭店油烟机噪音很大").await;
        let page = get(&app, &format!("/events/{noise}"), Some(&fengshan.cookie)).await;
        assert!(page.body.contains("智能分类") && page.body.contains("噪音扰民（0101）"));
        assert!(page.body.contains("关键词规则"));

        let lamp = report_uncategorised(&app, &fengshan, "小区路灯坏了一个月").await;
        let page = get(&app, &format!("/events/{lamp}"), Some(&fengshan.cookie)).await;
        assert!(page.body.contains("去分类待办"));
        let queue = get(&app, "/triage", Some(&fengshan.cookie)).await;
        assert_eq!(queue.status, StatusCode::OK);
        assert!(queue.body.contains("小区路灯坏了一个月"));
        assert!(
            !queue.body.contains("油烟机"),
            "decided events are not queued"
        );
        let r = form(
            &app,
            &fengshan,
            &format!("/triage/{lamp}"),
            &[("category", "0102")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location.as_deref(), Some("/triage"));
        let queue = get(&app, "/triage", Some(&fengshan.cookie)).await;
        assert!(queue.body.contains("没有待分类的事件"));
        let page = get(&app, &format!("/events/{lamp}"), Some(&fengshan.cookie)).await;
        assert!(page.body.contains("人工分类") && page.body.contains("违章搭建（0102）"));

        let grid = login(&app, "grid1").await;
        let page = get(&app, "/triage", Some(&grid.cookie)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
    }
}

/// Chinese first: a browser that says nothing gets Chinese; the switch link keeps
/// English in a cookie and goes back to the page; Accept-Language is the fallback.
#[tokio::test]
async fn the_pages_switch_to_english_and_back() {
    for store in fresh_stores().await {
        let app = setup(store, true).await;
        let zh = get(&app, "/login", None).await;
        assert!(zh.body.contains("<html lang=\"zh-CN\">"));
        assert!(zh.body.contains("<label for=\"username\">用户名</label>"));
        assert!(zh.body.contains("href=\"/lang/en\""), "the switch link");

        let req = Request::get("/lang/en")
            .header(header::REFERER, "http://127.0.0.1:8080/login?x=1")
            .body(Body::empty())
            .unwrap();
        let r = send(&app, req).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            r.location.as_deref(),
            Some("/login?x=1"),
            "back to the page"
        );
        let cookie = r
            .set_cookie
            .iter()
            .find(|c| c.starts_with("zhili_lang=en"))
            .expect("language cookie")
            .split(';')
            .next()
            .unwrap()
            .to_string();

        let en = get(&app, "/login", Some(&cookie)).await;
        assert!(en.body.contains("<html lang=\"en\">"));
        assert!(en.body.contains("<label for=\"username\">Username</label>"));
        assert!(
            en.body.contains("<td>Citizen</td>"),
            "role labels in English"
        );
        assert!(en.body.contains("href=\"/lang/zh\""), "and a way back");

        // Signed in, the frame speaks English too; the cookie sits beside the session.
        let s = login(&app, "fengshan").await;
        let both = format!("{}; {cookie}", s.cookie);
        let events = get(&app, "/events", Some(&both)).await;
        assert!(events.body.contains("Sign out"));
        assert!(events.body.contains("Township command room"));
        assert!(!events.body.contains("退出登录"));

        let req = Request::get("/login")
            .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,zh;q=0.5")
            .body(Body::empty())
            .unwrap();
        assert!(send(&app, req).await.body.contains("<html lang=\"en\">"));

        // The link never sends anyone off this server.
        let r = get(&app, "/lang/en?back=//evil.example/", None).await;
        assert_eq!(r.location.as_deref(), Some("/"));
        let r = get(&app, "/lang/zh?back=/events", Some(&cookie)).await;
        assert_eq!(r.location.as_deref(), Some("/events"));
        assert!(r.set_cookie.iter().any(|c| c.starts_with("zhili_lang=zh")));
    }
}

/// IA-12 on the pages: a one-time password's session is sent to /account, which
/// changes the password; then the pages open.
#[tokio::test]
async fn a_one_time_password_leads_to_the_account_page_first() {
    for store in fresh_stores().await {
        let app = setup(store.clone(), false).await;
        // The security administrator: the one who reads the account list below.
        let admin = store.user_by_username("secadmin").await.unwrap().unwrap();
        let current = "Xr4tWq9mLp2zKv7n";
        store
            .reset_password(
                admin.actor.user_id,
                &zhili_storage::Acting::from(&admin.actor),
                &hash_password(current),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let r = post(
            &app,
            "/login",
            None,
            &[("username", "secadmin"), ("password", current)],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location.as_deref(), Some("/account"));
        let cookie = common::page::session_cookie(&r);
        let events = get(&app, "/events", Some(&cookie)).await;
        assert_eq!(
            events.location.as_deref(),
            Some("/account"),
            "nothing else opens"
        );
        let page = get(&app, "/account", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("请先修改密码"), "{}", page.body);
        let csrf = common::page::csrf_in(&page.body);
        let change = |new: &str, again: &str| {
            [
                ("csrf", csrf.clone()),
                ("current_password", current.to_string()),
                ("new_password", new.to_string()),
                ("confirm_password", again.to_string()),
            ]
        };
        let form = change("river-stone-7-lamp", "river-stone-7-lamb");
        let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post(&app, "/account/password", Some(&cookie), &refs).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("两次输入的新密码不一致"));
        let form = change("river-stone-7-lamp", "river-stone-7-lamp");
        let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post(&app, "/account/password", Some(&cookie), &refs).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location.as_deref(), Some("/account?done=password"));
        let admin_users = get(&app, "/admin/users", Some(&cookie)).await;
        assert_eq!(admin_users.status, StatusCode::OK, "the gate is lifted");
        assert!(
            admin_users.body.contains("未绑定"),
            "the list shows who has no second factor"
        );
    }
}

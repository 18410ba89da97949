//! Chat groups (圈群, D1) through the real router, on SQLite and, when ZHILI_TEST_PG
//! is set, PostgreSQL: the webhook stores a message once and makes no event; an
//! operator promotes it into an event of the group's grid (once, however often
//! asked) or dismisses it; scope, roles and bad input; and the command room's page.

use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};

mod common;
use common::page::{self, get, post};
use common::{apps, call, login};

/// 舜北社区第1网格 (凤山街道) and its neighbour; 花园社区第1网格 is in 梨洲街道.
const GRID1: &str = "33028100200101";
const GRID2: &str = "33028100200102";
const LIZHOU_GRID: &str = "33028100100101";

fn message(group: &str, id: &str, text: &str) -> Value {
    json!({
        "group_id": group,
        "group_name": "舜北社区1网格居民群",
        "message_id": id,
        "sender": {"name": "王五", "phone": "13812345678"},
        "text": text,
        "images": ["https://img.example.cn/a.jpg"],
        "sent_at": "2026-05-01T08:30:00+08:00"
    })
}

async fn push(app: &Router, token: &str, body: &Value) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        "/api/v1/channels/chat/messages",
        Some(token),
        Some(&body.to_string()),
    )
    .await
}

async fn register(app: &Router, token: &str, group: &str, body: Value) -> (StatusCode, Value) {
    call(
        app,
        "PUT",
        &format!("/api/v1/chat/groups/{group}"),
        Some(token),
        Some(&body.to_string()),
    )
    .await
}

async fn messages(app: &Router, token: &str, query: &str) -> Value {
    let (s, v) = call(
        app,
        "GET",
        &format!("/api/v1/chat/messages{query}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn event_total(app: &Router, token: &str) -> i64 {
    let (s, v) = call(app, "GET", "/api/v1/events", Some(token), None).await;
    assert_eq!(s, StatusCode::OK);
    v["total"].as_i64().unwrap()
}

async fn promote(app: &Router, token: &str, id: i64, body: Option<Value>) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        &format!("/api/v1/chat/messages/{id}/promote"),
        Some(token),
        body.map(|b| b.to_string()).as_deref(),
    )
    .await
}

async fn dismiss(app: &Router, token: &str, id: i64) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        &format!("/api/v1/chat/messages/{id}/dismiss"),
        Some(token),
        None,
    )
    .await
}

#[tokio::test]
async fn a_message_is_stored_once_and_is_not_an_event() {
    for app in apps().await {
        let sys = login(&app, "sys110").await;
        let city = login(&app, "city").await;
        let fengshan = login(&app, "fengshan").await;
        let (s, g) = register(&app, &fengshan, "sb1@chatroom", json!({"grid": GRID1})).await;
        assert_eq!(s, StatusCode::OK, "{g}");
        assert_eq!(g["grid"]["code"], GRID1);
        assert_eq!(g["township"]["name"], "凤山街道");

        let m = message("sb1@chatroom", "m-1", "今天天气不错，大家吃了吗");
        let (s, first) = push(&app, &sys, &m).await;
        assert_eq!(s, StatusCode::CREATED, "{first}");
        let id = first["id"].as_i64().unwrap();
        // The forwarder retries after a timeout, even with a changed body.
        let mut again = m.clone();
        again["text"] = json!("改过的内容");
        let (s, replay) = push(&app, &sys, &again).await;
        assert_eq!(s, StatusCode::OK, "{replay}");
        assert_eq!(replay["id"].as_i64(), Some(id));
        assert_eq!(replay["created"], false);

        let list = messages(&app, &city, "").await;
        assert_eq!(list["total"], 1, "one message, not two");
        let only = &list["items"][0];
        assert_eq!(
            only["text"], "今天天气不错，大家吃了吗",
            "the first one wins"
        );
        assert_eq!(only["status"]["code"], "new");
        assert_eq!(only["grid"]["code"], GRID1);
        assert_eq!(only["township"]["name"], "凤山街道");
        assert_eq!(only["sender"]["name"], "王五");
        assert_eq!(only["sender"]["phone"], "138****5678", "phone masked");
        assert_eq!(only["images"][0], "https://img.example.cn/a.jpg");
        assert_eq!(only["sent_at"], "2026-05-01T00:30:00Z");
        assert!(only["event"].is_null());
        assert!(!list.to_string().contains("13812345678"));
        assert_eq!(event_total(&app, &city).await, 0, "chit-chat is no event");

        // The same message id in another group is another message.
        let (s, _) = push(&app, &sys, &message("other@chatroom", "m-1", "x")).await;
        assert_eq!(s, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn promoting_makes_one_event_in_the_groups_grid_linked_back() {
    for app in apps().await {
        let sys = login(&app, "sys110").await;
        let fengshan = login(&app, "fengshan").await;
        let city = login(&app, "city").await;
        register(&app, &city, "sb1@chatroom", json!({"grid": GRID1})).await;
        let (_, r) = push(
            &app,
            &sys,
            &message("sb1@chatroom", "m-7", "3号楼楼下有人深夜施工，吵得睡不着"),
        )
        .await;
        let id = r["id"].as_i64().unwrap();

        let (s, e) = promote(
            &app,
            &fengshan,
            id,
            Some(json!({"category": "0101", "priority": "high"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        assert_eq!(e["channel"]["code"], "chat_group");
        assert_eq!(e["external_id"], "sb1@chatroom:m-7");
        assert_eq!(e["township"]["code"], "330281002");
        assert_eq!(e["grid"]["code"], GRID1);
        assert_eq!(e["category"]["code"], "0101");
        assert_eq!(e["priority"]["code"], "high");
        assert_eq!(e["reporter"]["kind"]["code"], "citizen");
        assert_eq!(e["reporter"]["name"], "王*", "masked until revealed");
        let contact = common::reveal(&app, &fengshan, e["id"].as_i64().unwrap()).await;
        assert_eq!(contact["name"], "王五");
        assert_eq!(contact["phone"], "13812345678", "the operator handles it");
        let text = e["text"].as_str().unwrap();
        assert!(text.starts_with("3号楼楼下有人深夜施工"), "{text}");
        assert!(text.contains("https://img.example.cn/a.jpg"), "{text}");
        let event_id = e["id"].as_i64().unwrap();

        let (s, m) = call(
            &app,
            "GET",
            &format!("/api/v1/chat/messages/{id}"),
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(m["status"]["code"], "promoted");
        assert_eq!(m["event"]["id"].as_i64(), Some(event_id));
        assert_eq!(m["event"]["number"], e["number"]);
        assert_eq!(m["handled_by"], "凤山指挥室");

        // A double click, or the city doing it too: the same event.
        let (s, again) = promote(&app, &fengshan, id, None).await;
        assert_eq!(s, StatusCode::OK, "{again}");
        assert_eq!(again["id"].as_i64(), Some(event_id));
        let (s, again) = promote(&app, &city, id, Some(json!({"category": "0102"}))).await;
        assert_eq!(s, StatusCode::OK, "{again}");
        assert_eq!(again["id"].as_i64(), Some(event_id));
        assert_eq!(event_total(&app, &city).await, 1);

        // A promote whose event was stored but whose link was not (a crash between
        // the two steps): the retry finds the same event and links it.
        let (_, r) = push(&app, &sys, &message("sb1@chatroom", "m-8", "井盖丢了")).await;
        let id8 = r["id"].as_i64().unwrap();
        let (s, half) = call(
            &app,
            "POST",
            "/api/v1/events",
            Some(&fengshan),
            Some(
                &json!({
                    "channel": "chat_group",
                    "external_id": "sb1@chatroom:m-8",
                    "text": "井盖丢了",
                    "grid": GRID1
                })
                .to_string(),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{half}");
        let (s, e8) = promote(&app, &fengshan, id8, None).await;
        assert_eq!(s, StatusCode::OK, "{e8}");
        assert_eq!(e8["id"], half["id"]);
        let m8 = messages(&app, &fengshan, "?status=promoted").await;
        assert_eq!(m8["total"], 2);
        assert_eq!(event_total(&app, &city).await, 2);

        // A grid worker known by name in their own grid's group reports as one.
        let mut w = message("sb1@chatroom", "m-9", "网格巡查发现乱堆垃圾");
        w["sender"] = json!({"name": "网格员甲"});
        let (_, r) = push(&app, &sys, &w).await;
        let (s, e9) = promote(&app, &fengshan, r["id"].as_i64().unwrap(), None).await;
        assert_eq!(s, StatusCode::CREATED, "{e9}");
        assert_eq!(e9["reporter"]["kind"]["code"], "grid_worker");

        // A bad category is refused by name and makes nothing.
        let (_, r) = push(&app, &sys, &message("sb1@chatroom", "m-10", "路灯不亮")).await;
        let id10 = r["id"].as_i64().unwrap();
        let (s, v) = promote(&app, &fengshan, id10, Some(json!({"category": "9999"}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "category");
        let (s, v) = promote(&app, &fengshan, id10, Some(json!({"colour": "red"}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "colour");
        assert_eq!(event_total(&app, &city).await, 3);
        assert_eq!(messages(&app, &city, "?status=new").await["total"], 1);
    }
}

#[tokio::test]
async fn dismissing_keeps_the_message_out_of_the_queue() {
    for app in apps().await {
        let sys = login(&app, "sys110").await;
        let fengshan = login(&app, "fengshan").await;
        register(&app, &fengshan, "sb1@chatroom", json!({"grid": GRID1})).await;
        let (_, r) = push(&app, &sys, &message("sb1@chatroom", "m-1", "哈哈哈")).await;
        let id = r["id"].as_i64().unwrap();

        let (s, m) = dismiss(&app, &fengshan, id).await;
        assert_eq!(s, StatusCode::OK, "{m}");
        assert_eq!(m["status"]["code"], "dismissed");
        assert_eq!(m["handled_by"], "凤山指挥室");
        assert!(m["handled_at"].is_string());
        let (s, m) = dismiss(&app, &fengshan, id).await;
        assert_eq!(s, StatusCode::OK, "dismissing twice is harmless");
        assert_eq!(m["status"]["code"], "dismissed");
        assert_eq!(messages(&app, &fengshan, "?status=new").await["total"], 0);
        assert_eq!(
            messages(&app, &fengshan, "?status=dismissed").await["total"],
            1
        );
        assert_eq!(event_total(&app, &fengshan).await, 0);

        // Thought better of it: a dismissed message can still become an event,
        // and an event's message cannot be dismissed any more.
        let (s, e) = promote(&app, &fengshan, id, None).await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        let (s, v) = dismiss(&app, &fengshan, id).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "status");

        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/chat/messages?status=gone",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "status");
    }
}

#[tokio::test]
async fn each_area_sees_and_handles_only_its_own_groups() {
    for app in apps().await {
        let sys = login(&app, "sys110").await;
        let city = login(&app, "city").await;
        let fengshan = login(&app, "fengshan").await;
        let lizhou = login(&app, "lizhou").await;
        let grid1 = login(&app, "grid1").await;
        register(&app, &city, "sb1@chatroom", json!({"grid": GRID1})).await;
        register(&app, &city, "sb2@chatroom", json!({"grid": GRID2})).await;
        let (_, r) = push(&app, &sys, &message("sb1@chatroom", "m-1", "一网格的事")).await;
        let id1 = r["id"].as_i64().unwrap();
        push(&app, &sys, &message("sb2@chatroom", "m-1", "二网格的事")).await;

        // Another township: nothing listed, nothing found, nothing done.
        assert_eq!(messages(&app, &lizhou, "").await["total"], 0);
        let (s, _) = call(
            &app,
            "GET",
            &format!("/api/v1/chat/messages/{id1}"),
            Some(&lizhou),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(
            promote(&app, &lizhou, id1, None).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(dismiss(&app, &lizhou, id1).await.0, StatusCode::NOT_FOUND);
        assert_eq!(event_total(&app, &city).await, 0);
        assert_eq!(messages(&app, &fengshan, "?status=new").await["total"], 2);

        // A grid worker reads their own grid's group, and handles nothing.
        let mine = messages(&app, &grid1, "").await;
        assert_eq!(mine["total"], 1);
        assert_eq!(mine["items"][0]["text"], "一网格的事");
        let (s, v) = promote(&app, &grid1, id1, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        assert_eq!(dismiss(&app, &grid1, id1).await.0, StatusCode::FORBIDDEN);

        // An unregistered group: only the city sees it, and must name the grid.
        let (_, r) = push(&app, &sys, &message("new@chatroom", "m-1", "新群里的事")).await;
        let idn = r["id"].as_i64().unwrap();
        assert_eq!(messages(&app, &fengshan, "").await["total"], 2);
        assert_eq!(messages(&app, &city, "").await["total"], 3);
        for body in [None, Some(json!({"grid": " "}))] {
            let (s, v) = promote(&app, &city, idn, body).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            assert_eq!(v["error"]["field"], "grid");
        }
        assert_eq!(event_total(&app, &city).await, 0);
        // Registered later, its waiting messages follow it to the township.
        let (s, g) = register(
            &app,
            &fengshan,
            "new@chatroom",
            json!({"township": "330281002"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{g}");
        assert_eq!(g["messages_moved"], 1);
        assert!(g["grid"].is_null());
        assert_eq!(messages(&app, &fengshan, "").await["total"], 3);
        let (s, e) = promote(&app, &fengshan, idn, None).await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        assert_eq!(e["township"]["code"], "330281002");
        assert!(e["grid"].is_null());

        // Registering: only into one's own township, never taking another's group.
        let (s, v) = register(&app, &lizhou, "x@chatroom", json!({"grid": GRID1})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "grid");
        register(&app, &lizhou, "lz@chatroom", json!({"grid": LIZHOU_GRID})).await;
        let (s, v) = register(&app, &fengshan, "lz@chatroom", json!({"grid": GRID1})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "group_id");
        let (s, v) = register(&app, &city, "lz@chatroom", json!({"grid": "999"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "grid");
        let (s, v) = register(&app, &city, "lz@chatroom", json!({})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "grid");
        assert_eq!(
            register(&app, &grid1, "lz@chatroom", json!({"grid": GRID1}))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn bad_input_is_refused_by_field_and_stores_nothing() {
    for app in apps().await {
        let sys = login(&app, "sys110").await;
        let city = login(&app, "city").await;
        let good = message("sb1@chatroom", "m-1", "有人占道经营");
        type Mutation = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (
                Box::new(|m| {
                    m.as_object_mut().unwrap().remove("text");
                }),
                "text",
            ),
            (
                Box::new(|m| {
                    m["text"] = json!("  ");
                    m["images"] = json!([]);
                }),
                "text",
            ),
            (Box::new(|m| m["sent_at"] = json!("昨天下午")), "sent_at"),
            (
                Box::new(|m| m["sent_at"] = json!("2026-05-01 08:30:00")),
                "sent_at",
            ),
            (Box::new(|m| m["colour"] = json!("red")), "colour"),
            (Box::new(|m| m["sender"]["age"] = json!(3)), "sender.age"),
            (
                Box::new(|m| m["sender"]["phone"] = json!("12345")),
                "sender.phone",
            ),
            (Box::new(|m| m["sender"]["name"] = json!("")), "sender.name"),
            (
                Box::new(|m| {
                    m.as_object_mut().unwrap().remove("message_id");
                }),
                "message_id",
            ),
            (Box::new(|m| m["group_id"] = json!("a:b")), "group_id"),
            (
                Box::new(|m| m["images"] = json!(["ok.jpg", "bad url"])),
                "images[1]",
            ),
            (Box::new(|m| m["images"] = json!("a.jpg")), "images"),
        ];
        for (mutate, field) in cases {
            let mut m = good.clone();
            mutate(&mut m);
            let (s, v) = push(&app, &sys, &m).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {v}");
            assert_eq!(v["error"]["field"], field, "{v}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty())
            );
        }
        let (s, _) = call(
            &app,
            "POST",
            "/api/v1/channels/chat/messages",
            Some(&sys),
            Some("{not json"),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(
            messages(&app, &city, "").await["total"],
            0,
            "nothing stored"
        );
        assert_eq!(event_total(&app, &city).await, 0);

        // A picture with no words is still a message.
        let mut pic = good.clone();
        pic["text"] = json!("");
        let (s, v) = push(&app, &sys, &pic).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
}

#[tokio::test]
async fn who_may_push_read_and_handle() {
    for app in apps().await {
        for (method, uri) in [
            ("POST", "/api/v1/channels/chat/messages"),
            ("GET", "/api/v1/chat/messages"),
            ("GET", "/api/v1/chat/messages/1"),
            ("POST", "/api/v1/chat/messages/1/promote"),
            ("POST", "/api/v1/chat/messages/1/dismiss"),
            ("PUT", "/api/v1/chat/groups/g1"),
        ] {
            let (s, v) = call(&app, method, uri, None, None).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {uri}");
            assert_eq!(v["error"]["code"], "unauthorized");
        }
        let sys = login(&app, "sys110").await;
        let citizen = login(&app, "citizen1").await;
        let fengshan = login(&app, "fengshan").await;
        let oversight = login(&app, "oversight").await;
        let m = message("sb1@chatroom", "m-1", "有人占道经营");
        // Only an integration account pushes; an operator or a citizen cannot.
        for token in [&citizen, &fengshan] {
            let (s, v) = push(&app, token, &m).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        }
        let (_, r) = push(&app, &sys, &m).await;
        let id = r["id"].as_i64().unwrap();
        // Citizens, oversight and the integration account have no message list.
        for token in [&citizen, &oversight, &sys] {
            let (s, _) = call(&app, "GET", "/api/v1/chat/messages", Some(token), None).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            assert_eq!(
                promote(&app, token, id, None).await.0,
                StatusCode::FORBIDDEN
            );
            assert_eq!(dismiss(&app, token, id).await.0, StatusCode::FORBIDDEN);
        }
        let (s, _) = register(&app, &citizen, "sb1@chatroom", json!({"grid": GRID1})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}

// ---------------------------------------------------------------------------
// The page

#[tokio::test]
async fn the_command_room_promotes_and_dismisses_on_its_page() {
    for app in apps().await {
        let sys = login(&app, "sys110").await;
        let city = login(&app, "city").await;
        register(&app, &city, "sb1@chatroom", json!({"grid": GRID1})).await;
        let (_, r) = push(
            &app,
            &sys,
            &message("sb1@chatroom", "m-1", "小区门口<b>夜间施工</b>"),
        )
        .await;
        let noisy = r["id"].as_i64().unwrap();
        let (_, r) = push(
            &app,
            &sys,
            &message("sb1@chatroom", "m-2", "早上好呀各位邻居"),
        )
        .await;
        let chat = r["id"].as_i64().unwrap();

        let page::Session { cookie, csrf } = page::login(&app, "fengshan").await;
        let page = get(&app, "/chat", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("href=\"/chat\""),
            "navigation links the page"
        );
        assert!(page.body.contains("舜北社区1网格居民群"));
        assert!(
            page.body.contains("&#60;b&#62;夜间施工&#60;/b&#62;"),
            "text escaped"
        );
        assert!(page.body.contains("早上好呀各位邻居"));
        assert!(page.body.contains("138****5678"), "phone masked");
        assert!(!page.body.contains("13812345678"));
        assert!(page.body.contains("转为事件") && page.body.contains("忽略"));
        assert!(
            page.body
                .contains(&format!("action=\"/chat/{noisy}/promote\""))
        );

        // Without the CSRF token nothing happens.
        let r = post(
            &app,
            &format!("/chat/{chat}/dismiss"),
            Some(&cookie),
            &[("csrf", "forged")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(messages(&app, &city, "?status=new").await["total"], 2);

        let r = post(
            &app,
            &format!("/chat/{chat}/dismiss"),
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location.as_deref(), Some("/chat?done=dismiss"));

        let r = post(
            &app,
            &format!("/chat/{noisy}/promote"),
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("category", "0101"),
                ("priority", "normal"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let loc = r.location.unwrap();
        let event_id: i64 = loc
            .strip_prefix("/chat?done=promote&event=")
            .and_then(|x| x.parse().ok())
            .unwrap_or_else(|| panic!("{loc}"));
        let page = get(&app, &loc, Some(&cookie)).await;
        assert!(page.body.contains("已转为事件"));
        assert!(page.body.contains(&format!("href=\"/events/{event_id}\"")));
        assert!(page.body.contains("没有待处理的消息"), "the queue is empty");

        let promoted = get(&app, "/chat?status=promoted", Some(&cookie)).await;
        assert!(
            promoted
                .body
                .contains(&format!("href=\"/events/{event_id}\"")),
            "links to the event"
        );
        let event = get(&app, &format!("/events/{event_id}"), Some(&cookie)).await;
        assert_eq!(event.status, StatusCode::OK);
        assert!(event.body.contains("圈群"));
        let dismissed = get(&app, "/chat?status=dismissed", Some(&cookie)).await;
        assert!(dismissed.body.contains("早上好呀各位邻居"));

        // Another township's room sees none of it; a citizen has no such page.
        let page::Session {
            cookie: other,
            csrf: other_csrf,
        } = page::login(&app, "lizhou").await;
        let page = get(&app, "/chat?status=dismissed", Some(&other)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("早上好呀各位邻居"));
        let r = post(
            &app,
            &format!("/chat/{noisy}/dismiss"),
            Some(&other),
            &[("csrf", &other_csrf)],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let page::Session {
            cookie: citizen,
            csrf: _,
        } = page::login(&app, "citizen1").await;
        let page = get(&app, "/chat", Some(&citizen)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        let events = get(&app, "/events", Some(&citizen)).await;
        assert!(
            !events.body.contains("href=\"/chat\""),
            "no link for citizens"
        );
    }
}

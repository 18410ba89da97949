//! The JSON API through the real router (no socket), on SQLite and, when
//! ZHILI_TEST_PG is set, PostgreSQL: login, scope, masking, idempotency, the
//! lifecycle over HTTP, and bad input that must be refused without storing anything.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use zhili_server::{AppState, ServerConfig, app, hash_password};
use zhili_storage::Store;
use zhili_storage::testing::{fresh_stores, with_small_city};

const PW: &str = "test-password";

struct Api {
    app: Router,
    store: Store,
}

async fn setups() -> Vec<Api> {
    let hash = hash_password(PW);
    let mut out = Vec::new();
    for store in fresh_stores().await {
        with_small_city(&store, &hash).await;
        // No second factor for the admin here: security.rs tests that part.
        let config = ServerConfig {
            password_policy: zhili_domain::PasswordPolicy {
                second_factor_roles: Vec::new(),
                ..Default::default()
            },
            ..ServerConfig::default()
        };
        let state = AppState::new(store.clone(), config).load().await.unwrap();
        out.push(Api {
            app: app(state),
            store,
        });
    }
    out
}

impl Api {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(Body::from(body.unwrap_or("").to_string()))
            .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }

    async fn login(&self, user: &str) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(&json!({"username": user, "password": PW}).to_string()),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["user"]["username"], user);
        v["token"].as_str().unwrap().to_string()
    }

    async fn post_event(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(
            "POST",
            "/api/v1/events",
            Some(token),
            Some(&body.to_string()),
        )
        .await
    }

    async fn act(&self, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
        self.call(
            "POST",
            &format!("/api/v1/events/{id}/actions"),
            Some(token),
            Some(&body.to_string()),
        )
        .await
    }
}

fn event(text: &str, grid: &str) -> Value {
    json!({
        "channel": "hotline_12345",
        "reporter": {"kind": "citizen", "name": "李四", "phone": "13912345678"},
        "text": text,
        "category": "0101",
        "grid": grid,
        "location": {"lon": 121.155, "lat": 30.005}
    })
}

#[tokio::test]
async fn login_is_required_and_checked() {
    for api in setups().await {
        for (method, uri) in [
            ("GET", "/api/v1/events"),
            ("POST", "/api/v1/events"),
            ("GET", "/api/v1/events/1"),
            ("POST", "/api/v1/events/1/actions"),
            ("GET", "/api/v1/me"),
            ("GET", "/api/v1/categories"),
            ("GET", "/api/v1/orgs"),
        ] {
            let (s, v) = api.call(method, uri, None, None).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {uri}");
            assert_eq!(v["error"]["code"], "unauthorized");
            let (s, _) = api.call(method, uri, Some("forged-token"), None).await;
            assert_eq!(
                s,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} with a forged token"
            );
        }
        let (s, v) = api
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(r#"{"username":"fengshan","password":"wrong"}"#),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(v["error"]["message"], "用户名、密码或动态口令错误");
        let (s2, v2) = api
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(r#"{"username":"nobody","password":"wrong"}"#),
            )
            .await;
        assert_eq!(
            (s2, &v2),
            (s, &v),
            "unknown user and wrong password look the same"
        );

        let token = api.login("fengshan").await;
        let (s, me) = api.call("GET", "/api/v1/me", Some(&token), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(me["role"], "township_operator");
        let (s, _) = api
            .call("POST", "/api/v1/auth/logout", Some(&token), None)
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = api.call("GET", "/api/v1/me", Some(&token), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "a logged-out token is dead");
    }
}

#[tokio::test]
async fn an_event_goes_from_report_to_archive_over_http() {
    for api in setups().await {
        let fengshan = api.login("fengshan").await;
        let zhujian = api.login("zhujian").await;
        let (s, e) = api
            .post_event(
                &fengshan,
                event("舜北路夜间施工噪音扰民，已持续一周", "33028100200101"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        let id = e["id"].as_i64().unwrap();
        assert_eq!(e["status"]["code"], "reported");
        let codes = |v: &Value| {
            v["allowed_actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["code"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert!(codes(&e).contains(&"accept".to_string()));

        let zj = api.store.org_by_code("D-ZJ").await.unwrap().unwrap().id.0;
        let steps: Vec<(&String, Value, &str)> = vec![
            (&fengshan, json!({"action": "accept"}), "accepted"),
            (
                &fengshan,
                json!({"action": "dispatch", "lead_unit": zj, "note": "请住建局核查"}),
                "dispatched",
            ),
            (&zhujian, json!({"action": "sign"}), "handling"),
            (
                &zhujian,
                json!({"action": "resolve", "result": "已责令施工单位停止夜间施工"}),
                "resolved",
            ),
            (
                &fengshan,
                json!({"action": "verify_fail", "reason": "回访发现仍有夜间施工"}),
                "handling",
            ),
            (
                &zhujian,
                json!({"action": "resolve", "result": "已立案处罚并停工整改"}),
                "resolved",
            ),
            (&fengshan, json!({"action": "verify_pass"}), "verified"),
            (
                &fengshan,
                json!({"action": "inform", "channel": "phone"}),
                "informed",
            ),
            (
                &fengshan,
                json!({"action": "rate", "satisfaction": "satisfied"}),
                "rated",
            ),
            (&fengshan, json!({"action": "close"}), "closed"),
        ];
        for (token, body, expect) in steps {
            let (s, v) = api.act(token, id, body.clone()).await;
            assert_eq!(s, StatusCode::OK, "{body}: {v}");
            assert_eq!(v["status"]["code"], expect, "{body}");
        }
        let (_, done) = api
            .call(
                "GET",
                &format!("/api/v1/events/{id}"),
                Some(&fengshan),
                None,
            )
            .await;
        let timeline = done["timeline"].as_array().unwrap();
        // 11 steps and, after the accept, the focus issue's automatic 挂牌督办 (O6).
        assert_eq!(timeline.len(), 12);
        assert_eq!(timeline[2]["actor_name"], "系统（焦点问题自动挂牌督办）");
        assert_eq!(timeline[6]["note"], "回访发现仍有夜间施工");
        assert_eq!(done["rework_count"], 1);
        assert!(codes(&done).is_empty());
    }
}

#[tokio::test]
async fn illegal_and_forbidden_actions_are_refused_with_reasons() {
    for api in setups().await {
        let fengshan = api.login("fengshan").await;
        let oversight = api.login("oversight").await;
        let (_, e) = api
            .post_event(&fengshan, event("违章搭建", "33028100200101"))
            .await;
        let id = e["id"].as_i64().unwrap();

        let (s, v) = api.act(&fengshan, id, json!({"action": "close"})).await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(v["error"]["code"], "illegal_transition");
        assert!(v["error"]["message"].as_str().unwrap().contains("上报"));
        assert_eq!(v["error"]["detail"]["status"], "reported");
        let allowed = v["error"]["detail"]["allowed_actions"].as_array().unwrap();
        assert!(allowed.contains(&json!("accept")) && allowed.contains(&json!("reject")));

        // Oversight reads everything and changes nothing.
        let (s, v) = api.act(&oversight, id, json!({"action": "accept"})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, _) = api
            .post_event(&oversight, event("监督不能上报", "33028100200101"))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        let (s, v) = api
            .act(
                &fengshan,
                id,
                json!({"action": "reject", "reason": "duplicate"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "note");
        let (s, v) = api.act(&fengshan, id, json!({"action": "fly"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "action");

        let (_, after) = api
            .call(
                "GET",
                &format!("/api/v1/events/{id}"),
                Some(&fengshan),
                None,
            )
            .await;
        assert_eq!(after["status"]["code"], "reported");
        assert_eq!(
            after["timeline"].as_array().unwrap().len(),
            1,
            "refusals store nothing"
        );
    }
}

#[tokio::test]
async fn scope_and_masking_hold_over_http() {
    for api in setups().await {
        let fengshan = api.login("fengshan").await;
        let lizhou = api.login("lizhou").await;
        let oversight = api.login("oversight").await;
        let citizen1 = api.login("citizen1").await;
        let (_, fs) = api
            .post_event(&fengshan, event("凤山的事件", "33028100200101"))
            .await;
        let (_, lz) = api
            .post_event(&lizhou, event("梨洲的事件", "33028100100101"))
            .await;
        let mut own = event("市民自己上报", "33028100200102");
        own["channel"] = json!("web_form");
        let (s, mine) = api.post_event(&citizen1, own).await;
        assert_eq!(s, StatusCode::CREATED, "{mine}");

        // 凤山 gets 404 for 梨洲's event, exactly like a missing one, and never lists it.
        let (s, v) = api
            .call(
                "GET",
                &format!("/api/v1/events/{}", lz["id"]),
                Some(&fengshan),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s2, v2) = api
            .call("GET", "/api/v1/events/987654", Some(&fengshan), None)
            .await;
        assert_eq!((s, v), (s2, v2));
        let (_, list) = api
            .call("GET", "/api/v1/events?per_page=200", Some(&fengshan), None)
            .await;
        let numbers: Vec<_> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].clone())
            .collect();
        assert!(!numbers.contains(&lz["id"]));
        assert!(numbers.contains(&fs["id"]));
        // Even a filter naming the other township finds nothing.
        let (_, list) = api
            .call(
                "GET",
                "/api/v1/events?township=330281001",
                Some(&fengshan),
                None,
            )
            .await;
        assert_eq!(list["total"], 0);

        let (_, seen) = api
            .call(
                "GET",
                &format!("/api/v1/events/{}", fs["id"]),
                Some(&oversight),
                None,
            )
            .await;
        assert_eq!(seen["reporter"]["phone"], "139****5678");
        assert_eq!(seen["reporter"]["name"], "李*");
        // The operator running it sees the mask too, and may reveal the contact
        // with a reason; oversight may not.
        let (_, seen) = api
            .call(
                "GET",
                &format!("/api/v1/events/{}", fs["id"]),
                Some(&fengshan),
                None,
            )
            .await;
        assert_eq!(seen["reporter"]["phone"], "139****5678");
        assert_eq!(seen["reporter"]["revealable"], true);
        let reveal = format!("/api/v1/events/{}/reporter/reveal", fs["id"]);
        let (s, body) = api
            .call("POST", &reveal, Some(&fengshan), Some(r#"{"reason": ""}"#))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "reason", "{body}");
        let (s, body) = api
            .call(
                "POST",
                &reveal,
                Some(&fengshan),
                Some(r#"{"reason": "回访联系"}"#),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["phone"], "13912345678");
        assert_eq!(body["name"], "李四");
        let (s, _) = api
            .call(
                "POST",
                &reveal,
                Some(&oversight),
                Some(r#"{"reason": "抽查"}"#),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        let (_, list) = api
            .call("GET", "/api/v1/events", Some(&citizen1), None)
            .await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["id"], mine["id"]);
        let (s, _) = api
            .call(
                "GET",
                &format!("/api/v1/events/{}", fs["id"]),
                Some(&citizen1),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn replays_return_the_first_event() {
    for api in setups().await {
        let fengshan = api.login("fengshan").await;
        let mut body = event("12345 推送的工单", "33028100200101");
        body["external_id"] = json!("GD-2026-000123");
        let (s1, first) = api.post_event(&fengshan, body.clone()).await;
        let (s2, again) = api.post_event(&fengshan, body.clone()).await;
        assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::OK));
        assert_eq!(first["id"], again["id"]);
        assert_eq!(first["number"], again["number"]);
        let (_, list) = api
            .call("GET", "/api/v1/events?q=GD-2026", Some(&fengshan), None)
            .await;
        assert_eq!(list["total"], 0, "external ids are not searched as text");
        let (_, list) = api
            .call("GET", "/api/v1/events", Some(&fengshan), None)
            .await;
        assert_eq!(list["total"], 1);
    }
}

#[tokio::test]
async fn bad_input_names_the_field_and_stores_nothing() {
    for api in setups().await {
        let fengshan = api.login("fengshan").await;
        let long = "长".repeat(10_001);
        let cases: Vec<(String, StatusCode, &str)> = vec![
            ("{\"channel\": \"web_form\", ".into(), StatusCode::BAD_REQUEST, ""),
            (json!({"channel": "web_form"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "text"),
            (json!({"channel": "web_form", "text": "x", "grid": "33028100200101", "colour": "red"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "colour"),
            (json!({"channel": "fax", "text": "x", "grid": "33028100200101"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "channel"),
            (json!({"channel": "web_form", "text": "x", "grid": "33028100200101", "category": "9999"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "category"),
            (json!({"channel": "web_form", "text": long, "grid": "33028100200101"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "text"),
            (json!({"channel": "web_form", "text": "x", "grid": "33028100200101", "location": {"lon": 2.35, "lat": 48.85}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "location"),
            (json!({"channel": "web_form", "text": "x", "grid": "33028100200101", "location": {"lon": "east", "lat": 30}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "location.lon"),
            (json!({"channel": "web_form", "text": "x", "grid": "33028100200101", "reporter": {"kind": "citizen", "phone": "12345"}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "reporter.phone"),
            (json!({"channel": "web_form", "text": "x", "grid": "99999999999999"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "grid"),
        ];
        for (body, status, field) in cases {
            let (s, v) = api
                .call("POST", "/api/v1/events", Some(&fengshan), Some(&body))
                .await;
            assert_eq!(
                s,
                status,
                "{} → {v}",
                body.chars().take(80).collect::<String>()
            );
            if !field.is_empty() {
                assert_eq!(v["error"]["field"], field, "{v}");
            }
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }
        let (s, _) = api
            .call("GET", "/api/v1/events?status=flying", Some(&fengshan), None)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, v) = api
            .call("GET", "/api/v1/events?per_page=5000", Some(&fengshan), None)
            .await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("per_page"))
        );
        let (_, list) = api
            .call("GET", "/api/v1/events", Some(&fengshan), None)
            .await;
        assert_eq!(list["total"], 0, "nothing was stored");
    }
}

#[tokio::test]
async fn list_filters_and_sorts() {
    for api in setups().await {
        let city = api.login("city").await;
        for (text, grid) in [
            ("噪音一", "33028100200101"),
            ("噪音二", "33028100200102"),
            ("梨洲噪音", "33028100100101"),
        ] {
            let (s, v) = api.post_event(&city, event(text, grid)).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
        let total = |v: &Value| v["total"].as_i64().unwrap();
        let (_, all) = api.call("GET", "/api/v1/events", Some(&city), None).await;
        assert_eq!(total(&all), 3);
        let (_, v) = api
            .call(
                "GET",
                "/api/v1/events?township=330281002",
                Some(&city),
                None,
            )
            .await;
        assert_eq!(total(&v), 2);
        let (_, v) = api
            .call(
                "GET",
                "/api/v1/events?grid=33028100200102",
                Some(&city),
                None,
            )
            .await;
        assert_eq!(total(&v), 1);
        let (_, v) = api
            .call(
                "GET",
                "/api/v1/events?q=%E6%A2%A8%E6%B4%B2",
                Some(&city),
                None,
            )
            .await; // 梨洲
        assert_eq!(total(&v), 1);
        let (_, v) = api
            .call("GET", "/api/v1/events?category=01", Some(&city), None)
            .await;
        assert_eq!(total(&v), 3, "a 大类 finds its 小类");
        let (_, v) = api
            .call("GET", "/api/v1/events?status=accepted", Some(&city), None)
            .await;
        assert_eq!(total(&v), 0);
        let (_, v) = api
            .call(
                "GET",
                "/api/v1/events?sort=number&per_page=2&page=2",
                Some(&city),
                None,
            )
            .await;
        assert_eq!(v["items"].as_array().unwrap().len(), 1);
        let (_, asc) = api
            .call("GET", "/api/v1/events?sort=number", Some(&city), None)
            .await;
        let first = asc["items"][0]["number"].as_str().unwrap().to_string();
        let (_, desc) = api
            .call("GET", "/api/v1/events?sort=-number", Some(&city), None)
            .await;
        assert_eq!(desc["items"][2]["number"].as_str().unwrap(), first);
        let (_, v) = api
            .call(
                "GET",
                "/api/v1/events?from=2000-01-01&to=2000-12-31",
                Some(&city),
                None,
            )
            .await;
        assert_eq!(total(&v), 0);
    }
}

#[tokio::test]
async fn openapi_health_and_metrics() {
    for api in setups().await {
        let (s, doc) = api.call("GET", "/api/openapi.json", None, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(doc["openapi"], "3.1.0");
        for path in [
            "/api/v1/auth/login",
            "/api/v1/events",
            "/api/v1/events/{id}",
            "/api/v1/events/{id}/actions",
            "/healthz",
            "/metrics",
        ] {
            assert!(
                doc["paths"][path].is_object(),
                "{path} missing from the OpenAPI document"
            );
        }
        let (s, h) = api.call("GET", "/healthz", None, None).await;
        assert_eq!((s, h["status"].clone()), (StatusCode::OK, json!("ok")));
        let token = api.login("city").await;
        api.call("GET", "/api/v1/events", Some(&token), None).await;
        // Metrics are for the system admin (or a scraper's token), not for anyone.
        let (s, _) = api.call("GET", "/metrics", None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = api.call("GET", "/metrics", Some(&token), None).await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "a city operator is not the admin"
        );
        let admin = api.login("admin").await;
        let req = Request::builder()
            .uri("/metrics")
            .header("authorization", format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap();
        let res = api.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = String::from_utf8(
            axum::body::to_bytes(res.into_body(), 1 << 22)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        assert!(text.contains("zhili_http_requests_total"), "{text}");
        assert!(text.contains("route=\"/api/v1/events\""));
        // Unknown API paths are JSON 404s, not HTML.
        let (s, v) = api
            .call("GET", "/api/v1/nothing-here", Some(&token), None)
            .await;
        assert_eq!(
            (s, v["error"]["code"].clone()),
            (StatusCode::NOT_FOUND, json!("not_found"))
        );
    }
}

#[tokio::test]
async fn locations_are_converted_once_and_find_their_grid() {
    for api in setups().await {
        let city = api.login("city").await;
        // A GPS point inside 舜北社区第2网格 (121.16–121.17 E, 30.00–30.01 N), no grid given.
        let wgs = (121.165, 30.005);
        let (s, e) = api
            .post_event(&city, json!({"channel": "web_form", "text": "路灯不亮", "location": {"lon": wgs.0, "lat": wgs.1}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        assert_eq!(e["grid"]["code"], "33028100200102");
        assert_eq!(e["township"]["code"], "330281002");
        // The same place as a phone map app reports it (GCJ-02): stored as WGS-84.
        let gcj = zhili_geo::convert(wgs, zhili_geo::Crs::Wgs84, zhili_geo::Crs::Gcj02);
        assert!(
            (gcj.0 - wgs.0).abs() > 1e-4,
            "GCJ-02 differs from WGS-84 here"
        );
        let (s, e) = api
            .post_event(&city, json!({"channel": "web_form", "text": "路灯不亮", "location": {"lon": gcj.0, "lat": gcj.1, "crs": "gcj02"}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        assert_eq!(e["grid"]["code"], "33028100200102");
        let stored = (
            e["location"]["lon"].as_f64().unwrap(),
            e["location"]["lat"].as_f64().unwrap(),
        );
        assert!(zhili_geo::haversine_m(stored, wgs) < 0.5, "{stored:?}");
        // An unknown system is refused by name; a point far from every grid falls back
        // to the township named in the address.
        let (s, v) = api
            .post_event(&city, json!({"channel": "web_form", "text": "x", "location": {"lon": 121.1, "lat": 30.0, "crs": "mars"}}))
            .await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("location.crs"))
        );
        let (s, e) = api
            .post_event(&city, json!({"channel": "web_form", "text": "x", "address": "余姚市梨洲街道某路1号", "location": {"lon": 121.3, "lat": 30.2}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        assert_eq!(e["township"]["code"], "330281001");
        assert!(e["grid"].is_null());
    }
}

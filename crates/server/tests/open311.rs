//! Open311 GeoReport v2 through the real router, on SQLite and, when ZHILI_TEST_PG is
//! set, PostgreSQL. The spec's own examples are played against zhili (with Yuyao's
//! codes and coordinates where San Francisco's cannot work), every XML answer is
//! parsed by a real XML parser and every JSON answer by serde_json.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use quick_xml::events::Event;
use serde_json::Value;
use tower::ServiceExt;
use zhili_domain::{Action, Actor};
use zhili_server::{AppState, ServerConfig, app, hash_password};
use zhili_storage::testing::{fresh_stores, with_small_city};
use zhili_storage::{Acting, EventFilter, Store};

const KEY: &str = "test-open311-key";
/// Inside 舜北社区第1网格 of 凤山街道 in the small test city (WGS-84).
const LAT: &str = "30.005";
const LONG: &str = "121.155";

struct T {
    app: Router,
    store: Store,
}

async fn setups() -> Vec<T> {
    let hash = hash_password("pw");
    let mut out = Vec::new();
    for store in fresh_stores().await {
        with_small_city(&store, &hash).await;
        store
            .create_api_client(
                "fixmystreet",
                &zhili_server::open311::api_key_hash(KEY),
                &Acting::system("测试"),
                Utc::now(),
            )
            .await
            .unwrap();
        let state = AppState::new(store.clone(), ServerConfig::default())
            .load()
            .await
            .unwrap();
        out.push(T {
            app: app(state),
            store,
        });
    }
    out
}

/// A response as a client sees it.
struct Res {
    status: StatusCode,
    content_type: String,
    body: String,
}

impl Res {
    /// The body as XML; fails the test unless it is well-formed UTF-8 XML with the
    /// declaration the spec requires.
    fn xml(&self) -> El {
        assert!(
            self.content_type.starts_with("text/xml"),
            "content type {}",
            self.content_type
        );
        assert!(
            self.body
                .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
            "{}",
            self.body
        );
        parse_xml(&self.body)
    }

    fn json(&self) -> Value {
        assert!(
            self.content_type.starts_with("application/json"),
            "content type {}",
            self.content_type
        );
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("invalid JSON {e}: {}", self.body))
    }
}

/// A parsed XML element: name, text and children.
#[derive(Debug, Default, Clone)]
struct El {
    name: String,
    text: String,
    children: Vec<El>,
}

impl El {
    fn all(&self, name: &str) -> Vec<&El> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn one(&self, name: &str) -> &El {
        let found = self.all(name);
        assert_eq!(found.len(), 1, "exactly one <{name}> in <{}>", self.name);
        found[0]
    }

    fn text_of(&self, name: &str) -> &str {
        &self.one(name).text
    }
}

fn parse_xml(s: &str) -> El {
    let mut reader = quick_xml::Reader::from_str(s);
    let mut stack = vec![El::default()];
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed XML ({e}): {s}"))
        {
            Event::Start(e) => stack.push(El {
                name: e.name().as_ref().to_string(),
                ..Default::default()
            }),
            Event::Empty(e) => {
                let el = El {
                    name: e.name().as_ref().to_string(),
                    ..Default::default()
                };
                stack.last_mut().unwrap().children.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().unwrap();
                stack.last_mut().expect("balanced tags").children.push(el);
            }
            Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().unwrap() {
                    Some(c) => c,
                    None => match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("unknown entity &{other}; in {s}"),
                    },
                };
                stack.last_mut().unwrap().text.push(c);
            }
            Event::CData(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {
                panic!("unexpected XML construct in {s}")
            }
            Event::Decl(_) => {}
            Event::Eof => break,
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements in {s}");
    let mut doc = stack.pop().unwrap();
    assert_eq!(doc.children.len(), 1, "one root element in {s}");
    assert!(doc.text.trim().is_empty(), "text outside the root in {s}");
    doc.children.pop().unwrap()
}

/// application/x-www-form-urlencoded, as a browser or LWP writes it.
fn encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl T {
    async fn send(&self, req: Request<Body>) -> Res {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
            .await
            .unwrap();
        Res {
            status,
            content_type,
            body: String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
        }
    }

    async fn get(&self, uri: &str) -> Res {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    async fn post_raw(&self, uri: &str, body: &str, headers: &[(&str, &str)]) -> Res {
        let mut req = Request::post(uri).header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        );
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body.to_string())).unwrap())
            .await
    }

    async fn post(&self, uri: &str, pairs: &[(&str, &str)]) -> Res {
        self.post_raw(uri, &encode(pairs), &[]).await
    }

    /// Posts a request in the small city and returns its service_request_id.
    async fn create(&self, extra: &[(&str, &str)]) -> String {
        let mut form = vec![
            ("api_key", KEY),
            ("service_code", "0101"),
            ("lat", LAT),
            ("long", LONG),
        ];
        form.extend_from_slice(extra);
        let res = self.post("/open311/v2/requests.json", &form).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        res.json()[0]["service_request_id"]
            .as_str()
            .expect("a string id")
            .to_string()
    }

    async fn actor(&self, username: &str) -> Actor {
        self.store
            .user_by_username(username)
            .await
            .unwrap()
            .unwrap()
            .actor
    }

    /// The event behind a service_request_id, as the city command centre sees it.
    async fn event(&self, number: &str) -> zhili_storage::EventDetail {
        let city = self.actor("city").await;
        let page = self
            .store
            .events_for(&city)
            .list(&EventFilter {
                text: Some(number.to_string()),
                per_page: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1, "one event numbered {number}");
        self.store
            .events_for(&city)
            .get(page.items[0].id)
            .await
            .unwrap()
    }

    /// The reporter's contact in full, as the city command centre reveals it.
    async fn contact(&self, e: &zhili_storage::EventDetail) -> zhili_storage::RevealedContact {
        let city = self.actor("city").await;
        self.store
            .events_for(&city)
            .reveal_reporter(e.id, "回访联系", chrono::Utc::now())
            .await
            .unwrap()
    }

    async fn event_count(&self) -> i64 {
        let city = self.actor("city").await;
        self.store
            .events_for(&city)
            .list(&EventFilter {
                per_page: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .total
    }
}

/// The spec's example form, with its values, to be adapted per test.
fn spec_example() -> Vec<(&'static str, &'static str)> {
    vec![
        ("api_key", "xyz"),
        ("jurisdiction_id", "city.gov"),
        ("service_code", "001"),
        ("lat", "37.76524078"),
        ("long", "-122.4212043"),
        ("address_string", "1234 5th street"),
        ("email", "smit333@sfgov.edu"),
        ("device_id", "tt222111"),
        ("account_id", "123456"),
        ("first_name", "john"),
        ("last_name", "smith"),
        ("phone", "111111111"),
        ("description", "A large sinkhole is destroying the street"),
        (
            "media_url",
            "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg",
        ),
        ("attribute[WHISPAWN]", "123456"),
        ("attribute[WHISDORN]", "COISL001"),
    ]
}

fn with(
    form: &[(&'static str, &'static str)],
    changes: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    form.iter()
        .map(|(k, v)| {
            changes
                .iter()
                .find(|(ck, _)| ck == k)
                .map_or((*k, *v), |(ck, cv)| (*ck, *cv))
        })
        .collect()
}

fn assert_error_xml(res: &Res, status: StatusCode, needle: &str) {
    assert_eq!(res.status, status, "{}", res.body);
    let doc = res.xml();
    assert_eq!(doc.name, "errors");
    let e = doc.one("error");
    assert_eq!(e.text_of("code"), status.as_str());
    assert!(
        e.text_of("description").contains(needle),
        "{needle:?} in {}",
        res.body
    );
}

fn assert_error_json(res: &Res, status: StatusCode, needle: &str) {
    assert_eq!(res.status, status, "{}", res.body);
    let v = res.json();
    let e = &v.as_array().expect("an array of errors")[0];
    assert_eq!(e["code"], status.as_u16());
    assert!(
        e["description"].as_str().unwrap().contains(needle),
        "{needle:?} in {}",
        res.body
    );
}

#[tokio::test]
async fn the_services_are_the_leaf_categories_in_both_formats() {
    for t in setups().await {
        let res = t
            .get("/open311/v2/services.xml?jurisdiction_id=yuyao.zhili")
            .await;
        assert_eq!(res.status, StatusCode::OK);
        let doc = res.xml();
        assert_eq!(doc.name, "services");
        let services = doc.all("service");
        let codes: Vec<&str> = services.iter().map(|s| s.text_of("service_code")).collect();
        assert_eq!(
            codes,
            ["0101", "0102"],
            "the 大类 01 is a group, not a service"
        );
        let noise = services[0];
        assert_eq!(noise.text_of("service_name"), "噪音扰民");
        assert_eq!(noise.text_of("group"), "城市管理");
        assert_eq!(noise.text_of("metadata"), "false");
        assert_eq!(noise.text_of("type"), "realtime");
        assert!(noise.text_of("keywords").contains("城市管理"));
        assert!(noise.text_of("description").contains("5 个工作日"));

        let res = t.get("/open311/v2/services.json").await;
        assert_eq!(res.status, StatusCode::OK);
        let v = res.json();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[0]["service_code"], "0101", "codes are strings in JSON");
        assert_eq!(v[0]["metadata"], false);
        assert_eq!(v[1]["group"], "城市管理");

        // Without a suffix: XML, the format every server must speak.
        assert_eq!(t.get("/open311/v2/services").await.xml().name, "services");
    }
}

#[tokio::test]
async fn a_service_definition_has_no_attributes_and_unknown_codes_are_404() {
    for t in setups().await {
        let v = t.get("/open311/v2/services/0101.json").await.json();
        assert_eq!(
            v,
            serde_json::json!({"service_code": "0101", "attributes": []})
        );
        let res = t
            .get("/open311/v2/services/0101.xml?jurisdiction_id=yuyao.zhili")
            .await;
        assert_eq!(res.status, StatusCode::OK);
        let doc = res.xml();
        assert_eq!(doc.name, "service_definition");
        assert_eq!(doc.text_of("service_code"), "0101");
        assert!(doc.one("attributes").children.is_empty());

        assert_error_xml(
            &t.get("/open311/v2/services/033.xml").await,
            StatusCode::NOT_FOUND,
            "service_code",
        );
        assert_error_json(
            &t.get("/open311/v2/services/01.json").await,
            StatusCode::NOT_FOUND,
            "service_code",
        );
    }
}

#[tokio::test]
async fn discovery_names_the_v2_endpoint_and_both_formats() {
    for t in setups().await {
        let res = t
            .send(
                Request::get("/open311/discovery.xml")
                    .header("host", "zhili.example.cn")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let doc = res.xml();
        assert_eq!(doc.name, "discovery");
        let ep = doc.one("endpoints").one("endpoint");
        assert_eq!(ep.text_of("url"), "http://zhili.example.cn/open311/v2");
        assert_eq!(
            ep.text_of("specification"),
            "http://wiki.open311.org/GeoReport_v2"
        );
        let formats: Vec<&str> = ep
            .one("formats")
            .all("format")
            .iter()
            .map(|f| f.text.as_str())
            .collect();
        assert_eq!(formats, ["text/xml", "application/json"]);

        let v = t.get("/open311/v2/discovery.json").await.json();
        assert_eq!(v["endpoints"][0]["type"], "production");
        assert_eq!(v["endpoints"][0]["formats"][1], "application/json");
    }
}

/// The spec's example POST, step by step: its key, jurisdiction, service code and
/// San Francisco coordinates are each refused as the spec says, and with Yuyao's
/// values the same form makes an event in the right township and grid.
#[tokio::test]
async fn the_spec_example_post_is_refused_then_accepted_and_can_be_followed() {
    for t in setups().await {
        let spec = spec_example();
        // The spec's own 403 example: an unknown key.
        assert_error_xml(
            &t.post("/open311/v2/requests.xml", &spec).await,
            StatusCode::FORBIDDEN,
            "api_key",
        );
        let keyed = with(&spec, &[("api_key", KEY)]);
        assert_error_xml(
            &t.post("/open311/v2/requests.xml", &keyed).await,
            StatusCode::NOT_FOUND,
            "jurisdiction_id",
        );
        let ours = with(&keyed, &[("jurisdiction_id", "yuyao.zhili")]);
        assert_error_xml(
            &t.post("/open311/v2/requests.xml", &ours).await,
            StatusCode::NOT_FOUND,
            "service_code",
        );
        let noise = with(&ours, &[("service_code", "0101")]);
        assert_error_json(
            &t.post("/open311/v2/requests.json", &noise).await,
            StatusCode::BAD_REQUEST,
            "lat/long",
        );
        assert_eq!(t.event_count().await, 0, "nothing stored by a refused POST");

        let yuyao = with(&noise, &[("lat", LAT), ("long", LONG)]);
        let res = t.post("/open311/v2/requests.xml", &yuyao).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let doc = res.xml();
        assert_eq!(doc.name, "service_requests");
        let req = doc.one("request");
        let id = req.text_of("service_request_id").to_string();
        assert!(!id.is_empty());
        assert!(
            req.all("token").is_empty(),
            "no token with a service_request_id"
        );
        assert!(req.text_of("service_notice").contains("5 个工作日"));
        assert_eq!(req.text_of("account_id"), "123456");

        // The event zhili made of it.
        let e = t.event(&id).await;
        assert_eq!(e.channel.code, "open311");
        assert_eq!(e.township.name, "凤山街道");
        assert_eq!(e.grid.as_ref().unwrap().code, "33028100200101");
        assert_eq!(e.category.as_ref().unwrap().code, "0101");
        assert_eq!(e.reporter.kind.code, "citizen");
        assert_eq!(e.reporter.name.as_deref(), Some("j*********"), "masked");
        assert_eq!(t.contact(&e).await.name.as_deref(), Some("john smith"));
        assert_eq!(e.address.as_deref(), Some("1234 5th street"));
        assert!(
            e.text
                .starts_with("A large sinkhole is destroying the street")
        );
        assert!(
            e.text.contains("WHISPAWN=123456"),
            "attributes are kept: {}",
            e.text
        );
        assert!(e.text.contains("WHISDORN=COISL001"));
        assert!(
            e.text.contains("smit333@sfgov.edu"),
            "the handlers can answer by e-mail"
        );
        let loc = e.location.unwrap();
        assert!((loc.lat - 30.005).abs() < 1e-9 && (loc.lon - 121.155).abs() < 1e-9);

        // Following it: GET request, in both formats, and GET requests by id.
        let res = t
            .get(&format!(
                "/open311/v2/requests/{id}.xml?jurisdiction_id=yuyao.zhili"
            ))
            .await;
        assert_eq!(res.status, StatusCode::OK);
        let r = res.xml();
        let r = r.one("request");
        assert_eq!(r.text_of("service_request_id"), id);
        assert_eq!(r.text_of("status"), "open");
        assert_eq!(r.text_of("service_code"), "0101");
        assert_eq!(r.text_of("service_name"), "噪音扰民");
        assert_eq!(r.text_of("lat"), "30.005");
        assert_eq!(r.text_of("long"), "121.155");
        assert!(r.text_of("requested_datetime").ends_with("+08:00"));
        assert_eq!(
            r.text_of("media_url"),
            "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg"
        );
        assert!(!res.body.contains("smit333"), "no e-mail in public");
        assert!(!res.body.contains("john"), "no name in public");

        let v = t
            .get(&format!("/open311/v2/requests/{id}.json"))
            .await
            .json();
        assert_eq!(v[0]["service_request_id"], id.as_str());
        assert_eq!(v[0]["lat"], 30.005);
        assert_eq!(v[0]["address_id"], Value::Null);
        assert_eq!(v[0]["agency_responsible"], "凤山街道综合指挥室");

        let second = t.create(&[("description", "又一处噪音")]).await;
        let v = t
            .get(&format!(
                "/open311/v2/requests.json?service_request_id={id},{second},NOPE"
            ))
            .await
            .json();
        let mut ids: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        let mut want = vec![id.as_str(), second.as_str()];
        want.sort_unstable();
        assert_eq!(ids, want);

        // Tokens: zhili answers at once, but a token lookup still works.
        let tok = t.get(&format!("/open311/v2/tokens/{id}.xml")).await.xml();
        assert_eq!(tok.one("request").text_of("service_request_id"), id);
        assert_eq!(tok.one("request").text_of("token"), id);
        assert_error_json(
            &t.get("/open311/v2/tokens/12345.json").await,
            StatusCode::NOT_FOUND,
            "token",
        );
    }
}

#[tokio::test]
async fn a_retried_post_never_makes_a_second_event() {
    for t in setups().await {
        let form = with(
            &spec_example(),
            &[
                ("api_key", KEY),
                ("jurisdiction_id", "yuyao.zhili"),
                ("service_code", "0101"),
                ("lat", LAT),
                ("long", LONG),
            ],
        );
        let first = t.post("/open311/v2/requests.xml", &form).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        let id = first
            .xml()
            .one("request")
            .text_of("service_request_id")
            .to_string();
        // FixMyStreet retries by sending the same form again, in any order.
        let mut shuffled = form.clone();
        shuffled.reverse();
        for attempt in [&form, &shuffled] {
            let again = t.post("/open311/v2/requests.xml", attempt).await;
            assert_eq!(again.status, StatusCode::OK);
            assert_eq!(again.xml().one("request").text_of("service_request_id"), id);
        }
        assert_eq!(t.event_count().await, 1);

        // Another description is another request ...
        let other = with(&form, &[("description", "Another sinkhole")]);
        let res = t.post("/open311/v2/requests.json", &other).await;
        assert_ne!(res.json()[0]["service_request_id"], id.as_str());
        assert_eq!(t.event_count().await, 2);

        // ... unless the client names the request with an Idempotency-Key.
        let body = |d: &str| {
            encode(&[
                ("api_key", KEY),
                ("service_code", "0102"),
                ("lat", LAT),
                ("long", LONG),
                ("description", d),
            ])
        };
        let a = t
            .post_raw(
                "/open311/v2/requests.json",
                &body("违章搭建"),
                &[("idempotency-key", "fms-42")],
            )
            .await
            .json();
        let b = t
            .post_raw(
                "/open311/v2/requests.json",
                &body("违章搭建（重发）"),
                &[("idempotency-key", "fms-42")],
            )
            .await
            .json();
        assert_eq!(a[0]["service_request_id"], b[0]["service_request_id"]);
        assert_eq!(t.event_count().await, 3);
    }
}

#[tokio::test]
async fn errors_follow_the_spec_in_both_formats() {
    for t in setups().await {
        let good = [
            ("api_key", KEY),
            ("service_code", "0101"),
            ("lat", LAT),
            ("long", LONG),
            ("description", "噪音"),
        ];
        // 403: missing or wrong key, in each format.
        let no_key = &good[1..];
        assert_error_xml(
            &t.post("/open311/v2/requests.xml", no_key).await,
            StatusCode::FORBIDDEN,
            "api_key",
        );
        assert_error_json(
            &t.post("/open311/v2/requests.json", no_key).await,
            StatusCode::FORBIDDEN,
            "api_key",
        );
        let wrong = with(&good, &[("api_key", "zhili-demo-open311")]);
        assert_error_json(
            &t.post("/open311/v2/requests.json", &wrong).await,
            StatusCode::FORBIDDEN,
            "api_key",
        );
        // 400: what the request lacks or gets wrong.
        for (form, needle) in [
            (
                vec![("api_key", KEY), ("lat", LAT), ("long", LONG)],
                "service_code",
            ),
            (vec![("api_key", KEY), ("service_code", "0101")], "location"),
            (with(&good, &[("long", "")]), "lat/long"),
            (with(&good, &[("lat", "north")]), "lat"),
            (
                with(&good, &[("lat", "31.5"), ("long", "120.0")]),
                "location",
            ),
            (
                with(&good, &[("description", "")])
                    .into_iter()
                    .chain([("first_name", "x")])
                    .collect(),
                "",
            ),
        ] {
            if needle.is_empty() {
                // An empty description is allowed: the service name stands in.
                let res = t.post("/open311/v2/requests.json", &form).await;
                assert_eq!(res.status, StatusCode::OK, "{}", res.body);
                continue;
            }
            assert_error_xml(
                &t.post("/open311/v2/requests.xml", &form).await,
                StatusCode::BAD_REQUEST,
                needle,
            );
            assert_error_json(
                &t.post("/open311/v2/requests.json", &form).await,
                StatusCode::BAD_REQUEST,
                needle,
            );
        }
        // Not a form at all.
        let res = t
            .send(
                Request::post("/open311/v2/requests.json")
                    .header("content-type", "application/json")
                    .body(Body::from(r#"{"service_code":"0101"}"#))
                    .unwrap(),
            )
            .await;
        assert_error_json(&res, StatusCode::BAD_REQUEST, "x-www-form-urlencoded");
        // 404: what does not exist.
        assert_error_xml(
            &t.get("/open311/v2/requests.xml?jurisdiction_id=sfgov.org")
                .await,
            StatusCode::NOT_FOUND,
            "jurisdiction_id",
        );
        assert_error_json(
            &t.get("/open311/v2/requests/ZL2026010100001.json").await,
            StatusCode::NOT_FOUND,
            "service_request_id",
        );
        assert_error_xml(
            &t.get("/open311/v2/requests/nope.xml").await,
            StatusCode::NOT_FOUND,
            "service_request_id",
        );
        assert_error_json(
            &t.get("/open311/v2/potholes.json").await,
            StatusCode::NOT_FOUND,
            "",
        );
        assert_error_json(
            &t.get("/open311/v3/services.json").await,
            StatusCode::NOT_FOUND,
            "",
        );
        assert_error_xml(
            &t.get("/open311/v2/services.html").await,
            StatusCode::NOT_FOUND,
            ".xml",
        );
        assert_error_xml(
            &t.post("/open311/v2/services.xml", &good).await,
            StatusCode::NOT_FOUND,
            "POST",
        );
        // 400: bad query arguments.
        assert_error_json(
            &t.get("/open311/v2/requests.json?status=pending").await,
            StatusCode::BAD_REQUEST,
            "status",
        );
        assert_error_json(
            &t.get("/open311/v2/requests.json?start_date=2010-01-01T00:00:00Z&end_date=2010-06-01T00:00:00Z")
                .await,
            StatusCode::BAD_REQUEST,
            "90",
        );
        assert_error_xml(
            &t.get("/open311/v2/requests.xml?start_date=soon").await,
            StatusCode::BAD_REQUEST,
            "start_date",
        );
        assert_eq!(t.event_count().await, 1, "only the good request was stored");
    }
}

#[tokio::test]
async fn the_public_view_hides_personal_data_and_stays_well_formed() {
    for t in setups().await {
        let id = t
            .create(&[
                ("first_name", "小明"),
                ("last_name", "王"),
                ("phone", "13812345678"),
                ("email", "wang.xm@example.com"),
                (
                    "description",
                    "楼下<KTV>&\"酒吧\"'每晚吵到两点\u{1}，我的电话13812345678，身份证330281199001011234",
                ),
            ])
            .await;
        let e = t.event(&id).await;
        let c = t.contact(&e).await;
        assert_eq!(c.name.as_deref(), Some("王小明"), "Chinese name order");
        assert_eq!(c.phone.as_deref(), Some("13812345678"));

        for fmt in ["xml", "json"] {
            let res = t.get(&format!("/open311/v2/requests/{id}.{fmt}")).await;
            assert_eq!(res.status, StatusCode::OK);
            for secret in [
                "13812345678",
                "330281199001011234",
                "wang.xm",
                "王小明",
                "小明",
            ] {
                assert!(
                    !res.body.contains(secret),
                    "{secret} leaked in {fmt}: {}",
                    res.body
                );
            }
            let description = if fmt == "xml" {
                res.xml().one("request").text_of("description").to_string()
            } else {
                res.json()[0]["description"].as_str().unwrap().to_string()
            };
            assert!(
                description.starts_with("楼下<KTV>&\"酒吧\"'每晚吵到两点"),
                "markup survives escaping: {description}"
            );
            assert!(description.contains("138****5678"));
            assert!(description.contains("330***********1234"));
        }
    }
}

#[tokio::test]
async fn status_follows_the_lifecycle_and_filters_select() {
    for t in setups().await {
        let open_id = t.create(&[("description", "还没处理的噪音")]).await;
        let done_id = t.create(&[("description", "已处理的噪音")]).await;
        let e = t.event(&done_id).await;
        let fengshan = t.actor("fengshan").await;
        let zhujian = t.actor("zhujian").await;
        let zj = t.store.org_by_code("D-ZJ").await.unwrap().unwrap().id;
        let now = Utc::now();
        for (who, action) in [
            (&fengshan, Action::Accept { note: None }),
            (
                &fengshan,
                Action::Dispatch {
                    lead_unit: zj,
                    assisting_units: vec![],
                    note: Some("内部备注：请联系13912345678".into()),
                },
            ),
            (&zhujian, Action::Sign { note: None }),
            (
                &zhujian,
                Action::Resolve {
                    result: "已责令施工方停止夜间施工".into(),
                    photos: vec![],
                },
            ),
        ] {
            t.store
                .events_for(who)
                .act(e.id, &action, now)
                .await
                .unwrap();
        }
        let v = t
            .get(&format!("/open311/v2/requests/{done_id}.json"))
            .await
            .json();
        assert_eq!(v[0]["status"], "closed");
        assert_eq!(v[0]["status_notes"], "已办结：已责令施工方停止夜间施工");
        assert_eq!(v[0]["agency_responsible"], "余姚市住房和城乡建设局");
        assert!(
            !v.to_string().contains("13912345678"),
            "internal notes stay inside"
        );

        let ids = |v: Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| r["service_request_id"].as_str().unwrap().to_string())
                .collect()
        };
        let all = ids(t.get("/open311/v2/requests.json").await.json());
        assert_eq!(all.len(), 2);
        assert_eq!(
            ids(t.get("/open311/v2/requests.json?status=open").await.json()),
            [open_id]
        );
        assert_eq!(
            ids(t
                .get("/open311/v2/requests.json?status=closed")
                .await
                .json()),
            [done_id]
        );
        assert_eq!(
            ids(t
                .get("/open311/v2/requests.json?status=open,closed&service_code=0101")
                .await
                .json())
            .len(),
            2
        );
        assert!(
            ids(t
                .get("/open311/v2/requests.json?service_code=0102")
                .await
                .json())
            .is_empty()
        );
        // A window that ended long ago holds nothing; one around now holds both.
        assert!(
            ids(t
                .get("/open311/v2/requests.json?end_date=2020-01-01T00:00:00Z")
                .await
                .json())
            .is_empty()
        );
        let start = (Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
        assert_eq!(
            ids(t
                .get(&format!("/open311/v2/requests.json?start_date={start}"))
                .await
                .json())
            .len(),
            2
        );
        // The XML list parses and carries both.
        let doc = t.get("/open311/v2/requests.xml").await.xml();
        assert_eq!(doc.all("request").len(), 2);
    }
}

#[tokio::test]
async fn petitions_and_other_clients_requests_are_handled_apart() {
    for t in setups().await {
        let city = t.actor("city").await;
        let petition = zhili_domain::NewEvent::parse(zhili_domain::RawNewEvent {
            channel: "petition".into(),
            text: "信访件内容".into(),
            grid: Some("33028100200101".into()),
            ..Default::default()
        })
        .unwrap();
        let zhili_storage::CreateOutcome::Created(p) = t
            .store
            .events_for(&city)
            .create(&petition, Utc::now())
            .await
            .unwrap()
        else {
            panic!("a new petition")
        };
        assert_error_json(
            &t.get(&format!("/open311/v2/requests/{}.json", p.number))
                .await,
            StatusCode::NOT_FOUND,
            "service_request_id",
        );
        assert!(
            t.get("/open311/v2/requests.json")
                .await
                .json()
                .as_array()
                .unwrap()
                .is_empty()
        );

        // A second client posting the same form makes its own request.
        t.store
            .create_api_client(
                "cityapp",
                &zhili_server::open311::api_key_hash("second-key"),
                &Acting::system("测试"),
                Utc::now(),
            )
            .await
            .unwrap();
        let form = |key: &'static str| {
            vec![
                ("api_key", key),
                ("service_code", "0101"),
                ("lat", LAT),
                ("long", LONG),
                ("description", "同样的内容"),
            ]
        };
        let a = t.post("/open311/v2/requests.json", &form(KEY)).await.json();
        let b = t
            .post("/open311/v2/requests.json", &form("second-key"))
            .await
            .json();
        assert_ne!(a[0]["service_request_id"], b[0]["service_request_id"]);
        // A deactivated client's key stops working at once.
        t.store
            .set_api_client_active("cityapp", false, &Acting::system("测试"), Utc::now())
            .await
            .unwrap();
        assert_error_json(
            &t.post("/open311/v2/requests.json", &form("second-key"))
                .await,
            StatusCode::FORBIDDEN,
            "api_key",
        );
    }
}

//! KPIs, assessment and surveys over HTTP, on every backend under test: numbers with
//! links to their events, scope (another township is a 404), the 30% rule refused
//! with its reason, the Excel export read back with calamine, survey uploads all or
//! nothing, and the /kpi page with its drill-down.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;
use zhili_domain::{
    Action, InformChannel, NewEvent, OrgId, RawNewEvent, RawReporter, Satisfaction,
};
use zhili_server::{AppState, app, hash_password};
use zhili_storage::testing::{fresh_stores, with_small_city};
use zhili_storage::{Acting, HistoricalEvent, HistoricalStep, Store};

use common::{PW, call, login};

fn cn(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn event(name: &str, grid: &str) -> NewEvent {
    NewEvent::parse(RawNewEvent {
        channel: "hotline_12345".into(),
        external_id: Some(name.into()),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some("张三".into()),
            phone: Some("13800000001".into()),
        }),
        text: format!("{name} 楼下餐馆油烟扰民"),
        category: Some("0101".into()),
        grid: Some(grid.into()),
        ..Default::default()
    })
    .unwrap()
}

fn step(at: DateTime<Utc>, action: Action) -> HistoricalStep {
    HistoricalStep {
        at,
        actor_name: "测试".into(),
        action,
    }
}

/// F1 (凤山, closed on time, 满意), F2 (凤山, returned once, still open), F3 (梨洲).
async fn fixture(store: &Store) {
    let zj: OrgId = store.org_by_code("D-ZJ").await.unwrap().unwrap().id;
    let dispatch = |at| {
        step(
            at,
            Action::Dispatch {
                lead_unit: zj,
                assisting_units: vec![],
                note: None,
            },
        )
    };
    let accept = |at| step(at, Action::Accept { note: None });
    let h = |e, steps| HistoricalEvent {
        event: e,
        reporter_username: None,
        reported_at: cn(3, 2, 9, 0),
        steps,
    };
    let events = vec![
        h(
            event("F1", "33028100200101"),
            vec![
                accept(cn(3, 2, 9, 30)),
                dispatch(cn(3, 2, 10, 0)),
                step(cn(3, 2, 10, 30), Action::Sign { note: None }),
                step(
                    cn(3, 3, 10, 0),
                    Action::Resolve {
                        result: "已整改".into(),
                        photos: vec![],
                    },
                ),
                step(cn(3, 3, 11, 0), Action::VerifyPass { note: None }),
                step(
                    cn(3, 3, 14, 0),
                    Action::Inform {
                        channel: InformChannel::Phone,
                        note: None,
                    },
                ),
                step(
                    cn(3, 3, 15, 0),
                    Action::Rate {
                        satisfaction: Satisfaction::Satisfied,
                        comment: None,
                    },
                ),
                step(cn(3, 3, 16, 0), Action::Close { note: None }),
            ],
        ),
        h(
            event("F2", "33028100200102"),
            vec![
                accept(cn(3, 2, 9, 30)),
                dispatch(cn(3, 2, 10, 0)),
                step(
                    cn(3, 2, 11, 0),
                    Action::Return {
                        reason: "非本单位职责".into(),
                    },
                ),
            ],
        ),
        h(event("F3", "33028100100101"), vec![accept(cn(3, 2, 9, 30))]),
    ];
    let importer = Acting::system("测试");
    store.import_history(&events, &importer).await.unwrap();
}

async fn apps() -> Vec<Router> {
    let hash = hash_password(PW);
    let mut out = Vec::new();
    for store in fresh_stores().await {
        with_small_city(&store, &hash).await;
        fixture(&store).await;
        out.push(app(AppState::new(store, common::config())));
    }
    out
}

const MARCH: &str = "from=2026-03-01&to=2026-04-01";

fn kpi<'a>(v: &'a Value, kind: &str) -> &'a Value {
    v["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .unwrap()
}

async fn raw(app: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

#[tokio::test]
async fn numbers_link_to_their_events_and_scope_holds() {
    for app in apps().await {
        let city = login(&app, "city").await;
        let uri = format!("/api/v1/kpis?area=330281002&{MARCH}");
        let (s, v) = call(&app, "GET", &uri, Some(&city), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["subject"]["name"], "凤山街道");
        let ret = kpi(&v, "return_rate");
        assert_eq!(
            (ret["numerator"].as_f64(), ret["denominator"].as_f64()),
            (Some(1.0), Some(2.0))
        );
        assert_eq!(ret["display"], "50.0%");
        assert_eq!(ret["label"], "退回率");
        // The numerator's link lists exactly the one returned event.
        let link = ret["events"]["numerator"].as_str().unwrap();
        let (s, list) = call(&app, "GET", link, Some(&city), None).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(list["events"]["total"], 1);
        assert!(
            list["events"]["items"][0]["excerpt"]
                .as_str()
                .unwrap()
                .starts_with("F2")
        );
        // No personal data in the drill-down.
        assert!(!list.to_string().contains("13800000001"));
        // A survey KPI has no events behind it, and says so.
        let aware = kpi(&v, "awareness_rate");
        assert_eq!(aware["display"], "无数据");
        assert!(aware["events"]["numerator"].is_null());

        // 凤山's command room: its own township, yes; 梨洲 or a city department, 404.
        let fengshan = login(&app, "fengshan").await;
        let (s, _) = call(&app, "GET", &uri, Some(&fengshan), None).await;
        assert_eq!(s, StatusCode::OK);
        for other in ["area=330281001", "area=330281", "unit=D-ZJ", "area=nope"] {
            let (s, body) = call(
                &app,
                "GET",
                &format!("/api/v1/kpis?{other}&{MARCH}"),
                Some(&fengshan),
                None,
            )
            .await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{other}");
            assert!(!body.to_string().contains("numerator"));
            let (s, _) = call(
                &app,
                "GET",
                &format!("/api/v1/kpis/accepted/events?part=numerator&{other}&{MARCH}"),
                Some(&fengshan),
                None,
            )
            .await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{other}");
        }
        // Without an area: their own township.
        let (s, v) = call(
            &app,
            "GET",
            &format!("/api/v1/kpis?{MARCH}"),
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(
            (s, v["subject"]["code"].as_str()),
            (StatusCode::OK, Some("330281002"))
        );
        let citizen = login(&app, "citizen1").await;
        let (s, _) = call(&app, "GET", "/api/v1/kpis", Some(&citizen), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = call(&app, "GET", "/api/v1/kpis", None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // Bad input names its field.
        let (s, e) = call(
            &app,
            "GET",
            "/api/v1/kpis?from=2026-03-01",
            Some(&city),
            None,
        )
        .await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("to"))
        );
        let (s, e) = call(
            &app,
            "GET",
            &format!("/api/v1/kpis/speed/events?{MARCH}"),
            Some(&city),
            None,
        )
        .await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("kind"))
        );
    }
}

#[tokio::test]
async fn schemes_refuse_low_satisfaction_and_scores_export_to_excel() {
    use calamine::{Data, Reader, Xlsx};
    for app in apps().await {
        let city = login(&app, "city").await;
        let low = json!({
            "name": "乡镇（街道）月度考核",
            "assessed": "township",
            "indicators": [
                {"kpi": "satisfaction_rate", "weight": 25},
                {"kpi": "close_rate", "weight": 75}
            ]
        });
        let (s, e) = call(
            &app,
            "POST",
            "/api/v1/assessment/schemes",
            Some(&city),
            Some(&low.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["error"]["message"], "满意率权重不得低于 30%（O5）");
        assert_eq!(e["error"]["field"], "indicators");
        let fengshan = login(&app, "fengshan").await;
        let (s, _) = call(
            &app,
            "POST",
            "/api/v1/assessment/schemes",
            Some(&fengshan),
            Some(&low.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // Return rate: 凤山 1 of 2 returned → 50; 梨洲 none dispatched → no data.
        let ok = json!({
            "name": "乡镇（街道）月度考核",
            "assessed": "township",
            "indicators": [
                {"kpi": "satisfaction_rate", "weight": 50},
                {"kpi": "return_rate", "weight": 50}
            ]
        });
        let (s, saved) = call(
            &app,
            "POST",
            "/api/v1/assessment/schemes",
            Some(&city),
            Some(&ok.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{saved}");
        let id = saved["id"].as_i64().unwrap();
        let (s, list) = call(&app, "GET", "/api/v1/assessment/schemes", Some(&city), None).await;
        assert_eq!(
            (s, list.as_array().map(Vec::len)),
            (StatusCode::OK, Some(1))
        );

        let q = format!("scheme={id}&month=2026-03");
        let (s, scores) = call(
            &app,
            "GET",
            &format!("/api/v1/assessment/scores?{q}"),
            Some(&city),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{scores}");
        // 凤山: satisfaction 1/1 = 100 (F1), return 1/2 → 50: 75.
        assert_eq!(scores["rows"][0]["body"]["code"], "330281002");
        assert_eq!(scores["rows"][0]["total"], 75.0);
        assert_eq!(scores["rows"][0]["rank"], 1);
        assert!(scores["rows"][1]["total"].is_null(), "梨洲 has no data");

        let req = Request::get(format!("/api/v1/assessment/scores.xlsx?{q}"))
            .header("authorization", format!("Bearer {city}"))
            .body(Body::empty())
            .unwrap();
        let (s, bytes) = raw(&app, req).await;
        assert_eq!(s, StatusCode::OK);
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet_names(), vec!["2026-03 考核排名".to_string()]);
        let range = wb.worksheet_range("2026-03 考核排名").unwrap();
        let cell = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
        assert_eq!(cell(1, 0), Data::String("排名".into()));
        assert_eq!(cell(1, 5), Data::String("满意率（权重 50%）".into()));
        assert_eq!(cell(2, 0), Data::Float(1.0));
        assert_eq!(cell(2, 1), Data::String("330281002".into()));
        assert_eq!(cell(2, 2), Data::String("凤山街道".into()));
        assert_eq!(cell(2, 3), Data::Float(75.0));
        assert_eq!(cell(2, 8), Data::Float(50.0));
        assert_eq!(cell(3, 2), Data::String("梨洲街道".into()));
        assert_eq!(cell(3, 3), Data::String("无数据".into()));
        assert_eq!(range.height(), 4);

        // A township's command room does not read the townships' ranking.
        let (s, _) = call(
            &app,
            "GET",
            &format!("/api/v1/assessment/scores?{q}"),
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

async fn upload(app: &Router, token: &str, body: &str) -> (StatusCode, Value) {
    let req = Request::post("/api/v1/surveys?source=survey.csv")
        .header("authorization", format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (s, bytes) = raw(app, req).await;
    (s, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn survey_uploads_are_all_or_nothing_with_row_numbers() {
    for app in apps().await {
        let city = login(&app, "city").await;
        let bad = "区域编码,月份,受访人数,知晓人数,参与人数\n\
                   330281002,2026-03,200,150,50\n\
                   330281009,2026-03,10,1,1\n\
                   330281001,2026-03,100,abc,10\n";
        let (s, e) = upload(&app, &city, bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        let rows = e["error"]["detail"]["bad_rows"].as_array().unwrap();
        let got: Vec<(i64, &str)> = rows
            .iter()
            .map(|r| (r["row"].as_i64().unwrap(), r["column"].as_str().unwrap()))
            .collect();
        assert_eq!(got, vec![(3, "区域编码"), (4, "知晓人数")]);
        let uri = format!("/api/v1/kpis?area=330281002&{MARCH}");
        let (_, v) = call(&app, "GET", &uri, Some(&city), None).await;
        assert_eq!(
            kpi(&v, "awareness_rate")["display"],
            "无数据",
            "nothing stored"
        );

        let good = "区域编码,月份,受访人数,知晓人数,参与人数\n330281002,2026年3月,200,150,50\n";
        let oversight = login(&app, "oversight").await;
        let (s, _) = upload(&app, &oversight, good).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, r) = upload(&app, &city, good).await;
        assert_eq!((s, r["stored"].as_i64()), (StatusCode::OK, Some(1)), "{r}");
        let (_, v) = call(&app, "GET", &uri, Some(&city), None).await;
        assert_eq!(kpi(&v, "awareness_rate")["display"], "75.0%");
        assert_eq!(kpi(&v, "survey_participation_rate")["display"], "25.0%");
    }
}

async fn page(app: &Router, path: &str, cookie: &str) -> (StatusCode, String) {
    let req = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let (s, b) = raw(app, req).await;
    (s, String::from_utf8(b).unwrap())
}

async fn page_login(app: &Router, user: &str) -> String {
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("username={user}&password={PW}")))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("zhili_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_kpi_page_links_every_number_to_its_events() {
    for app in apps().await {
        let cookie = page_login(&app, "fengshan").await;
        let (s, html) = page(&app, &format!("/kpi?{MARCH}"), &cookie).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("考核指标：凤山街道"), "{html}");
        assert!(html.contains("href=\"/kpi\""), "nav link");
        let link = format!(
            "/kpi/return_rate/events?part=numerator&#38;area=330281002&#38;{}",
            MARCH.replace('&', "&#38;")
        );
        assert!(html.contains(&link), "{html}");
        let (s, list) = page(&app, &link.replace("&#38;", "&"), &cookie).await;
        assert_eq!(s, StatusCode::OK);
        assert!(list.contains("共 1 件"), "{list}");
        assert!(list.contains("F2 楼下餐馆油烟扰民"));
        assert!(!list.contains("F1 "));
        // Another township's numbers are not there for 凤山.
        let (s, _) = page(&app, &format!("/kpi?area=330281001&{MARCH}"), &cookie).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let citizen = page_login(&app, "citizen1").await;
        let (s, html) = page(&app, "/kpi", &citizen).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert!(!html.contains("href=\"/kpi\""));
    }
}

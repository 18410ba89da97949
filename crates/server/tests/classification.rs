//! Classification through the real router, on every backend: keyword rules alone
//! (a new city without a model), the triage queue and the operator's choice with its
//! export as training data, police marking, and a trained model loaded from a file.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{PW, apps, call, login};
use serde_json::{Value, json};
use tower::ServiceExt;
use zhili_server::classify::{Classifier, LoadedModel};
use zhili_server::{AppState, app, hash_password};
use zhili_storage::testing::{fresh_stores, with_small_city};

async fn report(app: &Router, token: &str, text: &str) -> Value {
    let body = json!({
        "channel": "web_form",
        "text": text,
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
    let id = v["id"].as_i64().expect("id");
    let (s, v) = call(
        app,
        "GET",
        &format!("/api/v1/events/{id}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn add_rule(app: &Router, admin: &str, rule: Value) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        "/api/v1/classification/rules",
        Some(admin),
        Some(&rule.to_string()),
    )
    .await
}

async fn get_text(app: &Router, uri: &str, token: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn rules_alone_classify_and_the_unsure_wait_for_the_command_room() {
    for app in apps().await {
        let admin = login(&app, "admin").await;
        let fengshan = login(&app, "fengshan").await;

        // Only admins edit rules; bad rules are refused naming the field.
        let (s, _) = add_rule(
            &app,
            &fengshan,
            json!({"terms": "噪音", "category": "0101"}),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = add_rule(&app, &admin, json!({"terms": " ，", "category": "0101"})).await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("terms"))
        );
        let (s, v) = add_rule(&app, &admin, json!({"terms": "噪音", "category": "01"})).await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("category"))
        );
        let (s, v) = add_rule(
            &app,
            &admin,
            json!({"terms": "噪音", "category": "0101", "mode": "sometimes"}),
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("mode"))
        );
        for rule in [
            json!({"terms": "噪音", "category": "0101"}),
            json!({"terms": "违建", "category": "0102"}),
            json!({"terms": "打架", "police": true}),
        ] {
            let (s, v) = add_rule(&app, &admin, rule).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }

        // One rule matches: the category is set and the evidence shown.
        let e = report(&app, &fengshan, "楼上ＫＴＶ每晚噪音到凌晨").await;
        assert_eq!(e["category"]["code"], "0101", "{e}");
        assert_eq!(e["needs_triage"], false);
        assert_eq!(e["classification"]["suggestions"][0]["source"], "rule");
        assert_eq!(e["classification"]["evidence"], json!(["噪音"]));
        // With its category comes its handling deadline.
        assert!(e["handle_due_at"].is_string(), "{e}");

        // Nothing matches, or two categories do: the event waits, without a category.
        let lamp = report(&app, &fengshan, "小区门口路灯坏了，联系电话13812345678").await;
        assert_eq!(lamp["category"], Value::Null);
        assert_eq!(lamp["needs_triage"], true);
        assert!(lamp["handle_due_at"].is_null());
        let both = report(&app, &fengshan, "隔壁违建施工，噪音很大").await;
        assert_eq!(both["needs_triage"], true);
        assert_eq!(
            both["classification"]["suggestions"]
                .as_array()
                .unwrap()
                .len(),
            2
        );

        // A police rule marks the event for 110.
        let fight = report(&app, &fengshan, "楼下有人打架").await;
        assert_eq!(fight["classification"]["police"], true, "{fight}");

        // The queue: the township's own, oldest first, with suggestions.
        let (s, q) = call(&app, "GET", "/api/v1/triage", Some(&fengshan), None).await;
        assert_eq!(s, StatusCode::OK);
        let numbers: Vec<&str> = q["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["number"].as_str().unwrap())
            .collect();
        assert_eq!(
            numbers,
            [
                lamp["number"].as_str().unwrap(),
                both["number"].as_str().unwrap(),
                fight["number"].as_str().unwrap()
            ]
        );
        assert_eq!(q["items"][1]["suggestions"].as_array().unwrap().len(), 2);
        let lizhou = login(&app, "lizhou").await;
        let (_, q) = call(&app, "GET", "/api/v1/triage", Some(&lizhou), None).await;
        assert_eq!(q["items"], json!([]));
        let citizen = login(&app, "citizen1").await;
        let (s, _) = call(&app, "GET", "/api/v1/triage", Some(&citizen), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // The operator decides; another township cannot; a 大类 is refused. The
        // category brings the routing matrix's suggestion with it.
        let (s, rule) = call(
            &app,
            "POST",
            "/api/v1/routing/rules",
            Some(&admin),
            Some(&json!({"category": "0102", "area": "330281002", "lead_unit": "S-330281002-PCS", "level": "township"}).to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{rule}");
        let id = lamp["id"].as_i64().unwrap();
        let uri = format!("/api/v1/events/{id}/category");
        let (s, _) = call(
            &app,
            "POST",
            &uri,
            Some(&lizhou),
            Some(r#"{"category":"0102"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = call(
            &app,
            "POST",
            &uri,
            Some(&fengshan),
            Some(r#"{"category":"01"}"#),
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("category"))
        );
        let (s, v) = call(
            &app,
            "POST",
            &uri,
            Some(&fengshan),
            Some(r#"{"category":"0102"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["category"]["code"], "0102");
        assert_eq!(v["needs_triage"], false);
        assert!(v["handle_due_at"].is_string(), "the limit now counts: {v}");
        assert_eq!(v["classification"]["chosen"]["category"], "0102");
        assert_eq!(v["routing"]["rule_id"], rule["id"], "{v}");
        assert_eq!(v["routing"]["lead_unit"]["code"], "S-330281002-PCS");
        let last = v["timeline"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["action"]["code"], "classify", "{last}");
        let (_, q) = call(&app, "GET", "/api/v1/triage", Some(&fengshan), None).await;
        assert_eq!(q["items"].as_array().unwrap().len(), 2, "it left the queue");

        // The choice is training data; the phone in the text is masked.
        let (s, csv) = get_text(&app, "/api/v1/triage/export.csv", &fengshan).await;
        assert_eq!(s, StatusCode::OK);
        let mut lines = csv.trim_start_matches('\u{FEFF}').lines();
        assert_eq!(lines.next(), Some("text,label,category_code,number"));
        let row = lines.next().expect("one choice");
        assert!(
            row.contains("小区门口路灯坏了") && row.contains(",违章搭建,0102,"),
            "{row}"
        );
        assert!(
            row.contains("138****5678") && !row.contains("13812345678"),
            "{row}"
        );
        assert_eq!(lines.next(), None);
        let (s, _) = get_text(&app, "/api/v1/triage/export.csv", &citizen).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // An override rule beats the others; deleting a rule takes it out at once.
        let (_, rules) = call(
            &app,
            "GET",
            "/api/v1/classification/rules",
            Some(&admin),
            None,
        )
        .await;
        let noise = rules["items"][0]["id"].as_i64().unwrap();
        let (s, _) = call(
            &app,
            "DELETE",
            &format!("/api/v1/classification/rules/{noise}"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let e = report(&app, &fengshan, "广场舞噪音").await;
        assert_eq!(e["needs_triage"], true, "{e}");
        let (s, _) = add_rule(
            &app,
            &admin,
            json!({"terms": "广场舞", "category": "0101", "mode": "override"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let e = report(&app, &fengshan, "广场舞违建").await;
        assert_eq!(
            e["category"]["code"], "0101",
            "override wins over fill: {e}"
        );
    }
}

/// The small city's app with a model, as `zhili serve --classifier-model` runs.
async fn apps_with_model(model: &std::path::Path) -> Vec<Router> {
    let hash = hash_password(PW);
    let mut out = Vec::new();
    for store in fresh_stores().await {
        with_small_city(&store, &hash).await;
        let m = LoadedModel::from_file(model).expect("model loads");
        let state = AppState::new(store.clone(), common::config())
            .with_classifier(Classifier::new(Some(m), None, 0.6))
            .load()
            .await
            .unwrap();
        out.push(app(state));
    }
    out
}

#[tokio::test]
async fn a_trained_model_classifies_new_events_and_says_why() {
    // Labels are the small city's category names, so no mapping is needed.
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for (i, place) in ["东溪村", "南门社区", "北街", "城东小区", "西湖路", "江南村"]
        .iter()
        .enumerate()
    {
        texts.push(format!("{place}楼上装修噪音扰民，晚上{}点还很吵", i + 8));
        labels.push("噪音扰民");
        texts.push(format!(
            "{place}有人在屋顶违章搭建彩钢棚，占了{}平方米",
            i + 20
        ));
        labels.push("违章搭建");
    }
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let model = zhili_nlp::Classifier::train(&texts, &labels, &zhili_nlp::TrainConfig::default())
        .expect("trains");
    let dir = std::env::temp_dir().join(format!("zhili-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("small.zhm");
    model.save_file(&path).unwrap();

    for app in apps_with_model(&path).await {
        let fengshan = login(&app, "fengshan").await;
        let e = report(&app, &fengshan, "隔壁彩钢棚违章搭建越来越大").await;
        assert_eq!(e["category"]["code"], "0102", "{e}");
        let c = &e["classification"];
        assert_eq!(c["suggestions"][0]["source"], "model");
        assert!(c["model"].as_str().unwrap().starts_with("small.zhm"), "{c}");
        assert!(
            c["evidence"].as_array().unwrap().iter().any(|w| {
                let w = w.as_str().unwrap();
                w.contains("搭建") || w.contains("彩钢")
            }),
            "{c}"
        );
        let (s, v) = call(&app, "GET", "/healthz", None, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["classifier"]["mode"], "model", "{v}");
    }

    // A corrupt file is refused with its name; nothing half-loaded.
    let bad = dir.join("corrupt.zhm");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&bad, &bytes).unwrap();
    let err = LoadedModel::from_file(&bad)
        .err()
        .expect("corrupt model refused");
    assert!(err.contains("corrupt.zhm"), "{err}");
    let err = LoadedModel::from_file(&dir.join("missing.zhm"))
        .err()
        .expect("missing model refused");
    assert!(err.contains("missing.zhm"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn without_a_model_health_says_rules_alone_and_why() {
    let store = fresh_stores().await.remove(0);
    with_small_city(&store, &hash_password(PW)).await;
    let state = AppState::new(store, common::config())
        .with_classifier(Classifier::new(
            None,
            Some("无法加载分类模型 /x/model.zhm: 文件不存在".into()),
            0.6,
        ))
        .load()
        .await
        .unwrap();
    let app = app(state);
    let (s, v) = call(&app, "GET", "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["classifier"]["mode"], "rules");
    assert_eq!(v["classifier"]["model_failed"], true);
    assert!(
        v["classifier"].get("problem").is_none(),
        "no file paths to anyone: {v}"
    );
    // Staff read why.
    let admin = login(&app, "admin").await;
    let (s, v) = call(
        &app,
        "GET",
        "/api/v1/classification/status",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["problem"].as_str().unwrap().contains("model.zhm"), "{v}");
}

//! The routing matrix through the real router, on every backend: admins change it
//! (others get 403), bad input names its field, the Excel export imports back to the
//! same rules, a file with bad rows is refused whole with every row listed, the event
//! shows the suggestion (JSON and page, where the dispatch form preselects it) and the
//! admin page works with its forms.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{PW, apps, call, login};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn raw(app: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

async fn post_rule(app: &Router, token: &str, body: Value) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        "/api/v1/routing/rules",
        Some(token),
        Some(&body.to_string()),
    )
    .await
}

async fn rules(app: &Router, token: &str) -> Vec<Value> {
    let (s, v) = call(app, "GET", "/api/v1/routing/rules", Some(token), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

/// A rule's content, without ids, times and counts.
fn content(r: &Value) -> Value {
    json!({
        "category": r["category"]["code"],
        "area": r["area"]["code"],
        "lead": r["lead_unit"]["code"],
        "assisting": r["assisting_units"].as_array().unwrap().iter().map(|u| u["code"].clone()).collect::<Vec<_>>(),
        "level": r["level"]["code"],
        "note": r["note"],
    })
}

async fn upload(app: &Router, token: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::post("/api/v1/routing/rules.xlsx")
        .header("authorization", format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(Body::from(bytes))
        .unwrap();
    let (s, b) = raw(app, req).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

async fn download(app: &Router, token: &str) -> Vec<u8> {
    let req = Request::get("/api/v1/routing/rules.xlsx")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (s, b) = raw(app, req).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b.starts_with(b"PK"), "an xlsx file");
    b
}

#[tokio::test]
async fn admins_change_the_matrix_and_everyone_else_gets_403() {
    for app in apps().await {
        let admin = login(&app, "admin").await;
        let fengshan = login(&app, "fengshan").await;
        let citizen = login(&app, "citizen1").await;
        let rule = json!({
            "category": "0101", "area": "330281002", "lead_unit": "S-330281002-PCS",
            "assisting_units": ["D-ZJ"], "level": "township", "note": "夜间噪音先由派出所处置",
        });
        let (s, v) = post_rule(&app, &fengshan, rule.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, created) = post_rule(&app, &admin, rule.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["lead_unit"]["code"], "S-330281002-PCS");
        assert_eq!(created["stats"]["misrouting_rate"], Value::Null);

        let (s, v) = post_rule(&app, &admin, rule.clone()).await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::CONFLICT, json!("area"))
        );
        for (body, field) in [
            (
                json!({"category": "01", "lead_unit": "D-ZJ", "level": "city"}),
                "category",
            ),
            (
                json!({"category": "0101", "area": "D-GA", "lead_unit": "D-ZJ", "level": "city"}),
                "area",
            ),
            (
                json!({"category": "0101", "lead_unit": "S-330281002-PCS", "level": "city"}),
                "lead_unit",
            ),
            (
                json!({"category": "0101", "lead_unit": "D-ZJ", "level": "省"}),
                "level",
            ),
        ] {
            let (s, v) = post_rule(&app, &admin, body).await;
            assert_eq!(
                (s, v["error"]["field"].clone()),
                (StatusCode::UNPROCESSABLE_ENTITY, json!(field)),
                "{v}"
            );
        }

        // Staff read; citizens do not.
        assert_eq!(rules(&app, &fengshan).await.len(), 1);
        let (s, _) = call(&app, "GET", "/api/v1/routing/rules", Some(&citizen), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/routing/rules?category=01&area=330281002",
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(
            (s, v["items"].as_array().unwrap().len()),
            (StatusCode::OK, 1)
        );

        let uri = format!("/api/v1/routing/rules/{id}");
        let changed =
            json!({"category": "0101", "area": "330281002", "lead_unit": "D-ZJ", "level": "市"});
        let (s, _) = call(
            &app,
            "PUT",
            &uri,
            Some(&fengshan),
            Some(&changed.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = call(&app, "PUT", &uri, Some(&admin), Some(&changed.to_string())).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (v["level"]["code"].clone(), v["assisting_units"].clone()),
            (json!("city"), json!([]))
        );
        let (s, _) = call(&app, "DELETE", &uri, Some(&fengshan), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = call(&app, "DELETE", &uri, Some(&admin), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = call(&app, "GET", &uri, Some(&admin), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_excel_export_imports_back_to_the_same_rules() {
    for app in apps().await {
        let admin = login(&app, "admin").await;
        for body in [
            json!({"category": "0101", "lead_unit": "D-ZJ", "level": "township"}),
            json!({"category": "0101", "area": "330281002", "lead_unit": "S-330281002-PCS",
                   "assisting_units": ["D-ZJ", "D-GA"], "level": "village", "note": "含“引号”，与逗号, 分号；"}),
            json!({"category": "0102", "area": "33028100200101", "lead_unit": "D-GA", "level": "grid"}),
            json!({"category": "0102", "lead_unit": "D-ZJ", "level": "city"}),
        ] {
            let (s, v) = post_rule(&app, &admin, body).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
        let before = rules(&app, &admin).await;
        let file = download(&app, &admin).await;

        // The same file again changes nothing, not even the times.
        let (s, v) = upload(&app, &admin, file.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            v,
            json!({"created": 0, "updated": 0, "unchanged": 4, "deleted": 0})
        );
        assert_eq!(rules(&app, &admin).await, before);

        // After changes, the file brings the matrix back as it was.
        let first = before[0]["id"].as_i64().unwrap();
        let (s, _) = call(
            &app,
            "DELETE",
            &format!("/api/v1/routing/rules/{first}"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = post_rule(
            &app,
            &admin,
            json!({"category": "0101", "area": "330281001", "lead_unit": "D-ZJ", "level": "township"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, v) = upload(&app, &admin, file).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            v,
            json!({"created": 1, "updated": 0, "unchanged": 3, "deleted": 1})
        );
        let after: Vec<Value> = rules(&app, &admin).await.iter().map(content).collect();
        let expected: Vec<Value> = before.iter().map(content).collect();
        assert_eq!(after, expected);

        let fengshan = login(&app, "fengshan").await;
        let (s, _) = upload(&app, &fengshan, download(&app, &admin).await).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}

fn xlsx(rows: &[[&str; 9]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

const HEADER: [&str; 9] = [
    "类别编码",
    "类别名称",
    "区域编码",
    "区域名称",
    "主办单位编码",
    "主办单位",
    "协办单位编码",
    "层级",
    "备注",
];

#[tokio::test]
async fn a_file_with_bad_rows_is_refused_whole_with_every_row_listed() {
    for app in apps().await {
        let admin = login(&app, "admin").await;
        let (s, _) = post_rule(
            &app,
            &admin,
            json!({"category": "0101", "lead_unit": "D-ZJ", "level": "city"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let before = rules(&app, &admin).await;
        let file = xlsx(&[
            HEADER,
            ["0102", "违章搭建", "", "全市", "D-ZJ", "", "", "市", ""],
            ["01", "城市管理", "", "", "D-ZJ", "", "", "市", ""],
            [
                "0101",
                "",
                "330281002",
                "",
                "D-ZJ",
                "",
                "D-XX；D-GA",
                "乡镇街道",
                "",
            ],
            ["0101", "", "330281001", "", "", "", "", "乡镇街道", ""],
            ["0102", "", "33028100200101", "", "D-GA", "", "", "楼栋", ""],
            ["0102", "", "", "", "D-GA", "", "", "市", ""],
        ]);
        let (s, v) = upload(&app, &admin, file).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["code"], "bad_rows");
        let texts: Vec<&str> = v["error"]["detail"]["bad_rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts.len(), 5, "{texts:?}");
        assert!(texts[0].starts_with("第 3 行 · 类别编码: "), "{texts:?}");
        assert!(
            texts[1].starts_with("第 4 行 · 协办单位编码: "),
            "{texts:?}"
        );
        assert!(
            texts[2].starts_with("第 5 行 · 主办单位编码: "),
            "{texts:?}"
        );
        assert!(texts[3].starts_with("第 6 行 · 层级: "), "{texts:?}");
        assert!(
            texts[4].starts_with("第 7 行 · 区域编码: ") && texts[4].contains("第 2 行"),
            "{texts:?}"
        );
        assert_eq!(rules(&app, &admin).await, before, "nothing stored");

        let (s, v) = upload(&app, &admin, b"not a spreadsheet".to_vec()).await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("file"))
        );
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

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    let len = html[start..].find('"').unwrap();
    html[start..start + len].to_string()
}

#[tokio::test]
async fn the_event_shows_the_suggestion_and_the_dispatch_form_preselects_it() {
    for app in apps().await {
        let admin = login(&app, "admin").await;
        let (s, rule) = post_rule(
            &app,
            &admin,
            json!({"category": "0101", "area": "330281002", "lead_unit": "S-330281002-PCS",
                   "assisting_units": ["D-ZJ"], "level": "township"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let fengshan = login(&app, "fengshan").await;
        let (s, e) = call(
            &app,
            "POST",
            "/api/v1/events",
            Some(&fengshan),
            Some(&json!({"channel": "web_form", "text": "广场舞音响声音太大", "category": "0101", "grid": "33028100200101"}).to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        let id = e["id"].as_i64().unwrap();
        let (_, d) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{id}"),
            Some(&fengshan),
            None,
        )
        .await;
        assert_eq!(d["routing"]["rule_id"], rule["id"]);
        assert_eq!(d["routing"]["lead_unit"]["code"], "S-330281002-PCS");
        assert_eq!(d["routing"]["lead_unit"]["name"], "凤山派出所");
        assert_eq!(d["routing"]["assisting_units"][0]["code"], "D-ZJ");
        assert_eq!(d["routing"]["level"]["code"], "township");
        let (s, _) = call(
            &app,
            "POST",
            &format!("/api/v1/events/{id}/actions"),
            Some(&fengshan),
            Some(r#"{"action": "accept"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::OK);

        let cookie = page_login(&app, "fengshan").await;
        let (s, html) = page(&app, &format!("/events/{id}"), &cookie).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("建议分派")
                && html.contains("主办 <span lang=\"zh-CN\">凤山派出所</span>")
                && html.contains("；协办 <span lang=\"zh-CN\">余姚市住房和城乡建设局</span>"),
            "{html}"
        );
        let pcs = rule["lead_unit"]["id"].as_i64().unwrap();
        let zj = rule["assisting_units"][0]["id"].as_i64().unwrap();
        let lead_select = &html[html.find("name=\"lead_unit\"").unwrap()..];
        let lead_select = &lead_select[..lead_select.find("</select>").unwrap()];
        assert!(
            lead_select.contains(&format!("value=\"{pcs}\" selected")),
            "{lead_select}"
        );
        let assist = &html[html.find("name=\"assisting_units\"").unwrap()..];
        let assist = &assist[..assist.find("</select>").unwrap()];
        assert!(
            assist.contains(&format!("value=\"{zj}\" selected")),
            "{assist}"
        );

        // Without a rule: the category's department, said to be the default.
        let (_, e) = call(
            &app,
            "POST",
            "/api/v1/events",
            Some(&fengshan),
            Some(&json!({"channel": "web_form", "text": "违章搭建阳光房", "category": "0102", "grid": "33028100200101"}).to_string()),
        )
        .await;
        assert_eq!(e["routing"]["rule_id"], Value::Null);
        assert_eq!(e["routing"]["source"]["label"], "类别默认部门");
    }
}

fn multipart(csrf: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "zhili-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rules.xlsx\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn the_admin_page_lists_adds_imports_and_refuses_others() {
    for app in apps().await {
        let cookie = page_login(&app, "admin").await;
        let (s, html) = page(&app, "/admin/routing", &cookie).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("分派规则（责任矩阵）") && html.contains("添加规则"),
            "{html}"
        );
        assert!(
            html.contains("href=\"/admin/routing\">分派规则</a>"),
            "nav link"
        );
        let csrf = csrf_in(&html);

        let form = format!(
            "csrf={csrf}&category=0101&area=330281002&lead_unit=S-330281002-PCS&assisting_units=D-ZJ&level=township&note="
        );
        let post = |body: String| {
            Request::post("/admin/routing")
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap()
        };
        let (s, _) = raw(&app, post(form.clone())).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let (s, b) = raw(&app, post(form.replace("csrf=", "csrf=x"))).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&b));
        let (s, b) = raw(&app, post(form.replace("area=330281002", "area=D-GA"))).await;
        let html = String::from_utf8(b).unwrap();
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("区域：") && html.contains("value=\"D-GA\""),
            "typed values kept"
        );

        let (s, html) = page(&app, "/admin/routing", &cookie).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("凤山派出所") && html.contains("凤山街道（330281002）"),
            "{html}"
        );

        let (ct, body) = multipart(
            &csrf,
            &xlsx(&[HEADER, ["01", "", "", "", "D-ZJ", "", "", "市", ""]]),
        );
        let req = Request::post("/admin/routing/import")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap();
        let (s, b) = raw(&app, req).await;
        let html = String::from_utf8(b).unwrap();
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("第 2 行 · 类别编码: "), "{html}");

        let (ct, body) = multipart(
            &csrf,
            &xlsx(&[HEADER, ["0102", "", "", "", "D-ZJ", "", "", "市", ""]]),
        );
        let req = Request::post("/admin/routing/import")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap();
        let (s, b) = raw(&app, req).await;
        let html = String::from_utf8(b).unwrap();
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("新增 1 条") && html.contains("删除 1 条"),
            "{html}"
        );

        let req = Request::get("/admin/routing/rules.xlsx")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap();
        let (s, b) = raw(&app, req).await;
        assert!(s == StatusCode::OK && b.starts_with(b"PK"));

        // The township reads the matrix without forms; citizens may not.
        let township = page_login(&app, "fengshan").await;
        let (s, html) = page(&app, "/admin/routing", &township).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            !html.contains("添加规则") && html.contains("违章搭建"),
            "{html}"
        );
        let citizen = page_login(&app, "citizen1").await;
        let (s, _) = page(&app, "/admin/routing", &citizen).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}

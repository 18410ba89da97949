//! Event photos through the real router, on SQLite and (with ZHILI_TEST_PG)
//! PostgreSQL: upload, list and download over the API; the public copy without the
//! EXIF position; the type read from the bytes; limits; scope; the report form and
//! the event page with a photo (multipart with CSRF), and nothing stored when a
//! photo is refused.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::{PW, apps, login};

const GRID: &str = "33028100200101";

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn send(app: &Router, req: Request<Body>) -> Resp {
    let res = app.clone().oneshot(req).await.expect("router answers");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Resp {
        status,
        headers,
        bytes,
    }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    json: Option<Value>,
) -> Resp {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = match json {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    send(app, req.body(body).unwrap()).await
}

const BOUNDARY: &str = "zhili-test-boundary-7d1f";

/// A multipart body: (name, file name, bytes) per part.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/jpeg\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn multipart_request(uri: &str, auth: (&str, &str), body: Vec<u8>) -> Request<Body> {
    Request::post(uri)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(auth.0, auth.1)
        .body(Body::from(body))
        .unwrap()
}

async fn upload(app: &Router, token: &str, event: i64, filename: &str, bytes: &[u8]) -> Resp {
    let body = multipart(&[("photo", Some(filename), bytes)]);
    send(
        app,
        multipart_request(
            &format!("/api/v1/events/{event}/attachments"),
            ("authorization", &format!("Bearer {token}")),
            body,
        ),
    )
    .await
}

/// A real 16×16 JPEG; `seed` makes each one different.
fn jpeg(seed: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let pixels: Vec<u8> = (0..16 * 16 * 3u32)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&pixels, 16, 16, jpeg_encoder::ColorType::Rgb)
        .expect("encode");
    out
}

/// `jpeg` with an APP1 EXIF segment whose GPS IFD puts it at 30°2'N.
fn with_gps(jpeg: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"II*\0");
    t.extend_from_slice(&8u32.to_le_bytes());
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&0x8825u16.to_le_bytes());
    t.extend_from_slice(&4u16.to_le_bytes());
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(&26u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend_from_slice(&2u32.to_le_bytes());
    t.extend_from_slice(b"N\0\0\0");
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend_from_slice(&5u16.to_le_bytes());
    t.extend_from_slice(&3u32.to_le_bytes());
    t.extend_from_slice(&56u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    for (num, den) in [(30u32, 1u32), (2, 1), (0, 1)] {
        t.extend_from_slice(&num.to_le_bytes());
        t.extend_from_slice(&den.to_le_bytes());
    }
    let mut body = b"Exif\0\0".to_vec();
    body.extend_from_slice(&t);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A 1×1 PNG (stored zlib block, CRCs computed here).
fn png() -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut k = kind.to_vec();
        k.extend_from_slice(data);
        out.extend_from_slice(&k);
        out.extend_from_slice(&crc32(&k).to_be_bytes());
    }
    let raw = [0u8, 200, 10, 10];
    let mut idat = vec![0x78, 0x01, 0x01, 4, 0, !4u8, 0xFF];
    idat.extend_from_slice(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for x in raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    idat.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    chunk(&mut out, b"tEXt", b"Comment\0taken at home");
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// An event in 凤山街道's first grid, put in by the command centre; returns its id.
async fn new_event(app: &Router, text: &str) -> i64 {
    let city = login(app, "city").await;
    let r = call(
        app,
        "POST",
        "/api/v1/events",
        Some(&city),
        Some(json!({
            "channel": "hotline_12345",
            "reporter": {"kind": "citizen", "name": "李四", "phone": "13912345678"},
            "text": text,
            "category": "0101",
            "grid": GRID,
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_photo_with_gps_is_listed_and_served_without_its_metadata_except_to_handlers() {
    for app in apps().await {
        let event = new_event(&app, "楼下烧烤店油烟很大").await;
        let grid1 = login(&app, "grid1").await;
        let original = with_gps(&jpeg(1));
        assert!(contains(&original, b"Exif\0\0"));

        let r = upload(&app, &grid1, event, "IMG_0001.JPG", &original).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let meta = r.json();
        assert_eq!(meta["content_type"], "image/jpeg");
        assert_eq!(meta["filename"], "IMG_0001.jpg");
        assert_eq!(meta["size"], original.len());
        assert_eq!(meta["uploader_role"]["code"], "grid_worker");
        let id = meta["id"].as_i64().unwrap();
        assert_eq!(meta["url"], format!("/api/v1/attachments/{id}"));

        // The same bytes again (a retried upload): the same photo, nothing new.
        let again = upload(&app, &grid1, event, "IMG_0001.JPG", &original).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.json()["id"], id);

        let list = call(
            &app,
            "GET",
            &format!("/api/v1/events/{event}/attachments"),
            Some(&grid1),
            None,
        )
        .await;
        assert_eq!(list.status, StatusCode::OK);
        let list = list.json();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(list["items"][0]["id"], id);
        assert_eq!(list["max_photos"], 9);
        assert_eq!(list["may_upload"], true);

        // Anyone who sees the event gets the copy without metadata.
        let oversight = login(&app, "oversight").await;
        let d = call(
            &app,
            "GET",
            &format!("/api/v1/attachments/{id}"),
            Some(&oversight),
            None,
        )
        .await;
        assert_eq!(d.status, StatusCode::OK);
        assert_eq!(d.header(header::CONTENT_TYPE), "image/jpeg");
        assert_eq!(d.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert!(d.header(header::CACHE_CONTROL).starts_with("private"));
        assert!(
            d.header(header::CONTENT_DISPOSITION)
                .starts_with("inline; filename=\"IMG_0001.jpg\""),
            "{}",
            d.header(header::CONTENT_DISPOSITION)
        );
        assert!(d.bytes.starts_with(&[0xFF, 0xD8]));
        assert!(d.bytes.ends_with(&[0xFF, 0xD9]));
        assert!(!contains(&d.bytes, b"Exif"), "EXIF gone");
        assert!(!d.bytes.windows(2).any(|w| w == [0xFF, 0xE1]), "no APP1");
        assert!(d.bytes.len() < original.len());
        // …and not the original, which holds the position.
        let o = call(
            &app,
            "GET",
            &format!("/api/v1/attachments/{id}?variant=original"),
            Some(&oversight),
            None,
        )
        .await;
        assert_eq!(o.status, StatusCode::FORBIDDEN, "{}", o.text());
        assert_eq!(o.json()["error"]["field"], "variant");
        let ol = call(
            &app,
            "GET",
            &format!("/api/v1/events/{event}/attachments"),
            Some(&oversight),
            None,
        )
        .await;
        assert_eq!(ol.json()["items"][0]["original_available"], false);
        assert_eq!(ol.json()["items"][0]["original_url"], Value::Null);
        assert_eq!(ol.json()["may_upload"], false);

        // The township's command room handles the event: it may have the original,
        // as may the uploader.
        for user in ["fengshan", "grid1"] {
            let t = login(&app, user).await;
            let o = call(
                &app,
                "GET",
                &format!("/api/v1/attachments/{id}?variant=original"),
                Some(&t),
                None,
            )
            .await;
            assert_eq!(o.status, StatusCode::OK, "{user}");
            assert_eq!(o.bytes, original, "{user} gets the bytes as uploaded");
            assert!(o.header(header::CACHE_CONTROL).contains("no-store"));
        }
        let bad = call(
            &app,
            "GET",
            &format!("/api/v1/attachments/{id}?variant=raw"),
            Some(&grid1),
            None,
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.json()["error"]["field"], "variant");
    }
}

#[tokio::test]
async fn the_type_comes_from_the_bytes_and_bad_files_are_refused_by_field() {
    for app in apps().await {
        let event = new_event(&app, "路灯不亮").await;
        let t = login(&app, "fengshan").await;

        let r = upload(&app, &t, event, "screenshot.jpg", &png()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert_eq!(r.json()["content_type"], "image/png");
        assert_eq!(r.json()["filename"], "screenshot.png");
        let id = r.json()["id"].as_i64().unwrap();
        let d = call(
            &app,
            "GET",
            &format!("/api/v1/attachments/{id}"),
            Some(&t),
            None,
        )
        .await;
        assert_eq!(d.header(header::CONTENT_TYPE), "image/png");
        assert!(!contains(&d.bytes, b"taken at home"), "text chunk gone");

        let refused: [(&str, &[u8], &str); 3] = [
            (
                "note.jpg",
                b"<html><script>alert(1)</script></html>",
                "JPEG",
            ),
            ("empty.jpg", b"", "空文件"),
            ("half.jpg", &jpeg(2)[..200], "损坏"),
        ];
        for (name, bytes, says) in refused {
            let r = upload(&app, &t, event, name, bytes).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
            let e = r.json();
            assert_eq!(e["error"]["field"], "photo", "{name}");
            assert!(
                e["error"]["message"].as_str().unwrap().contains(says),
                "{name}: {e}"
            );
        }

        // Over the photo limit but inside the request limit, and over both.
        for size in [10 * 1024 * 1024 + 1, 12 * 1024 * 1024] {
            let mut big = jpeg(3);
            big.resize(size, 0);
            let r = upload(&app, &t, event, "big.jpg", &big).await;
            assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{size}");
            let e = r.json();
            assert_eq!(e["error"]["code"], "too_large", "{size}: {}", r.text());
            assert_eq!(e["error"]["field"], "photo");
            assert!(e["error"]["message"].as_str().unwrap().contains("10 MB"));
        }

        // Wrong part name, two photos, not multipart at all.
        let body = multipart(&[("file", Some("a.jpg"), &jpeg(4))]);
        let auth = format!("Bearer {t}");
        let uri = format!("/api/v1/events/{event}/attachments");
        let r = send(
            &app,
            multipart_request(&uri, ("authorization", &auth), body),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["error"]["field"], "file");
        let body = multipart(&[
            ("photo", Some("a.jpg"), &jpeg(5)),
            ("photo", Some("b.jpg"), &jpeg(6)),
        ]);
        let r = send(
            &app,
            multipart_request(&uri, ("authorization", &auth), body),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["error"]["field"], "photo");
        let r = call(&app, "POST", &uri, Some(&t), Some(json!({"photo": "x"}))).await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // Only the PNG was stored.
        let list = call(&app, "GET", &uri, Some(&t), None).await.json();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn an_event_takes_nine_photos_and_refuses_the_tenth() {
    for app in apps().await {
        let event = new_event(&app, "河道垃圾").await;
        let t = login(&app, "grid1").await;
        for i in 0..9 {
            let r = upload(&app, &t, event, &format!("p{i}.jpg"), &jpeg(i)).await;
            assert_eq!(r.status, StatusCode::CREATED, "photo {i}: {}", r.text());
        }
        let r = upload(&app, &t, event, "p9.jpg", &jpeg(9)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let e = r.json();
        assert_eq!(e["error"]["field"], "photo");
        assert!(e["error"]["message"].as_str().unwrap().contains('9'), "{e}");
        let list = call(
            &app,
            "GET",
            &format!("/api/v1/events/{event}/attachments"),
            Some(&t),
            None,
        )
        .await
        .json();
        assert_eq!(list["items"].as_array().unwrap().len(), 9);
        assert_eq!(list["may_upload"], false);
    }
}

#[tokio::test]
async fn photos_need_a_login_and_the_event_in_scope() {
    for app in apps().await {
        let event = new_event(&app, "噪音扰民").await;
        let grid1 = login(&app, "grid1").await;
        let r = upload(&app, &grid1, event, "a.jpg", &jpeg(1)).await;
        let id = r.json()["id"].as_i64().unwrap();

        let uris = [
            format!("/api/v1/events/{event}/attachments"),
            format!("/api/v1/attachments/{id}"),
        ];
        for uri in &uris {
            let r = call(&app, "GET", uri, None, None).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
        }
        let body = multipart(&[("photo", Some("b.jpg"), &jpeg(2))]);
        let r = send(&app, multipart_request(&uris[0], ("x-nothing", "1"), body)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["error"]["code"], "unauthorized");

        // Outside their scope the event and its photos do not exist.
        for user in ["citizen2", "lizhou", "zhujian"] {
            let t = login(&app, user).await;
            for uri in &uris {
                let r = call(&app, "GET", uri, Some(&t), None).await;
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{user} {uri}");
            }
            let r = upload(&app, &t, event, "c.jpg", &jpeg(3)).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{user} upload");
        }
        // Oversight sees everything and adds nothing.
        let t = login(&app, "oversight").await;
        let r = upload(&app, &t, event, "d.jpg", &jpeg(4)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = call(&app, "GET", "/api/v1/attachments/999999", Some(&t), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = call(&app, "GET", "/api/v1/attachments/abc", Some(&t), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let doc = call(&app, "GET", "/api/openapi.json", None, None)
            .await
            .json();
        for path in [
            "/api/v1/events/{id}/attachments",
            "/api/v1/attachments/{id}",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} documented");
        }
    }
}

// ---------------------------------------------------------------------------
// Pages

/// A signed-in browser.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn page_login(app: &Router, user: &str) -> Browser {
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("username={user}&password={PW}")))
        .unwrap();
    let r = send(app, req).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("zhili_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let page = page_get(app, "/events/new", &cookie).await;
    let html = page.text();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let len = html[start..].find('"').unwrap();
    Browser {
        csrf: html[start..start + len].to_string(),
        cookie,
    }
}

async fn page_get(app: &Router, path: &str, cookie: &str) -> Resp {
    let req = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    send(app, req).await
}

/// The report form as a grid worker fills it in, with `photo` as the file.
fn report_form(b: &Browser, text: &str, photo: Option<(&str, &[u8])>) -> Vec<u8> {
    let fields: Vec<(&str, &str)> = vec![
        ("csrf", &b.csrf),
        ("text", text),
        ("category", "0101"),
        ("grid", GRID),
        ("township", ""),
        ("address", "舜北路 8 号"),
        ("lon", "121.155"),
        ("lat", "30.005"),
        ("reporter_kind", "grid_worker"),
        ("reporter_name", "网格员甲"),
        ("reporter_phone", ""),
        ("channel", "patrol"),
        ("priority", "normal"),
    ];
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = fields
        .iter()
        .map(|(k, v)| (*k, None, v.as_bytes()))
        .collect();
    match photo {
        Some((name, bytes)) => parts.push(("photo", Some(name), bytes)),
        // What a browser sends for a file input left empty.
        None => parts.push(("photo", Some(""), b"")),
    }
    multipart(&parts)
}

async fn event_count(app: &Router) -> i64 {
    let t = login(app, "city").await;
    call(app, "GET", "/api/v1/events", Some(&t), None)
        .await
        .json()["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn the_report_form_takes_a_photo_and_stores_nothing_when_the_photo_is_refused() {
    for app in apps().await {
        let b = page_login(&app, "grid1").await;
        let form = page_get(&app, "/events/new", &b.cookie).await.text();
        assert!(form.contains("enctype=\"multipart/form-data\""));
        assert!(form.contains("type=\"file\" accept=\"image/*\" capture=\"environment\""));
        assert!(form.contains("<script src=\"/static/locate.js\" defer></script>"));
        assert!(
            form.contains("id=\"locate\" class=\"btn\" hidden"),
            "button shown only by the script"
        );
        let js = page_get(&app, "/static/locate.js", &b.cookie).await;
        assert_eq!(js.status, StatusCode::OK);
        assert!(
            js.header(header::CONTENT_TYPE)
                .starts_with("text/javascript")
        );
        assert!(js.text().contains("navigator.geolocation"));

        let before = event_count(&app).await;
        let cookie = ("cookie", b.cookie.as_str());

        // Refused photos: a text file, one too large. The form comes back with the
        // typed text and the photo's error; nothing is stored.
        let big = {
            let mut v = jpeg(7);
            v.resize(10 * 1024 * 1024 + 100, 0);
            v
        };
        let refused: [(&[u8], StatusCode, &str); 2] = [
            (
                b"just some text",
                StatusCode::UNPROCESSABLE_ENTITY,
                "JPEG、PNG、WebP",
            ),
            (&big, StatusCode::PAYLOAD_TOO_LARGE, "10 MB"),
        ];
        for (bytes, status, says) in refused {
            let body = report_form(&b, "井盖缺失，有人差点掉下去", Some(("x.jpg", bytes)));
            let r = send(&app, multipart_request("/events", cookie, body)).await;
            assert_eq!(r.status, status, "{says}");
            let html = r.text();
            assert!(html.contains(says), "{says}: error shown");
            assert!(
                html.contains("href=\"#f-photo\""),
                "summary links to the photo field"
            );
            assert!(html.contains("井盖缺失，有人差点掉下去"), "text kept");
        }
        // Without the CSRF field: refused before anything else.
        let body = multipart(&[
            ("text", None, "无令牌".as_bytes()),
            ("photo", Some("a.jpg"), &jpeg(8)),
        ]);
        let r = send(&app, multipart_request("/events", cookie, body)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(event_count(&app).await, before, "nothing stored");

        // Without a photo (the empty file part of an untouched input) and with one.
        let body = report_form(&b, "路面坑洼", None);
        let r = send(&app, multipart_request("/events", cookie, body)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let original = with_gps(&jpeg(9));
        let body = report_form(&b, "违章搭建的彩钢棚", Some(("现场.jpg", &original)));
        let r = send(&app, multipart_request("/events", cookie, body)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let loc = r.header(header::LOCATION).to_string();
        let event: i64 = loc.strip_prefix("/events/").unwrap().parse().unwrap();
        assert_eq!(event_count(&app).await, before + 2);

        let t = login(&app, "grid1").await;
        let list = call(
            &app,
            "GET",
            &format!("/api/v1/events/{event}/attachments"),
            Some(&t),
            None,
        )
        .await
        .json();
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        let photo = list["items"][0]["id"].as_i64().unwrap();
        assert_eq!(list["items"][0]["filename"], "现场.jpg");

        // The event page shows it, linked to the image, which comes without EXIF.
        let page = page_get(&app, &loc, &b.cookie).await.text();
        assert!(
            page.contains(&format!(
                "<a href=\"/attachments/{photo}\"><img src=\"/attachments/{photo}\""
            )),
            "{page}"
        );
        assert!(
            page.contains(&format!("/attachments/{photo}?original=1")),
            "the uploader may have the original"
        );
        let img = page_get(&app, &format!("/attachments/{photo}"), &b.cookie).await;
        assert_eq!(img.status, StatusCode::OK);
        assert_eq!(img.header(header::CONTENT_TYPE), "image/jpeg");
        assert!(img.bytes.starts_with(&[0xFF, 0xD8]) && !contains(&img.bytes, b"Exif"));
        let orig = page_get(&app, &format!("/attachments/{photo}?original=1"), &b.cookie).await;
        assert_eq!(orig.bytes, original);

        // Another photo from the event page's form.
        assert!(page.contains(&format!(
            "action=\"/events/{event}/attachments\" enctype=\"multipart/form-data\""
        )));
        let body = multipart(&[
            ("csrf", None, b.csrf.as_bytes()),
            ("photo", Some("第二张.png"), &png()),
        ]);
        let r = send(
            &app,
            multipart_request(&format!("/events/{event}/attachments"), cookie, body),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(
            r.header(header::LOCATION),
            format!("/events/{event}?done=photo#photos")
        );
        let page = page_get(&app, &format!("/events/{event}?done=photo"), &b.cookie)
            .await
            .text();
        assert!(page.contains("已完成「添加照片」"));
        assert!(page.contains("现场照片（2）"));
        // A refused one shows its reason on the event page.
        let body = multipart(&[
            ("csrf", None, b.csrf.as_bytes()),
            ("photo", Some("x.gif"), b"GIF89a...."),
        ]);
        let r = send(
            &app,
            multipart_request(&format!("/events/{event}/attachments"), cookie, body),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("GIF"));
        // Without the token nothing is added.
        let body = multipart(&[("photo", Some("y.jpg"), &jpeg(10))]);
        let r = send(
            &app,
            multipart_request(&format!("/events/{event}/attachments"), cookie, body),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let list = call(
            &app,
            "GET",
            &format!("/api/v1/events/{event}/attachments"),
            Some(&t),
            None,
        )
        .await
        .json();
        assert_eq!(list["items"].as_array().unwrap().len(), 2);

        // Someone else's citizen account sees neither the event nor the photo.
        let c = page_login(&app, "citizen2").await;
        let r = page_get(&app, &format!("/attachments/{photo}"), &c.cookie).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
}

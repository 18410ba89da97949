//! The 12345 hotline channel through the real router, on SQLite and (with
//! ZHILI_TEST_PG) PostgreSQL: a work order in the call centre's own format, with
//! GCJ-02 coordinates from its map, becomes an event in the right township and
//! grid; a replay finds the first event; bad orders are refused under the order's
//! own field names and store nothing.

use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};

mod common;
use common::{apps, login};

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    common::call(
        app,
        method,
        uri,
        token,
        body.map(|b| b.to_string()).as_deref(),
    )
    .await
}

/// The middle of 舜北社区第2网格 (121.16–121.17 E, 30.00–30.01 N, WGS-84) as the
/// call centre's GCJ-02 map shows it: some 500 m off, outside that grid if taken
/// for WGS-84.
fn gcj02_point() -> (f64, f64) {
    zhili_geo::crs::wgs84_to_gcj02((121.165, 30.005))
}

#[tokio::test]
async fn a_work_order_becomes_an_event_in_its_grid_once() {
    for app in apps().await {
        let token = login(&app, "sys110").await;
        let (lon, lat) = gcj02_point();
        let order = json!({
            "order_no": "GD20261128000123",
            "title": "夜市噪音",
            "content": "舜北路夜市每天闹到凌晨两点，音响声音很大，影响休息。",
            "caller_name": "王小明",
            "caller_phone": "13812345678",
            "lon": lon,
            "lat": lat,
            "category": "0101",
        });
        let (s, ack) = call(
            &app,
            "POST",
            "/api/v1/channels/12345/orders",
            Some(&token),
            Some(order.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{ack}");
        assert_eq!(ack["ack"], true);
        assert_eq!(ack["order_no"], "GD20261128000123");
        let id = ack["event_id"].as_i64().unwrap();
        let number = ack["event_number"].as_str().unwrap().to_string();

        // The call centre retries after a timeout: the same event, 200.
        let (s, again) = call(
            &app,
            "POST",
            "/api/v1/channels/12345/orders",
            Some(&token),
            Some(order),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{again}");
        assert_eq!(again["event_id"].as_i64(), Some(id));
        assert_eq!(again["event_number"].as_str(), Some(number.as_str()));

        // The township operator sees it in their grid, located in WGS-84.
        let op = login(&app, "fengshan").await;
        let (s, ev) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{id}"),
            Some(&op),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{ev}");
        assert_eq!(ev["channel"]["code"], "hotline_12345");
        assert_eq!(ev["external_id"], "GD20261128000123");
        assert_eq!(ev["township"]["code"], "330281002");
        assert_eq!(ev["grid"]["code"], "33028100200102");
        assert!(
            (ev["location"]["lon"].as_f64().unwrap() - 121.165).abs() < 1e-5,
            "{}",
            ev["location"]
        );
        assert!(
            (ev["location"]["lat"].as_f64().unwrap() - 30.005).abs() < 1e-5,
            "{}",
            ev["location"]
        );
        assert!(ev["text"].as_str().unwrap().starts_with("【夜市噪音】"));
        assert_eq!(ev["reporter"]["phone"], "138****5678");
        let contact = common::reveal(&app, &op, id).await;
        assert_eq!(contact["phone"], "13812345678");
        // Another township's operator does not find it.
        let other = login(&app, "lizhou").await;
        let (s, _) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{id}"),
            Some(&other),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn bad_work_orders_are_refused_by_their_own_field_names_and_store_nothing() {
    for app in apps().await {
        let token = login(&app, "sys110").await;
        let (lon, lat) = gcj02_point();
        let base = json!({
            "order_no": "GD-BAD-1",
            "content": "路灯坏了",
            "lon": lon,
            "lat": lat,
        });
        let with = |k: &str, v: Value| {
            let mut o = base.clone();
            o[k] = v;
            o
        };
        let without = |k: &str| {
            let mut o = base.clone();
            o.as_object_mut().unwrap().remove(k);
            o
        };
        let cases = [
            (without("content"), "content"),
            (with("content", json!("")), "content"),
            (with("order_no", json!("  ")), "order_no"),
            (without("lat"), "lon"),
            (with("lon", json!(10.0)), "lon"),
            (with("crs", json!("mercator")), "crs"),
            (with("caller_phone", json!("12345")), "caller_phone"),
            (with("category", json!("9999")), "category"),
            (with("township", json!("000000000")), "township"),
            (with("colour", json!("red")), "colour"),
        ];
        for (order, field) in cases {
            let (s, v) = call(
                &app,
                "POST",
                "/api/v1/channels/12345/orders",
                Some(&token),
                Some(order.clone()),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{order} → {v}");
            assert_eq!(v["error"]["field"], field, "{order} → {v}");
            assert!(!v["error"]["message"].as_str().unwrap_or("").is_empty());
        }
        // Without a token: 401. Nothing above was stored.
        let (s, _) = call(
            &app,
            "POST",
            "/api/v1/channels/12345/orders",
            None,
            Some(base.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let city = login(&app, "city").await;
        let (s, list) = call(&app, "GET", "/api/v1/events", Some(&city), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(list["total"], 0, "{list}");
        // The corrected order goes through under the same number.
        let (s, v) = call(
            &app,
            "POST",
            "/api/v1/channels/12345/orders",
            Some(&token),
            Some(base),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
}

/// A batch push: each order is taken or refused on its own, as if pushed alone, and
/// the answer says which; resending the batch makes no second event, and a fixed
/// order goes through under its number.
#[tokio::test]
async fn a_batch_of_orders_is_taken_order_by_order() {
    for app in apps().await {
        let token = login(&app, "sys110").await;
        let (lon, lat) = gcj02_point();
        let order = |no: &str| {
            json!({
                "order_no": no,
                "content": "舜北路夜市每天闹到凌晨两点，影响休息。",
                "caller_phone": "13812345678",
                "lon": lon,
                "lat": lat,
                "category": "0101",
            })
        };
        let mut bad_phone = order("GD-B-3");
        bad_phone["caller_phone"] = json!("12345");
        let mut bad_type = order("GD-B-4");
        bad_type["lon"] = json!("east");
        let batch = json!({ "orders": [
            order("GD-B-1"),
            order("GD-B-2"),
            bad_phone,
            bad_type,
            // The same number twice in one push: one event.
            order("GD-B-1"),
        ]});
        let push = |b: Value| {
            let (app, token) = (app.clone(), token.clone());
            async move {
                call(
                    &app,
                    "POST",
                    "/api/v1/channels/12345/orders/batch",
                    Some(&token),
                    Some(b),
                )
                .await
            }
        };
        let (s, v) = push(batch.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let r = v["results"].as_array().unwrap();
        assert_eq!(r.len(), 5, "{v}");
        let statuses: Vec<i64> = r.iter().map(|x| x["status"].as_i64().unwrap()).collect();
        assert_eq!(statuses, vec![201, 201, 422, 422, 200], "{v}");
        assert_eq!(r[2]["order_no"], "GD-B-3");
        assert_eq!(r[2]["error"]["field"], "caller_phone");
        assert_eq!(r[3]["error"]["field"], "lon", "{v}");
        assert_eq!(r[4]["event_id"], r[0]["event_id"]);
        let first = r[0]["event_id"].as_i64().unwrap();

        // Located like a single push: 舜北社区第2网格.
        let op = login(&app, "fengshan").await;
        let (_, ev) = call(
            &app,
            "GET",
            &format!("/api/v1/events/{first}"),
            Some(&op),
            None,
        )
        .await;
        assert_eq!(ev["grid"]["code"], "33028100200102", "{ev}");

        // Resent whole: nothing new; the refused ones are refused again.
        let (_, again) = push(batch).await;
        let statuses: Vec<i64> = again["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["status"].as_i64().unwrap())
            .collect();
        assert_eq!(statuses, vec![200, 200, 422, 422, 200], "{again}");
        let city = login(&app, "city").await;
        let (_, list) = call(&app, "GET", "/api/v1/events", Some(&city), None).await;
        assert_eq!(list["total"], 2, "{list}");
        // The fixed order goes through.
        let (_, fixed) = push(json!({ "orders": [order("GD-B-3")] })).await;
        assert_eq!(fixed["results"][0]["status"], 201, "{fixed}");

        // The envelope itself: empty, too many, not an envelope, no token.
        let (s, v) = push(json!({ "orders": [] })).await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("orders"))
        );
        let many: Vec<Value> = (0..501).map(|i| order(&format!("GD-M-{i}"))).collect();
        let (s, v) = push(json!({ "orders": many })).await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("orders"))
        );
        let (s, _) = push(json!([order("GD-X-1")])).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, _) = call(
            &app,
            "POST",
            "/api/v1/channels/12345/orders/batch",
            None,
            Some(json!({ "orders": [order("GD-X-2")] })),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (_, list) = call(&app, "GET", "/api/v1/events", Some(&city), None).await;
        assert_eq!(
            list["total"], 3,
            "nothing stored by the refused pushes: {list}"
        );
    }
}

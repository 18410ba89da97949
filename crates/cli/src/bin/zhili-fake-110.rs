//! A stand-in for the 110 system's side of the exchange (docs/exchange-110.md), for
//! tests and demonstrations: it receives matters, deduplicates them by
//! `Idempotency-Key` as the real receiver must, and can be switched down, up or slow
//! to play an outage. It also takes `POST /sms` the same way, as the SMS gateway of
//! tests whose deadline notices go out too (every outbound message carries its
//! `Idempotency-Key`; keys of the two kinds never collide). Not part of the
//! product's serving path.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Default)]
struct Fake {
    down: AtomicBool,
    delay_ms: AtomicU64,
    attempts: AtomicU64,
    /// Idempotency key → (receipt, the payload first received, times received).
    matters: Mutex<HashMap<String, (String, Value, u64)>>,
}

async fn receive(State(f): State<Arc<Fake>>, headers: HeaderMap, body: String) -> Response {
    f.attempts.fetch_add(1, Ordering::SeqCst);
    if f.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "110 exchange down").into_response();
    }
    let delay = f.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "Idempotency-Key required"})),
        )
            .into_response();
    };
    let Ok(payload) = serde_json::from_str::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid JSON"})),
        )
            .into_response();
    };
    let mut m = f.matters.lock().await;
    let n = m.len() + 1;
    let entry = m
        .entry(key.to_string())
        .or_insert_with(|| (format!("110-R-{n:06}"), payload, 0));
    entry.2 += 1;
    let status = if entry.2 == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(json!({"ack": true, "receipt_id": entry.0}))).into_response()
}

async fn received(State(f): State<Arc<Fake>>) -> Json<Value> {
    let m = f.matters.lock().await;
    let matters: Vec<Value> = m
        .iter()
        .map(|(k, (receipt, payload, times))| {
            json!({"key": k, "receipt_id": receipt, "event_number": payload["event_number"], "times": times})
        })
        .collect();
    Json(json!({
        "distinct": m.len(),
        "attempts": f.attempts.load(Ordering::SeqCst),
        "matters": matters,
    }))
}

async fn control(
    State(f): State<Arc<Fake>>,
    Query(q): Query<HashMap<String, String>>,
) -> StatusCode {
    if let Some(state) = q.get("state") {
        f.down.store(state == "down", Ordering::SeqCst);
    }
    if let Some(ms) = q.get("delay_ms").and_then(|v| v.parse().ok()) {
        f.delay_ms.store(ms, Ordering::SeqCst);
    }
    StatusCode::NO_CONTENT
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .skip_while(|a| a != "--bind")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/matters", post(receive))
        .route("/sms", post(receive))
        .route("/received", get(received))
        .route("/control", post(control))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

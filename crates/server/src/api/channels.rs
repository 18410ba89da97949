//! Channel adapters that arrive over HTTP. Each turns its sender's format into the
//! one intake (`NewEvent`), keyed by the sender's own id so a retry never makes a
//! second event. The 110 exchange protocol is documented in docs/exchange-110.md.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::event::RawLocation;
use zhili_domain::{NewEvent, RawNewEvent, RawReporter};
use zhili_intake::hotline::{self, Order12345};
use zhili_storage::CreateOutcome;

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

/// A non-police matter handed over by 110 (D3).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matter110 {
    /// 110's id of the matter; the idempotency key of this channel.
    pub matter_id: String,
    pub text: String,
    #[serde(default)]
    pub address: Option<String>,
    /// WGS-84.
    #[serde(default)]
    pub location: Option<RawLocation>,
    #[serde(default)]
    pub caller: Option<Caller>,
    /// Township code, when 110 knows it; otherwise the address decides.
    #[serde(default)]
    pub township: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caller {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

impl Matter110 {
    /// The matter as a checked event of the 110 channel, every error named by 110's
    /// own field names.
    pub fn parse(self) -> Result<NewEvent, ApiError> {
        if self.matter_id.trim().is_empty() {
            return Err(ApiError::invalid("matter_id", "不能为空"));
        }
        let raw = RawNewEvent {
            channel: "exchange_110".into(),
            external_id: Some(self.matter_id),
            reporter: self.caller.map(|c| RawReporter {
                kind: "citizen".into(),
                name: c.name,
                phone: c.phone,
            }),
            text: self.text,
            address: self.address,
            location: self.location,
            township: self.township,
            ..Default::default()
        };
        NewEvent::parse(raw).map_err(|e| {
            // The sender's field names, not the intake's.
            let field = if e.field == "external_id" {
                "matter_id".to_string()
            } else {
                e.field.replace("reporter.", "caller.")
            };
            ApiError::invalid(field, e.message)
        })
    }
}

pub async fn matter_from_110(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(m): JsonBody<Matter110>,
) -> Result<Response, ApiError> {
    let matter_id = m.matter_id.clone();
    let mut new = m.parse()?;
    crate::intake::complete(&state, &mut new);
    let (status, d) = match state
        .store
        .events_for(&actor)
        .create(&new, Utc::now())
        .await?
    {
        CreateOutcome::Created(d) => (StatusCode::CREATED, d),
        CreateOutcome::Existing(d) => (StatusCode::OK, d),
    };
    let ack = serde_json::json!({
        "ack": true,
        "matter_id": matter_id,
        "event_id": d.id,
        "event_number": d.number,
    });
    Ok((status, axum::Json(ack)).into_response())
}

/// The most orders one batch push may carry.
pub const MAX_BATCH_ORDERS: usize = 500;

/// Several work orders in one push: `{"orders": [order, …]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderBatch {
    pub orders: Vec<Box<serde_json::value::RawValue>>,
}

/// Several work orders pushed at once (the call centre's back office catching up, or
/// any sender that gathers orders for a moment): each order is taken or refused on
/// its own, exactly as if pushed alone — same checks, same idempotency by
/// `order_no` — and the answer lists one result per order, in order:
/// `{"results": [{"index", "status", "order_no", "event_id", "event_number"} |
/// {"index", "status", "order_no", "error": {code, message, field}}]}` with `status`
/// 201 (stored now), 200 (stored before under that number) or the 4xx a single push
/// would have got. A refused order stores nothing; the sender fixes and resends it
/// (resending the whole batch is safe). Only a body that is not such an envelope,
/// or holds more than [`MAX_BATCH_ORDERS`], is refused as a whole.
pub async fn orders_from_12345(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(batch): JsonBody<OrderBatch>,
) -> Result<Response, ApiError> {
    if batch.orders.is_empty() {
        return Err(ApiError::invalid("orders", "不能为空"));
    }
    if batch.orders.len() > MAX_BATCH_ORDERS {
        return Err(ApiError::invalid(
            "orders",
            format!("一次最多 {MAX_BATCH_ORDERS} 条工单"),
        ));
    }
    let mut results: Vec<Option<serde_json::Value>> = vec![None; batch.orders.len()];
    let mut news = Vec::with_capacity(batch.orders.len());
    let mut owners = Vec::with_capacity(batch.orders.len());
    let mut order_nos: Vec<Option<String>> = vec![None; batch.orders.len()];
    for (i, raw) in batch.orders.iter().enumerate() {
        let order = match super::body::parse::<Order12345>(raw.get().as_bytes()) {
            Ok(order) => order,
            Err(e) => {
                results[i] = Some(refusal(i, None, e));
                continue;
            }
        };
        let order_no = Some(order.order_no.clone()).filter(|n| !n.trim().is_empty());
        match intake_order(&state, order) {
            Ok(new) => {
                news.push(new);
                owners.push(i);
            }
            Err(e) => results[i] = Some(refusal(i, order_no.as_deref(), e)),
        }
        order_nos[i] = order_no;
    }
    let stored = state
        .store
        .events_for(&actor)
        .store_all(&news, Utc::now())
        .await;
    for (i, r) in owners.into_iter().zip(stored) {
        let order_no = order_nos[i].as_deref();
        results[i] = Some(match r {
            Ok(s) => serde_json::json!({
                "index": i,
                "status": if s.created { 201 } else { 200 },
                "order_no": order_no,
                "event_id": s.id,
                "event_number": s.number,
            }),
            Err(e) => refusal(i, order_no, store_error(e)),
        });
    }
    let results: Vec<serde_json::Value> = results.into_iter().flatten().collect();
    Ok(axum::Json(serde_json::json!({ "results": results })).into_response())
}

/// An order as the one intake takes it (parsed, located, classified), or why not.
fn intake_order(state: &AppState, order: Order12345) -> Result<NewEvent, ApiError> {
    if order.order_no.trim().is_empty() {
        return Err(ApiError::invalid("order_no", "不能为空"));
    }
    let raw = order.into_raw(state.config.hotline_12345_crs.code());
    let mut new = NewEvent::parse(raw)
        .map_err(|e| ApiError::invalid(hotline::field_name(&e.field), e.message))?;
    crate::intake::complete(state, &mut new);
    Ok(new)
}

fn store_error(e: zhili_storage::StoreError) -> ApiError {
    match e {
        zhili_storage::StoreError::Invalid { field, message } => {
            ApiError::invalid(hotline::field_name(&field), message)
        }
        other => other.into(),
    }
}

fn refusal(index: usize, order_no: Option<&str>, e: ApiError) -> serde_json::Value {
    serde_json::json!({
        "index": index,
        "status": e.status.as_u16(),
        "order_no": order_no,
        "error": { "code": e.code, "message": e.message, "field": e.field },
    })
}

/// A work order pushed by the 12345 call centre (D2). The answer is an
/// acknowledgement, not the event: the call centre only needs to know the order
/// is safely stored and under which number; 201 the first time, 200 on a replay.
pub async fn order_from_12345(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(order): JsonBody<Order12345>,
) -> Result<Response, ApiError> {
    let order_no = order.order_no.clone();
    let new = intake_order(&state, order)?;
    let stored = state
        .store
        .events_for(&actor)
        .store(&new, Utc::now())
        .await
        .map_err(store_error)?;
    let status = if stored.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let ack = serde_json::json!({
        "ack": true,
        "order_no": order_no,
        "event_id": stored.id,
        "event_number": stored.number,
    });
    Ok((status, axum::Json(ack)).into_response())
}

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

pub async fn matter_from_110(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(m): JsonBody<Matter110>,
) -> Result<Response, ApiError> {
    if m.matter_id.trim().is_empty() {
        return Err(ApiError::invalid("matter_id", "不能为空"));
    }
    let raw = RawNewEvent {
        channel: "exchange_110".into(),
        external_id: Some(m.matter_id.clone()),
        reporter: m.caller.map(|c| RawReporter {
            kind: "citizen".into(),
            name: c.name,
            phone: c.phone,
        }),
        text: m.text,
        address: m.address,
        location: m.location,
        township: m.township,
        ..Default::default()
    };
    let mut new = NewEvent::parse(raw).map_err(|e| {
        // The sender's field names, not the intake's.
        let field = if e.field == "external_id" {
            "matter_id".to_string()
        } else {
            e.field.replace("reporter.", "caller.")
        };
        ApiError::invalid(field, e.message)
    })?;
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
        "matter_id": m.matter_id,
        "event_id": d.id,
        "event_number": d.number,
    });
    Ok((status, axum::Json(ack)).into_response())
}

/// A work order pushed by the 12345 call centre (D2). The answer is an
/// acknowledgement, not the event: the call centre only needs to know the order
/// is safely stored and under which number; 201 the first time, 200 on a replay.
pub async fn order_from_12345(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(order): JsonBody<Order12345>,
) -> Result<Response, ApiError> {
    if order.order_no.trim().is_empty() {
        return Err(ApiError::invalid("order_no", "不能为空"));
    }
    let order_no = order.order_no.clone();
    let raw = order.into_raw(state.config.hotline_12345_crs.code());
    let mut new = NewEvent::parse(raw)
        .map_err(|e| ApiError::invalid(hotline::field_name(&e.field), e.message))?;
    crate::intake::complete(&state, &mut new);
    let stored = state
        .store
        .events_for(&actor)
        .store(&new, Utc::now())
        .await
        .map_err(|e| match e {
            zhili_storage::StoreError::Invalid { field, message } => {
                ApiError::invalid(hotline::field_name(&field), message)
            }
            other => other.into(),
        })?;
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

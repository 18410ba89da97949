//! Where each request came from, for the audit log (AU-02): the client's address
//! (as the rate limits see it, behind a trusted proxy the one it reports) and the
//! request id the answer carries. Set here once for the whole handling of the
//! request, so every audit record written meanwhile carries both without any
//! handler passing them on (`zhili_storage::audit::RequestContext`).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use zhili_storage::audit::RequestContext;

use crate::AppState;

/// Longest request id kept: a client may send its own, of any length.
const MAX_REQUEST_ID: usize = 128;

/// Must run inside `SetRequestIdLayer`, which gives every request its id first.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let context = RequestContext {
        ip: crate::rate_limit::client_ip(&req, state.config.client_ip_header.as_deref()),
        request_id: req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(MAX_REQUEST_ID).collect()),
    };
    context.scope(next.run(req)).await
}

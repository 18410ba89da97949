//! Prometheus metrics: requests counted and timed by matched route (not raw path, so
//! event ids do not explode the label set).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Several apps in one test process share the first recorder; that is fine.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let started = Instant::now();
    let _ = handle();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("zhili_http_requests_total", &labels).increment(1);
    metrics::histogram!("zhili_http_request_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics` for a scraper holding `metrics_token` (as a Bearer token) or a
/// signed-in system admin; 401 for anyone else (IP-07: the counts, routes and
/// timings tell an attacker how the system is used).
pub async fn render(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    admin: Result<crate::auth::ApiActor, crate::error::ApiError>,
    headers: axum::http::HeaderMap,
) -> Response {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let scraper = match (&state.config.metrics_token, bearer) {
        (Some(expected), Some(given)) => {
            use sha2::Digest;
            // Compared as digests: equal length, so no early exit tells the prefix.
            sha2::Sha256::digest(secrecy::ExposeSecret::expose_secret(expected).as_bytes())
                == sha2::Sha256::digest(given.as_bytes())
        }
        _ => false,
    };
    let admin =
        matches!(&admin, Ok(crate::auth::ApiActor(a)) if a.role == zhili_domain::Role::Admin);
    if !(scraper || admin) {
        return crate::error::ApiError::unauthorized().into_response();
    }
    (
        [("content-type", "text/plain; version=0.0.4")],
        handle().render(),
    )
        .into_response()
}

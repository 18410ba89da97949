//! Rate limits on the doors anyone can knock on (等保 / ASVS 11.1.4, checklist IP-05,
//! IA-06's per-address part): logins, the public progress lookup with its 6-digit
//! check code, rating-link answers and Open311 posts. Hits are counted per limit and
//! client address in fixed windows in the database (`Store::hit_rate_limit`), so that
//! several instances behind one balancer count together; past the limit the answer
//! is 429 with `Retry-After`, as JSON on the APIs and as a page elsewhere.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use crate::AppState;
use crate::error::ApiError;

/// At most `hits` requests per `window_secs` from one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub hits: i64,
    pub window_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Login attempts, right or wrong (a command room behind one address logs in at
    /// the start of a shift: generous, but stops password spraying).
    pub login: Limit,
    /// Public lookups by event number and check code: a million codes cannot be
    /// tried at twenty per ten minutes.
    pub lookup: Limit,
    /// Answers to rating links.
    pub feedback: Limit,
    /// Open311 service requests posted (a civic app's server posts for many people).
    pub open311_post: Limit,
    /// Bulk exports of reporters' contacts (AC-09): a campaign needs a few.
    pub pii_export: Limit,
    /// SMS one-time codes asked for (IA-11), on top of the three per phone in ten
    /// minutes that storage keeps: one address cannot text a whole district.
    pub phone_code: Limit,
    /// One-time codes tried: five a code, and this many from one address across
    /// all phones.
    pub phone_verify: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            login: Limit {
                hits: 60,
                window_secs: 15 * 60,
            },
            lookup: Limit {
                hits: 20,
                window_secs: 10 * 60,
            },
            feedback: Limit {
                hits: 10,
                window_secs: 10 * 60,
            },
            open311_post: Limit {
                hits: 120,
                window_secs: 60,
            },
            pii_export: Limit {
                hits: 10,
                window_secs: 3600,
            },
            phone_code: Limit {
                hits: 10,
                window_secs: 3600,
            },
            phone_verify: Limit {
                hits: 20,
                window_secs: 10 * 60,
            },
        }
    }
}

/// The limit a request falls under, with its name, if any.
fn limit_for(limits: &RateLimits, method: &Method, path: &str) -> Option<(&'static str, Limit)> {
    match (method, path) {
        (&Method::POST, "/api/v1/auth/login" | "/login") => Some(("login", limits.login)),
        (&Method::GET, "/api/public/v1/lookup" | "/public/lookup") => {
            Some(("lookup", limits.lookup))
        }
        (&Method::POST, p) if p.starts_with("/f/") => Some(("feedback", limits.feedback)),
        (&Method::POST, "/api/v1/exports/contacts") => Some(("pii_export", limits.pii_export)),
        // The page's own count of the same size: the gate answers after this layer,
        // so a shared one would let refused API calls use up the page's exports.
        (&Method::POST, "/events/export") => Some(("pii_export_page", limits.pii_export)),
        (&Method::POST, "/api/public/v1/phone-codes" | "/public/my-data/code") => {
            Some(("phone_code", limits.phone_code))
        }
        (&Method::POST, "/api/public/v1/phone-codes/verify" | "/public/my-data") => {
            Some(("phone_verify", limits.phone_verify))
        }
        (&Method::POST, p) if p.starts_with("/open311/v2/requests") => {
            Some(("open311_post", limits.open311_post))
        }
        _ => None,
    }
}

/// The client's address: the configured header's first entry when zhili runs behind
/// a reverse proxy that sets it, else the connection's peer; "unknown" without
/// either (a router called without a socket).
pub(crate) fn client_address(req: &Request, header_name: Option<&str>) -> String {
    client_ip(req, header_name).unwrap_or_else(|| "unknown".to_string())
}

/// [`client_address`], `None` when it is not known.
pub(crate) fn client_ip(req: &Request, header_name: Option<&str>) -> Option<String> {
    let forwarded = header_name
        .and_then(|name| req.headers().get(name))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(first) = forwarded {
        return Some(first.chars().take(64).collect());
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some((name, limit)) = limit_for(&state.config.rate_limits, req.method(), req.uri().path())
    else {
        return next.run(req).await;
    };
    let address = client_address(&req, state.config.client_ip_header.as_deref());
    let now = Utc::now().timestamp();
    let window = limit.window_secs.max(1);
    let start = now - now.rem_euclid(window);
    let hits = match state
        .store
        .hit_rate_limit(&format!("{name}:{address}"), start, start - window)
        .await
    {
        Ok(h) => h,
        // Fails closed: the request would need the database next anyway.
        Err(e) => return ApiError::from(e).into_response(),
    };
    if hits <= limit.hits {
        return next.run(req).await;
    }
    tracing::warn!(limit = name, %address, hits, "rate limit reached");
    let path = req.uri().path();
    let mut res = if path.starts_with("/api/") {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "请求过于频繁，请稍后再试。",
        )
        .into_response()
    } else if path.starts_with("/open311/") {
        // The GeoReport v2 error format.
        (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(serde_json::json!([{ "code": 429, "description": "Too many requests; retry later." }])),
        )
            .into_response()
    } else {
        crate::pages::too_many_requests_page()
    };
    let retry_after = (start + window - now).max(1);
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_doors_anyone_can_knock_on_are_limited() {
        let l = RateLimits::default();
        assert_eq!(
            limit_for(&l, &Method::POST, "/login").map(|x| x.0),
            Some("login")
        );
        assert_eq!(
            limit_for(&l, &Method::POST, "/api/v1/auth/login").map(|x| x.0),
            Some("login")
        );
        assert_eq!(
            limit_for(&l, &Method::GET, "/public/lookup").map(|x| x.0),
            Some("lookup")
        );
        assert_eq!(
            limit_for(&l, &Method::POST, "/f/abc").map(|x| x.0),
            Some("feedback")
        );
        assert_eq!(
            limit_for(&l, &Method::POST, "/open311/v2/requests.json").map(|x| x.0),
            Some("open311_post")
        );
        assert_eq!(
            limit_for(&l, &Method::POST, "/api/v1/exports/contacts").map(|x| x.0),
            Some("pii_export")
        );
        assert_eq!(
            limit_for(&l, &Method::POST, "/api/public/v1/phone-codes").map(|x| x.0),
            Some("phone_code")
        );
        assert_eq!(
            limit_for(&l, &Method::POST, "/public/my-data").map(|x| x.0),
            Some("phone_verify")
        );
        assert_eq!(
            limit_for(&l, &Method::GET, "/login"),
            None,
            "the form itself"
        );
        assert_eq!(
            limit_for(&l, &Method::GET, "/open311/v2/requests.json"),
            None
        );
        assert_eq!(
            limit_for(&l, &Method::POST, "/api/v1/events"),
            None,
            "staff, logged in"
        );
    }
}

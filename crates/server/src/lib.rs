//! zhili's HTTP side: the JSON API under `/api/`, the server-rendered pages, login
//! and sessions, health and metrics. Handlers stay thin: they parse, ask storage
//! through a repository built for the signed-in actor, and render.

pub mod account;
pub mod api;
pub mod auth;
pub mod classify;
mod denials;
pub mod error;
pub mod filters;
pub mod i18n;
pub mod intake;
mod metrics_layer;
pub mod open311;
pub mod pages;
pub mod rate_limit;
mod request_context;
pub mod routes;
pub mod totp;
pub mod vendor;
pub mod worker;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use zhili_storage::Store;

pub use auth::{hash_password, verify_password};
pub use routes::{RouteEntry, RouteTable, Routes};
use zhili_domain::Permission;

/// Settings the server needs at run time.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Demo mode shows the demo accounts on the login page.
    pub demo_mode: bool,
    /// A session ends after this long without a request.
    pub session_idle: chrono::Duration,
    /// A session ends this long after login, however busy.
    pub session_absolute: chrono::Duration,
    /// Cookies get `Secure` when served behind HTTPS.
    pub secure_cookies: bool,
    /// The coordinate system of 12345 work orders that do not name one.
    pub hotline_12345_crs: zhili_domain::CoordSystem,
    /// Background tiles for the maps (`{z}/{x}/{y}`); `None`: a plain background.
    pub map_tile_url: Option<String>,
    /// How many wrong passwords lock an account, and for how long.
    pub lockout: zhili_domain::LockoutPolicy,
    /// Requests per client address on the public doors (`rate_limit`).
    pub rate_limits: rate_limit::RateLimits,
    /// Behind a reverse proxy: the header carrying the client's address (e.g.
    /// `x-forwarded-for`, first entry); `None`: the connection's peer address.
    pub client_ip_header: Option<String>,
    /// Password age and the roles that need a second factor (domain/src/credentials.rs).
    pub password_policy: zhili_domain::PasswordPolicy,
    /// The Bearer token a Prometheus scraper sends for `/metrics`; `None`: only a
    /// signed-in system admin reads the metrics.
    pub metrics_token: Option<secrecy::SecretString>,
    /// Where the administration routes (system, accounts, audit log) may be reached
    /// from; empty: anywhere (AC-12). The client's address is read as for the rate
    /// limits (`client_ip_header` behind a proxy).
    pub management_networks: Vec<ipnet::IpNet>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            demo_mode: false,
            session_idle: chrono::Duration::minutes(30),
            session_absolute: chrono::Duration::hours(12),
            secure_cookies: false,
            hotline_12345_crs: zhili_domain::CoordSystem::Gcj02,
            map_tile_url: None,
            lockout: zhili_domain::LockoutPolicy::default(),
            rate_limits: rate_limit::RateLimits::default(),
            client_ip_header: None,
            password_policy: zhili_domain::PasswordPolicy::default(),
            metrics_token: None,
            management_networks: Vec::new(),
        }
    }
}

/// Shared by every request; clones are cheap. Holds nothing that must be the same
/// across instances: sessions, events and counters all live in the database.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// Grid outlines for locating events; a cache of the database, see `intake`.
    pub grids: Arc<intake::Grids>,
    /// The model and the keyword rules; see `classify`.
    pub classifier: Arc<classify::Classifier>,
}

impl AppState {
    /// Creates go through group commit (see `zhili_storage::GroupCommit`): the
    /// server is where many creates arrive at once. Call inside a Tokio runtime.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        let gc = zhili_storage::GroupCommit::for_backend(store.backend());
        AppState {
            store: store.with_group_commit(gc),
            config: Arc::new(config),
            grids: Arc::new(intake::Grids::default()),
            classifier: Arc::new(classify::Classifier::default()),
        }
    }

    /// Classifies with `classifier` (a model, a threshold) instead of rules alone.
    pub fn with_classifier(mut self, classifier: classify::Classifier) -> Self {
        self.classifier = Arc::new(classifier);
        self
    }

    /// Loads what the state caches from the database (the grid index).
    pub async fn load(self) -> Result<Self, zhili_storage::StoreError> {
        let n = self.grids.reload(&self.store).await?;
        tracing::info!(grids = n, "grid index loaded");
        self.classifier.reload(&self.store).await?;
        let c = self.classifier.status();
        match &c.problem {
            Some(p) => {
                tracing::warn!(problem = %p, rules = c.rules, "classification on keyword rules alone")
            }
            None => {
                tracing::info!(mode = c.mode, model = ?c.model, rules = c.rules, "classifier ready")
            }
        }
        Ok(self)
    }
}

const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The Content-Security-Policy of every response: scripts, styles, fonts and images
/// from this server only (no inline script, no CDN: everything is served by the
/// binary), plus the map-tile server an admin configured; no framing, no plugins.
/// Whether a page may carry `style="…"` attributes (see the command centre).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum InlineStyleAttrs {
    Refused,
    Allowed,
}

pub(crate) fn content_security_policy(
    config: &ServerConfig,
    attrs: InlineStyleAttrs,
) -> HeaderValue {
    // Only the origin of the tile URL template, e.g. https://tiles.example:8443.
    let tiles = config
        .map_tile_url
        .as_deref()
        .and_then(|u| {
            let (scheme, rest) = u.split_once("://")?;
            // `{s}.tiles.example` (a subdomain per request): any subdomain.
            let host = rest.split('/').next()?.replace("{s}.", "*.");
            let ok = matches!(scheme, "http" | "https")
                && !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]*".contains(c));
            ok.then(|| format!(" {scheme}://{host}"))
        })
        .unwrap_or_default();
    let style_attrs = match attrs {
        InlineStyleAttrs::Refused => "",
        InlineStyleAttrs::Allowed => " style-src-attr 'unsafe-inline';",
    };
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self';{style_attrs} \
         img-src 'self' data: blob:{tiles}; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// Every route with its permission (`routes.rs`), as [`app`] serves them.
fn all_routes() -> Routes {
    Routes::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(open311::routes())
        .merge(vendor::routes())
        .get("/healthz", Permission::Public, health)
        // The scraper's token, or a signed-in system admin (checked by the handler).
        .get("/metrics", Permission::OwnCredential, metrics_layer::render)
        .map_router(|r| r.layer(RequestBodyLimitLayer::new(BODY_LIMIT)))
        // Photo uploads bring their own, larger limit: merged after the layer above,
        // which applies only to the routes added before it.
        .merge(api::attachments::upload_routes())
        .merge(pages::upload_routes())
}

/// The table of every route and its permission, for `zhili routes` and the tests
/// that walk every route.
pub fn route_table() -> RouteTable {
    all_routes().into_parts().1
}

/// The whole application as one router, exactly as production serves it.
pub fn app(state: AppState) -> Router {
    let csp = content_security_policy(&state.config, InlineStyleAttrs::Refused);
    let (router, table) = all_routes().into_parts();
    router
        .fallback(not_found)
        // After routing (it needs the matched path), before every handler.
        .layer(axum::middleware::from_fn_with_state(
            routes::GateState {
                app: state.clone(),
                table: Arc::new(table),
            },
            routes::gate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            denials::layer,
        ))
        .layer(axum::middleware::from_fn(metrics_layer::track))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        // Pages and API answers carry personal data: no copy in any cache. Static
        // assets and public pages say otherwise themselves.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // Inside the request-id layers (the id is set by then), around everything
        // that may write an audit record, the denials' included.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_context::layer,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Unknown paths: a JSON error under /api/, the HTML 404 page elsewhere.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        error::ApiError::not_found().into_response()
    } else {
        pages::not_found_page()
    }
}

async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    let c = state.classifier.status();
    match state.store.ping().await {
        Ok(()) => (
            axum::http::StatusCode::OK,
            axum::Json(serde_json::json!({
                "status": "ok",
                // Model or rules alone, and whether a configured model failed; the
                // reason (with its file path) is for staff: /api/v1/classification/status.
                "classifier": {
                    "mode": c.mode,
                    "rules": c.rules,
                    "model_failed": c.problem.is_some(),
                },
            })),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "database unavailable" })),
            )
        }
    }
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // With the peer's address, for the rate limits.
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

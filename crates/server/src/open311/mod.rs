//! Open311 GeoReport v2 under `/open311/v2/` (docs/open311.md): any client that
//! knows only the spec — FixMyStreet, a city app — can list the services (zhili's
//! leaf categories), post a service request with an API key, and follow it. A POST
//! goes through the one intake like every channel; the GET side is public and shows
//! only public data, with personal numbers in the text masked.

pub mod form;
pub mod format;

use std::sync::Arc;
use zhili_domain::Permission;

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use zhili_domain::Status;
use zhili_storage::api_clients::{ApiClient, PUBLIC_LIMIT_MAX, PublicRequest, PublicRequestFilter};
use zhili_storage::{Category, CreateOutcome};

use crate::AppState;
use form::{RequestForm, param};
use format::{Doc, Format, Obj, Open311Error, Val};

/// The jurisdiction zhili answers for unless configured otherwise.
pub const DEFAULT_JURISDICTION: &str = "yuyao.zhili";
/// Environment variable naming the jurisdiction id; `*` accepts any.
pub const JURISDICTION_ENV: &str = "ZHILI_OPEN311_JURISDICTION";
/// When this API last changed, for the discovery document.
const CHANGESET: &str = "2026-11-28T00:00:00+08:00";
/// Requests within this many days, by default and at most, as the spec says.
const WINDOW_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Config {
    /// The one jurisdiction served; `None` accepts any value. A request without
    /// jurisdiction_id is always fine: the spec makes it optional for an endpoint
    /// that serves one jurisdiction.
    pub jurisdiction_id: Option<String>,
}

impl Default for Open311Config {
    fn default() -> Self {
        Open311Config {
            jurisdiction_id: Some(DEFAULT_JURISDICTION.into()),
        }
    }
}

impl Open311Config {
    pub fn from_env() -> Self {
        match std::env::var(JURISDICTION_ENV) {
            Ok(v) if v.trim() == "*" => Open311Config {
                jurisdiction_id: None,
            },
            Ok(v) if !v.trim().is_empty() => Open311Config {
                jurisdiction_id: Some(v.trim().to_string()),
            },
            _ => Open311Config::default(),
        }
    }

    fn check(&self, pairs: &[(String, String)]) -> Result<(), Open311Error> {
        match (param(pairs, "jurisdiction_id"), &self.jurisdiction_id) {
            (Some(given), Some(ours)) if given != ours => Err(Open311Error::not_found(format!(
                "jurisdiction_id：未找到 {given}，本服务的 jurisdiction_id 为 {ours}"
            ))),
            _ => Ok(()),
        }
    }
}

/// A new API key, shown once to the admin who issues it; only its SHA-256 is stored.
pub fn generate_api_key() -> String {
    format!("zo311-{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// What is stored for a key.
pub fn api_key_hash(key: &str) -> String {
    crate::auth::token_hash(key)
}

pub fn routes() -> crate::Routes {
    routes_with(Open311Config::from_env())
}

pub fn routes_with(config: Open311Config) -> crate::Routes {
    crate::Routes::new()
        .get("/open311/discovery", Permission::Public, root_file)
        .get("/open311/discovery.xml", Permission::Public, root_file)
        .get("/open311/discovery.json", Permission::Public, root_file)
        .get("/open311/v2/{file}", Permission::Public, v2_get)
        .post("/open311/v2/{file}", Permission::OwnCredential, v2_post)
        .get("/open311/v2/{kind}/{file}", Permission::Public, v2_item)
        .get("/open311/{*rest}", Permission::Public, unknown)
        .post("/open311/{*rest}", Permission::Public, unknown)
        .map_router(|r| r.layer(Extension(Arc::new(config))))
}

type Pairs = Vec<(String, String)>;

/// The query string as pairs; a malformed one is a 400 in the asked-for format.
fn query_pairs(q: Result<Query<Pairs>, QueryRejection>) -> Result<Pairs, Open311Error> {
    q.map(|Query(p)| p)
        .map_err(|_| Open311Error::bad_request("查询参数格式不正确"))
}

/// The resource name and format from the last path segment.
fn resource(path: Result<Path<String>, PathRejection>) -> Result<(String, Format), Open311Error> {
    let Path(file) = path.map_err(|_| Open311Error::bad_request("URL 格式不正确"))?;
    Format::split(&file)
        .map(|(name, fmt)| (name.to_string(), fmt))
        .ok_or_else(|| Open311Error::not_found("不支持的格式：请使用 .xml 或 .json"))
}

fn respond(fmt: Format, r: Result<Response, Open311Error>) -> Response {
    r.unwrap_or_else(|e| e.respond(fmt))
}

async fn unknown(uri: Uri) -> Response {
    Open311Error::not_found("没有这个资源：请参阅 /open311/v2/discovery.xml")
        .respond(Format::guess(uri.path()))
}

/// The discovery document also at `/open311/discovery.{xml,json}`, where the
/// Service Discovery spec looks for it.
async fn root_file(
    State(state): State<AppState>,
    Extension(cfg): Extension<Arc<Open311Config>>,
    headers: HeaderMap,
    uri: Uri,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let fmt = Format::guess(uri.path());
    let r = query_pairs(query)
        .and_then(|q| cfg.check(&q))
        .map(|()| discovery(&state, &headers).respond(StatusCode::OK, fmt));
    respond(fmt, r)
}

async fn v2_get(
    State(state): State<AppState>,
    Extension(cfg): Extension<Arc<Open311Config>>,
    headers: HeaderMap,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (name, fmt) = match resource(path) {
        Ok(r) => r,
        Err(e) => return e.respond(Format::guess(uri.path())),
    };
    let r = async {
        let q = query_pairs(query)?;
        cfg.check(&q)?;
        match name.as_str() {
            "discovery" => Ok(discovery(&state, &headers).respond(StatusCode::OK, fmt)),
            "services" => Ok(services(&state).await?.respond(StatusCode::OK, fmt)),
            "requests" => Ok(get_requests(&state, &q).await?.respond(StatusCode::OK, fmt)),
            _ => Err(Open311Error::not_found(format!("没有资源 {name}"))),
        }
    }
    .await;
    respond(fmt, r)
}

async fn v2_item(
    State(state): State<AppState>,
    Extension(cfg): Extension<Arc<Open311Config>>,
    uri: Uri,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let guess = Format::guess(uri.path());
    let Ok(Path((kind, file))) = path else {
        return Open311Error::bad_request("URL 格式不正确").respond(guess);
    };
    let Some((id, fmt)) = Format::split(&file) else {
        return Open311Error::not_found("不支持的格式：请使用 .xml 或 .json").respond(guess);
    };
    let r = async {
        let q = query_pairs(query)?;
        cfg.check(&q)?;
        match kind.as_str() {
            "services" => Ok(service_definition(&state, id)
                .await?
                .respond(StatusCode::OK, fmt)),
            "requests" => Ok(get_request(&state, id).await?.respond(StatusCode::OK, fmt)),
            "tokens" => Ok(token(&state, id).await?.respond(StatusCode::OK, fmt)),
            _ => Err(Open311Error::not_found(format!("没有资源 {kind}"))),
        }
    }
    .await;
    respond(fmt, r)
}

async fn v2_post(
    State(state): State<AppState>,
    Extension(cfg): Extension<Arc<Open311Config>>,
    headers: HeaderMap,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
    body: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (name, fmt) = match resource(path) {
        Ok(r) => r,
        Err(e) => return e.respond(Format::guess(uri.path())),
    };
    let r = async {
        if name != "requests" {
            return Err(Open311Error::not_found(format!(
                "{name} 不接受 POST：新建服务请求请 POST 到 requests.{}",
                if fmt == Format::Json { "json" } else { "xml" }
            )));
        }
        let q = query_pairs(query)?;
        let Form(form) = body.map_err(|_| {
            Open311Error::bad_request("请求体须为 application/x-www-form-urlencoded（UTF-8）表单")
        })?;
        // The key may come in the form (as the spec's example) or the query string.
        let key = param(&form, "api_key").or_else(|| param(&q, "api_key"));
        let client = authenticate(&state, key).await?;
        cfg.check(&form)?;
        cfg.check(&q)?;
        let idem = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .filter(|k| k.len() <= 200);
        post_request(&state, &client, &form, idem).await
    }
    .await;
    respond(fmt, r.map(|doc| doc.respond(StatusCode::OK, fmt)))
}

async fn authenticate(state: &AppState, key: Option<&str>) -> Result<ApiClient, Open311Error> {
    let refused = || Open311Error::forbidden("api_key 无效或缺失，无法创建服务请求");
    let key = key.filter(|k| k.len() <= 200).ok_or_else(refused)?;
    state
        .store
        .api_client_by_key_hash(&api_key_hash(key))
        .await?
        .ok_or_else(refused)
}

/// The base URL clients reached us at, for the discovery document: from the Host
/// header when it looks like a host name, over HTTPS when cookies are secure (that
/// is, behind TLS).
fn endpoint_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        });
    match host {
        Some(h) => {
            let scheme = if state.config.secure_cookies {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{h}/open311/v2")
        }
        None => "/open311/v2".into(),
    }
}

fn discovery(state: &AppState, headers: &HeaderMap) -> Doc {
    let endpoint = Obj::default()
        .with(
            "specification",
            Val::text("http://wiki.open311.org/GeoReport_v2"),
        )
        .with("url", Val::text(endpoint_url(state, headers)))
        .with("changeset", Val::text(CHANGESET))
        .with("type", Val::text("production"))
        .with(
            "formats",
            Val::Strs("format", vec!["text/xml".into(), "application/json".into()]),
        );
    Doc::One {
        root: "discovery",
        obj: Obj::default()
            .with("changeset", Val::text(CHANGESET))
            .with(
                "contact",
                Val::text("如需帮助，请联系本市综合指挥中心的系统管理员"),
            )
            .with(
                "key_service",
                Val::text("API 密钥由系统管理员签发（zhili open311 add-client 名称），请向综合指挥中心申请"),
            )
            .with("endpoints", Val::Objs("endpoint", vec![endpoint])),
    }
}

/// Leaf categories are the services; a parent (大类) is their group.
fn leaf_services(cats: &[Category]) -> Vec<(&Category, Option<&Category>)> {
    cats.iter()
        .filter(|c| !cats.iter().any(|o| o.parent_id == Some(c.id)))
        .map(|c| {
            let parent = c.parent_id.and_then(|p| cats.iter().find(|o| o.id == p));
            (c, parent)
        })
        .collect()
}

async fn services(state: &AppState) -> Result<Doc, Open311Error> {
    let cats = state.store.categories().await?;
    let items = leaf_services(&cats)
        .into_iter()
        .map(|(c, parent)| {
            let mut keywords = vec![c.name.clone()];
            keywords.extend(parent.map(|p| p.name.clone()));
            keywords.push(c.platform.label_zh().to_string());
            Obj::default()
                .with("service_code", Val::text(c.code.clone()))
                .with("service_name", Val::text(c.name.clone()))
                .with(
                    "description",
                    Val::text(format!(
                        "{}（{}），一般在 {} 个工作日内办理",
                        c.name,
                        c.platform.label_zh(),
                        c.limit_days
                    )),
                )
                .with("metadata", Val::Bool(false))
                .with("type", Val::text("realtime"))
                .with("keywords", Val::text(keywords.join(", ")))
                .with("group", Val::opt(parent.map(|p| p.name.clone())))
        })
        .collect();
    Ok(Doc::List {
        root: "services",
        item: "service",
        items,
    })
}

async fn leaf_category(state: &AppState, code: &str) -> Result<Category, Open311Error> {
    let cats = state.store.categories().await?;
    leaf_services(&cats)
        .into_iter()
        .find(|(c, _)| c.code == code)
        .map(|(c, _)| c.clone())
        .ok_or_else(|| {
            Open311Error::not_found(format!(
                "service_code：未找到 {code}，可用的服务见 services.xml"
            ))
        })
}

async fn service_definition(state: &AppState, code: &str) -> Result<Doc, Open311Error> {
    let c = leaf_category(state, code).await?;
    Ok(Doc::One {
        root: "service_definition",
        obj: Obj::default()
            .with("service_code", Val::text(c.code))
            .with("attributes", Val::Objs("attribute", Vec::new())),
    })
}

fn notice(limit_days: Option<u32>) -> String {
    match limit_days {
        Some(d) => format!("已登记，将转交责任单位处理，一般在 {d} 个工作日内办理并反馈"),
        None => "已登记，将转交责任单位处理并反馈".into(),
    }
}

async fn post_request(
    state: &AppState,
    client: &ApiClient,
    pairs: &[(String, String)],
    idem: Option<&str>,
) -> Result<Doc, Open311Error> {
    let form = RequestForm::from_pairs(pairs);
    let code = form
        .service_code
        .as_deref()
        .ok_or_else(|| Open311Error::bad_request("service_code：必须提供"))?;
    let category = leaf_category(state, code).await?;
    let external_id = form::idempotency_key(client.id, pairs, idem);
    let raw = form.to_raw(&category.name, external_id)?;
    let new = crate::intake::prepare(state, raw).map_err(|e| {
        let field = e.field.as_deref().map_or("request", form::field_name);
        Open311Error::bad_request(format!("{field}：{}", e.message))
    })?;
    let outcome = state
        .store
        .events_for(&client.actor)
        .create(&new, Utc::now())
        .await
        .map_err(|e| match e {
            zhili_storage::StoreError::Invalid { field, message } => {
                let message = if field == "grid" || field == "township" {
                    "无法确定所属区域：lat/long 不在本市网格内，address_string 中也没有可识别的乡镇（街道）或村（社区）名称".to_string()
                } else {
                    message
                };
                Open311Error::bad_request(format!("{}：{message}", form::field_name(&field)))
            }
            other => other.into(),
        })?;
    let d = match outcome {
        CreateOutcome::Created(d) => {
            tracing::info!(client = %client.name, number = %d.number, "open311: request created");
            d
        }
        CreateOutcome::Existing(d) => {
            tracing::info!(client = %client.name, number = %d.number, "open311: retry of an existing request");
            d
        }
    };
    Ok(Doc::List {
        root: "service_requests",
        item: "request",
        items: vec![
            Obj::default()
                .with("service_request_id", Val::text(d.number.clone()))
                .with(
                    "service_notice",
                    Val::text(notice(Some(category.limit_days))),
                )
                .with("account_id", Val::opt(form.account_id.clone())),
        ],
    })
}

fn china(at: DateTime<Utc>) -> String {
    // China has one time zone and no daylight saving time.
    let offset = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    at.with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Open or closed as a citizen sees it: closed once handled (办结 and after), not
/// accepted, or handed to 110; a failed check reopens it.
pub fn is_closed(s: Status) -> bool {
    matches!(
        s,
        Status::Resolved
            | Status::Verified
            | Status::Informed
            | Status::Rated
            | Status::Closed
            | Status::Rejected
            | Status::Transferred
    )
}

/// The description as the public may read it: the contact lines zhili added are
/// dropped, and numbers and addresses that identify a person are masked.
fn public_description(r: &PublicRequest) -> String {
    let text = if r.channel == zhili_domain::Channel::Open311 {
        r.text
            .lines()
            .filter(|l| !l.starts_with(form::EMAIL_PREFIX) && !l.starts_with(form::PHONE_PREFIX))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        r.text.clone()
    };
    zhili_domain::mask_in_text(&text)
}

fn media_url(r: &PublicRequest) -> Option<String> {
    if r.channel != zhili_domain::Channel::Open311 {
        return None;
    }
    r.text
        .lines()
        .filter_map(|l| l.strip_prefix(form::MEDIA_PREFIX))
        .map(str::trim)
        .find(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(str::to_string)
}

fn request_obj(r: &PublicRequest) -> Obj {
    let status_notes = match (&r.result, is_closed(r.status)) {
        (Some(result), true) if r.status != Status::Rejected => {
            format!(
                "{}：{}",
                r.status.label_zh(),
                zhili_domain::mask_in_text(result)
            )
        }
        _ => r.status.label_zh().to_string(),
    };
    let address = r.address.clone().unwrap_or_else(|| {
        format!(
            "{}{}",
            r.township_name,
            r.village_name.as_deref().unwrap_or("")
        )
    });
    let (lat, long) = match r.location {
        Some(p) => (Val::Num(p.lat), Val::Num(p.lon)),
        None => (Val::Str(None), Val::Str(None)),
    };
    Obj::default()
        .with("service_request_id", Val::text(r.number.clone()))
        .with(
            "status",
            Val::text(if is_closed(r.status) {
                "closed"
            } else {
                "open"
            }),
        )
        .with("status_notes", Val::text(status_notes))
        .with("service_name", Val::opt(r.category_name.clone()))
        .with("service_code", Val::opt(r.category_code.clone()))
        .with("description", Val::text(public_description(r)))
        .with(
            "agency_responsible",
            Val::text(
                r.lead_unit_name
                    .clone()
                    .unwrap_or_else(|| format!("{}综合指挥室", r.township_name)),
            ),
        )
        .with("service_notice", Val::text(notice(r.limit_days)))
        .with("requested_datetime", Val::text(china(r.reported_at)))
        .with(
            "updated_datetime",
            Val::text(china(r.closed_at.unwrap_or(r.updated_at))),
        )
        .with("expected_datetime", Val::opt(r.handle_due_at.map(china)))
        .with("address", Val::text(zhili_domain::mask_in_text(&address)))
        .with("address_id", Val::Str(None))
        .with("zipcode", Val::Str(None))
        .with("lat", lat)
        .with("long", long)
        .with("media_url", Val::opt(media_url(r)))
}

fn requests_doc(items: &[PublicRequest]) -> Doc {
    Doc::List {
        root: "service_requests",
        item: "request",
        items: items.iter().map(request_obj).collect(),
    }
}

/// A w3 date-time with its time zone; a bare date is midnight in China. A `+`
/// that arrived unencoded in a query string has become a space: it is put back.
pub fn parse_date(field: &str, v: &str) -> Result<DateTime<Utc>, Open311Error> {
    let fixed = match v.rsplit_once(' ') {
        Some((a, b)) if b.len() == 5 && b.contains(':') => format!("{a}+{b}"),
        _ => v.to_string(),
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&fixed) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0).and_then(|t| {
            t.and_local_timezone(FixedOffset::east_opt(8 * 3600)?)
                .single()
        })
    {
        return Ok(t.with_timezone(&Utc));
    }
    Err(Open311Error::bad_request(format!(
        "{field}：日期时间格式应为 2026-11-28T00:00:00+08:00"
    )))
}

fn list(v: Option<&str>) -> Vec<String> {
    v.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty() && x.len() <= 64)
            .take(PUBLIC_LIMIT_MAX as usize)
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

async fn get_requests(state: &AppState, q: &[(String, String)]) -> Result<Doc, Open311Error> {
    let numbers = list(param(q, "service_request_id"));
    let mut filter = PublicRequestFilter {
        limit: PUBLIC_LIMIT_MAX,
        ..Default::default()
    };
    if !numbers.is_empty() {
        // The spec: a list of ids overrides every other argument.
        filter.numbers = numbers;
    } else {
        filter.categories = list(param(q, "service_code"));
        for s in list(param(q, "status")) {
            let wanted: Vec<Status> = match s.to_ascii_lowercase().as_str() {
                "open" => Status::ALL
                    .iter()
                    .copied()
                    .filter(|s| !is_closed(*s))
                    .collect(),
                "closed" => Status::ALL
                    .iter()
                    .copied()
                    .filter(|s| is_closed(*s))
                    .collect(),
                _ => {
                    return Err(Open311Error::bad_request(format!(
                        "status：未知状态 {s}，可选 open, closed"
                    )));
                }
            };
            filter.statuses.extend(wanted);
        }
        let start = param(q, "start_date")
            .map(|v| parse_date("start_date", v))
            .transpose()?;
        let end = param(q, "end_date")
            .map(|v| parse_date("end_date", v))
            .transpose()?;
        let window = chrono::Duration::days(WINDOW_DAYS);
        let (from, to) = match (start, end) {
            (None, None) => (Utc::now() - window, None),
            (Some(s), None) => (s, Some(s + window)),
            (None, Some(e)) => (e - window, Some(e)),
            (Some(s), Some(e)) => {
                if e < s {
                    return Err(Open311Error::bad_request("end_date：不能早于 start_date"));
                }
                if e - s > window {
                    return Err(Open311Error::bad_request(format!(
                        "start_date/end_date：时间范围不能超过 {WINDOW_DAYS} 天"
                    )));
                }
                (s, Some(e))
            }
        };
        filter.from = Some(from);
        filter.to = to;
    }
    let found = state.store.public_requests(&filter).await?;
    Ok(requests_doc(&found))
}

async fn find_public(state: &AppState, id: &str) -> Result<PublicRequest, Open311Error> {
    let not_found = || Open311Error::not_found(format!("service_request_id：未找到 {id}"));
    if id.is_empty() || id.len() > 64 {
        return Err(not_found());
    }
    state
        .store
        .public_requests(&PublicRequestFilter {
            numbers: vec![id.to_string()],
            limit: 1,
            ..Default::default()
        })
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)
}

async fn get_request(state: &AppState, id: &str) -> Result<Doc, Open311Error> {
    let r = find_public(state, id).await?;
    Ok(requests_doc(std::slice::from_ref(&r)))
}

/// zhili creates requests synchronously and never hands out a token; for clients
/// that ask anyway, a service_request_id is its own token.
async fn token(state: &AppState, id: &str) -> Result<Doc, Open311Error> {
    let r = find_public(state, id)
        .await
        .map_err(|_| Open311Error::not_found(format!("token：未找到 {id}")))?;
    Ok(Doc::List {
        root: "service_requests",
        item: "request",
        items: vec![
            Obj::default()
                .with("service_request_id", Val::text(r.number.clone()))
                .with("token", Val::text(id.to_string())),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_as_the_spec_writes_them() {
        let t = parse_date("start_date", "2010-05-24T00:00:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2010-05-24T00:00:00+00:00");
        let plus_lost = parse_date("start_date", "2026-11-28T08:00:00 08:00").unwrap();
        assert_eq!(plus_lost.to_rfc3339(), "2026-11-28T00:00:00+00:00");
        let bare = parse_date("start_date", "2026-11-28").unwrap();
        assert_eq!(china(bare), "2026-11-28T00:00:00+08:00");
        assert!(parse_date("start_date", "yesterday").is_err());
    }

    #[test]
    fn jurisdiction_is_optional_but_must_match_when_given() {
        let cfg = Open311Config::default();
        let q = |v: &str| vec![("jurisdiction_id".to_string(), v.to_string())];
        assert!(cfg.check(&[]).is_ok());
        assert!(cfg.check(&q("")).is_ok());
        assert!(cfg.check(&q(DEFAULT_JURISDICTION)).is_ok());
        assert_eq!(
            cfg.check(&q("sfgov.org")).unwrap_err().status,
            StatusCode::NOT_FOUND
        );
        let any = Open311Config {
            jurisdiction_id: None,
        };
        assert!(any.check(&q("sfgov.org")).is_ok());
    }

    #[test]
    fn handled_requests_are_closed_and_reopen_on_rework() {
        assert!(!is_closed(Status::Reported));
        assert!(!is_closed(Status::Handling));
        assert!(!is_closed(Status::Suspended));
        assert!(is_closed(Status::Resolved));
        assert!(is_closed(Status::Closed));
        assert!(is_closed(Status::Rejected));
    }
}

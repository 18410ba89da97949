//! Chat groups (圈群, D1) over HTTP: the webhook a forwarder pushes each group message
//! to, the operators' message list with promote and dismiss, and registering a
//! group to its grid. The format is documented in docs/chat-groups.md.

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use zhili_domain::{Permission, PersonName, Phone};
use zhili_storage::CreateOutcome;
use zhili_storage::chat::{ChatFilter, ChatRepo, ChatStatus, GroupArea, NewChatMessage, Promotion};

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .post(
            "/api/v1/channels/chat/messages",
            Permission::Channel,
            receive,
        )
        .get("/api/v1/chat/messages", Permission::Chat, list)
        .get("/api/v1/chat/messages/{id}", Permission::Chat, one)
        .post(
            "/api/v1/chat/messages/{id}/promote",
            Permission::HandleChat,
            promote,
        )
        .post(
            "/api/v1/chat/messages/{id}/dismiss",
            Permission::HandleChat,
            dismiss,
        )
        .put(
            "/api/v1/chat/groups/{group_id}",
            Permission::HandleChat,
            register_group,
        )
}

/// Both ids together become the promoted event's external id (`group:message`),
/// which holds at most 100 characters.
const ID_MAX: usize = 48;
const GROUP_NAME_MAX: usize = 100;
const TEXT_MAX: usize = 5_000;
/// WeChat sends at most nine pictures in one message.
const IMAGES_MAX: usize = 9;
const IMAGE_MAX: usize = 500;

/// One group message as the forwarder sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookMessage {
    pub group_id: String,
    pub group_name: String,
    pub message_id: String,
    pub sender: WebhookSender,
    /// May be "" for a picture-only message.
    pub text: String,
    #[serde(default)]
    pub images: Vec<String>,
    /// RFC 3339, e.g. `2026-05-01T08:30:00+08:00`.
    pub sent_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSender {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A chat system id: printable, no spaces; `colon_ok` false for the group id, whose
/// end must be unambiguous in `group:message`.
fn chat_id(field: &str, v: &str, colon_ok: bool) -> Result<String, ApiError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(ApiError::invalid(field, "不能为空"));
    }
    if v.chars().count() > ID_MAX {
        return Err(ApiError::invalid(
            field,
            format!("不能超过 {ID_MAX} 个字符"),
        ));
    }
    if v.chars()
        .any(|c| c.is_whitespace() || c.is_control() || (!colon_ok && c == ':'))
    {
        let extra = if colon_ok { "" } else { "或冒号" };
        return Err(ApiError::invalid(
            field,
            format!("不能含空白、控制字符{extra}"),
        ));
    }
    Ok(v.to_string())
}

impl WebhookMessage {
    /// Every value checked, each error naming the sender's field.
    pub fn parse(self) -> Result<NewChatMessage, ApiError> {
        let group_id = chat_id("group_id", &self.group_id, false)?;
        let message_id = chat_id("message_id", &self.message_id, true)?;
        let group_name = self.group_name.trim();
        if group_name.is_empty() || group_name.chars().count() > GROUP_NAME_MAX {
            return Err(ApiError::invalid(
                "group_name",
                format!("不能为空且不超过 {GROUP_NAME_MAX} 个字符"),
            ));
        }
        let sender_name = PersonName::parse(&self.sender.name)
            .map_err(|e| ApiError::invalid("sender.name", e.to_string()))?;
        let sender_phone = match self.sender.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => Some(
                Phone::parse(p).map_err(|e| ApiError::invalid("sender.phone", e.to_string()))?,
            ),
        };
        if self.images.len() > IMAGES_MAX {
            return Err(ApiError::invalid(
                "images",
                format!("一条消息最多 {IMAGES_MAX} 张图片"),
            ));
        }
        let mut images = Vec::with_capacity(self.images.len());
        for (i, img) in self.images.iter().enumerate() {
            let img = img.trim();
            if img.is_empty()
                || img.chars().count() > IMAGE_MAX
                || img.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(ApiError::invalid(
                    format!("images[{i}]"),
                    format!("须为不含空白、不超过 {IMAGE_MAX} 个字符的图片地址或附件编号"),
                ));
            }
            images.push(img.to_string());
        }
        let text = self.text.trim();
        if text.is_empty() && images.is_empty() {
            return Err(ApiError::invalid(
                "text",
                "文字内容不能为空（纯图片消息须附 images）",
            ));
        }
        if text.chars().count() > TEXT_MAX {
            return Err(ApiError::invalid(
                "text",
                format!("不能超过 {TEXT_MAX} 个字符"),
            ));
        }
        let sent_at = DateTime::parse_from_rfc3339(self.sent_at.trim())
            .map_err(|_| {
                ApiError::invalid(
                    "sent_at",
                    "须为带时区的 RFC 3339 时间，如 2026-05-01T08:30:00+08:00",
                )
            })?
            .with_timezone(&Utc);
        Ok(NewChatMessage {
            group_id,
            group_name: group_name.to_string(),
            message_id,
            sender_name,
            sender_phone,
            text: text.to_string(),
            images,
            sent_at,
        })
    }
}

/// The webhook: 201 for a new message, 200 with the same id for a replay.
async fn receive(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    req: Request,
) -> Result<Response, ApiError> {
    // Who may push is settled before the body is looked at.
    let intake = state
        .store
        .chat_intake(&actor)
        .ok_or_else(|| ApiError::forbidden("只有接口账号可以推送圈群消息"))?;
    let JsonBody(m) = JsonBody::<WebhookMessage>::from_request(req, &()).await?;
    let msg = m.parse()?;
    let r = intake.receive(&msg, Utc::now()).await?;
    let status = if r.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = serde_json::json!({
        "id": r.id,
        "group_id": msg.group_id,
        "message_id": msg.message_id,
        "created": r.created,
    });
    Ok((status, axum::Json(body)).into_response())
}

fn repo<'a>(state: &'a AppState, actor: &zhili_domain::Actor) -> Result<ChatRepo<'a>, ApiError> {
    state
        .store
        .chat_for(actor)
        .ok_or_else(|| ApiError::forbidden("无权查看圈群消息"))
}

fn handler<'a>(state: &'a AppState, actor: &zhili_domain::Actor) -> Result<ChatRepo<'a>, ApiError> {
    let r = repo(state, actor)?;
    if r.may_handle() {
        Ok(r)
    } else {
        Err(ApiError::forbidden("只有指挥中心（室）可以处理圈群消息"))
    }
}

fn message_id(raw: &str) -> Result<i64, ApiError> {
    // A malformed id is simply a message that does not exist.
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

fn number(field: &str, v: Option<&str>, default: u32, max: u32) -> Result<u32, ApiError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid(field, format!("须为 1–{max} 之间的整数"))),
    }
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let repo = repo(&state, &actor)?;
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(ChatStatus::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "status",
                "可选：new（待处理）、promoted（已转为事件）、dismissed（已忽略）",
            )
        })?),
    };
    let filter = ChatFilter {
        status,
        page: number("page", q.page.as_deref(), 1, u32::MAX)?,
        per_page: number("per_page", q.per_page.as_deref(), 50, 200)?,
    };
    Ok(axum::Json(repo.list(&filter).await?).into_response())
}

async fn one(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let repo = repo(&state, &actor)?;
    Ok(axum::Json(repo.get(message_id(&id)?).await?).into_response())
}

/// A JSON body that may be left out entirely (then every field takes its default).
async fn optional_body<T: Default + DeserializeOwned>(req: Request) -> Result<T, ApiError> {
    let is_json = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bytes = Bytes::from_request(req, &())
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "请求体过大"))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请求体须为 application/json",
        ));
    }
    super::body::parse(&bytes)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromoteRequest {
    /// Category code (小类).
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    /// Grid code, needed when the group is not registered to a grid.
    #[serde(default)]
    grid: Option<String>,
}

/// Makes the message an event: 201 with the event, 200 with the same event again.
async fn promote(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let repo = handler(&state, &actor)?;
    let id = message_id(&id)?;
    let body: PromoteRequest = optional_body(req).await?;
    let p = Promotion {
        category: body.category,
        priority: body.priority,
        grid: body.grid,
    };
    let promoted = repo.promote(id, &p, Utc::now()).await?;
    Ok(match promoted.outcome {
        CreateOutcome::Created(d) => (StatusCode::CREATED, axum::Json(d)).into_response(),
        CreateOutcome::Existing(d) => (StatusCode::OK, axum::Json(d)).into_response(),
    })
}

async fn dismiss(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let repo = handler(&state, &actor)?;
    let m = repo.dismiss(message_id(&id)?, Utc::now()).await?;
    Ok(axum::Json(m).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupRequest {
    #[serde(default)]
    grid: Option<String>,
    #[serde(default)]
    township: Option<String>,
}

/// Registers a group to a grid (`{"grid": code}`) or a whole township
/// (`{"township": code}`).
async fn register_group(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(group_id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let repo = handler(&state, &actor)?;
    let group_id = chat_id("group_id", &group_id, false)?;
    let JsonBody(b) = JsonBody::<GroupRequest>::from_request(req, &()).await?;
    let blank = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let area = GroupArea {
        grid: blank(b.grid),
        township: blank(b.township),
    };
    let g = repo.register_group(&group_id, &area, Utc::now()).await?;
    Ok(axum::Json(g).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> WebhookMessage {
        WebhookMessage {
            group_id: "g1@chatroom".into(),
            group_name: "舜北1网格群".into(),
            message_id: "m-1".into(),
            sender: WebhookSender {
                name: "王五".into(),
                phone: Some("13812345678".into()),
            },
            text: "楼下有人深夜施工".into(),
            images: vec![],
            sent_at: "2026-05-01T08:30:00+08:00".into(),
        }
    }

    #[test]
    fn a_good_message_parses_in_utc() {
        let m = msg().parse().unwrap();
        assert_eq!(m.sent_at.to_rfc3339(), "2026-05-01T00:30:00+00:00");
        assert_eq!(m.sender_phone.unwrap().as_str(), "13812345678");
    }

    #[test]
    fn each_bad_value_names_its_field() {
        type Mutation = Box<dyn Fn(&mut WebhookMessage)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|m| m.group_id = "a:b".into()), "group_id"),
            (Box::new(|m| m.group_id = "x".repeat(49)), "group_id"),
            (Box::new(|m| m.message_id = " ".into()), "message_id"),
            (Box::new(|m| m.group_name = "".into()), "group_name"),
            (Box::new(|m| m.sender.name = "".into()), "sender.name"),
            (
                Box::new(|m| m.sender.phone = Some("123".into())),
                "sender.phone",
            ),
            (Box::new(|m| m.text = "  ".into()), "text"),
            (Box::new(|m| m.text = "字".repeat(5001)), "text"),
            (Box::new(|m| m.images = vec!["a b".into()]), "images[0]"),
            (Box::new(|m| m.images = vec!["x".into(); 10]), "images"),
            (
                Box::new(|m| m.sent_at = "2026-05-01 08:30".into()),
                "sent_at",
            ),
        ];
        for (mutate, field) in cases {
            let mut m = msg();
            mutate(&mut m);
            let e = m.parse().unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field));
        }
        // A picture-only message is a message.
        let mut m = msg();
        m.text = String::new();
        m.images = vec!["https://img.example/1.jpg".into()];
        assert!(m.parse().is_ok());
    }
}

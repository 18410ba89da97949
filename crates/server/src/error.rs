//! The one API error type: a status and a stable JSON body
//! `{"error": {"code", "message", "field"}}`. Internal causes are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use zhili_domain::LifecycleError;
use zhili_storage::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Extra machine-readable detail (the allowed actions of a 409, say).
    pub detail: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            detail: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
    }

    pub fn unauthorized() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "请先登录")
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "未找到")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误，请稍后重试",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
                detail: self.detail.as_ref(),
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Lifecycle(l) => l.into(),
            StoreError::Invalid { field, message } => ApiError::invalid(field, message),
            StoreError::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "该事件刚被他人修改，请刷新后重试",
            ),
            StoreError::Duplicate { field } => ApiError::new(
                StatusCode::CONFLICT,
                "duplicate",
                format!("{field} 已被使用"),
            )
            .field(field),
            StoreError::Forbidden(message) => ApiError::forbidden(message),
            StoreError::RateLimited(message) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
            }
            StoreError::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "服务正在停止，请稍后重试",
            ),
            other => {
                tracing::error!(error = ?other, "storage failure");
                ApiError::internal()
            }
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        let message = e.to_string();
        match e {
            LifecycleError::NotAllowed {
                status, allowed, ..
            } => ApiError {
                status: StatusCode::CONFLICT,
                code: "illegal_transition",
                message,
                field: Some("action".into()),
                detail: Some(serde_json::json!({
                    "status": status.code(),
                    "allowed_actions": allowed.iter().map(|a| a.code()).collect::<Vec<_>>(),
                })),
            },
            LifecycleError::Forbidden { .. } => ApiError::forbidden(message).field("action"),
            LifecycleError::Invalid { field, .. } => ApiError::invalid(field, message),
        }
    }
}

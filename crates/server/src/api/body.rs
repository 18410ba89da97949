//! A JSON body extractor whose errors name the field: malformed JSON is a 400, a
//! missing, unknown or ill-typed field a 422 with `field` set to its path.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求体须为 application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "请求体过大"))?;
        parse(&bytes).map(JsonBody)
    }
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("JSON 格式错误：{message}"),
            );
        }
        // serde names the offending key in backticks for unknown and missing fields.
        let named = message.split('`').nth(1).map(str::to_string);
        let field = match (&named, path.as_str()) {
            (Some(n), ".")
                if message.starts_with("unknown field") || message.starts_with("missing field") =>
            {
                n.clone()
            }
            // serde_path_to_error already ends the path with an unknown key.
            (Some(n), p) if message.starts_with("unknown field") && p.ends_with(n.as_str()) => {
                p.to_string()
            }
            (Some(n), p)
                if message.starts_with("unknown field") || message.starts_with("missing field") =>
            {
                format!("{p}.{n}")
            }
            // Internally tagged enums (the action body) report a bad tag at the root.
            (_, ".") if message.starts_with("unknown variant") => "action".to_string(),
            (_, p) => p.to_string(),
        };
        let reason = if message.starts_with("unknown field") {
            "未知字段".to_string()
        } else if message.starts_with("missing field") {
            "缺少必填字段".to_string()
        } else {
            format!("取值不正确：{message}")
        };
        ApiError::invalid(field, reason)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhili_domain::RawNewEvent;

    #[test]
    fn errors_name_the_field() {
        let e =
            parse::<RawNewEvent>(br#"{"channel":"web_form","text":"x","colour":1}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("colour"));
        let e = parse::<RawNewEvent>(br#"{"channel":"web_form"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("text"));
        let e = parse::<RawNewEvent>(
            br#"{"channel":"web_form","text":"x","location":{"lon":"a","lat":1}}"#,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("location.lon"));
        let e = parse::<RawNewEvent>(
            br#"{"channel":"web_form","text":"x","reporter":{"kind":"citizen","age":3}}"#,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("reporter.age"));
        let e = parse::<RawNewEvent>(b"{not json").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}

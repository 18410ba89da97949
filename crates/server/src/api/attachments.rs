//! Event photos over the API: upload one photo (`multipart/form-data`, field `photo`),
//! list an event's photos, download one. Downloads are the copy without metadata
//! unless `?variant=original` is asked for by someone who may have it. The upload
//! route has its own body limit (a photo is larger than the app-wide limit) and is
//! merged into the app outside that limit (see `upload_routes` and `crate::app`).

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use zhili_domain::Permission;
use zhili_storage::attachments::{
    Added, AttachmentFile, AttachmentMeta, MAX_PHOTO_BYTES, Photo, PhotoError, Variant,
};

use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

/// A request carrying one photo: the photo, the multipart framing and the few text
/// fields of a form.
pub const UPLOAD_BODY_LIMIT: usize = MAX_PHOTO_BYTES + 512 * 1024;

/// Reading photos, under the app-wide body limit.
pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get(
            "/api/v1/events/{id}/attachments",
            Permission::ReadEvents,
            list,
        )
        .get("/api/v1/attachments/{id}", Permission::ReadEvents, download)
}

/// Uploading, with the larger limit; merged outside the app-wide one.
pub fn upload_routes() -> crate::Routes {
    crate::Routes::new()
        .post(
            "/api/v1/events/{id}/attachments",
            Permission::HandleEvents,
            upload,
        )
        .map_router(|r| r.layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
}

/// A file part as received.
pub struct Upload {
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

/// Why a part could not be read.
pub enum PartError {
    /// Past the photo limit (or the request's body limit).
    TooLarge,
    Malformed,
}

impl From<MultipartError> for PartError {
    fn from(e: MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            PartError::TooLarge
        } else {
            PartError::Malformed
        }
    }
}

pub fn too_large_message() -> String {
    format!(
        "照片过大，每张不超过 {} MB",
        MAX_PHOTO_BYTES / (1024 * 1024)
    )
}

/// Reads a photo part, stopping as soon as it passes the photo limit.
pub async fn read_part(field: &mut Field<'_>) -> Result<Vec<u8>, PartError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if buf.len() + chunk.len() > MAX_PHOTO_BYTES {
            return Err(PartError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Checks a photo off the async threads (hashing and scanning 10 MB takes a while).
pub async fn parse_photo(upload: Upload) -> Result<Photo, PhotoError> {
    tokio::task::spawn_blocking(move || Photo::parse(upload.bytes, upload.filename.as_deref()))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "photo check task failed");
            Err(PhotoError::Corrupt)
        })
}

fn photo_error(e: PhotoError) -> ApiError {
    match e {
        PhotoError::TooLarge { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string()).field("photo")
        }
        _ => ApiError::invalid("photo", e.to_string()),
    }
}

fn part_error(e: PartError) -> ApiError {
    match e {
        PartError::TooLarge => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            too_large_message(),
        )
        .field("photo"),
        PartError::Malformed => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_multipart",
            "multipart/form-data 格式错误",
        ),
    }
}

fn id_of(raw: &str) -> Result<i64, ApiError> {
    // A malformed id is simply something that does not exist.
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

/// The one `photo` part of an upload; any other part is refused by name.
async fn single_photo(mp: &mut Multipart) -> Result<Upload, ApiError> {
    let mut photo = None;
    while let Some(mut field) = mp.next_field().await.map_err(|e| part_error(e.into()))? {
        let name = field.name().unwrap_or_default().to_string();
        if name != "photo" {
            let name: String = name.chars().take(64).collect();
            return Err(ApiError::invalid(
                name,
                "未知字段：照片请放在 photo 字段中上传",
            ));
        }
        if photo.is_some() {
            return Err(ApiError::invalid("photo", "每次只能上传一张照片"));
        }
        let filename = field.file_name().map(str::to_string);
        let bytes = read_part(&mut field).await.map_err(part_error)?;
        photo = Some(Upload { filename, bytes });
    }
    photo.ok_or_else(|| ApiError::invalid("photo", "请选择要上传的照片（multipart 字段 photo）"))
}

/// A photo's description with where to get it.
#[derive(Serialize)]
struct Item {
    #[serde(flatten)]
    meta: AttachmentMeta,
    url: String,
    original_url: Option<String>,
}

impl From<AttachmentMeta> for Item {
    fn from(meta: AttachmentMeta) -> Self {
        let url = format!("/api/v1/attachments/{}", meta.id);
        Item {
            original_url: meta
                .original_available
                .then(|| format!("{url}?variant=original")),
            url,
            meta,
        }
    }
}

async fn upload(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let event_id = id_of(&id)?;
    let repo = state.store.attachments_for(&actor);
    // The right first: nobody's bytes are looked at before it is known they may add.
    let uploader = repo
        .uploader(event_id)
        .await?
        .ok_or_else(|| ApiError::forbidden("您无权为该事件添加照片").field("photo"))?;
    let mut multipart = multipart.map_err(|_| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请求体须为 multipart/form-data，照片放在 photo 字段中",
        )
    })?;
    let upload = single_photo(&mut multipart).await?;
    let photo = parse_photo(upload).await.map_err(photo_error)?;
    Ok(match uploader.add(&photo, Utc::now()).await? {
        Added::Created(m) => (StatusCode::CREATED, axum::Json(Item::from(m))).into_response(),
        Added::Existing(m) => (StatusCode::OK, axum::Json(Item::from(m))).into_response(),
    })
}

#[derive(Serialize)]
struct ListView {
    items: Vec<Item>,
    may_upload: bool,
    max_photos: i64,
    max_bytes: usize,
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let l = state
        .store
        .attachments_for(&actor)
        .list(id_of(&id)?)
        .await?;
    Ok(axum::Json(ListView {
        items: l.items.into_iter().map(Item::from).collect(),
        may_upload: l.may_upload,
        max_photos: l.max_photos,
        max_bytes: l.max_bytes,
    })
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DownloadQuery {
    variant: Option<String>,
}

async fn download(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    query: Result<Query<DownloadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let variant = match q.variant.as_deref() {
        None | Some("public") => Variant::Public,
        Some("original") => Variant::Original,
        Some(_) => {
            return Err(ApiError::invalid(
                "variant",
                "可选：public（默认）, original",
            ));
        }
    };
    match state
        .store
        .attachments_for(&actor)
        .open(id_of(&id)?, variant, Utc::now())
        .await?
    {
        Some(file) => Ok(image_response(file)),
        None => Err(
            ApiError::forbidden("原图含拍摄位置等信息，仅限处置该事件的人员和上传者查看")
                .field("variant"),
        ),
    }
}

/// `Content-Disposition: inline` with the (already sanitised) name: an ASCII
/// fallback and the UTF-8 name (RFC 6266 / 5987).
fn disposition(filename: &str) -> HeaderValue {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("inline"))
}

/// The photo's bytes with headers that keep a browser from reading them as anything
/// but the checked image type, and out of shared caches.
pub fn image_response(file: AttachmentFile) -> Response {
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(file.meta.content_type),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_DISPOSITION,
            disposition(&file.meta.filename),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(match file.variant {
                Variant::Public => "private, max-age=300",
                Variant::Original => "private, no-store",
            }),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        ),
    ];
    (StatusCode::OK, headers, file.bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_carry_a_safe_ascii_name_and_the_utf8_one() {
        assert_eq!(
            disposition("现场 1.jpg").to_str().unwrap(),
            "inline; filename=\"___1.jpg\"; filename*=UTF-8''%E7%8E%B0%E5%9C%BA%201.jpg"
        );
        assert_eq!(
            disposition("a.png").to_str().unwrap(),
            "inline; filename=\"a.png\"; filename*=UTF-8''a.png"
        );
    }
}

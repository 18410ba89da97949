//! Photos on the pages: forms that may carry a photo (`multipart/form-data`, also
//! accepted as a plain form), adding a photo on the event page
//! (`POST /events/{id}/attachments`) and showing one (`GET /attachments/{id}`, the
//! copy without metadata, or `?original=1` for those who may have the original).

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_storage::StoreError;
use zhili_storage::attachments::{Photo, PhotoError, Variant};

use super::detail::render_detail;
use super::forms::FormData;
use super::session::PageUser;
use super::view::{error_page, internal, not_found};
use crate::AppState;
use crate::api::attachments::{PartError, Upload, image_response, parse_photo, read_part};

/// Text fields a page form may have, and how long each may be: far above what the
/// forms need, far below what would hurt.
const MAX_FIELDS: usize = 200;
const MAX_TEXT_FIELD: usize = 64 * 1024;

/// A submitted page form with its optional `photo` file.
pub struct PageForm {
    pub fields: FormData,
    pub photo: Option<Upload>,
    /// The photo passed the size limit; the fields before it were still read.
    pub photo_too_large: bool,
}

fn bad_form() -> Response {
    error_page(
        None,
        StatusCode::BAD_REQUEST,
        "表单提交的格式不正确，请返回上一页后重试。",
    )
}

fn too_large_page() -> Response {
    error_page(
        None,
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "提交的内容过大（{}）。请返回上一页，换一张照片后重试。",
            crate::api::attachments::too_large_message()
        ),
    )
}

impl FromRequest<AppState> for PageForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            return Ok(PageForm {
                fields: FormData::from_request(req, state).await?,
                photo: None,
                photo_too_large: false,
            });
        }
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|_| bad_form())?;
        let mut pairs = Vec::new();
        let mut photo = None;
        let mut photo_too_large = false;
        loop {
            let mut field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => match PartError::from(e) {
                    // The limit cut the request in the photo (the form's last field).
                    PartError::TooLarge if !pairs.is_empty() => {
                        photo_too_large = true;
                        break;
                    }
                    PartError::TooLarge => return Err(too_large_page()),
                    PartError::Malformed => return Err(bad_form()),
                },
            };
            let name = field.name().unwrap_or_default().to_string();
            if name == "photo" {
                let filename = field.file_name().map(str::to_string);
                match read_part(&mut field).await {
                    // A file input left empty sends an empty part without a name.
                    Ok(bytes)
                        if bytes.is_empty() && filename.as_deref().unwrap_or("").is_empty() => {}
                    Ok(_) if photo.is_some() => return Err(bad_form()),
                    Ok(bytes) => photo = Some(Upload { filename, bytes }),
                    Err(PartError::TooLarge) => {
                        photo_too_large = true;
                        break;
                    }
                    Err(PartError::Malformed) => return Err(bad_form()),
                }
                continue;
            }
            if pairs.len() >= MAX_FIELDS {
                return Err(bad_form());
            }
            let value = match field.text().await {
                Ok(v) if v.len() <= MAX_TEXT_FIELD => v,
                Ok(_) => return Err(too_large_page()),
                Err(e) => {
                    return Err(match PartError::from(e) {
                        PartError::TooLarge => too_large_page(),
                        PartError::Malformed => bad_form(),
                    });
                }
            };
            pairs.push((name, value));
        }
        Ok(PageForm {
            fields: FormData(pairs),
            photo,
            photo_too_large,
        })
    }
}

impl PageForm {
    /// The photo sent with the form, checked: `Ok(None)` without one.
    pub async fn checked_photo(&mut self) -> Result<Option<Photo>, PhotoError> {
        if self.photo_too_large {
            return Err(PhotoError::TooLarge {
                size: zhili_storage::attachments::MAX_PHOTO_BYTES + 1,
            });
        }
        match self.photo.take() {
            None => Ok(None),
            Some(up) => parse_photo(up).await.map(Some),
        }
    }
}

/// A photo error as the page shows it: the size limit without a made-up size.
pub fn photo_message(e: &PhotoError) -> String {
    match e {
        PhotoError::TooLarge { .. } => crate::api::attachments::too_large_message(),
        other => other.to_string(),
    }
}

pub fn photo_status(e: &PhotoError) -> StatusCode {
    match e {
        PhotoError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// `POST /events/{id}/attachments`: one photo from the event page.
pub async fn upload(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    mut form: PageForm,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form.fields) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found(Some(user.header()));
    };
    let repo = state.store.attachments_for(&user.actor);
    let uploader = match repo.uploader(id).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return error_page(
                Some(user.header()),
                StatusCode::FORBIDDEN,
                "您无权为该事件添加照片。",
            );
        }
        Err(StoreError::NotFound) => return not_found(Some(user.header())),
        Err(StoreError::Invalid { message, .. }) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return render_detail(&state, &user, id, status, Some(message)).await;
        }
        Err(e) => {
            tracing::error!(error = ?e, "photo upload page");
            return internal(Some(user.header()));
        }
    };
    let photo = match form.checked_photo().await {
        Ok(Some(p)) => p,
        Ok(None) => {
            let message = "请选择要上传的照片".to_string();
            return render_detail(
                &state,
                &user,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
            )
            .await;
        }
        Err(e) => {
            return render_detail(&state, &user, id, photo_status(&e), Some(photo_message(&e)))
                .await;
        }
    };
    match uploader.add(&photo, Utc::now()).await {
        Ok(_) => Redirect::to(&format!("/events/{id}?done=photo#photos")).into_response(),
        Err(StoreError::Invalid { message, .. }) => {
            render_detail(
                &state,
                &user,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
            )
            .await
        }
        Err(StoreError::NotFound) => not_found(Some(user.header())),
        Err(e) => {
            tracing::error!(error = ?e, "photo upload page");
            internal(Some(user.header()))
        }
    }
}

#[derive(Deserialize)]
pub struct ImageParams {
    original: Option<String>,
}

/// `GET /attachments/{id}`: the photo for a signed-in page user.
pub async fn image(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    params: Result<Query<ImageParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(Some(user.header()));
    };
    let original = params
        .ok()
        .and_then(|Query(p)| p.original)
        .is_some_and(|v| v == "1");
    let variant = if original {
        Variant::Original
    } else {
        Variant::Public
    };
    match state
        .store
        .attachments_for(&user.actor)
        .open(id, variant, Utc::now())
        .await
    {
        Ok(Some(file)) => image_response(file),
        Ok(None) => error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "原图含拍摄位置等信息，仅限处置该事件的人员和上传者查看。",
        ),
        Err(StoreError::NotFound) => error_page(
            Some(user.header()),
            StatusCode::NOT_FOUND,
            "该照片不存在，或不在您的管辖范围内。",
        ),
        Err(e) => {
            tracing::error!(error = ?e, "photo page");
            internal(Some(user.header()))
        }
    }
}

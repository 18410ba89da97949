//! `/public/my-data`: a reporter without an account sees and copies what the
//! system holds about them in their reports, and asks for a correction or deletion
//! (PI-08), after proving their phone with an SMS one-time code (IA-11). Phone-sized,
//! three steps: the phone, the code, the data with its request forms.
//!
//! No cookie: the pass a right code earns travels in the forms of the data page, so
//! there is no session for another site to ride (the pass is the secret) and a
//! closed tab leaves nothing behind. Same storage calls as `api::rights`.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use zhili_domain::Permission;
use zhili_domain::rights::CodePolicy;
use zhili_storage::StoreError;
use zhili_storage::rights::{MyReport, NewRequest};

use super::forms::FormData;
use super::public::Shown;
use super::view::{china_time, render};
use crate::AppState;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/public/my-data", Permission::Public, start)
        .post("/public/my-data/code", Permission::Public, send_code)
        .post("/public/my-data", Permission::Public, verify)
        .post("/public/my-data/requests", Permission::Public, file)
}

/// One report as the page shows it.
struct Report {
    number: String,
    reported_at: String,
    status: &'static str,
    channel: &'static str,
    place: String,
    text: String,
    address: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    /// Kind, status, filed, due and the command room's note, as text.
    requests: Vec<(&'static str, &'static str, String, String, Option<String>)>,
}

impl From<MyReport> for Report {
    fn from(r: MyReport) -> Self {
        Report {
            place: match &r.category {
                Some(c) => format!("{} · {c}", r.township),
                None => r.township.clone(),
            },
            requests: r
                .requests
                .iter()
                .map(|q| {
                    (
                        q.kind.label,
                        q.status.label,
                        china_time(q.requested_at),
                        china_time(q.due_at),
                        q.decision_note.clone(),
                    )
                })
                .collect(),
            reported_at: china_time(r.reported_at),
            status: r.status.label,
            channel: r.channel.label,
            number: r.number,
            text: r.text,
            address: r.address,
            name: r.name,
            phone: r.phone,
        }
    }
}

#[derive(Template)]
#[template(path = "public_my_data.html")]
struct MyDataPage {
    lang: Lang,
    /// "phone", "code" or "data".
    step: &'static str,
    phone: String,
    pass: String,
    error: Option<Shown>,
    notice: Option<Shown>,
    reports: Vec<Report>,
    /// The reports as JSON, for the copy the reporter may take (PIPL Art. 45).
    copy: String,
}

impl MyDataPage {
    fn new(lang: Lang, step: &'static str) -> Self {
        MyDataPage {
            lang,
            step,
            phone: String::new(),
            pass: String::new(),
            error: None,
            notice: None,
            reports: Vec::new(),
            copy: String::new(),
        }
    }
}

fn page(status: StatusCode, p: &MyDataPage) -> Response {
    // Personal data: never kept by a shared computer's browser or a proxy.
    super::public::no_store(render(status, p))
}

/// The status and words of a refusal from storage; `None` for a failure of ours.
fn refusal(lang: Lang, e: &StoreError) -> Option<(StatusCode, Shown)> {
    match e {
        StoreError::Invalid { message, .. } => {
            Some((StatusCode::UNPROCESSABLE_ENTITY, Shown::of(lang, message)))
        }
        StoreError::RateLimited(m) => Some((StatusCode::TOO_MANY_REQUESTS, Shown::of(lang, m))),
        StoreError::Forbidden(m) => Some((StatusCode::FORBIDDEN, Shown::of(lang, m))),
        _ => None,
    }
}

fn failed(lang: Lang, e: StoreError) -> Response {
    tracing::error!(error = ?e, "my-data page: storage failure");
    let mut p = MyDataPage::new(lang, "phone");
    p.error = Some(Shown::of(lang, "服务器内部错误，请稍后重试。"));
    page(StatusCode::INTERNAL_SERVER_ERROR, &p)
}

async fn start(lang: Lang) -> Response {
    page(StatusCode::OK, &MyDataPage::new(lang, "phone"))
}

async fn send_code(State(state): State<AppState>, lang: Lang, form: FormData) -> Response {
    let phone = form.value("phone");
    match state
        .store
        .send_phone_code(&phone, &CodePolicy::default(), Utc::now())
        .await
    {
        Ok(_) => {
            let mut p = MyDataPage::new(lang, "code");
            p.phone = phone;
            page(StatusCode::OK, &p)
        }
        Err(e) => match refusal(lang, &e) {
            Some((status, shown)) => {
                let mut p = MyDataPage::new(lang, "phone");
                p.phone = phone;
                p.error = Some(shown);
                page(status, &p)
            }
            None => failed(lang, e),
        },
    }
}

async fn verify(State(state): State<AppState>, lang: Lang, form: FormData) -> Response {
    let phone = form.value("phone");
    match state
        .store
        .verify_phone_code(
            &phone,
            &form.value("code"),
            &CodePolicy::default(),
            Utc::now(),
        )
        .await
    {
        Ok(pass) => data_page(&state, lang, pass.pass, StatusCode::OK, None, None).await,
        Err(e) => match refusal(lang, &e) {
            Some((status, shown)) => {
                let mut p = MyDataPage::new(lang, "code");
                p.phone = phone;
                p.error = Some(shown);
                page(status, &p)
            }
            None => failed(lang, e),
        },
    }
}

async fn file(State(state): State<AppState>, lang: Lang, form: FormData) -> Response {
    let pass = form.value("pass");
    let new = NewRequest {
        number: form.value("event"),
        kind: form.value("kind"),
        new_name: form.opt("name"),
        new_phone: form.opt("phone"),
        note: form.opt("note"),
    };
    match state
        .store
        .file_rights_request(&pass, &new, Utc::now())
        .await
    {
        Ok(r) => {
            let notice = Shown::made(
                lang,
                lang.f(
                    "已收到您对事件 {} 的{}申请（第 {} 号），将在 {} 前办理，结果以短信告知。",
                    &[
                        &new.number,
                        &lang.t(r.kind.label),
                        &r.id,
                        &china_time(r.due_at),
                    ],
                ),
            );
            data_page(&state, lang, pass, StatusCode::CREATED, None, Some(notice)).await
        }
        Err(StoreError::Forbidden(m)) => {
            // The pass ran out: start again.
            let mut p = MyDataPage::new(lang, "phone");
            p.error = Some(Shown::of(lang, &m));
            page(StatusCode::FORBIDDEN, &p)
        }
        Err(e) => match refusal(lang, &e) {
            Some((status, shown)) => data_page(&state, lang, pass, status, Some(shown), None).await,
            None => failed(lang, e),
        },
    }
}

async fn data_page(
    state: &AppState,
    lang: Lang,
    pass: String,
    status: StatusCode,
    error: Option<Shown>,
    notice: Option<Shown>,
) -> Response {
    match state.store.my_reports(&pass, Utc::now()).await {
        Ok(reports) => {
            let mut p = MyDataPage::new(lang, "data");
            p.copy = serde_json::to_string_pretty(&reports).unwrap_or_default();
            p.reports = reports.into_iter().map(Report::from).collect();
            p.pass = pass;
            p.error = error;
            p.notice = notice;
            page(status, &p)
        }
        Err(StoreError::Forbidden(m)) => {
            let mut p = MyDataPage::new(lang, "phone");
            p.error = Some(Shown::of(lang, &m));
            page(StatusCode::FORBIDDEN, &p)
        }
        Err(e) => failed(lang, e),
    }
}

//! One event (`GET /events/{id}`) and its lifecycle actions
//! (`POST /events/{id}/actions`): a small form per action the viewer may take now.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::supervision::SupervisionLevel;
use zhili_domain::{
    Action, ActionKind, InformChannel, OrgId, OrgKind, RejectReason, Satisfaction, Sensitivity,
};
use zhili_storage::attachments::AttachmentList;
use zhili_storage::{EventDetail, Org, StoreError};

use super::forms::{FormData, Msg};
use super::session::PageUser;
use super::view::{Header, Opt, OptGroup, china_time, internal, not_found, render};
use crate::AppState;
use crate::error::ApiError;

/// The free-text field an action takes, if any.
struct TextField {
    name: &'static str,
    label: &'static str,
    required: bool,
    multiline: bool,
}

fn text_field(kind: ActionKind) -> TextField {
    use ActionKind as K;
    let (name, label, required, multiline) = match kind {
        K::Accept => ("note", "受理意见（选填）", false, false),
        K::Reject => ("note", "说明", true, true),
        K::Dispatch => ("note", "分派意见（选填）", false, false),
        K::Sign => ("note", "签收说明（选填）", false, false),
        K::Return => ("reason", "退回理由", true, true),
        K::Resolve => ("result", "办理结果", true, true),
        K::VerifyPass => ("note", "核查意见（选填）", false, false),
        K::VerifyFail => ("reason", "不通过原因", true, true),
        K::Inform => ("note", "反馈内容（选填）", false, true),
        K::Rate => ("comment", "评价意见（选填）", false, true),
        K::Reopen => ("reason", "重新办理原因", true, true),
        K::Close => ("note", "归档说明（选填）", false, false),
        K::RequestExtension => ("reason", "延期理由", true, true),
        K::ApproveExtension => ("note", "审批意见（选填）", false, false),
        K::DenyExtension => ("reason", "驳回理由", true, true),
        K::Suspend => ("reason", "挂起原因", true, true),
        K::Resume => ("note", "恢复说明（选填）", false, false),
        K::Supervise => ("note", "督办意见", true, true),
        K::TransferTo110 => ("reason", "移交110的理由（警情说明）", true, true),
        K::Escalate => ("reason", "升级理由（需上级协调的事项）", true, true),
    };
    TextField {
        name,
        label,
        required,
        multiline,
    }
}

/// A form field or choice the user got wrong, before the lifecycle is asked.
pub(super) struct BadInput {
    pub(super) message: String,
}

fn bad(message: impl Into<String>) -> BadInput {
    BadInput {
        message: message.into(),
    }
}

/// The `Action` a submitted action form asks for.
pub(super) fn build_action(f: &FormData) -> Result<Action, BadInput> {
    let code = f.value("action");
    let kind = ActionKind::parse(code.trim()).ok_or_else(|| bad("未知的操作"))?;
    let field = text_field(kind);
    // Required texts go to the domain as typed: it says what is wrong with them.
    let text = f.value(field.name);
    let opt = f.opt(field.name);
    use ActionKind as K;
    Ok(match kind {
        K::Accept => Action::Accept { note: opt },
        K::Reject => Action::Reject {
            reason: f
                .get("reason")
                .and_then(RejectReason::parse)
                .ok_or_else(|| bad("请选择不予受理的原因"))?,
            note: text,
        },
        K::Dispatch => {
            let lead = f
                .get("lead_unit")
                .and_then(|v| v.trim().parse::<i64>().ok())
                .ok_or_else(|| bad("请选择主办单位"))?;
            let mut assisting = Vec::new();
            for v in f.all("assisting_units") {
                let id = v.parse::<i64>().map_err(|_| bad("协办单位选择有误"))?;
                if !assisting.contains(&OrgId(id)) {
                    assisting.push(OrgId(id));
                }
            }
            Action::Dispatch {
                lead_unit: OrgId(lead),
                assisting_units: assisting,
                note: opt,
            }
        }
        K::Sign => Action::Sign { note: opt },
        K::Return => Action::Return { reason: text },
        K::Resolve => Action::Resolve {
            result: text,
            photos: Vec::new(),
        },
        K::VerifyPass => Action::VerifyPass { note: opt },
        K::VerifyFail => Action::VerifyFail { reason: text },
        K::Inform => Action::Inform {
            channel: f
                .get("channel")
                .and_then(InformChannel::parse)
                .ok_or_else(|| bad("请选择反馈方式"))?,
            note: opt,
        },
        K::Rate => Action::Rate {
            satisfaction: f
                .get("satisfaction")
                .and_then(Satisfaction::parse)
                .ok_or_else(|| bad("请选择满意度"))?,
            comment: opt,
        },
        K::Reopen => Action::Reopen { reason: text },
        K::Close => Action::Close { note: opt },
        K::RequestExtension => Action::RequestExtension {
            days: f
                .get("days")
                .and_then(|v| v.trim().parse::<u32>().ok())
                .ok_or_else(|| bad("延期天数须为 1–60 之间的整数"))?,
            reason: text,
        },
        K::ApproveExtension => Action::ApproveExtension { note: opt },
        K::DenyExtension => Action::DenyExtension { reason: text },
        K::Suspend => Action::Suspend { reason: text },
        K::Resume => Action::Resume { note: opt },
        K::Escalate => Action::Escalate { reason: text },
        K::Supervise => Action::Supervise {
            level: match f.get("level").map(str::trim).filter(|v| !v.is_empty()) {
                None => SupervisionLevel::Ordinary,
                Some(v) => SupervisionLevel::parse(v).ok_or_else(|| bad("请选择督办级别"))?,
            },
            due_date: f.value("due_date"),
            note: text,
            leader: f.opt("leader"),
        },
        K::TransferTo110 => Action::TransferTo110 { reason: text },
    })
}

/// The supervise form's date: the event's handling deadline, or three days on.
pub(super) fn default_due_date(handle_due_at: Option<chrono::DateTime<Utc>>) -> String {
    let today = Utc::now() + chrono::Duration::days(3);
    let due = handle_due_at.filter(|t| *t > Utc::now()).unwrap_or(today);
    // "2026-12-05 17:30" → the date part.
    china_time(due).chars().take(10).collect()
}

/// One action's form, with what the user typed when it failed.
struct ActionForm {
    code: &'static str,
    label: &'static str,
    text_name: &'static str,
    text_label: &'static str,
    text_required: bool,
    text_multiline: bool,
    text_value: String,
    /// Reject reasons, inform channels or satisfaction levels.
    options: Vec<Opt>,
    lead_groups: Vec<OptGroup>,
    assist_groups: Vec<OptGroup>,
    days: String,
    /// The supervise form's due date and leader.
    due_date: String,
    leader: String,
    error: Option<Msg>,
}

struct TimelineRow {
    at: String,
    actor: String,
    action: &'static str,
    from: &'static str,
    to: &'static str,
    note: String,
}

/// Everything shown about the event, as text.
struct EventView {
    id: i64,
    number: String,
    status_code: &'static str,
    status_label: &'static str,
    channel: &'static str,
    external_id: Option<String>,
    /// The processing notice its reporter was given (PI-02).
    notice_version: Option<String>,
    /// Labelled 敏感 (AC-08), why, and whether the viewer may change the label.
    sensitive: bool,
    sensitivity_reason: Option<String>,
    can_label: bool,
    priority: &'static str,
    /// Name and code; `None`: not classified yet.
    category: Option<String>,
    area: String,
    address: Option<String>,
    location: Option<String>,
    reporter_kind: &'static str,
    reporter_name: Option<String>,
    reporter_phone: Option<String>,
    reporter_masked: bool,
    /// The viewer handles the event and may reveal the contact, with a reason.
    reporter_revealable: bool,
    text: String,
    lead_unit: Option<String>,
    assisting_units: Option<String>,
    satisfaction: Option<&'static str>,
    extension: Option<String>,
    /// The days asked for and the reason given (data).
    pending_extension: Option<(u32, String)>,
    returns_and_rework: Option<String>,
    reported_at: String,
    updated_at: String,
    closed_at: Option<String>,
    /// Every started clock: label, due text, and its warning class (ok, yellow, red,
    /// done) for the colour.
    deadlines: Vec<DeadlineRow>,
    /// Set when the event runs above its township (the escalation ladder).
    level: Option<&'static str>,
    /// The routing matrix's suggestion, in words.
    routing: Option<RoutingView>,
}

/// The routing matrix's suggestion: unit names are data, the rest is the page's.
struct RoutingView {
    lead: String,
    assisting: Option<String>,
    /// The rule's level label and id, or else the source's label.
    rule: Option<(&'static str, i64)>,
    source: &'static str,
}

/// "2026-12-05 17:30（剩余 2 天 3 小时）" or "（已超期 5 小时）"; plain once the event is done.
fn due_text(lang: Lang, due: chrono::DateTime<chrono::Utc>, open: bool, estimated: bool) -> String {
    let mut text = china_time(due);
    if open {
        let left = due - chrono::Utc::now();
        let (late, span) = if left < chrono::Duration::zero() {
            (true, -left)
        } else {
            (false, left)
        };
        let (days, hours) = (span.num_days(), span.num_hours() % 24);
        let span = if days > 0 {
            lang.f("{} 天 {} 小时", &[&days, &hours])
        } else {
            lang.f(
                "{} 小时 {} 分",
                &[&span.num_hours(), &(span.num_minutes() % 60)],
            )
        };
        if late {
            text.push_str(&lang.f("（已超期 {}）", &[&span]));
        } else {
            text.push_str(&lang.f("（剩余 {}）", &[&span]));
        }
    }
    if estimated {
        text.push_str(lang.t("（估算：该年度节假日尚未导入）"));
    }
    text
}

impl EventView {
    fn new(d: &EventDetail, lang: Lang) -> Self {
        let mut area = vec![d.township.name.clone()];
        area.extend(d.village.iter().map(|v| v.name.clone()));
        area.extend(d.grid.iter().map(|g| format!("{}（{}）", g.name, g.code)));
        let assisting = d
            .assisting_units
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>()
            .join("、");
        EventView {
            id: d.id,
            number: d.number.clone(),
            status_code: d.status.code,
            status_label: d.status.label,
            channel: d.channel.label,
            external_id: d.external_id.clone(),
            notice_version: d.notice_version.clone(),
            sensitive: d.sensitivity.code == Sensitivity::Sensitive.code(),
            sensitivity_reason: d.sensitivity_reason.clone(),
            can_label: d.can_label,
            priority: d.priority.label,
            category: d
                .category
                .as_ref()
                .map(|c| format!("{}（{}）", c.name, c.code)),
            area: area.join(" / "),
            address: d.address.clone(),
            location: d.location.map(|p| {
                lang.f(
                    "经度 {}，纬度 {}",
                    &[&format!("{:.6}", p.lon), &format!("{:.6}", p.lat)],
                )
            }),
            reporter_kind: d.reporter.kind.label,
            reporter_name: d.reporter.name.clone(),
            reporter_phone: d.reporter.phone.clone(),
            reporter_masked: d.reporter.masked,
            reporter_revealable: d.reporter.revealable,
            text: d.text.clone(),
            lead_unit: d.lead_unit.as_ref().map(|u| u.name.clone()),
            assisting_units: (!assisting.is_empty()).then_some(assisting),
            satisfaction: d.satisfaction.as_ref().map(|s| s.label),
            extension: (d.extension_days > 0)
                .then(|| lang.f("已延期 {} 个工作日", &[&d.extension_days])),
            pending_extension: d
                .pending_extension
                .as_ref()
                .map(|p| (p.days, p.reason.clone())),
            returns_and_rework: (d.return_count > 0 || d.rework_count > 0).then(|| {
                lang.f(
                    "退回 {} 次，返工 {} 次",
                    &[&d.return_count, &d.rework_count],
                )
            }),
            reported_at: china_time(d.reported_at),
            updated_at: china_time(d.updated_at),
            closed_at: d.closed_at.map(china_time),
            deadlines: d
                .deadlines
                .iter()
                .map(|x| {
                    let now = chrono::Utc::now();
                    let class = if !x.running {
                        "done"
                    } else if now >= x.due_at {
                        "red"
                    } else if now >= x.warn_at {
                        "yellow"
                    } else {
                        "ok"
                    };
                    DeadlineRow {
                        label: x.clock.label,
                        text: due_text(lang, x.due_at, x.running, d.deadlines_estimated),
                        class,
                    }
                })
                .collect(),
            level: (d.level.code != "township").then_some(d.level.label),
            routing: d.routing.as_ref().map(routing_text),
        }
    }
}

/// "主办 X；协办 Y、Z；乡镇（街道）办理（分派规则 12）" or "主办 X（类别默认部门）".
fn routing_text(r: &zhili_storage::routing::RouteSuggestion) -> RoutingView {
    let names: Vec<&str> = r.assisting_units.iter().map(|u| u.name.as_str()).collect();
    RoutingView {
        lead: r.lead_unit.name.clone(),
        assisting: (!names.is_empty()).then(|| names.join("、")),
        rule: r.rule_id.map(|id| (r.level.label, id)),
        source: r.source.label,
    }
}

struct DeadlineRow {
    label: &'static str,
    text: String,
    class: &'static str,
}

#[derive(Template)]
#[template(path = "event_detail.html")]
struct DetailPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    e: EventView,
    /// The reporter's contact, revealed in this answer (audited).
    revealed: Option<zhili_storage::RevealedContact>,
    reveal_error: Option<Msg>,
    /// Why the label change just tried was refused.
    label_error: Option<Msg>,
    timeline: Vec<TimelineRow>,
    actions: Vec<ActionForm>,
    error: Option<Msg>,
    done: Option<&'static str>,
    photos: PhotosView,
    /// The check code (查询码) to pass on to the reporter (see `pages::public`).
    check_code: Option<String>,
    /// The event's supervision orders; `None` for those who do not read them.
    orders: Option<Vec<super::supervision::OrderRow>>,
    close_opts: Vec<Opt>,
    /// What the classifier said (智能分类).
    classified: Option<ClassView>,
    dups: super::duplicates::DuplicateBox,
}

/// The classifier's suggestions as lines ("违章搭建（0102）· 90% · 关键词规则"), the
/// words that weighed most, and the operator's choice.
struct ClassView {
    lines: Vec<ClassLine>,
    evidence: String,
    police: bool,
    needs_triage: bool,
    chosen: Option<Chosen>,
}

/// One suggestion: the category (data), the confidence and where it came from.
struct ClassLine {
    category: String,
    percent: String,
    source: &'static str,
}

/// The operator's choice: the category and who chose it (data), and when.
struct Chosen {
    category: String,
    by: String,
    at: String,
}

async fn class_view(state: &AppState, d: &EventDetail) -> Option<ClassView> {
    let c = d.classification.as_ref()?;
    let names: std::collections::HashMap<String, String> = match state.store.categories().await {
        Ok(all) => all.into_iter().map(|c| (c.code, c.name)).collect(),
        Err(e) => {
            tracing::error!(error = ?e, "categories for the classification box");
            Default::default()
        }
    };
    let name = |code: &str| match names.get(code) {
        Some(n) => format!("{n}（{code}）"),
        None => code.to_string(),
    };
    Some(ClassView {
        lines: c
            .suggestions
            .iter()
            .map(|s| ClassLine {
                category: name(&s.category),
                percent: format!("{:.0}%", s.confidence * 100.0),
                source: s.source.label_zh(),
            })
            .collect(),
        evidence: c.evidence.join("、"),
        police: c.police,
        needs_triage: d.needs_triage,
        chosen: c.chosen.as_ref().map(|x| Chosen {
            category: name(&x.category),
            by: x.by.clone(),
            at: china_time(x.at),
        }),
    })
}

/// The event's photos and, for those who may add one, the upload form.
struct PhotosView {
    items: Vec<PhotoItem>,
    may_upload: bool,
    left: i64,
    max_mb: usize,
    error: Option<Msg>,
}

struct PhotoItem {
    url: String,
    original_url: Option<String>,
    filename: String,
    uploaded_at: String,
    uploader: Option<&'static str>,
}

fn photos_view(lang: Lang, list: AttachmentList, error: Option<String>) -> PhotosView {
    let count = i64::try_from(list.items.len()).unwrap_or(i64::MAX);
    PhotosView {
        may_upload: list.may_upload,
        left: (list.max_photos - count).max(0),
        max_mb: list.max_bytes / (1024 * 1024),
        error: error.map(|m| Msg::new(lang, &m)),
        items: list
            .items
            .into_iter()
            .map(|m| PhotoItem {
                url: format!("/attachments/{}", m.id),
                original_url: m
                    .original_available
                    .then(|| format!("/attachments/{}?original=1", m.id)),
                filename: m.filename,
                uploaded_at: china_time(m.uploaded_at),
                uploader: m.uploader_role.map(|r| r.label),
            })
            .collect(),
    }
}

/// An action that failed, to show again with its message and input.
struct Failure<'a> {
    form: &'a FormData,
    message: String,
}

pub(super) fn unit_groups(units: &[Org], selected: &[i64]) -> Vec<OptGroup> {
    [
        (OrgKind::Department, "市级部门"),
        (OrgKind::StationedUnit, "派驻机构"),
        (OrgKind::TownshipOffice, "乡镇科室"),
    ]
    .into_iter()
    .map(|(kind, label)| OptGroup {
        label: label.to_string(),
        options: units
            .iter()
            .filter(|u| u.kind == kind)
            .map(|u| Opt {
                value: u.id.0.to_string(),
                label: u.name.clone(),
                selected: selected.contains(&u.id.0),
            })
            .collect(),
    })
    .filter(|g| !g.options.is_empty())
    .collect()
}

fn action_forms(
    lang: Lang,
    d: &EventDetail,
    units: &[Org],
    failure: Option<&Failure<'_>>,
) -> Vec<ActionForm> {
    let failed_code = failure.map(|f| f.form.value("action"));
    d.allowed_actions
        .iter()
        .filter_map(|a| ActionKind::parse(a.code))
        .map(|kind| {
            let field = text_field(kind);
            let failed = failure.filter(|_| failed_code.as_deref() == Some(kind.code()));
            let typed = |name: &str| failed.map(|f| f.form.value(name)).unwrap_or_default();
            let options = match kind {
                ActionKind::Reject => RejectReason::ALL
                    .iter()
                    .map(|r| Opt::new(r.code(), lang.t(r.label_zh()), &typed("reason")))
                    .collect(),
                ActionKind::Inform => {
                    let cur = failed.map_or_else(
                        || InformChannel::Phone.code().to_string(),
                        |_| typed("channel"),
                    );
                    InformChannel::ALL
                        .iter()
                        .map(|c| Opt::new(c.code(), lang.t(c.label_zh()), &cur))
                        .collect()
                }
                ActionKind::Rate => Satisfaction::ALL
                    .iter()
                    .map(|s| Opt::new(s.code(), lang.t(s.label_zh()), &typed("satisfaction")))
                    .collect(),
                ActionKind::Supervise => {
                    let cur = failed.map_or_else(
                        || SupervisionLevel::Ordinary.code().to_string(),
                        |_| typed("level"),
                    );
                    SupervisionLevel::ALL
                        .iter()
                        .map(|l| Opt::new(l.code(), lang.t(l.label_zh()), &cur))
                        .collect()
                }
                _ => Vec::new(),
            };
            let (lead_groups, assist_groups) = if kind == ActionKind::Dispatch {
                let (lead, assist): (Vec<i64>, Vec<i64>) = match failed {
                    Some(f) => (
                        f.form
                            .get("lead_unit")
                            .and_then(|v| v.parse().ok())
                            .into_iter()
                            .collect(),
                        f.form
                            .all("assisting_units")
                            .iter()
                            .filter_map(|v| v.parse().ok())
                            .collect(),
                    ),
                    // Not dispatched yet: what the routing matrix suggests.
                    None => match (&d.lead_unit, &d.routing) {
                        (None, Some(r)) => (
                            vec![r.lead_unit.id],
                            r.assisting_units.iter().map(|u| u.id).collect(),
                        ),
                        _ => (
                            d.lead_unit.iter().map(|u| u.id).collect(),
                            d.assisting_units.iter().map(|u| u.id).collect(),
                        ),
                    },
                };
                (unit_groups(units, &lead), unit_groups(units, &assist))
            } else {
                (Vec::new(), Vec::new())
            };
            ActionForm {
                code: kind.code(),
                label: kind.label_zh(),
                text_name: field.name,
                text_label: field.label,
                text_required: field.required,
                text_multiline: field.multiline,
                text_value: typed(field.name),
                options,
                lead_groups,
                assist_groups,
                days: failed.map_or_else(|| "5".to_string(), |_| typed("days")),
                due_date: failed
                    .map_or_else(|| default_due_date(d.handle_due_at), |_| typed("due_date")),
                leader: typed("leader"),
                error: failed.map(|f| Msg::new(lang, &f.message)),
            }
        })
        .collect()
}

async fn detail_page(
    state: &AppState,
    user: &PageUser,
    id: i64,
    status: StatusCode,
    failure: Option<Failure<'_>>,
    done: Option<&'static str>,
) -> Response {
    detail_page_with(state, user, id, status, failure, done, Shown::default()).await
}

/// The event page after a photo upload failed with `photo_error`.
pub(super) async fn render_detail(
    state: &AppState,
    user: &PageUser,
    id: i64,
    status: StatusCode,
    photo_error: Option<String>,
) -> Response {
    let shown = Shown {
        photo_error,
        ..Shown::default()
    };
    detail_page_with(state, user, id, status, None, None, shown).await
}

/// What one answer of the event page shows beyond the event: a failed upload, or
/// the reporter's contact revealed just now (or why it was not).
#[derive(Default)]
struct Shown {
    photo_error: Option<String>,
    revealed: Option<zhili_storage::RevealedContact>,
    reveal_error: Option<String>,
    label_error: Option<String>,
}

async fn detail_page_with(
    state: &AppState,
    user: &PageUser,
    id: i64,
    status: StatusCode,
    failure: Option<Failure<'_>>,
    done: Option<&'static str>,
    shown: Shown,
) -> Response {
    let header = user.header();
    let d = match state.store.events_for(&user.actor).get(id).await {
        Ok(d) => d,
        Err(StoreError::NotFound) => return not_found(Some(header)),
        Err(e) => {
            tracing::error!(error = ?e, "event detail page");
            return internal(Some(header));
        }
    };
    let units = if d
        .allowed_actions
        .iter()
        .any(|a| a.code == ActionKind::Dispatch.code())
    {
        let kinds = [
            OrgKind::Department,
            OrgKind::StationedUnit,
            OrgKind::TownshipOffice,
        ];
        match state.store.orgs_of_kind(&kinds).await {
            // Township offices and stationed units take only their own township's events.
            Ok(all) => all
                .into_iter()
                .filter(|u| {
                    u.kind == OrgKind::Department || u.township_id == Some(OrgId(d.township.id))
                })
                .collect(),
            Err(e) => {
                tracing::error!(error = ?e, "units for dispatch");
                return internal(Some(header));
            }
        }
    } else {
        Vec::new()
    };
    let photos = match state.store.attachments_for(&user.actor).list(id).await {
        Ok(list) => photos_view(user.lang, list, shown.photo_error),
        Err(e) => {
            tracing::error!(error = ?e, "photos of the event page");
            return internal(Some(header));
        }
    };
    let check_code = super::public::check_code_for(state, &user.actor, &d).await;
    let orders = match state.store.supervision_for(&user.actor) {
        None => None,
        Some(repo) => match repo.for_event(id, Utc::now()).await {
            Ok(o) => Some(o.into_iter().map(Into::into).collect()),
            Err(e) => {
                tracing::error!(error = ?e, "supervision orders of the event page");
                return internal(Some(header));
            }
        },
    };
    let classified = class_view(state, &d).await;
    let view = DetailPage {
        revealed: shown.revealed,
        reveal_error: shown.reveal_error.map(|m| Msg::new(user.lang, &m)),
        label_error: shown.label_error.map(|m| Msg::new(user.lang, &m)),
        classified,
        dups: super::duplicates::DuplicateBox::new(&user.actor, &d),
        check_code,
        orders,
        close_opts: super::supervision::close_opts(),
        photos,
        lang: header.lang,
        header: Some(header),
        csrf: user.csrf.clone(),
        e: EventView::new(&d, user.lang),
        timeline: d
            .timeline
            .iter()
            .map(|t| TimelineRow {
                at: china_time(t.at),
                actor: t.actor_name.clone(),
                action: t.action.label,
                from: t.from_status.as_ref().map_or("", |s| s.label),
                to: t.to_status.label,
                note: t.note.clone().unwrap_or_default(),
            })
            .collect(),
        actions: action_forms(user.lang, &d, &units, failure.as_ref()),
        error: failure.map(|f| Msg::new(user.lang, &f.message)),
        done,
    };
    render(status, &view)
}

#[derive(Deserialize)]
pub struct DetailParams {
    done: Option<String>,
}

pub async fn detail(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    params: Result<Query<DetailParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(Some(user.header()));
    };
    // Only a known action's label is shown, never the raw parameter.
    let done = params
        .ok()
        .and_then(|Query(p)| p.done)
        .and_then(|c| match c.as_str() {
            "photo" => Some("添加照片"),
            "supervision_reply" => Some("回复督办"),
            "supervision_close" => Some("办结督办"),
            "duplicate_link" => Some("关联主件"),
            "duplicate_unlink" => Some("解除重复关联"),
            "sensitivity" => Some("调整密级"),
            _ => ActionKind::parse(&c).map(ActionKind::label_zh),
        });
    detail_page(&state, &user, id, StatusCode::OK, None, done).await
}

/// 查看联系方式: the reporter's name and phone in full, shown in this answer only
/// (a reload shows the mask again); the reason goes into the audit record.
pub async fn reveal(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found(Some(user.header()));
    };
    let reason = form.value("reason");
    let (status, shown) = match state
        .store
        .events_for(&user.actor)
        .reveal_reporter(id, &reason, Utc::now())
        .await
    {
        Ok(contact) => (
            StatusCode::OK,
            Shown {
                revealed: Some(contact),
                ..Shown::default()
            },
        ),
        Err(StoreError::NotFound) => return not_found(Some(user.header())),
        Err(StoreError::Invalid { message, .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                reveal_error: Some(message),
                ..Shown::default()
            },
        ),
        Err(StoreError::Forbidden(message)) => (
            StatusCode::FORBIDDEN,
            Shown {
                reveal_error: Some(message),
                ..Shown::default()
            },
        ),
        Err(e) => {
            tracing::error!(error = ?e, "reveal of a reporter's contact");
            return internal(Some(user.header()));
        }
    };
    detail_page_with(&state, &user, id, status, None, None, shown).await
}

/// 调整密级: the command room running the event raises or lowers its label, with a
/// reason (AC-08).
pub async fn label(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found(Some(user.header()));
    };
    let refused = |status: StatusCode, message: String| {
        let shown = Shown {
            label_error: Some(message),
            ..Shown::default()
        };
        (status, shown)
    };
    let (status, shown) = match Sensitivity::parse(&form.value("sensitivity")) {
        None => refused(StatusCode::UNPROCESSABLE_ENTITY, "请选择密级".to_string()),
        Some(label) => match state
            .store
            .events_for(&user.actor)
            .set_sensitivity(id, label, &form.value("reason"), Utc::now())
            .await
        {
            Ok(_) => {
                return Redirect::to(&format!("/events/{id}?done=sensitivity")).into_response();
            }
            // Lowered by someone else meanwhile and no longer visible, or never was.
            Err(StoreError::NotFound) => return not_found(Some(user.header())),
            Err(StoreError::Invalid { message, .. }) => {
                refused(StatusCode::UNPROCESSABLE_ENTITY, message)
            }
            Err(StoreError::Forbidden(message)) => refused(StatusCode::FORBIDDEN, message),
            Err(e) => {
                tracing::error!(error = ?e, "sensitivity label of an event");
                return internal(Some(user.header()));
            }
        },
    };
    detail_page_with(&state, &user, id, status, None, None, shown).await
}

pub async fn act(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found(Some(user.header()));
    };
    let action = match build_action(&form) {
        Ok(a) => a,
        Err(b) => {
            let failure = Failure {
                form: &form,
                message: b.message,
            };
            return detail_page(
                &state,
                &user,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(failure),
                None,
            )
            .await;
        }
    };
    match state
        .store
        .events_for(&user.actor)
        .act(id, &action, Utc::now())
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/events/{id}?done={}", action.kind().code())).into_response()
        }
        Err(StoreError::NotFound) => not_found(Some(user.header())),
        Err(e) => {
            let api = ApiError::from(e);
            if api.status.is_server_error() {
                return internal(Some(user.header()));
            }
            let failure = Failure {
                form: &form,
                message: api.message,
            };
            detail_page(&state, &user, id, api.status, Some(failure), None).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_become_actions() {
        let f = FormData::from_pairs(&[
            ("action", "dispatch"),
            ("lead_unit", "7"),
            ("assisting_units", "8"),
            ("assisting_units", "8"),
            ("assisting_units", "9"),
            ("note", " "),
        ]);
        assert_eq!(
            build_action(&f).ok(),
            Some(Action::Dispatch {
                lead_unit: OrgId(7),
                assisting_units: vec![OrgId(8), OrgId(9)],
                note: None,
            })
        );
        let f = FormData::from_pairs(&[
            ("action", "rate"),
            ("satisfaction", "basic"),
            ("comment", "还行"),
        ]);
        assert_eq!(
            build_action(&f).ok(),
            Some(Action::Rate {
                satisfaction: Satisfaction::Basic,
                comment: Some("还行".into()),
            })
        );
        let missing = FormData::from_pairs(&[("action", "reject"), ("note", "x")]);
        assert_eq!(
            build_action(&missing).err().map(|b| b.message),
            Some("请选择不予受理的原因".into())
        );
        let unknown = FormData::from_pairs(&[("action", "explode")]);
        assert!(build_action(&unknown).is_err());
        let days = FormData::from_pairs(&[
            ("action", "request_extension"),
            ("days", "three"),
            ("reason", "r"),
        ]);
        assert!(build_action(&days).is_err());
    }

    #[test]
    fn every_action_has_a_text_field_name_the_domain_knows() {
        for k in ActionKind::ALL {
            let f = text_field(*k);
            assert!(["note", "reason", "result", "comment"].contains(&f.name));
        }
    }
}

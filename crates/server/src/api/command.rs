//! The command centre's live data (D4, H1): `GET /api/v1/command/summary` (the tiles,
//! charts, lists and channel health, each number with the link to its events) and
//! `GET /api/v1/command/events[?since=…]` (the map's markers). Both read the
//! database on every call, so any instance answers the same; the page polls them.
//! Docs: docs/command-centre.md.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zhili_domain::{Actor, Channel, OrgKind, Permission, Role, Status};
use zhili_storage::command::{self, OPEN_STATUSES, Snapshot};
use zhili_storage::recurring::RecurringRepo;
use zhili_storage::{EventFilter, OutboxHealth};

use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/v1/command/summary", Permission::Command, summary)
        .get("/api/v1/command/events", Permission::Command, events)
}

/// How far back a poll with `since` looks again: a change committed late by another
/// instance (or stamped by a clock a little behind) is still picked up.
const OVERLAP_SECS: i64 = 30;

fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b',') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/events?k=v&…`: the event list with exactly the filters behind a number.
pub(crate) fn events_href(params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    format!("/events?{}", q.join("&"))
}

fn open_statuses() -> String {
    OPEN_STATUSES
        .iter()
        .map(|s| s.code())
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, Serialize)]
pub(crate) struct Tile {
    pub key: &'static str,
    pub label: &'static str,
    pub value: i64,
    pub href: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct DayLink {
    pub date: NaiveDate,
    pub count: i64,
    pub href: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct CountLink {
    pub code: String,
    pub name: String,
    pub count: i64,
    pub href: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct AreaLink {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub open: i64,
    pub overdue: i64,
    pub open_href: String,
    pub overdue_href: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct OverdueLink {
    pub id: i64,
    pub number: String,
    pub excerpt: String,
    pub township: String,
    pub category: Option<String>,
    pub handle_due_at: DateTime<Utc>,
    pub href: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct AlertLink {
    pub id: i64,
    pub title: String,
    pub events: usize,
    pub last_at: DateTime<Utc>,
    pub href: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Recurring {
    pub open: usize,
    pub href: &'static str,
    pub alerts: Vec<AlertLink>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Exchange110 {
    /// Police matters handed over to 110 (已移交110), in scope.
    pub transferred: i64,
    pub transferred_href: String,
    /// Non-police matters that came over from 110 today.
    pub received_today: i64,
    pub received_today_href: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Channels {
    pub outbox: OutboxHealth,
    /// The pages listing the pending and the failed messages.
    pub pending_href: &'static str,
    pub failing_href: &'static str,
    /// `ok`, `pending` (waiting, none failed) or `failing`.
    pub state: &'static str,
    pub state_label: &'static str,
    pub exchange_110: Exchange110,
}

/// The whole command-centre picture as the page and the API show it.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub at: DateTime<Utc>,
    pub area: String,
    /// The viewer's township (a township command room), for the map to zoom to.
    pub township_code: Option<String>,
    pub masked: bool,
    pub tiles: Vec<Tile>,
    pub trend: Vec<DayLink>,
    pub categories: Vec<CountLink>,
    pub townships: Vec<AreaLink>,
    pub grids: Vec<AreaLink>,
    pub overdue: Vec<OverdueLink>,
    pub overdue_href: String,
    pub focus: Vec<CountLink>,
    pub recurring: Option<Recurring>,
    pub channels: Option<Channels>,
}

fn area_link(a: zhili_storage::command::AreaLoad, key: &str) -> AreaLink {
    let open = open_statuses();
    AreaLink {
        open_href: events_href(&[(key, &a.area.code), ("status", &open)]),
        overdue_href: events_href(&[(key, &a.area.code), ("overdue", "1")]),
        id: a.area.id,
        code: a.area.code,
        name: a.area.name,
        open: a.open,
        overdue: a.overdue,
    }
}

fn links(s: Snapshot) -> (Vec<Tile>, Vec<DayLink>, Vec<CountLink>, Vec<AreaLink>) {
    let today = s.today.to_string();
    let from = s.window_from.to_string();
    let tiles = vec![
        Tile {
            key: "today",
            label: "今日新增",
            value: s.counts.today,
            href: events_href(&[("from", &today)]),
        },
        Tile {
            key: "pending_accept",
            label: "待受理",
            value: s.counts.pending_accept,
            href: events_href(&[("status", Status::Reported.code())]),
        },
        Tile {
            key: "open",
            label: "在办",
            value: s.counts.open,
            href: events_href(&[("status", &open_statuses())]),
        },
        Tile {
            key: "overdue",
            label: "超期",
            value: s.counts.overdue,
            href: events_href(&[("overdue", "1")]),
        },
        Tile {
            key: "window",
            label: "近30日上报",
            value: s.counts.window,
            href: events_href(&[("from", &from)]),
        },
    ];
    let trend = s
        .trend
        .into_iter()
        .map(|d| {
            let day = d.date.to_string();
            DayLink {
                href: events_href(&[("from", &day), ("to", &day)]),
                date: d.date,
                count: d.count,
            }
        })
        .collect();
    let categories = s
        .categories
        .into_iter()
        .map(|c| CountLink {
            href: events_href(&[("category", &c.category.code), ("from", &from)]),
            code: c.category.code,
            name: c.category.name,
            count: c.count,
        })
        .collect();
    let townships = s
        .townships
        .into_iter()
        .map(|a| area_link(a, "township"))
        .collect();
    (tiles, trend, categories, townships)
}

/// How many events a list filter finds for `actor` (the same query the list runs,
/// so the number and the list agree).
async fn total(state: &AppState, actor: &Actor, f: EventFilter) -> Result<i64, ApiError> {
    let f = EventFilter {
        page: 1,
        per_page: 1,
        ..f
    };
    Ok(state.store.events_for(actor).list(&f).await?.total)
}

async fn channels(
    state: &AppState,
    actor: &Actor,
    today: NaiveDate,
) -> Result<Option<Channels>, ApiError> {
    let Some(scope) = command::channel_scope(actor) else {
        return Ok(None);
    };
    let outbox = state.store.outbox_health(scope).await?;
    let start = today
        .and_time(chrono::NaiveTime::MIN)
        .and_local_timezone(zhili_calendar::china_time())
        .single()
        .map(|t| t.with_timezone(&Utc));
    let transferred = total(
        state,
        actor,
        EventFilter {
            statuses: vec![Status::Transferred],
            ..Default::default()
        },
    )
    .await?;
    let received_today = total(
        state,
        actor,
        EventFilter {
            channel: Some(Channel::Exchange110),
            from: start,
            ..Default::default()
        },
    )
    .await?;
    let (state_code, state_label) = match (outbox.failing, outbox.pending) {
        (f, _) if f > 0 => ("failing", "发送失败，自动重试中"),
        (_, p) if p > 0 => ("pending", "有待发送消息"),
        _ => ("ok", "正常"),
    };
    let day = today.to_string();
    Ok(Some(Channels {
        outbox,
        pending_href: "/outbox",
        failing_href: "/outbox?failing=1",
        state: state_code,
        state_label,
        exchange_110: Exchange110 {
            transferred,
            transferred_href: events_href(&[("status", Status::Transferred.code())]),
            received_today,
            received_today_href: events_href(&[
                ("channel", Channel::Exchange110.code()),
                ("from", &day),
            ]),
        },
    }))
}

async fn recurring(state: &AppState, actor: &Actor) -> Result<Option<Recurring>, ApiError> {
    if !RecurringRepo::may_read(actor) {
        return Ok(None);
    }
    let alerts = state
        .store
        .recurring_for(actor)
        .alerts(Some("open"))
        .await?;
    Ok(Some(Recurring {
        open: alerts.len(),
        href: "/recurring",
        alerts: alerts
            .into_iter()
            .take(5)
            .map(|a| AlertLink {
                title: format!("{} · {}", a.township.name, a.category.name),
                events: a.events.len(),
                last_at: a.last_at,
                href: format!("/recurring#a-{}", a.id),
                id: a.id,
            })
            .collect(),
    }))
}

/// The name of the viewer's area (the city, or their township) and the township's code.
async fn area_name(state: &AppState, actor: &Actor) -> Result<(String, Option<String>), ApiError> {
    if actor.role == Role::TownshipOperator
        && let Some(t) = actor.org_id
    {
        let own = state
            .store
            .orgs_of_kind(&[OrgKind::Township])
            .await?
            .into_iter()
            .find(|o| o.id == t);
        return Ok(own.map_or_else(|| (String::new(), None), |o| (o.name, Some(o.code))));
    }
    let city = state.store.orgs_of_kind(&[OrgKind::City]).await?;
    Ok((
        city.into_iter()
            .next()
            .map_or_else(|| "全市".to_string(), |o| o.name),
        None,
    ))
}

pub(crate) async fn build_summary(
    state: &AppState,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Summary, ApiError> {
    let repo = state
        .store
        .command_for(actor)
        .ok_or_else(|| ApiError::forbidden("无权查看指挥中心"))?;
    let snapshot = repo.snapshot(now).await?;
    let today = snapshot.today;
    let grids = snapshot
        .grids
        .clone()
        .into_iter()
        .map(|a| area_link(a, "grid"))
        .collect();
    let overdue = snapshot
        .overdue
        .clone()
        .into_iter()
        .map(|o| OverdueLink {
            href: format!("/events/{}", o.id),
            id: o.id,
            number: o.number,
            excerpt: o.excerpt,
            township: o.township,
            category: o.category,
            handle_due_at: o.handle_due_at,
        })
        .collect();
    let focus = snapshot
        .focus
        .clone()
        .into_iter()
        .map(|c| CountLink {
            href: events_href(&[("category", &c.category.code), ("status", &open_statuses())]),
            code: c.category.code,
            name: c.category.name,
            count: c.count,
        })
        .collect();
    let (tiles, trend, categories, townships) = links(snapshot);
    let (recurring, channels, (area, township_code)) = tokio::try_join!(
        recurring(state, actor),
        channels(state, actor, today),
        area_name(state, actor),
    )?;
    Ok(Summary {
        at: now,
        area,
        township_code,
        masked: actor.role == Role::Oversight,
        tiles,
        trend,
        categories,
        townships,
        grids,
        overdue,
        overdue_href: events_href(&[("overdue", "1")]),
        focus,
        recurring,
        channels,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoQuery {}

async fn summary(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<NoQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let s = build_summary(&state, &actor, Utc::now()).await?;
    Ok(axum::Json(s).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    pub since: Option<String>,
}

async fn events(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    Ok(axum::Json(map_events(&state, &actor, &q).await?).into_response())
}

/// The map's markers: the open events, or (with `since`) every change since then.
pub(crate) async fn map_events(
    state: &AppState,
    actor: &Actor,
    q: &EventsQuery,
) -> Result<serde_json::Value, ApiError> {
    let repo = state
        .store
        .command_for(actor)
        .ok_or_else(|| ApiError::forbidden("无权查看指挥中心"))?;
    let since = match q.since.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    ApiError::invalid("since", "时间格式应为 RFC 3339，如 2026-12-01T08:00:00Z")
                })?
                .with_timezone(&Utc),
        ),
    };
    let now = Utc::now();
    let events = repo.map_events(since, now).await?;
    Ok(serde_json::json!({
        "at": now,
        // Pass back as `since`: a little before now, see OVERLAP_SECS.
        "cursor": now - Duration::seconds(OVERLAP_SECS),
        "full": since.is_none(),
        "limit": command::MAP_LIMIT,
        "events": events,
    }))
}

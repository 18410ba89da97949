//! Events: create (idempotent per channel and external id), list, read and act, each
//! through an [`EventRepo`] built for one actor so that its scope is in every query.
//! A state change, its timeline entry and its audit record commit together.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use zhili_domain::{
    Action, ActionKind, Actor, Area, Capacities, Channel, EventState, GeoPoint, Level, NewEvent,
    OrgId, OrgKind, Priority, ReporterKind, Role, Scope, Sensitivity, Status, UserId, event_number,
    mask_name, mask_phone,
};

use crate::backend::{EventInsert, EventRow, StateUpdate, TimelineInsert, Tx};
use crate::group_commit::{Job, Stored};
use crate::pii::Field;
use crate::records::*;
use crate::reference::{category_by_code, org_by_code, org_by_id, user_by_username};
use crate::sql::{Arg, Sql, like_contains};
use crate::{Store, StoreError, in_tx};

/// Who performs a change, as the timeline and audit will name them, and in which
/// capacity: the role and area they acted in go into every audit record they
/// leave, so an auditor reads them as they were at the time of the act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    pub user_id: Option<UserId>,
    pub name: String,
    /// `None`: no staff role (the system, a CLI operator, an unknown login).
    pub role: Option<Role>,
    pub org_id: Option<OrgId>,
}

impl Acting {
    /// No user: the system itself, a CLI operator or a sender known only by name.
    pub fn system(name: impl Into<String>) -> Acting {
        Acting {
            user_id: None,
            name: name.into(),
            role: None,
            org_id: None,
        }
    }

    /// The same actor under another name (a login names the account as typed).
    pub fn named(self, name: impl Into<String>) -> Acting {
        Acting {
            name: name.into(),
            ..self
        }
    }
}

impl From<&Actor> for Acting {
    fn from(a: &Actor) -> Self {
        Acting {
            user_id: Some(a.user_id),
            name: format!("{}（{}）", a.display_name, a.role.label_zh()),
            role: Some(a.role),
            org_id: a.org_id,
        }
    }
}

/// The result of a create: a new event, or the one stored earlier under the same
/// (channel, external id).
#[derive(Debug, Clone)]
pub enum CreateOutcome {
    Created(Box<EventDetail>),
    Existing(Box<EventDetail>),
}

/// An event from another system's history, replayed through the same lifecycle.
#[derive(Debug, Clone)]
pub struct HistoricalEvent {
    pub event: NewEvent,
    pub reporter_username: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub steps: Vec<HistoricalStep>,
}

#[derive(Debug, Clone)]
pub struct HistoricalStep {
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub action: Action,
}

/// Event access for one actor. Every query it makes carries the actor's scope.
pub struct EventRepo<'a> {
    store: &'a Store,
    actor: Actor,
}

impl Store {
    pub fn events_for(&self, actor: &Actor) -> EventRepo<'_> {
        EventRepo {
            store: self,
            actor: actor.clone(),
        }
    }

    /// Replays history from another system (or the demo) in batches, each batch in one
    /// transaction. The lifecycle rules still apply to every step.
    pub async fn import_history(
        &self,
        events: &[HistoricalEvent],
        importer: &Acting,
    ) -> Result<usize, StoreError> {
        let prefix = self.number_prefix.clone();
        let rules = self.deadline_rules();
        let pii = self.pii()?;
        // An error leaves through `?`, dropping the transaction: nothing is stored.
        in_tx!(self, Write, |tx| {
            for h in events {
                import_one(&mut tx, &rules, pii, &prefix, h, importer).await?;
            }
            Ok::<_, StoreError>(events.len())
        })
    }
}

fn china_date(at: DateTime<Utc>) -> chrono::NaiveDate {
    at.with_timezone(&zhili_calendar::china_time()).date_naive()
}

/// The scope of an actor as a WHERE condition over `events e`: their area, and
/// only the labels their clearance reaches.
pub(crate) fn scope_sql(scope: Scope) -> Sql {
    let mut q = Sql::new("(");
    match scope.area {
        Area::All => {
            q.push("1 = 1");
        }
        Area::Township(id) => {
            q.push("e.township_id = ").arg(Arg::I64(id.0));
        }
        Area::Grid(id) => {
            q.push("e.grid_id = ").arg(Arg::I64(id.0));
        }
        Area::Unit(id) => {
            q.push(
                "EXISTS (SELECT 1 FROM event_units su WHERE su.event_id = e.id AND su.unit_id = ",
            )
            .arg(Arg::I64(id.0))
            .push(")");
        }
        Area::Reporter(id) => {
            q.push("e.reporter_user_id = ").arg(Arg::I64(id.0));
        }
        Area::CreatedBy(id) => {
            q.push("e.created_by = ").arg(Arg::I64(id.0));
        }
        Area::Nothing => {
            q.push("1 = 0");
        }
    }
    q.push(")");
    if let Some(c) = clearance_sql(scope.clearance) {
        q.push(" AND ").append(c);
    }
    q
}

/// The labels beyond `clearance` as a condition over `events e`; `None` when it
/// reaches every label.
pub(crate) fn clearance_sql(clearance: Sensitivity) -> Option<Sql> {
    let hidden: Vec<Arg> = Sensitivity::ALL
        .iter()
        .filter(|l| !l.visible_to(clearance))
        .map(|l| Arg::Text(l.code().into()))
        .collect();
    if hidden.is_empty() {
        return None;
    }
    let mut q = Sql::new("e.sensitivity NOT IN ");
    q.list(hidden);
    Some(q)
}

/// The timeline action of a hand-set sensitivity label.
pub(crate) const LABEL_ACTION: &str = "label";

pub(crate) fn sensitivity(row: &EventRow) -> Result<Sensitivity, StoreError> {
    Sensitivity::parse(&row.sensitivity).ok_or_else(|| corrupt("sensitivity", &row.sensitivity))
}

pub(crate) fn parse_state(row: &EventRow) -> Result<EventState, StoreError> {
    serde_json::from_str(&row.state)
        .map_err(|e| StoreError::Corrupt(format!("state of event {}: {e}", row.id)))
}

pub(crate) fn capacities(actor: &Actor, row: &EventRow, state: &EventState) -> Capacities {
    let org = actor.org_id;
    let handler = actor.role == Role::UnitHandler;
    Capacities {
        // An event escalated to the city is run by the city command centre.
        operator: actor.role == Role::CityOperator
            || (actor.role == Role::TownshipOperator
                && org == Some(OrgId(row.township_id))
                && state.level != Level::City)
            // An event left to its grid is run by the grid's worker (the township
            // keeps its hand on it) until it climbs the ladder.
            || (actor.role == Role::GridWorker
                && state.level == Level::Grid
                && org.is_some()
                && org.map(|o| o.0) == row.grid_id),
        lead_unit: handler && org.is_some() && state.lead_unit == org,
        assisting_unit: handler && org.is_some_and(|o| state.assisting_units.contains(&o)),
        reporter: row.reporter_user_id == Some(actor.user_id.0),
        supervisor: matches!(actor.role, Role::CityLeader | Role::CityOperator),
    }
}

fn named(id: Option<i64>, code: Option<String>, name: Option<String>) -> Option<Named> {
    Some(Named {
        id: id?,
        code: code?,
        name: name?,
    })
}

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {v}"))
}

pub(crate) fn summary(row: EventRow) -> Result<EventSummary, StoreError> {
    // Only the triage queue needs the suggestions on a list.
    let suggestions = match (row.needs_triage, row.classification.as_deref()) {
        (true, Some(json)) => {
            serde_json::from_str::<zhili_domain::Classification>(json)
                .map_err(|e| StoreError::Corrupt(format!("classification of {}: {e}", row.id)))?
                .suggestions
        }
        _ => Vec::new(),
    };
    let label = sensitivity(&row)?;
    Ok(EventSummary {
        needs_triage: row.needs_triage,
        suggestions,
        id: row.id,
        channel: coded_channel(
            Channel::parse(&row.channel).ok_or_else(|| corrupt("channel", &row.channel))?,
        ),
        status: Coded::of_status(
            Status::parse(&row.status).ok_or_else(|| corrupt("status", &row.status))?,
        ),
        priority: coded_priority(
            Priority::parse(&row.priority).ok_or_else(|| corrupt("priority", &row.priority))?,
        ),
        excerpt: row.text.chars().take(80).collect(),
        category: named(row.category_id, row.category_code, row.category_name),
        township: Named {
            id: row.township_id,
            code: row.township_code,
            name: row.township_name,
        },
        grid: named(row.grid_id, row.grid_code, row.grid_name),
        lead_unit: named(row.lead_unit_id, row.lead_unit_code, row.lead_unit_name),
        sensitivity: coded_sensitivity(label),
        number: row.number,
        reported_at: row.reported_at,
        updated_at: row.updated_at,
    })
}

/// Loads one event as `actor` may see it, or `None` when it is not in their scope.
pub(crate) async fn detail<T: Tx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    actor: &Actor,
    id: i64,
) -> Result<Option<EventDetail>, StoreError> {
    let mut q = Sql::new("WHERE e.id = ");
    q.arg(Arg::I64(id)).push(" AND ");
    q.append(scope_sql(actor.scope()));
    let Some(row) = tx.events_where(q).await?.into_iter().next() else {
        return Ok(None);
    };
    let state = parse_state(&row)?;
    let caps = capacities(actor, &row, &state);
    let links = tx.unit_links(id).await?;
    let timeline = tx
        .timeline(id)
        .await?
        .into_iter()
        .map(|t| {
            let action = match t.action.as_str() {
                "report" => Coded {
                    code: "report",
                    label: "上报",
                },
                // Written by the outbox when 110 confirms receipt.
                "ack_110" => Coded {
                    code: "ack_110",
                    label: "110已接收",
                },
                // Written by the deadline sweep (see `warnings`).
                "warn_yellow" => Coded {
                    code: "warn_yellow",
                    label: "黄色预警",
                },
                "warn_red" => Coded {
                    code: "warn_red",
                    label: "红色预警",
                },
                // An operator's decision in the triage queue (see `classification`).
                "classify" => Coded {
                    code: "classify",
                    label: "人工分类",
                },
                // Governance topics (see `recurring`).
                "topic_link" => Coded {
                    code: "topic_link",
                    label: "纳入治理专题",
                },
                "topic_close" => Coded {
                    code: "topic_close",
                    label: "治理专题化解",
                },
                LABEL_ACTION => Coded {
                    code: LABEL_ACTION,
                    label: "调整密级",
                },
                crate::rights::RIGHTS_ACTION => Coded {
                    code: crate::rights::RIGHTS_ACTION,
                    label: "个人信息申请",
                },
                // Replies to and closing of supervision orders.
                other if let Some(c) = crate::supervision::timeline_action(other) => c,
                other if let Some(c) = crate::duplicates::timeline_action(other) => c,
                other => {
                    let k = ActionKind::parse(other).ok_or_else(|| corrupt("action", other))?;
                    Coded {
                        code: k.code(),
                        label: k.label_zh(),
                    }
                }
            };
            let status = |s: &str| {
                Status::parse(s)
                    .map(Coded::of_status)
                    .ok_or_else(|| corrupt("status", s))
            };
            Ok(TimelineEntry {
                seq: t.seq,
                at: t.at,
                actor_name: t.actor_name,
                action,
                from_status: t.from_status.as_deref().map(status).transpose()?,
                to_status: status(&t.to_status)?,
                note: t.note,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let reporter = reporter_view(pii, &row, &caps)?;
    let label = sensitivity(&row)?;
    let allowed_actions = state
        .allowed_actions(&caps)
        .into_iter()
        .map(|k| Coded {
            code: k.code(),
            label: k.label_zh(),
        })
        .collect();
    // Internal to the staff: which unit the matrix would send it to.
    let routing = match actor.role {
        Role::Citizen => None,
        _ => crate::routing::event_route(tx, &row).await?,
    };
    let s = summary(row.clone())?;
    let deadlines = deadline_views(&row, &state);
    let (duplicate_of, duplicates) = crate::duplicates::links(tx, &row).await?;
    Ok(Some(EventDetail {
        id: row.id,
        number: s.number,
        channel: s.channel,
        external_id: row.external_id,
        reporter,
        text: row.text,
        address: row.address,
        location: match (row.lon, row.lat) {
            (Some(lon), Some(lat)) => Some(GeoPoint { lon, lat }),
            _ => None,
        },
        category: s.category,
        township: s.township,
        village: named(row.village_id, row.village_code, row.village_name),
        grid: s.grid,
        lead_unit: s.lead_unit,
        assisting_units: links
            .into_iter()
            .filter(|l| l.role == "assist")
            .map(|l| Named {
                id: l.unit_id,
                code: l.code,
                name: l.name,
            })
            .collect(),
        priority: s.priority,
        status: s.status,
        extension_days: state.extension_days,
        pending_extension: state.pending_extension.clone(),
        satisfaction: state.satisfaction.map(coded_satisfaction),
        return_count: state.return_count,
        rework_count: state.rework_count,
        reported_at: row.reported_at,
        updated_at: row.updated_at,
        closed_at: row.closed_at,
        handle_due_at: row.handle_due_at,
        feedback_due_at: row.feedback_due_at,
        deadlines_estimated: row.deadline_estimated,
        level: Coded {
            code: state.level.code(),
            label: state.level.label_zh(),
        },
        deadlines,
        classification: row
            .classification
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("classification of {}: {e}", row.id)))?,
        needs_triage: row.needs_triage,
        timeline,
        allowed_actions,
        duplicate_of,
        duplicates,
        routing,
        notice_version: row.notice_version.clone(),
        sensitivity: coded_sensitivity(label),
        sensitivity_reason: row.sensitivity_reason.clone(),
        can_label: caps.operator,
    }))
}

/// The reporter as the viewer sees them: masked for everyone but the reporter
/// themselves. Those handling the event may reveal the contact (with a reason,
/// audited: [`EventRepo::reveal_reporter`]); nobody else sees more than the mask.
fn reporter_view(
    pii: &crate::pii::Pii,
    row: &EventRow,
    caps: &Capacities,
) -> Result<ReporterView, StoreError> {
    let kind = ReporterKind::parse(&row.reporter_kind)
        .ok_or_else(|| corrupt("reporter kind", &row.reporter_kind))?;
    let name = pii.open_opt(Field::ReporterName, row.reporter_name.as_deref())?;
    let phone = pii.open_opt(Field::ReporterPhone, row.reporter_phone.as_deref())?;
    let own = caps.reporter;
    let has_contact = name.is_some() || phone.is_some();
    Ok(ReporterView {
        kind: coded_reporter(kind),
        masked: !own && has_contact,
        revealable: !own && has_contact && caps.sees_personal_data(sensitivity(row)?),
        name: name.map(|n| if own { n } else { mask_name(&n) }),
        phone: phone.map(|p| if own { p } else { mask_phone(&p) }),
    })
}

fn deadline_views(row: &EventRow, state: &EventState) -> Vec<DeadlineView> {
    let d = row.deadlines();
    crate::deadlines::Clock::ALL
        .into_iter()
        .filter_map(|c| {
            d.get(c).map(|due| DeadlineView {
                clock: Coded {
                    code: c.code(),
                    label: c.label_zh(),
                },
                due_at: due.at,
                warn_at: due.warn_at,
                running: c.runs_in(state.status),
            })
        })
        .collect()
}

/// Where an event belongs: (township, village, grid), from the grid code, the
/// township code, or the reporting actor's own area.
async fn resolve_area<T: Tx>(
    tx: &mut T,
    intake: &Intake<'_>,
    actor: Option<&Actor>,
    new: &NewEvent,
) -> Result<Place, StoreError> {
    if let Some(code) = &new.grid_code {
        return intake
            .grid(tx, code)
            .await?
            .ok_or_else(|| StoreError::invalid("grid", format!("未知网格编码 {code}")));
    }
    if let Some(code) = &new.township_code {
        let t = org_by_code(tx, code)
            .await?
            .filter(|o| o.kind == OrgKind::Township)
            .ok_or_else(|| {
                StoreError::invalid("township", format!("未知乡镇（街道）编码 {code}"))
            })?;
        return Ok((t.id.0, None, None));
    }
    if let Some(address) = &new.address
        && let Some(area) = area_from_address(tx, address).await?
    {
        return Ok(area);
    }
    if let Some(a) = actor
        && let Some(org) = a.org_id
    {
        let o = org_by_id(tx, org).await?;
        match o {
            Some(o) if o.kind == OrgKind::Grid => {
                return Ok((
                    o.township_id.map_or(0, |t| t.0),
                    o.parent_id.map(|p| p.0),
                    Some(o.id.0),
                ));
            }
            Some(o) if o.kind == OrgKind::Township => return Ok((o.id.0, None, None)),
            _ => {}
        }
    }
    Err(StoreError::invalid(
        "grid",
        "无法确定事件所属区域：请提供 grid（网格编码）或 township（乡镇编码）",
    ))
}

/// Township and village named in an address ("余姚市凤山街道舜北社区…"): the longest
/// village name found, preferring one whose township is named too; else the township.
async fn area_from_address<T: Tx>(
    tx: &mut T,
    address: &str,
) -> Result<Option<(i64, Option<i64>, Option<i64>)>, StoreError> {
    let mut q = Sql::new("kind IN (");
    q.arg(Arg::Text(OrgKind::Township.code().into()))
        .push(", ")
        .arg(Arg::Text(OrgKind::Village.code().into()))
        .push(")");
    let orgs = tx.org_where(q).await?;
    let townships: Vec<_> = orgs
        .iter()
        .filter(|o| o.kind == OrgKind::Township.code() && address.contains(o.name.as_str()))
        .collect();
    let mut villages: Vec<_> = orgs
        .iter()
        .filter(|o| o.kind == OrgKind::Village.code() && address.contains(o.name.as_str()))
        .collect();
    // Longest name first; among equals, one whose township the address also names.
    villages.sort_by_key(|v| {
        let named = townships.iter().any(|t| Some(t.id) == v.township_id);
        (std::cmp::Reverse(v.name.chars().count()), !named)
    });
    if let Some(v) = villages.first()
        && let Some(t) = v.township_id
    {
        let ambiguous = villages
            .iter()
            .skip(1)
            .any(|o| o.name == v.name && o.township_id != v.township_id);
        let named = townships.iter().any(|x| x.id == t);
        if !ambiguous || named {
            return Ok(Some((t, Some(v.id), None)));
        }
    }
    Ok(match townships.as_slice() {
        [t] => Some((t.id, None, None)),
        _ => None,
    })
}

/// What every create needs from the store besides the transaction, and the
/// reference lookups already made in this transaction: the events of one batch
/// or import file share a few categories and grids, and each lookup saved is a
/// round trip saved.
pub(crate) struct Intake<'a> {
    pub rules: crate::deadlines::Rules,
    pub prefix: &'a str,
    lookups: std::sync::Mutex<Lookups>,
    /// Set for live intake: new events are linked to the open events they duplicate.
    duplicates: Option<crate::duplicates::IntakeRules>,
    /// Seals the reporter's name and phone.
    pub pii: &'a crate::pii::Pii,
    /// Set for live intake: the processing notice the reporters were given.
    notice: Option<std::sync::Arc<str>>,
}

#[derive(Default)]
struct Lookups {
    /// code → (id, limit in days, has children), or None: no such category.
    categories: HashMap<String, Option<(i64, u32, bool)>>,
    /// grid code → (township, village, grid), or None: no such grid.
    grids: HashMap<String, Option<Place>>,
    /// category → its rules in the routing matrix (see `routing`).
    matrix: HashMap<i64, Vec<crate::routing::MatrixEntry>>,
}

/// The routing matrix's answer as the intake keeps it: the rule and the rung the
/// event starts at.
#[derive(Debug, Clone)]
pub(crate) struct IntakeRoute {
    pub rule_id: i64,
    pub level: String,
}

#[derive(sqlx::FromRow)]
struct CategoryLookupRow {
    id: i64,
    code: String,
    limit_days: i64,
    children: i64,
}

#[derive(sqlx::FromRow)]
struct GridLookupRow {
    id: i64,
    code: String,
    township_id: Option<i64>,
    parent_id: Option<i64>,
}

type Place = (i64, Option<i64>, Option<i64>);

impl<'a> Intake<'a> {
    pub fn new(rules: crate::deadlines::Rules, prefix: &'a str, pii: &'a crate::pii::Pii) -> Self {
        Intake {
            rules,
            prefix,
            lookups: Default::default(),
            duplicates: None,
            pii,
            notice: None,
        }
    }

    /// Records `notice` (a version in `processing_notices`) on each new event.
    pub fn with_notice(mut self, notice: Option<std::sync::Arc<str>>) -> Self {
        self.notice = notice;
        self
    }

    /// Links each new event to the open event it duplicates (not for replayed history).
    pub fn with_duplicates(mut self, rule: zhili_domain::DuplicateRule) -> Self {
        self.duplicates = Some(crate::duplicates::IntakeRules::new(rule));
        self
    }

    fn lookups(&self) -> std::sync::MutexGuard<'_, Lookups> {
        // A poisoned lock only means a panic elsewhere mid-insert into a cache.
        self.lookups.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn category<T: Tx>(
        &self,
        tx: &mut T,
        code: &str,
    ) -> Result<Option<(i64, u32, bool)>, StoreError> {
        if let Some(c) = self.lookups().categories.get(code) {
            return Ok(*c);
        }
        let found = category_by_code(tx, code)
            .await?
            .map(|(c, has_children)| (c.id.0, c.limit_days, has_children));
        self.lookups().categories.insert(code.to_string(), found);
        Ok(found)
    }

    async fn grid<T: Tx>(&self, tx: &mut T, code: &str) -> Result<Option<Place>, StoreError> {
        if let Some(g) = self.lookups().grids.get(code) {
            return Ok(*g);
        }
        let found = match org_by_code(tx, code)
            .await?
            .filter(|o| o.kind == OrgKind::Grid)
        {
            None => None,
            Some(grid) => {
                let township = grid
                    .township_id
                    .ok_or_else(|| StoreError::Corrupt(format!("grid {code} without township")))?;
                Some((township.0, grid.parent_id.map(|p| p.0), Some(grid.id.0)))
            }
        };
        self.lookups().grids.insert(code.to_string(), found);
        Ok(found)
    }

    async fn route<T: Tx>(
        &self,
        tx: &mut T,
        category: i64,
        area: Place,
    ) -> Result<Option<IntakeRoute>, StoreError> {
        let pick = |rules: &[crate::routing::MatrixEntry]| {
            crate::routing::most_specific(rules, area).map(|r| IntakeRoute {
                rule_id: r.id,
                level: r.level.clone(),
            })
        };
        if let Some(rules) = self.lookups().matrix.get(&category) {
            return Ok(pick(rules));
        }
        let rules = crate::routing::matrix_of(tx, &[category]).await?;
        let route = pick(&rules);
        self.lookups().matrix.insert(category, rules);
        Ok(route)
    }

    /// Reads what a batch's checks will ask for in a few statements — its categories,
    /// grids, routing rules, duplicate settings and duplicate candidates — instead
    /// of a few per event: inside the one writer, each statement is a round trip
    /// to the database, and the round trips bound the intake. What is not found
    /// here (an unknown code) is remembered as such; `prepare` then reads nothing.
    pub async fn preload<T: Tx>(
        &self,
        tx: &mut T,
        news: &[(&NewEvent, DateTime<Utc>)],
    ) -> Result<(), StoreError> {
        let mut codes: Vec<&str> = news
            .iter()
            .filter_map(|(n, _)| n.category_code.as_deref())
            .filter(|c| !self.lookups().categories.contains_key(*c))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        for chunk in codes.chunks(500) {
            let mut q = Sql::new(
                "SELECT c.id, c.code, c.limit_days, \
                 (SELECT COUNT(*) FROM categories k WHERE k.parent_id = c.id) AS children \
                 FROM categories c WHERE c.code IN ",
            );
            q.list(chunk.iter().map(|c| Arg::Text(c.to_string())));
            let rows: Vec<CategoryLookupRow> = tx.bulk_rows(q).await?;
            let mut l = self.lookups();
            for c in chunk {
                l.categories.insert(c.to_string(), None);
            }
            for r in rows {
                let limit = u32::try_from(r.limit_days).unwrap_or(0);
                l.categories
                    .insert(r.code, Some((r.id, limit, r.children > 0)));
            }
        }
        let mut grids: Vec<&str> = news
            .iter()
            .filter_map(|(n, _)| n.grid_code.as_deref())
            .filter(|g| !self.lookups().grids.contains_key(*g))
            .collect();
        grids.sort_unstable();
        grids.dedup();
        for chunk in grids.chunks(500) {
            let mut q = Sql::new(
                "SELECT o.id, o.code, o.township_id, o.parent_id FROM orgs o \
                 WHERE o.kind = 'grid' AND o.code IN ",
            );
            q.list(chunk.iter().map(|g| Arg::Text(g.to_string())));
            let rows: Vec<GridLookupRow> = tx.bulk_rows(q).await?;
            let mut l = self.lookups();
            for g in chunk {
                l.grids.insert(g.to_string(), None);
            }
            for r in rows {
                let township = r.township_id.ok_or_else(|| {
                    StoreError::Corrupt(format!("grid {} without township", r.code))
                })?;
                l.grids
                    .insert(r.code, Some((township, r.parent_id, Some(r.id))));
            }
        }
        // The leaf categories the batch names, with each event's place.
        let placed: Vec<(i64, &NewEvent, DateTime<Utc>)> = {
            let l = self.lookups();
            news.iter()
                .filter_map(|(n, now)| {
                    let code = n.category_code.as_deref()?;
                    match l.categories.get(code) {
                        Some(Some((id, _, false))) => Some((*id, *n, *now)),
                        _ => None,
                    }
                })
                .collect()
        };
        let mut categories: Vec<i64> = placed
            .iter()
            .map(|(c, _, _)| *c)
            .filter(|c| !self.lookups().matrix.contains_key(c))
            .collect();
        categories.sort_unstable();
        categories.dedup();
        if !categories.is_empty() {
            let rules = crate::routing::matrix_of(tx, &categories).await?;
            let mut l = self.lookups();
            for c in &categories {
                l.matrix.entry(*c).or_default();
            }
            for r in rules {
                l.matrix.entry(r.category_id).or_default().push(r);
            }
        }
        if let Some(dups) = &self.duplicates {
            let wanted: Vec<(i64, GeoPoint, DateTime<Utc>)> = placed
                .iter()
                .filter_map(|(c, n, now)| Some((*c, n.location?, *now)))
                .collect();
            dups.preload(tx, &wanted).await?;
        }
        Ok(())
    }
}

/// Stores a new event: `Ok(Ok((id, number)))`, or `Ok(Err(id))` when one is already
/// stored under the same (channel, external id).
pub(crate) async fn create<T: Tx>(
    tx: &mut T,
    intake: &Intake<'_>,
    actor: Option<&Actor>,
    acting: &Acting,
    reporter_user_id: Option<i64>,
    new: &NewEvent,
    now: DateTime<Utc>,
) -> Result<Result<(i64, String), i64>, StoreError> {
    if let Some(ext) = &new.external_id
        && let Some(id) = tx.event_by_external_id(new.channel.code(), ext).await?
    {
        return Ok(Err(id));
    }
    let p = prepare(tx, intake, actor, acting, reporter_user_id, new, now).await?;
    let mut stored = insert_prepared(tx, intake, vec![p]).await?;
    stored
        .pop()
        .map(Ok)
        .ok_or_else(|| StoreError::Corrupt("insert returned no event".into()))
}

/// A new event checked and placed, ready to insert but for its number. Making one
/// reads but never writes, so a refusal leaves the transaction as it was.
pub(crate) struct Prepared {
    insert: EventInsert,
    date: chrono::NaiveDate,
    acting: Acting,
    note: String,
    /// The request the event came in by, for its audit record: the one being
    /// served, unless a group-commit writer stores it for another task's request.
    pub(crate) request: Option<crate::audit::RequestContext>,
}

/// Checks a new event against the reference data and the actor's area and works
/// out its place and deadlines. Every refusal is `StoreError::Invalid`.
pub(crate) async fn prepare<T: Tx>(
    tx: &mut T,
    intake: &Intake<'_>,
    actor: Option<&Actor>,
    acting: &Acting,
    reporter_user_id: Option<i64>,
    new: &NewEvent,
    now: DateTime<Utc>,
) -> Result<Prepared, StoreError> {
    let mut limit_days = None;
    let category_id = match &new.category_code {
        None => None,
        Some(code) => {
            let (id, limit, has_children) = intake
                .category(tx, code)
                .await?
                .ok_or_else(|| StoreError::invalid("category", format!("未知事件类别 {code}")))?;
            if has_children {
                return Err(StoreError::invalid(
                    "category",
                    format!("{code} 是大类，请选择小类"),
                ));
            }
            limit_days = Some(limit);
            Some(id)
        }
    };
    let (township_id, village_id, grid_id) = resolve_area(tx, intake, actor, new).await?;
    // Reporting is open to everyone, but an area-bound actor reports in their area.
    if let Some(a) = actor {
        let inside = match a.scope().area {
            Area::Township(t) => t.0 == township_id,
            Area::Grid(g) => Some(g.0) == grid_id,
            _ => true,
        };
        if !inside {
            let field = if new.grid_code.is_some() {
                "grid"
            } else {
                "township"
            };
            return Err(StoreError::invalid(field, "不在您的辖区内"));
        }
    }
    let date = china_date(now);
    let mut state = EventState::new();
    let route = match category_id {
        Some(c) => {
            intake
                .route(tx, c, (township_id, village_id, grid_id))
                .await?
        }
        None => None,
    };
    if let Some(level) = route
        .as_ref()
        .and_then(|r| crate::routing::starting_level(&r.level, grid_id.is_some()))
    {
        state.level = level;
    }
    let label = zhili_domain::sensitivity::detect(new.text.as_str());
    // A sensitive matter is not handed to the grid worker, who is a neighbour of
    // those involved and not cleared for it (AC-08): it starts with the township.
    if label.is_some() && state.level == Level::Grid {
        state.level = Level::Township;
    }
    let deadlines = intake.rules.on_receipt(now, new.priority, limit_days);
    let mut insert = EventInsert {
        number: String::new(),
        channel: new.channel.code().into(),
        external_id: new.external_id.clone(),
        reporter_kind: new.reporter_kind.code().into(),
        reporter_name: new
            .reporter_name
            .as_ref()
            .map(|n| intake.pii.seal(Field::ReporterName, n.as_str())),
        reporter_phone: new
            .reporter_phone
            .as_ref()
            .map(|p| intake.pii.seal(Field::ReporterPhone, p.as_str())),
        reporter_phone_index: new
            .reporter_phone
            .as_ref()
            .map(|p| intake.pii.phone_index(p.as_str())),
        reporter_user_id,
        text: new.text.as_str().to_string(),
        address: new.address.clone(),
        lon: new.location.map(|l| l.lon),
        lat: new.location.map(|l| l.lat),
        category_id,
        township_id,
        village_id,
        grid_id,
        priority: new.priority.code().into(),
        status: state.status.code().into(),
        lead_unit_id: None,
        state: serde_json::to_string(&state).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        reported_at: now,
        updated_at: now,
        closed_at: None,
        created_by: acting.user_id.map(|u| u.0),
        deadlines,
        classification: new
            .classification
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        needs_triage: new.needs_triage && category_id.is_none(),
        routing_rule_id: route.map(|r| r.rule_id),
        duplicate_of: None,
        notice_version: intake.notice.as_deref().map(str::to_string),
        level: state.level.code(),
        sensitivity: label.map_or(Sensitivity::Normal, |_| Sensitivity::Sensitive),
        sensitivity_reason: label.map(|d| d.reason()),
    };
    let mut note = format!("经{}上报", new.channel.label_zh());
    if let Some(d) = label {
        note.push_str(&format!("；自动标注为敏感：{}", d.reason()));
    }
    let dups = intake.duplicates.as_ref();
    crate::duplicates::link_at_intake(tx, dups, &mut insert, &mut note, now).await?;
    Ok(Prepared {
        insert,
        date,
        acting: acting.clone(),
        note,
        request: crate::audit::RequestContext::current(),
    })
}

/// Inserts prepared events, each with its number, first timeline entry and audit
/// record, in a handful of statements whatever their count: numbers are taken from
/// the day's counter in one step per day. Returns (id, number) in input order.
pub(crate) async fn insert_prepared<T: Tx>(
    tx: &mut T,
    intake: &Intake<'_>,
    mut items: Vec<Prepared>,
) -> Result<Vec<(i64, String)>, StoreError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let mut dates: Vec<chrono::NaiveDate> = items.iter().map(|p| p.date).collect();
    dates.sort();
    dates.dedup();
    for date in dates {
        let k = items.iter().filter(|p| p.date == date).count() as i64;
        let last = tx
            .next_counter(&format!("event:{}", date.format("%Y%m%d")), k)
            .await?;
        let mut seq = last - k;
        for p in items.iter_mut().filter(|p| p.date == date) {
            seq += 1;
            p.insert.number = event_number(intake.prefix, date, seq);
        }
    }
    let inserts: Vec<&EventInsert> = items.iter().map(|p| &p.insert).collect();
    let ids: HashMap<String, i64> = tx
        .insert_events(&inserts)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate {
                field: "external_id".into(),
            },
            _ => StoreError::Database(e),
        })?
        .into_iter()
        .map(|(id, number)| (number, id))
        .collect();
    let mut stored = Vec::with_capacity(items.len());
    let mut timeline = Vec::with_capacity(items.len());
    let mut audit = Vec::with_capacity(items.len());
    for p in items {
        let id = *ids.get(&p.insert.number).ok_or_else(|| {
            StoreError::Corrupt(format!("event {} not returned", p.insert.number))
        })?;
        timeline.push(TimelineInsert {
            event_id: id,
            at: p.insert.reported_at,
            actor_id: p.acting.user_id.map(|u| u.0),
            actor_name: p.acting.name.clone(),
            action: "report".into(),
            from_status: None,
            to_status: p.insert.status.clone(),
            note: Some(p.note),
            data: None,
        });
        audit.push((
            AuditRecord {
                at: p.insert.reported_at,
                actor: p.acting,
                action: "event.create".into(),
                object_type: "event",
                object_id: Some(id.to_string()),
                detail: Some(
                    serde_json::json!({ "number": p.insert.number, "channel": p.insert.channel }),
                ),
            },
            p.request,
        ));
        stored.push((id, p.insert.number));
    }
    tx.insert_first_timelines(&timeline).await?;
    let sourced: Vec<_> = audit.iter().map(|(a, r)| (a, r.as_ref())).collect();
    tx.insert_audits_from(&sourced).await?;
    Ok(stored)
}

/// Checks the units of a dispatch: they exist, are units, and a township's own
/// offices and stationed units only take that township's events.
async fn check_units<T: Tx>(tx: &mut T, row: &EventRow, action: &Action) -> Result<(), StoreError> {
    let Action::Dispatch {
        lead_unit,
        assisting_units,
        ..
    } = action
    else {
        return Ok(());
    };
    let fields = std::iter::once(("lead_unit", lead_unit))
        .chain(assisting_units.iter().map(|u| ("assisting_units", u)));
    for (field, id) in fields {
        let org = org_by_id(tx, *id)
            .await?
            .filter(|o| o.kind.is_unit())
            .ok_or_else(|| StoreError::invalid(field, format!("{id} 不是可分派的单位")))?;
        if org.kind != OrgKind::Department && org.township_id != Some(OrgId(row.township_id)) {
            return Err(StoreError::invalid(
                field,
                format!("{} 不属于本事件所在乡镇（街道）", org.name),
            ));
        }
    }
    Ok(())
}

/// Performs one action on a row already read in this transaction.
/// How an action is being taken: live, or replaying another system's history, in
/// which case nothing is sent out again (it went out when it happened).
pub(crate) struct ActContext<'a> {
    pub(crate) rules: &'a crate::deadlines::Rules,
    pub(crate) replay: bool,
    /// Rating links (see `feedback`); `None` when replaying.
    pub(crate) feedback: Option<&'a crate::feedback::FeedbackSettings>,
    /// Opens the reporter's contact for what goes out (the 110 transfer) and seals
    /// what is queued.
    pub(crate) pii: &'a crate::pii::Pii,
}

/// What a transaction must offer for a lifecycle action: the statements of the
/// modules that act within it (rating links; supervision uses the shared ones).
pub(crate) trait ActTx: crate::feedback::FeedbackTx {}
impl<T: crate::feedback::FeedbackTx> ActTx for T {}

pub(crate) async fn act_on<T: ActTx>(
    tx: &mut T,
    ctx: &ActContext<'_>,
    row: &EventRow,
    caps: &Capacities,
    acting: &Acting,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let state = parse_state(row)?;
    let mut out = state.apply(caps, action)?;
    check_units(tx, row, action).await?;
    let closed_at = if out.to == Status::Closed {
        Some(now)
    } else {
        row.closed_at
    };
    let deadlines = moved_deadlines(tx, ctx, row, &state, &mut out.state, out.kind, now).await?;
    let handle_due_at = deadlines.handle.map(|d| d.at);
    let state_json =
        serde_json::to_string(&out.state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let changed = tx
        .update_event_state(&StateUpdate {
            id: row.id,
            version: row.version,
            status: out.to.code(),
            lead_unit_id: out.state.lead_unit.map(|u| u.0),
            state: &state_json,
            at: now,
            closed_at,
            deadlines,
            level: out.state.level.code(),
        })
        .await?;
    if changed == 0 {
        return Err(StoreError::Conflict);
    }
    if let Action::TransferTo110 { reason } = action
        && !ctx.replay
    {
        // Goes out through the outbox in this same transaction: never lost, and
        // one transfer per event whatever happens.
        let payload = serde_json::json!({
            "message_id": format!("zhili-110-{}", row.number),
            "event_number": row.number,
            "text": row.text,
            "address": row.address,
            "location": match (row.lon, row.lat) {
                (Some(lon), Some(lat)) => serde_json::json!({ "lon": lon, "lat": lat, "crs": "wgs84" }),
                _ => serde_json::Value::Null,
            },
            "reporter": {
                "name": ctx.pii.open_opt(Field::ReporterName, row.reporter_name.as_deref())?,
                "phone": ctx.pii.open_opt(Field::ReporterPhone, row.reporter_phone.as_deref())?,
            },
            "reported_at": row.reported_at,
            "transferred_at": now,
            "reason": reason,
            "township": row.township_name,
        });
        crate::outbox::enqueue(
            tx,
            ctx.pii,
            crate::outbox::TOPIC_110,
            &format!("zhili-110-{}", row.number),
            Some(row.id),
            &payload,
            now,
        )
        .await?;
    }
    match action {
        Action::Dispatch {
            lead_unit,
            assisting_units,
            ..
        } => {
            let assisting: Vec<i64> = assisting_units.iter().map(|u| u.0).collect();
            tx.link_units(row.id, lead_unit.0, &assisting, now).await?;
            if !ctx.replay {
                crate::outbox::to_province(tx, ctx.pii, row, *lead_unit, handle_due_at, now)
                    .await?;
            }
            crate::routing::record_dispatch(tx, row, lead_unit.0, now).await?;
        }
        Action::Return { .. } => {
            tx.unlink_units(row.id).await?;
            crate::routing::record_return(tx, row, now).await?;
        }
        _ => {}
    }
    crate::feedback::after_action(tx, ctx.pii, ctx.feedback, row, action, out.to, now).await?;
    crate::duplicates::after_action(tx, ctx, row, acting, action, out.to, now).await?;
    let data = serde_json::to_string(action).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.insert_timeline(&TimelineInsert {
        event_id: row.id,
        at: now,
        actor_id: acting.user_id.map(|u| u.0),
        actor_name: acting.name.clone(),
        action: out.kind.code().into(),
        from_status: Some(out.from.code().into()),
        to_status: out.to.code().into(),
        note: action.note().map(str::to_string),
        data: Some(data),
    })
    .await?;
    tx.insert_audit(&AuditRecord {
        at: now,
        actor: acting.clone(),
        action: format!("event.{}", out.kind.code()),
        object_type: "event",
        object_id: Some(row.id.to_string()),
        detail: Some(serde_json::json!({ "number": row.number, "from": out.from.code(), "to": out.to.code() })),
    })
    .await?;
    crate::supervision::after_action(tx, &ctx.rules.cal, row, acting, action, out.to, now).await
}

/// The deadlines after an action, by the explicit rules of `crate::deadlines`: an
/// approved extension and the working days spent suspended (counted on resume, into
/// `next`) move the handling deadline; informing the reporter starts the follow-up
/// clock. Every other action leaves them as they were.
async fn moved_deadlines<T: Tx>(
    tx: &mut T,
    ctx: &ActContext<'_>,
    row: &EventRow,
    before: &EventState,
    next: &mut EventState,
    kind: ActionKind,
    now: DateTime<Utc>,
) -> Result<crate::deadlines::Deadlines, StoreError> {
    let mut d = row.deadlines();
    if kind == ActionKind::Resume
        && let Some(since) = last_action_at(tx, row.id, ActionKind::Suspend).await?
    {
        next.suspended_days += ctx.rules.suspended_days(since, now);
    }
    if next.extension_days != before.extension_days || next.suspended_days != before.suspended_days
    {
        set_handle_deadline(&mut d, ctx.rules, row, next)?;
    }
    if kind == ActionKind::Inform {
        let (due, estimated) = ctx.rules.followup(now);
        d.followup = Some(due);
        d.estimated |= estimated;
    }
    Ok(d)
}

/// Every deadline of a stored event counted again from its facts with `rules`: for
/// estimates made before their year's holidays were loaded.
pub(crate) async fn recount<T: Tx>(
    tx: &mut T,
    rules: &crate::deadlines::Rules,
    row: &EventRow,
) -> Result<bool, StoreError> {
    let state = parse_state(row)?;
    // Acceptance and feedback from receipt, handling with its added days.
    let mut d = rules.on_receipt(row.reported_at, row_priority(row)?, None);
    set_handle_deadline(&mut d, rules, row, &state)?;
    if row.followup_due_at.is_some()
        && let Some(at) = last_action_at(tx, row.id, ActionKind::Inform).await?
    {
        let (due, est) = rules.followup(at);
        d.followup = Some(due);
        d.estimated |= est;
    }
    Ok(tx.update_deadlines(row.id, row.version, &d).await? == 1)
}

fn row_priority(row: &EventRow) -> Result<Priority, StoreError> {
    Priority::parse(&row.priority).ok_or_else(|| corrupt("priority", &row.priority))
}

/// The handling deadline from receipt, the category's limit and the days `state`
/// adds (approved extensions, working days suspended).
fn set_handle_deadline(
    d: &mut crate::deadlines::Deadlines,
    rules: &crate::deadlines::Rules,
    row: &EventRow,
    state: &EventState,
) -> Result<(), StoreError> {
    let limit = row.category_limit_days.and_then(|x| u32::try_from(x).ok());
    if let Some((due, estimated)) = rules.handle(
        row.reported_at,
        row_priority(row)?,
        limit,
        state.extension_days + state.suspended_days,
    ) {
        d.handle = Some(due);
        d.estimated |= estimated;
    }
    Ok(())
}

/// When the event last took action `kind`, from its timeline.
async fn last_action_at<T: Tx>(
    tx: &mut T,
    id: i64,
    kind: ActionKind,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(tx
        .timeline(id)
        .await?
        .into_iter()
        .rev()
        .find(|t| t.action == kind.code())
        .map(|t| t.at))
}

impl Store {
    /// Counts again every deadline that was an estimate (its year's holidays were not
    /// loaded when it was set), with the calendar now in force. Returns how many
    /// events changed; one audit record says so.
    pub async fn recount_estimated_deadlines(
        &self,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let rules = self.deadline_rules();
        let mut q = Sql::new("WHERE e.deadline_estimated = ");
        q.arg(Arg::Bool(true))
            .push(" AND e.status <> ")
            .arg(Arg::Text(Status::Closed.code().into()));
        let rows = in_tx!(self, Read, |tx| tx.events_where(q).await)?;
        let mut changed = 0;
        for row in &rows {
            changed += usize::from(in_tx!(self, Write, |tx| recount(&mut tx, &rules, row).await)?);
        }
        if changed > 0 {
            in_tx!(self, Write, |tx| tx
                .insert_audit(&AuditRecord {
                    at: now,
                    actor: crate::Acting::system(by.to_string()),
                    action: "calendar.recount_deadlines".into(),
                    object_type: "calendar",
                    object_id: None,
                    detail: Some(serde_json::json!({ "events": changed })),
                })
                .await)?;
        }
        Ok(changed)
    }
}

pub(crate) async fn row_in_scope<T: Tx>(
    tx: &mut T,
    scope: Scope,
    id: i64,
) -> Result<Option<EventRow>, StoreError> {
    let mut q = Sql::new("WHERE e.id = ");
    q.arg(Arg::I64(id)).push(" AND ");
    q.append(scope_sql(scope));
    Ok(tx.events_where(q).await?.into_iter().next())
}

async fn import_one<T: ActTx>(
    tx: &mut T,
    rules: &crate::deadlines::Rules,
    pii: &crate::pii::Pii,
    prefix: &str,
    h: &HistoricalEvent,
    importer: &Acting,
) -> Result<(), StoreError> {
    let reporter =
        match &h.reporter_username {
            Some(u) => Some(user_by_username(tx, Some(pii), u).await?.ok_or_else(|| {
                StoreError::invalid("reporter_username", format!("未知用户 {u}"))
            })?),
            None => None,
        };
    let reporter_id = reporter.as_ref().map(|r| r.actor.user_id.0);
    let id = match create(
        tx,
        &Intake::new(rules.clone(), prefix, pii),
        None,
        importer,
        reporter_id,
        &h.event,
        h.reported_at,
    )
    .await?
    {
        Ok((id, _)) => id,
        // Already imported: importing the same file twice changes nothing.
        Err(_) => return Ok(()),
    };
    // The source system decided who could act; the lifecycle still checks the order.
    let all = Capacities {
        operator: true,
        lead_unit: true,
        assisting_unit: true,
        reporter: true,
        supervisor: true,
    };
    for step in &h.steps {
        let row = row_in_scope(tx, Scope::ALL, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let acting = Acting::system(step.actor_name.clone());
        let ctx = ActContext {
            rules,
            replay: true,
            feedback: None,
            pii,
        };
        act_on(tx, &ctx, &row, &all, &acting, &step.action, step.at).await?;
    }
    Ok(())
}

impl EventRepo<'_> {
    pub(crate) fn the_store(&self) -> &Store {
        self.store
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Creates an event, or returns the one already stored under the same
    /// (channel, external id) if the actor may see it.
    pub async fn create(
        &self,
        new: &NewEvent,
        now: DateTime<Utc>,
    ) -> Result<CreateOutcome, StoreError> {
        self.create_with_photos(new, &[], now).await
    }

    /// [`EventRepo::create`] with photos taken by the reporter, stored in the same
    /// transaction: a photo that cannot be stored leaves no event behind. An event
    /// that already existed (same channel and external id) gets no photos.
    pub async fn create_with_photos(
        &self,
        new: &NewEvent,
        photos: &[crate::attachments::Photo],
        now: DateTime<Utc>,
    ) -> Result<CreateOutcome, StoreError> {
        let stored = self.submit(new, photos, now).await?;
        let actor = &self.actor;
        in_tx!(self.store, Read, |tx| {
            if stored.created {
                detail(&mut tx, self.store.pii()?, actor, stored.id)
                    .await?
                    .map(|d| CreateOutcome::Created(Box::new(d)))
                    .ok_or(StoreError::NotFound)
            } else {
                existing_outcome(&mut tx, self.store.pii()?, actor, stored.id).await
            }
        })
    }

    /// Stores an event and says what was stored, without reading it back: for
    /// channels whose answer is an acknowledgement (and for speed, see
    /// `group_commit`).
    pub async fn store(&self, new: &NewEvent, now: DateTime<Utc>) -> Result<Stored, StoreError> {
        self.submit(new, &[], now).await
    }

    /// Stores several events, each on its own: one refused fails alone, and the
    /// others are stored (a key already stored answers as in [`EventRepo::store`]).
    /// One result per event, in order. They are queued together, so they share the
    /// writer's transactions (and fsyncs) with each other and whatever else arrives.
    pub async fn store_all(
        &self,
        news: &[NewEvent],
        now: DateTime<Utc>,
    ) -> Vec<Result<Stored, StoreError>> {
        if !self.actor.can_report_events() {
            return news
                .iter()
                .map(|_| Err(StoreError::invalid("actor", "监督账号只读，不能上报事件")))
                .collect();
        }
        let jobs = news
            .iter()
            .map(|new| Job {
                actor: self.actor.clone(),
                new: new.clone(),
                photos: Vec::new(),
                now,
                request: crate::audit::RequestContext::current(),
            })
            .collect();
        self.store.store_new_all(jobs).await
    }

    async fn submit(
        &self,
        new: &NewEvent,
        photos: &[crate::attachments::Photo],
        now: DateTime<Utc>,
    ) -> Result<Stored, StoreError> {
        if !self.actor.can_report_events() {
            return Err(StoreError::invalid("actor", "监督账号只读，不能上报事件"));
        }
        self.store
            .store_new(Job {
                actor: self.actor.clone(),
                new: new.clone(),
                photos: photos.to_vec(),
                now,
                request: crate::audit::RequestContext::current(),
            })
            .await
    }

    pub async fn get(&self, id: i64) -> Result<EventDetail, StoreError> {
        let actor = &self.actor;
        in_tx!(self.store, Read, |tx| detail(
            &mut tx,
            self.store.pii()?,
            actor,
            id
        )
        .await)?
        .ok_or(StoreError::NotFound)
    }

    /// The reporter's full name and phone, for one who handles the event (the
    /// command room running it, the lead or an assisting unit) and gives a reason.
    /// The reveal and its reason are audited in the same transaction, so there is
    /// no way to read the contact that leaves no trace (PI-03, PI-06).
    pub async fn reveal_reporter(
        &self,
        id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<RevealedContact, StoreError> {
        let reason = reason.trim();
        if reason.chars().count() < 2 {
            return Err(StoreError::invalid("reason", "请说明查看联系方式的原因"));
        }
        if reason.chars().count() > 200 {
            return Err(StoreError::invalid("reason", "原因不超过 200 字"));
        }
        let actor = &self.actor;
        let acting = Acting::from(actor);
        let pii = self.store.pii()?;
        in_tx!(self.store, Write, |tx| {
            let row = row_in_scope(&mut tx, actor.scope(), id)
                .await?
                .ok_or(StoreError::NotFound)?;
            let caps = capacities(actor, &row, &parse_state(&row)?);
            let label = sensitivity(&row)?;
            if !caps.sees_personal_data(label) {
                return Err(StoreError::Forbidden(
                    match label {
                        Sensitivity::Normal => {
                            "只有办理该事件的指挥室或承办、协办单位可以查看上报人联系方式"
                        }
                        Sensitivity::Sensitive => "敏感事件的上报人联系方式只有指挥室可以查看",
                    }
                    .into(),
                ));
            }
            let name = pii.open_opt(Field::ReporterName, row.reporter_name.as_deref())?;
            let phone = pii.open_opt(Field::ReporterPhone, row.reporter_phone.as_deref())?;
            let fields: Vec<&str> = [
                name.as_ref().map(|_| "name"),
                phone.as_ref().map(|_| "phone"),
            ]
            .into_iter()
            .flatten()
            .collect();
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting.clone(),
                action: "pii.reveal".into(),
                object_type: "event",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({
                    "number": row.number,
                    "fields": fields,
                    "reason": reason,
                })),
            })
            .await?;
            Ok(RevealedContact {
                name,
                phone,
                reason: reason.to_string(),
            })
        })
    }

    /// Sets an event's sensitivity label by hand (AC-08): the command room running
    /// it raises or lowers it, with a reason; the change goes on the timeline and
    /// into the audit log in the same transaction. Raising hides the event at once
    /// from the roles without clearance; a sensitive event stays with the township
    /// or the city, since the grid worker no longer sees it.
    pub async fn set_sensitivity(
        &self,
        id: i64,
        label: Sensitivity,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<EventDetail, StoreError> {
        let reason = reason.trim();
        let actor = &self.actor;
        let acting = Acting::from(actor);
        let pii = self.store.pii()?;
        in_tx!(self.store, Write, |tx| {
            let row = row_in_scope(&mut tx, actor.scope(), id)
                .await?
                .ok_or(StoreError::NotFound)?;
            if !capacities(actor, &row, &parse_state(&row)?).operator {
                return Err(StoreError::Forbidden(
                    "只有办理该事件的指挥室可以调整密级".into(),
                ));
            }
            let current = sensitivity(&row)?;
            zhili_domain::check_label_change(current, label, reason)
                .map_err(|r| StoreError::invalid(r.field, r.reason))?;
            let mut q = Sql::new("UPDATE events SET sensitivity = ");
            q.arg(Arg::Text(label.code().into()))
                .push(", sensitivity_reason = ")
                .arg(Arg::Text(reason.into()))
                .push(" WHERE id = ")
                .arg(Arg::I64(id));
            tx.exec(q).await?;
            tx.insert_timeline(&TimelineInsert {
                event_id: id,
                at: now,
                actor_id: acting.user_id.map(|u| u.0),
                actor_name: acting.name.clone(),
                action: LABEL_ACTION.into(),
                from_status: Some(row.status.clone()),
                to_status: row.status.clone(),
                note: Some(format!(
                    "密级由{}调整为{}：{reason}",
                    current.label_zh(),
                    label.label_zh()
                )),
                data: None,
            })
            .await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting.clone(),
                action: "event.sensitivity".into(),
                object_type: "event",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({
                    "number": row.number,
                    "from": current.code(),
                    "to": label.code(),
                    "reason": reason,
                })),
            })
            .await?;
            detail(&mut tx, pii, actor, id)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }

    /// The reporters' names and phones of the events `filter` selects in the actor's
    /// scope, at most [`EXPORT_MAX`], for a stated reason (AC-09): only the events
    /// the actor handles (as for a reveal), only for the roles that may export, and
    /// audited as one `pii.export` record with the row count in the same
    /// transaction as the read.
    pub async fn export_contacts(
        &self,
        filter: &EventFilter,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<ContactExport, StoreError> {
        let reason = reason.trim();
        if !(4..=200).contains(&reason.chars().count()) {
            return Err(StoreError::invalid(
                "reason",
                "请说明导出的用途（4–200 字）",
            ));
        }
        let actor = &self.actor;
        if !zhili_domain::Permission::ExportPersonalData.allows(actor.role) {
            return Err(StoreError::Forbidden(format!(
                "{}不能导出个人信息",
                actor.role.label_zh()
            )));
        }
        let acting = Acting::from(actor);
        let pii = self.store.pii()?;
        let mut q = filter_sql(actor.scope(), filter);
        q.push(" AND (e.reporter_name IS NOT NULL OR e.reporter_phone IS NOT NULL) ORDER BY e.reported_at, e.id LIMIT ")
            .arg(Arg::I64(EXPORT_MAX as i64 + 1));
        in_tx!(self.store, Write, |tx| {
            let found = tx.events_where(q).await?;
            if found.len() > EXPORT_MAX {
                return Err(StoreError::invalid(
                    "filter",
                    format!("一次最多导出 {EXPORT_MAX} 条，请缩小范围"),
                ));
            }
            let mut rows = Vec::new();
            let mut withheld = 0;
            for row in &found {
                if !capacities(actor, row, &parse_state(row)?).sees_personal_data(sensitivity(row)?)
                {
                    withheld += 1;
                    continue;
                }
                rows.push(ContactRow {
                    number: row.number.clone(),
                    category: row.category_name.clone(),
                    status: Status::parse(&row.status).map_or("", Status::label_zh),
                    township: row.township_name.clone(),
                    reported_at: row.reported_at,
                    name: pii.open_opt(Field::ReporterName, row.reporter_name.as_deref())?,
                    phone: pii.open_opt(Field::ReporterPhone, row.reporter_phone.as_deref())?,
                });
            }
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting.clone(),
                action: "pii.export".into(),
                object_type: "event",
                object_id: None,
                detail: Some(serde_json::json!({
                    "rows": rows.len(),
                    "withheld": withheld,
                    "reason": reason,
                    "numbers": rows.iter().map(|r| r.number.as_str()).collect::<Vec<_>>(),
                })),
            })
            .await?;
            Ok(ContactExport {
                rows,
                withheld,
                exported_by: acting.name.clone(),
                exporter_id: actor.user_id.0,
                reason: reason.to_string(),
                at: now,
            })
        })
    }

    /// Performs one lifecycle action and returns the event as it is afterwards.
    pub async fn act(
        &self,
        id: i64,
        action: &Action,
        now: DateTime<Utc>,
    ) -> Result<EventDetail, StoreError> {
        let actor = &self.actor;
        let acting = Acting::from(actor);
        in_tx!(self.store, Write, |tx| {
            let row = row_in_scope(&mut tx, actor.scope(), id)
                .await?
                .ok_or(StoreError::NotFound)?;
            let caps = capacities(actor, &row, &parse_state(&row)?);
            let rules = self.store.deadline_rules();
            let ctx = ActContext {
                rules: &rules,
                replay: false,
                feedback: Some(&self.store.feedback.settings),
                pii: self.store.pii()?,
            };
            act_on(&mut tx, &ctx, &row, &caps, &acting, action, now).await?;
            detail(&mut tx, ctx.pii, actor, id)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }

    pub async fn list(&self, filter: &EventFilter) -> Result<Page<EventSummary>, StoreError> {
        let cond = filter_sql(self.actor.scope(), filter);
        let mut count = Sql::new("SELECT COUNT(*) FROM events e ");
        count.append(cond.clone());
        let mut rows = cond;
        rows.push(match filter.sort {
            SortKey::ReportedAt => " ORDER BY e.reported_at",
            SortKey::UpdatedAt => " ORDER BY e.updated_at",
            SortKey::Number => " ORDER BY e.number",
            SortKey::Status => " ORDER BY e.status",
        });
        rows.push(if filter.descending {
            " DESC, e.id DESC"
        } else {
            " ASC, e.id ASC"
        });
        let per_page = filter.per_page.clamp(1, 200);
        let page = filter.page.max(1);
        rows.push(" LIMIT ")
            .arg(Arg::I64(i64::from(per_page)))
            .push(" OFFSET ")
            .arg(Arg::I64(i64::from(page - 1) * i64::from(per_page)));
        let (total, found) = in_tx!(self.store, Read, |tx| {
            let total = tx.count(count).await?;
            Ok::<_, StoreError>((total, tx.events_where(rows).await?))
        })?;
        Ok(Page {
            items: found.into_iter().map(summary).collect::<Result<_, _>>()?,
            total,
            page,
            per_page,
        })
    }
}

async fn existing_outcome<T: Tx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    actor: &Actor,
    id: i64,
) -> Result<CreateOutcome, StoreError> {
    match detail(tx, pii, actor, id).await? {
        Some(d) => Ok(CreateOutcome::Existing(Box::new(d))),
        // Someone else's event holds this key: say so without showing it.
        None => Err(StoreError::Duplicate {
            field: "external_id".into(),
        }),
    }
}

/// The most contacts one export may hold.
pub const EXPORT_MAX: usize = 2000;

/// `WHERE …` for the events of `scope` that `filter` selects (list and export).
fn filter_sql(scope: Scope, filter: &EventFilter) -> Sql {
    let mut cond = Sql::new("WHERE ");
    cond.append(scope_sql(scope));
    if !filter.statuses.is_empty() {
        cond.push(" AND e.status IN (");
        for (i, s) in filter.statuses.iter().enumerate() {
            if i > 0 {
                cond.push(", ");
            }
            cond.arg(Arg::Text(s.code().into()));
        }
        cond.push(")");
    }
    if let Some(t) = &filter.township {
        cond.push(" AND e.township_id IN (SELECT id FROM orgs WHERE code = ")
            .arg(Arg::Text(t.clone()))
            .push(")");
    }
    if let Some(g) = &filter.grid {
        cond.push(" AND e.grid_id IN (SELECT id FROM orgs WHERE code = ")
            .arg(Arg::Text(g.clone()))
            .push(")");
    }
    if let Some(c) = &filter.category {
        // A 大类 code finds its 小类 too.
        cond.push(" AND e.category_id IN (SELECT c2.id FROM categories c2 LEFT JOIN categories p ON p.id = c2.parent_id WHERE c2.code = ")
            .arg(Arg::Text(c.clone()))
            .push(" OR p.code = ")
            .arg(Arg::Text(c.clone()))
            .push(")");
    }
    if let Some(u) = &filter.unit {
        cond.push(" AND EXISTS (SELECT 1 FROM event_units fu JOIN orgs fo ON fo.id = fu.unit_id WHERE fu.event_id = e.id AND fo.code = ")
            .arg(Arg::Text(u.clone()))
            .push(")");
    }
    if filter.triage {
        cond.push(" AND e.needs_triage = ").arg(Arg::Bool(true));
    }
    if let Some(d) = filter.duplicates {
        cond.push(match d {
            DuplicateFilter::Hide => " AND e.duplicate_of IS NULL",
            DuplicateFilter::Only => " AND e.duplicate_of IS NOT NULL",
        });
    }
    if let Some(now) = filter.overdue_at {
        cond.push(" AND ");
        cond.append(crate::command::overdue_sql(now));
    }
    if let Some(ch) = filter.channel {
        cond.push(" AND e.channel = ")
            .arg(Arg::Text(ch.code().into()));
    }
    if let Some(from) = filter.from {
        cond.push(" AND e.reported_at >= ").arg(Arg::Time(from));
    }
    if let Some(to) = filter.to {
        cond.push(" AND e.reported_at < ").arg(Arg::Time(to));
    }
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let pattern = like_contains(text);
        cond.push(" AND (e.text LIKE ")
            .arg(Arg::Text(pattern.clone()))
            .push(" ESCAPE '\\' OR e.number LIKE ")
            .arg(Arg::Text(pattern.clone()))
            .push(" ESCAPE '\\' OR e.address LIKE ")
            .arg(Arg::Text(pattern))
            .push(" ESCAPE '\\')");
    }
    cond
}

//! KPIs (O5) for an area (city, township, village, grid) or a unit over a period,
//! and the events behind every number (the drill-down). One function,
//! [`condition`], says which events make up each side of each KPI; the count and
//! the list are both built from it, so they cannot disagree. Working hours are
//! counted in Rust with the store's calendar. Definitions: docs/kpis.md.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;
use zhili_calendar::china_time;
use zhili_domain::kpi::{ACTIVE_REPORTERS, KpiKind, KpiSource, KpiValue, RESIDENT_REPORTERS};
use zhili_domain::{ActionKind, Actor, Channel, OrgKind, Role};

use crate::backend::Tx;
use crate::events::{scope_sql, summary};
use crate::records::{EventSummary, Named, Org, Page};
use crate::reference::org_by_code;
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// A period `[from, to)` of whole days in China time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
}

/// The longest period asked for at once.
const MAX_PERIOD_DAYS: i64 = 400;

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, StoreError> {
        if to <= from {
            return Err(StoreError::invalid("to", "结束日期须晚于开始日期"));
        }
        if (to - from).num_days() > MAX_PERIOD_DAYS {
            return Err(StoreError::invalid(
                "to",
                format!("统计期不能超过 {MAX_PERIOD_DAYS} 天"),
            ));
        }
        Ok(Period { from, to })
    }

    /// The calendar month `YYYY-MM`.
    pub fn month(text: &str) -> Result<Period, StoreError> {
        let bad = || StoreError::invalid("month", "月份格式应为 YYYY-MM，如 2026-05");
        let from = NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d")
            .map_err(|_| bad())?;
        Ok(Period {
            from,
            to: next_month(from).ok_or_else(bad)?,
        })
    }

    /// The month `now` falls in (China time).
    pub fn month_of(now: DateTime<Utc>) -> Period {
        let d = now.with_timezone(&china_time()).date_naive();
        let from = d.with_day(1).unwrap_or(d);
        Period {
            from,
            to: next_month(from).unwrap_or(from + Duration::days(31)),
        }
    }

    pub fn start(&self) -> DateTime<Utc> {
        china_midnight(self.from)
    }

    pub fn end(&self) -> DateTime<Utc> {
        china_midnight(self.to)
    }

    /// First and last month (YYYY-MM) the period touches, for monthly surveys.
    fn months(&self) -> (String, String) {
        let last = self.to - Duration::days(1);
        (
            self.from.format("%Y-%m").to_string(),
            last.format("%Y-%m").to_string(),
        )
    }
}

fn next_month(d: NaiveDate) -> Option<NaiveDate> {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
}

fn china_midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN)
        .and_local_timezone(china_time())
        .single()
        .map_or_else(
            || d.and_time(chrono::NaiveTime::MIN).and_utc(),
            |t| t.with_timezone(&Utc),
        )
}

/// Which side of a KPI's fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Numerator,
    Denominator,
}

impl Part {
    pub fn parse(s: &str) -> Option<Part> {
        match s {
            "numerator" => Some(Part::Numerator),
            "denominator" => Some(Part::Denominator),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Part::Numerator => "numerator",
            Part::Denominator => "denominator",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Part::Numerator => "分子",
            Part::Denominator => "分母",
        }
    }
}

/// What the KPIs are computed for: an area by where events are, a unit by the
/// events it was lead unit for.
#[derive(Debug, Clone)]
pub struct Subject {
    pub org: Org,
}

impl Subject {
    pub fn is_unit(&self) -> bool {
        self.org.kind.is_unit()
    }

    /// The events of the subject, as a condition over `events e`.
    fn events(&self) -> Sql {
        let id = self.org.id.0;
        let mut q = Sql::default();
        match self.org.kind {
            OrgKind::City => {
                q.push("1 = 1");
            }
            OrgKind::Township => {
                q.push("e.township_id = ").arg(Arg::I64(id));
            }
            OrgKind::Village => {
                q.push("e.village_id = ").arg(Arg::I64(id));
            }
            OrgKind::Grid => {
                q.push("e.grid_id = ").arg(Arg::I64(id));
            }
            OrgKind::Department | OrgKind::StationedUnit | OrgKind::TownshipOffice => {
                q.push(
                    "EXISTS (SELECT 1 FROM event_units ku WHERE ku.event_id = e.id \
                     AND ku.role = 'lead' AND ku.unit_id = ",
                )
                .arg(Arg::I64(id))
                .push(")");
            }
        }
        q
    }

    /// The orgs whose survey rows belong to this area (itself excluded), as a
    /// condition over `orgs o`.
    fn inside(&self) -> Sql {
        let id = self.org.id.0;
        let mut q = Sql::default();
        match self.org.kind {
            OrgKind::City => {
                q.push("o.id <> ").arg(Arg::I64(id));
            }
            OrgKind::Township => {
                q.push("o.township_id = ")
                    .arg(Arg::I64(id))
                    .push(" AND o.id <> ")
                    .arg(Arg::I64(id));
            }
            OrgKind::Village => {
                q.push("o.parent_id = ").arg(Arg::I64(id));
            }
            _ => {
                q.push("1 = 0");
            }
        }
        q
    }
}

/// Whether `actor` may see the KPIs of `org`: city roles and oversight see all, a
/// township's command room its township with what lies in it (villages, grids,
/// stationed units, offices), a grid worker their grid, a handler their unit.
pub fn may_see(actor: &Actor, org: &Org) -> bool {
    match (actor.role, actor.org_id) {
        (Role::Admin | Role::CityOperator | Role::CityLeader | Role::Oversight, _) => true,
        (Role::TownshipOperator, Some(own)) => org.id == own || org.township_id == Some(own),
        (Role::GridWorker | Role::UnitHandler, Some(own)) => org.id == own,
        _ => false,
    }
}

/// Whether the actor has KPIs at all (for navigation).
pub fn can_view_kpis(actor: &Actor) -> bool {
    match actor.role {
        Role::Admin | Role::CityOperator | Role::CityLeader | Role::Oversight => true,
        Role::TownshipOperator | Role::GridWorker | Role::UnitHandler => actor.org_id.is_some(),
        Role::Citizen | Role::Integration | Role::SecurityAdmin | Role::Auditor => false,
    }
}

fn text_list(q: &mut Sql, items: impl IntoIterator<Item = &'static str>) {
    q.list(items.into_iter().map(|s| Arg::Text(s.into())));
}

fn has_action(q: &mut Sql, actions: &[ActionKind]) {
    q.push(" AND EXISTS (SELECT 1 FROM timeline tx WHERE tx.event_id = e.id AND tx.action IN ");
    text_list(q, actions.iter().map(|a| a.code()));
    q.push(")");
}

/// The satisfied levels as they appear in a rating's timeline data.
const SATISFIED_PATTERNS: &[&str] = &[
    "%\"satisfaction\":\"very_satisfied\"%",
    "%\"satisfaction\":\"satisfied\"%",
    "%\"satisfaction\":\"basic\"%",
];

/// THE definition of every KPI: the events on one side of its fraction, as a
/// condition over `events e`, or `None` when that side is not a set of events
/// (a population, a survey, the missing denominator of a count).
pub(crate) fn condition(
    kind: KpiKind,
    part: Part,
    subject: &Subject,
    period: &Period,
) -> Option<Sql> {
    use KpiKind::*;
    if kind.source() == KpiSource::Survey || (subject.is_unit() && kind.for_areas_only()) {
        return None;
    }
    let mut q = Sql::default();
    q.append(subject.events());
    let reported_in = |q: &mut Sql| {
        q.push(" AND e.reported_at >= ")
            .arg(Arg::Time(period.start()))
            .push(" AND e.reported_at < ")
            .arg(Arg::Time(period.end()));
    };
    match (kind, part) {
        (Accepted, Part::Denominator) => return None,
        (Accepted, Part::Numerator) | (DiscoveryRate, Part::Denominator) => {
            reported_in(&mut q);
            has_action(&mut q, &[ActionKind::Accept]);
        }
        (DiscoveryRate, Part::Numerator) => {
            reported_in(&mut q);
            has_action(&mut q, &[ActionKind::Accept]);
            q.push(" AND (e.channel = ")
                .arg(Arg::Text(Channel::Patrol.code().into()))
                .push(" OR e.reporter_kind IN ");
            text_list(&mut q, ACTIVE_REPORTERS.iter().map(|r| r.code()));
            q.push(")");
        }
        (CloseRate | OnTimeCloseRate, _) => {
            // Due to close: accepted, not handed to 110, handling deadline in the period.
            q.push(" AND e.handle_due_at >= ")
                .arg(Arg::Time(period.start()))
                .push(" AND e.handle_due_at < ")
                .arg(Arg::Time(period.end()));
            has_action(&mut q, &[ActionKind::Accept]);
            q.push(" AND NOT EXISTS (SELECT 1 FROM timeline tt WHERE tt.event_id = e.id AND tt.action = ")
                .arg(Arg::Text(ActionKind::TransferTo110.code().into()))
                .push(")");
            match (kind, part) {
                (_, Part::Denominator) => {}
                (CloseRate, _) => {
                    q.push(" AND e.closed_at IS NOT NULL AND e.closed_at < ")
                        .arg(Arg::Time(period.end()));
                }
                _ => {
                    q.push(" AND e.closed_at IS NOT NULL AND e.closed_at <= e.handle_due_at");
                }
            }
        }
        (ReworkRate | AvgHandlingHours | MedianHandlingHours, _) => {
            reported_in(&mut q);
            has_action(&mut q, &[ActionKind::Accept]);
            has_action(&mut q, &[ActionKind::Resolve]);
            if kind == ReworkRate && part == Part::Numerator {
                has_action(&mut q, &[ActionKind::VerifyFail, ActionKind::Reopen]);
            }
        }
        (ReturnRate, _) => {
            reported_in(&mut q);
            has_action(&mut q, &[ActionKind::Dispatch]);
            if part == Part::Numerator {
                has_action(&mut q, &[ActionKind::Return]);
            }
        }
        (SatisfactionRate, _) => {
            reported_in(&mut q);
            has_action(&mut q, &[ActionKind::Rate]);
            if part == Part::Numerator {
                // The last rating counts: rated 不满意, reworked, rated 满意 is satisfied.
                q.push(
                    " AND EXISTS (SELECT 1 FROM timeline ts WHERE ts.event_id = e.id AND ts.action = 'rate' \
                     AND NOT EXISTS (SELECT 1 FROM timeline tl WHERE tl.event_id = e.id \
                     AND tl.action = 'rate' AND tl.seq > ts.seq) AND (",
                );
                for (i, p) in SATISFIED_PATTERNS.iter().enumerate() {
                    if i > 0 {
                        q.push(" OR ");
                    }
                    q.push("ts.data LIKE ").arg(Arg::Text((*p).into()));
                }
                q.push("))");
            }
        }
        (Participation, Part::Numerator) => {
            reported_in(&mut q);
            q.push(" AND e.reporter_kind IN ");
            text_list(&mut q, RESIDENT_REPORTERS.iter().map(|r| r.code()));
            q.push(" AND (e.reporter_user_id IS NOT NULL OR e.reporter_phone_index IS NOT NULL)");
        }
        (Participation, Part::Denominator) => return None,
        (DeepProblemsFound, Part::Denominator) => return None,
        (DeepProblemsFound, Part::Numerator) | (DeepProblemsSolvedRate, _) => {
            // The events of the topics opened in the period (solved: closed with
            // their root cause); the number counts topics, the list shows events.
            q.push(topic_exists(
                kind == DeepProblemsSolvedRate && part == Part::Numerator,
            ));
            q.arg(Arg::Time(period.start()))
                .push(" AND g.opened_at < ")
                .arg(Arg::Time(period.end()))
                .push(")");
        }
        (AwarenessRate | SurveyParticipationRate, _) => return None,
    }
    Some(q)
}

/// ` AND EXISTS (… a topic of e opened from $n …` — the caller closes the period.
fn topic_exists(solved: bool) -> &'static str {
    if solved {
        " AND EXISTS (SELECT 1 FROM topic_events te JOIN governance_topics g ON g.id = te.topic_id \
         WHERE te.event_id = e.id AND g.status = 'closed' AND g.root_cause IS NOT NULL AND g.opened_at >= "
    } else {
        " AND EXISTS (SELECT 1 FROM topic_events te JOIN governance_topics g ON g.id = te.topic_id \
         WHERE te.event_id = e.id AND g.opened_at >= "
    }
}

/// The topics (not events) behind a deep-problems condition: those of the period
/// that hold one of its events.
async fn count_topics<T: Tx>(
    tx: &mut T,
    cond: Sql,
    period: &Period,
    solved: bool,
) -> Result<i64, StoreError> {
    let mut q = Sql::new(
        "SELECT COUNT(DISTINCT g.id) FROM governance_topics g JOIN topic_events te ON te.topic_id = g.id \
         JOIN events e ON e.id = te.event_id WHERE g.opened_at >= ",
    );
    q.arg(Arg::Time(period.start()))
        .push(" AND g.opened_at < ")
        .arg(Arg::Time(period.end()));
    if solved {
        q.push(" AND g.status = 'closed' AND g.root_cause IS NOT NULL");
    }
    q.push(" AND ");
    q.append(cond);
    Ok(tx.count(q).await?)
}

/// The distinct reporters among the events of `cond` (participation): by account,
/// else by the keyed hash of the phone (the phone itself is sealed, see `pii`).
const REPORTER_IDENTITY: &str = "CASE WHEN e.reporter_user_id IS NOT NULL \
 THEN 'u' || CAST(e.reporter_user_id AS TEXT) ELSE 'p' || e.reporter_phone_index END";

async fn count_events<T: Tx>(tx: &mut T, cond: Sql) -> Result<i64, StoreError> {
    let mut q = Sql::new("SELECT COUNT(*) FROM events e WHERE ");
    q.append(cond);
    Ok(tx.count(q).await?)
}

#[derive(sqlx::FromRow)]
struct Stamp {
    event_id: i64,
    action: String,
    at: DateTime<Utc>,
}

/// Working hours from the first acceptance to the last resolution of each event
/// of `cond`.
async fn handling_hours<T: Tx>(
    tx: &mut T,
    cal: &zhili_calendar::Calendar,
    cond: Sql,
) -> Result<Vec<f64>, StoreError> {
    let mut q = Sql::new(
        "SELECT t.event_id, t.action, t.at FROM timeline t WHERE t.action IN ('accept', 'resolve') \
         AND t.event_id IN (SELECT e.id FROM events e WHERE ",
    );
    q.append(cond);
    q.push(") ORDER BY t.event_id, t.seq");
    let stamps: Vec<Stamp> = tx.rows(q).await?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < stamps.len() {
        let id = stamps[i].event_id;
        let (mut accepted, mut resolved) = (None, None);
        while i < stamps.len() && stamps[i].event_id == id {
            let s = &stamps[i];
            match s.action.as_str() {
                "accept" if accepted.is_none() => accepted = Some(s.at),
                "resolve" => resolved = Some(s.at),
                _ => {}
            }
            i += 1;
        }
        if let (Some(a), Some(r)) = (accepted, resolved) {
            let minutes = cal.working_minutes_between(&a, &r).map_err(|e| {
                StoreError::invalid("calendar", format!("工作日历无法计算办理时长：{e}"))
            })?;
            out.push(minutes.max(0) as f64 / 60.0);
        }
    }
    Ok(out)
}

async fn population<T: Tx>(tx: &mut T, subject: &Subject) -> Result<i64, StoreError> {
    let mut own = Sql::new(
        "SELECT CAST(COALESCE(MAX(residents), -1) AS BIGINT) FROM area_population WHERE org_id = ",
    );
    own.arg(Arg::I64(subject.org.id.0));
    let n = tx.count(own).await?;
    if n >= 0 {
        return Ok(n);
    }
    let mut children = Sql::new(
        "SELECT CAST(COALESCE(SUM(residents), 0) AS BIGINT) FROM area_population p \
         JOIN orgs o ON o.id = p.org_id WHERE o.parent_id = ",
    );
    children.arg(Arg::I64(subject.org.id.0));
    Ok(tx.count(children).await?)
}

/// (respondents, aware, participated) of the surveys of the area in the period:
/// the area's own rows if it has any, else those of the areas inside it.
async fn survey<T: Tx>(
    tx: &mut T,
    subject: &Subject,
    period: &Period,
) -> Result<(i64, i64, i64), StoreError> {
    let (first, last) = period.months();
    let sum = |col: &'static str, own: bool| {
        let mut q = Sql::new("SELECT CAST(COALESCE(SUM(s.");
        q.push(col).push(
            "), 0) AS BIGINT) FROM survey_results s JOIN orgs o ON o.id = s.org_id WHERE s.month >= ",
        );
        q.arg(Arg::Text(first.clone()))
            .push(" AND s.month <= ")
            .arg(Arg::Text(last.clone()))
            .push(" AND ");
        if own {
            q.push("o.id = ").arg(Arg::I64(subject.org.id.0));
        } else {
            q.append(subject.inside());
        }
        q
    };
    for own in [true, false] {
        let respondents = tx.count(sum("respondents", own)).await?;
        if respondents > 0 || !own {
            let aware = tx.count(sum("aware", own)).await?;
            let participated = tx.count(sum("participated", own)).await?;
            return Ok((respondents, aware, participated));
        }
    }
    Ok((0, 0, 0))
}

/// Every KPI of `kinds` for `subject` over `period`.
pub(crate) async fn compute<T: Tx>(
    tx: &mut T,
    cal: &zhili_calendar::Calendar,
    subject: &Subject,
    period: &Period,
    kinds: &[KpiKind],
) -> Result<Vec<KpiValue>, StoreError> {
    let mut out = Vec::with_capacity(kinds.len());
    let mut surveyed = None;
    for &kind in kinds {
        let num = condition(kind, Part::Numerator, subject, period);
        let den = condition(kind, Part::Denominator, subject, period);
        let v = match kind {
            _ if subject.is_unit() && kind.for_areas_only() => KpiValue::none(kind),
            KpiKind::Accepted => match num {
                Some(n) => KpiValue::count(kind, count_events(tx, n).await?),
                None => KpiValue::none(kind),
            },
            KpiKind::AvgHandlingHours | KpiKind::MedianHandlingHours => match den {
                Some(d) => {
                    let hours = handling_hours(tx, cal, d).await?;
                    if kind == KpiKind::AvgHandlingHours {
                        KpiValue::average_hours(kind, &hours)
                    } else {
                        KpiValue::median_hours(kind, &hours)
                    }
                }
                None => KpiValue::none(kind),
            },
            KpiKind::DeepProblemsFound => match num {
                Some(n) => KpiValue::count(kind, count_topics(tx, n, period, false).await?),
                None => KpiValue::none(kind),
            },
            KpiKind::DeepProblemsSolvedRate => match (num, den) {
                (Some(n), Some(d)) => {
                    let n = count_topics(tx, n, period, true).await?;
                    let d = count_topics(tx, d, period, false).await?;
                    KpiValue::ratio(kind, n as f64, d as f64, 1.0)
                }
                _ => KpiValue::none(kind),
            },
            KpiKind::Participation => match num {
                Some(n) => {
                    let mut q = Sql::new("SELECT COUNT(DISTINCT ");
                    q.push(REPORTER_IDENTITY).push(") FROM events e WHERE ");
                    q.append(n);
                    let reporters = tx.count(q).await?;
                    let residents = population(tx, subject).await?;
                    KpiValue::ratio(kind, reporters as f64, residents as f64, 10_000.0)
                }
                None => KpiValue::none(kind),
            },
            KpiKind::AwarenessRate | KpiKind::SurveyParticipationRate => {
                let (r, a, p) = match surveyed {
                    Some(s) => s,
                    None => {
                        let s = survey(tx, subject, period).await?;
                        surveyed = Some(s);
                        s
                    }
                };
                let n = if kind == KpiKind::AwarenessRate { a } else { p };
                KpiValue::ratio(kind, n as f64, r as f64, 1.0)
            }
            _ => match (num, den) {
                (Some(n), Some(d)) => {
                    let n = count_events(tx, n).await?;
                    let d = count_events(tx, d).await?;
                    KpiValue::ratio(kind, n as f64, d as f64, 1.0)
                }
                _ => KpiValue::none(kind),
            },
        };
        out.push(v);
    }
    Ok(out)
}

/// The KPIs of one area or unit.
#[derive(Debug, Clone, Serialize)]
pub struct KpiReport {
    pub subject: Named,
    pub subject_kind: OrgKind,
    pub period: Period,
    pub values: Vec<KpiValue>,
    #[serde(skip)]
    subject_org: Option<Org>,
}

impl KpiReport {
    /// Whether each side (numerator, denominator) of `kind` is a list of events
    /// that [`KpiRepo::kpi_events`] can show.
    pub fn has_events(&self, kind: KpiKind, part: Part) -> bool {
        self.subject_org.as_ref().is_some_and(|org| {
            let subject = Subject { org: org.clone() };
            condition(kind, part, &subject, &self.period).is_some()
        })
    }
}

/// KPI access for one actor: only the areas and units they cover.
pub struct KpiRepo<'a> {
    store: &'a Store,
    actor: Actor,
}

impl Store {
    pub fn kpis_for(&self, actor: &Actor) -> KpiRepo<'_> {
        KpiRepo {
            store: self,
            actor: actor.clone(),
        }
    }
}

impl KpiRepo<'_> {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The area or unit an actor sees by default: the city for city roles, their
    /// own org otherwise.
    pub async fn home(&self) -> Result<Option<Org>, StoreError> {
        if !can_view_kpis(&self.actor) {
            return Ok(None);
        }
        if let Some(id) = self.actor.org_id {
            return in_tx!(self.store, Read, |tx| {
                crate::reference::org_by_id(&mut tx, id).await
            });
        }
        Ok(self
            .store
            .orgs_of_kind(&[OrgKind::City])
            .await?
            .into_iter()
            .next())
    }

    /// The subject for `code`, if it exists and the actor covers it; `NotFound`
    /// either way otherwise, so out-of-scope areas look like unknown ones.
    async fn subject<T: Tx>(&self, tx: &mut T, code: &str) -> Result<Subject, StoreError> {
        let org = org_by_code(tx, code.trim())
            .await?
            .filter(|o| may_see(&self.actor, o))
            .ok_or(StoreError::NotFound)?;
        Ok(Subject { org })
    }

    pub async fn kpis(&self, code: &str, period: Period) -> Result<KpiReport, StoreError> {
        let cal = self.store.calendar();
        in_tx!(self.store, Read, |tx| {
            let subject = self.subject(&mut tx, code).await?;
            let values = compute(&mut tx, &cal, &subject, &period, KpiKind::ALL).await?;
            Ok::<_, StoreError>(KpiReport {
                subject: Named {
                    id: subject.org.id.0,
                    code: subject.org.code.clone(),
                    name: subject.org.name.clone(),
                },
                subject_kind: subject.org.kind,
                period,
                values,
                subject_org: Some(subject.org.clone()),
            })
        })
    }

    /// The events behind one side of one KPI, a page at a time (1-based), inside
    /// the actor's scope as well.
    pub async fn kpi_events(
        &self,
        kind: KpiKind,
        part: Part,
        code: &str,
        period: Period,
        page: u32,
        per_page: u32,
    ) -> Result<Page<EventSummary>, StoreError> {
        let per_page = per_page.clamp(1, 200);
        let page = page.max(1);
        let scope = self.actor.scope();
        in_tx!(self.store, Read, |tx| {
            let subject = self.subject(&mut tx, code).await?;
            let cond = condition(kind, part, &subject, &period).ok_or_else(|| {
                StoreError::invalid(
                    "part",
                    format!(
                        "「{}」的{}不是事件（来自人口、问卷或仅为计数），没有事件清单",
                        kind.label_zh(),
                        part.label_zh()
                    ),
                )
            })?;
            let mut full = cond;
            full.push(" AND ");
            full.append(scope_sql(scope));
            let total = count_events(&mut tx, full.clone()).await?;
            let mut rows = Sql::new("WHERE ");
            rows.append(full);
            rows.push(" ORDER BY e.reported_at, e.id LIMIT ")
                .arg(Arg::I64(i64::from(per_page)))
                .push(" OFFSET ")
                .arg(Arg::I64(i64::from(page - 1) * i64::from(per_page)));
            let found = tx.events_where(rows).await?;
            Ok::<_, StoreError>(Page {
                items: found
                    .into_iter()
                    .map(summary)
                    .collect::<Result<Vec<_>, _>>()?,
                total,
                page,
                per_page,
            })
        })
    }
}

/// Residents per area, for participation per 10,000 (the demo and imports).
impl Store {
    pub async fn set_population(
        &self,
        area_code: &str,
        residents: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.set_populations(&[(area_code.to_string(), residents)], now)
            .await
    }

    /// Sets the residents of many areas in one transaction; an unknown code or a
    /// negative number stores nothing.
    pub async fn set_populations(
        &self,
        areas: &[(String, i64)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some((code, _)) = areas.iter().find(|(_, n)| *n < 0) {
            return Err(StoreError::invalid(
                "residents",
                format!("{code} 的人口数不能为负"),
            ));
        }
        in_tx!(self, Write, |tx| {
            for (code, residents) in areas {
                let org = org_by_code(&mut tx, code)
                    .await?
                    .filter(|o| !o.kind.is_unit())
                    .ok_or_else(|| StoreError::invalid("area", format!("未知区域编码 {code}")))?;
                let mut q =
                    Sql::new("INSERT INTO area_population (org_id, residents, updated_at) VALUES ");
                q.list([Arg::I64(org.id.0), Arg::I64(*residents), Arg::Time(now)])
                    .push(
                        " ON CONFLICT (org_id) DO UPDATE SET residents = excluded.residents, \
                         updated_at = excluded.updated_at",
                    );
                tx.exec(q).await?;
            }
            Ok::<_, StoreError>(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhili_domain::ReporterKind;

    #[test]
    fn periods_are_china_days_and_months() {
        let p = Period::month("2026-03").unwrap();
        assert_eq!(p.start().to_rfc3339(), "2026-02-28T16:00:00+00:00");
        assert_eq!(p.end().to_rfc3339(), "2026-03-31T16:00:00+00:00");
        assert_eq!(p.months(), ("2026-03".into(), "2026-03".into()));
        assert!(Period::month("2026-13").is_err());
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(Period::new(d("2026-03-02"), d("2026-03-01")).is_err());
        assert_eq!(Period::month("2026-12").unwrap().to, d("2027-01-01"));
        assert!(ReporterKind::parse(RESIDENT_REPORTERS[0].code()).is_some());
    }
}

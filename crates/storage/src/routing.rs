//! The responsibility (routing) matrix (H3, H7): for each category and area, the lead
//! unit, the assisting units and the level that runs the event. The most specific rule
//! wins — a grid's over its village's over its township's over the city-wide one — and
//! with no rule the category's own department is suggested. Every new event records
//! the rule that routed it; every dispatch records whether it followed the rule's lead
//! unit, and every return (退回) by that unit counts against the rule, so admins see a
//! mis-routing rate per rule. Only admins change the matrix; each change is audited
//! in its own transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::{Actor, OrgKind, Role};

use crate::backend::{EventRow, Tx};
use crate::events::Acting;
use crate::imports::BadRow;
use crate::records::{AuditRecord, Coded, Named};
use crate::reference::{category_by_code, org_by_code};
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// Who runs an event a rule routes: the grid, the village (community), the township
/// (street) or the city command centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleLevel {
    Grid,
    Village,
    Township,
    City,
}

impl RuleLevel {
    pub const ALL: [RuleLevel; 4] = [
        RuleLevel::Grid,
        RuleLevel::Village,
        RuleLevel::Township,
        RuleLevel::City,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RuleLevel::Grid => "grid",
            RuleLevel::Village => "village",
            RuleLevel::Township => "township",
            RuleLevel::City => "city",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RuleLevel::Grid => "网格",
            RuleLevel::Village => "村（社区）",
            RuleLevel::Township => "乡镇（街道）",
            RuleLevel::City => "市",
        }
    }

    /// The code, the label, or the label as typed in a spreadsheet (村社区, 乡镇街道,
    /// 全市…).
    pub fn parse(s: &str) -> Option<RuleLevel> {
        let s: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '（' | '）' | '(' | ')' | '/' | ' '))
            .collect();
        Some(match s.as_str() {
            "grid" | "网格" => RuleLevel::Grid,
            "village" | "村社区" | "村" | "社区" | "村居" => RuleLevel::Village,
            "township" | "乡镇街道" | "乡镇" | "街道" => RuleLevel::Township,
            "city" | "市" | "市级" | "全市" => RuleLevel::City,
            _ => return None,
        })
    }

    pub fn coded(self) -> Coded {
        Coded {
            code: self.code(),
            label: self.label_zh(),
        }
    }
}

/// How specific an area is: a rule for a more specific area wins.
fn specificity(kind: Option<&str>) -> u8 {
    match kind {
        Some("grid") => 3,
        Some("village") => 2,
        Some("township") => 1,
        _ => 0,
    }
}

fn area_kind(kind: Option<&str>) -> Coded {
    match kind {
        Some("grid") => RuleLevel::Grid.coded(),
        Some("village") => RuleLevel::Village.coded(),
        Some("township") => RuleLevel::Township.coded(),
        _ => Coded {
            code: "city",
            label: "全市",
        },
    }
}

/// What the matrix suggests for one event: the units to dispatch to and who runs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteSuggestion {
    /// The rule that matched; `None` when no rule did and this is the category's own
    /// department.
    pub rule_id: Option<i64>,
    /// `rule` 分派规则, or `category_default` 类别默认部门.
    pub source: Coded,
    /// The area the rule is for; `None` for a city-wide rule (and the default).
    pub area: Option<Named>,
    pub lead_unit: Named,
    pub assisting_units: Vec<Named>,
    pub level: Coded,
    pub note: Option<String>,
}

impl RouteSuggestion {
    /// The rung a new event starts at (see [`starting_level`]); the category default
    /// leaves it to the township.
    pub fn starting_level(&self, has_grid: bool) -> Option<zhili_domain::Level> {
        self.rule_id?;
        starting_level(self.level.code, has_grid)
    }
}

/// The rung a new event a rule routes starts at: a rule at city level hands it to
/// the city command centre from the start; a rule at grid level leaves it to its grid
/// first (the grid worker acts as its operator until it climbs the ladder); village
/// and township rules leave it to the township (`None`: the default rung).
pub(crate) fn starting_level(rule_level: &str, has_grid: bool) -> Option<zhili_domain::Level> {
    match rule_level {
        c if c == RuleLevel::City.code() => Some(zhili_domain::Level::City),
        c if c == RuleLevel::Grid.code() && has_grid => Some(zhili_domain::Level::Grid),
        _ => None,
    }
}

/// One rule as the intake needs it: where it holds and the level it gives. The
/// intake reads the rules of a whole batch's categories in one statement and picks
/// each event's rule in memory ([`most_specific`]); the lead unit is only needed
/// when someone dispatches.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct MatrixEntry {
    pub id: i64,
    pub category_id: i64,
    pub area_id: Option<i64>,
    pub area_kind: Option<String>,
    pub level: String,
}

/// The rules of these categories, every area.
pub(crate) async fn matrix_of<T: Tx>(
    tx: &mut T,
    categories: &[i64],
) -> Result<Vec<MatrixEntry>, StoreError> {
    let mut out = Vec::new();
    for chunk in categories.chunks(500) {
        let mut q = Sql::new(
            "SELECT r.id, r.category_id, r.area_id, a.kind AS area_kind, r.level \
             FROM routing_rules r LEFT JOIN orgs a ON a.id = r.area_id WHERE r.category_id IN ",
        );
        q.list(chunk.iter().copied().map(Arg::I64));
        out.extend(tx.bulk_rows::<MatrixEntry>(q).await?);
    }
    Ok(out)
}

/// The most specific of a category's rules that holds at a place — the grid's, else
/// the village's, else the township's, else the city-wide one.
pub(crate) fn most_specific(
    rules: &[MatrixEntry],
    (township, village, grid): (i64, Option<i64>, Option<i64>),
) -> Option<&MatrixEntry> {
    rules
        .iter()
        .filter(|r| match r.area_id {
            None => true,
            Some(a) => a == township || Some(a) == village || Some(a) == grid,
        })
        .max_by_key(|r| (specificity(r.area_kind.as_deref()), r.id))
}

/// A rule as an admin enters it, by codes (as in the Excel file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleInput {
    /// A 小类 code.
    pub category: String,
    /// A grid, village or township code; `None` (or blank) for the whole city.
    pub area: Option<String>,
    pub lead_unit: String,
    pub assisting_units: Vec<String>,
    /// A [`RuleLevel`] code or label.
    pub level: String,
    pub note: Option<String>,
}

/// One row of an imported matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLine {
    /// The row number as the user sees it in the file.
    pub row: usize,
    pub rule: RuleInput,
}

/// What happened to dispatches of the events a rule sent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RuleStats {
    /// Dispatches of events the rule routed.
    pub dispatches: i64,
    /// Of those, the ones to the rule's lead unit.
    pub followed: i64,
    /// Of those, the ones the lead unit returned (退回).
    pub returned: i64,
    /// returned / followed; `None` before any dispatch followed the rule.
    pub misrouting_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutingRule {
    pub id: i64,
    pub category: Named,
    /// `None` for the whole city.
    pub area: Option<Named>,
    /// How specific the area is: grid, village, township, or city (全市).
    pub area_kind: Coded,
    pub lead_unit: Named,
    pub assisting_units: Vec<Named>,
    pub level: Coded,
    pub note: Option<String>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
    pub stats: RuleStats,
}

impl RoutingRule {
    /// The rule as it would be entered again (what an export writes).
    pub fn input(&self) -> RuleInput {
        RuleInput {
            category: self.category.code.clone(),
            area: self.area.as_ref().map(|a| a.code.clone()),
            lead_unit: self.lead_unit.code.clone(),
            assisting_units: self
                .assisting_units
                .iter()
                .map(|u| u.code.clone())
                .collect(),
            level: self.level.code.to_string(),
            note: self.note.clone(),
        }
    }
}

/// Narrows a list of rules.
#[derive(Debug, Clone, Default)]
pub struct RuleFilter {
    /// A 小类 code, or a 大类 code for all its 小类.
    pub category: Option<String>,
    /// The rules of exactly this area; `city` for the city-wide ones.
    pub area: Option<String>,
}

/// One change to the matrix, from the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleChange {
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub action: String,
    pub rule_id: Option<i64>,
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportOutcome {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
}

/// An import that stored nothing: every bad row, in row order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRefused {
    pub bad_rows: Vec<BadRow>,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    category_id: i64,
    category_code: String,
    category_name: String,
    area_id: Option<i64>,
    area_code: Option<String>,
    area_name: Option<String>,
    area_kind: Option<String>,
    lead_unit_id: i64,
    lead_code: String,
    lead_name: String,
    level: String,
    note: Option<String>,
    updated_by: String,
    updated_at: DateTime<Utc>,
    dispatches: i64,
    followed: i64,
    returned: i64,
}

const RULE_SELECT: &str = "SELECT r.id, r.category_id, c.code AS category_code, c.name AS category_name, \
 r.area_id, a.code AS area_code, a.name AS area_name, a.kind AS area_kind, \
 r.lead_unit_id, u.code AS lead_code, u.name AS lead_name, r.level, r.note, r.updated_by, r.updated_at, \
 (SELECT COUNT(*) FROM routing_dispatches d WHERE d.rule_id = r.id) AS dispatches, \
 (SELECT COUNT(*) FROM routing_dispatches d WHERE d.rule_id = r.id AND d.followed) AS followed, \
 (SELECT COUNT(*) FROM routing_dispatches d WHERE d.rule_id = r.id AND d.followed \
 AND d.returned_at IS NOT NULL) AS returned \
 FROM routing_rules r JOIN categories c ON c.id = r.category_id LEFT JOIN orgs a ON a.id = r.area_id \
 JOIN orgs u ON u.id = r.lead_unit_id";

const RULE_ORDER: &str = " ORDER BY c.code, CASE WHEN a.kind IS NULL THEN 0 WHEN a.kind = 'township' THEN 1 \
 WHEN a.kind = 'village' THEN 2 ELSE 3 END, a.code, r.id";

#[derive(sqlx::FromRow)]
struct UnitRow {
    rule_id: i64,
    id: i64,
    code: String,
    name: String,
}

fn parse_level(code: &str) -> Result<RuleLevel, StoreError> {
    RuleLevel::parse(code).ok_or_else(|| StoreError::Corrupt(format!("routing level {code}")))
}

async fn units_of<T: Tx>(tx: &mut T, rules: &[i64]) -> Result<Vec<UnitRow>, StoreError> {
    let mut out = Vec::new();
    // A bounded IN list per statement, whatever the size of the matrix.
    for chunk in rules.chunks(500) {
        let mut q = Sql::new(
            "SELECT ru.rule_id, o.id, o.code, o.name FROM routing_rule_units ru \
             JOIN orgs o ON o.id = ru.unit_id WHERE ru.rule_id IN ",
        );
        q.list(chunk.iter().map(|i| Arg::I64(*i)));
        q.push(" ORDER BY ru.rule_id, ru.seq");
        out.extend(tx.rows::<UnitRow>(q).await?);
    }
    Ok(out)
}

async fn load_rules<T: Tx>(tx: &mut T, q: Sql) -> Result<Vec<RoutingRule>, StoreError> {
    let rows: Vec<RuleRow> = tx.rows(q).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut units: HashMap<i64, Vec<Named>> = HashMap::new();
    for u in units_of(tx, &ids).await? {
        units.entry(u.rule_id).or_default().push(Named {
            id: u.id,
            code: u.code,
            name: u.name,
        });
    }
    rows.into_iter()
        .map(|r| {
            let level = parse_level(&r.level)?;
            Ok(RoutingRule {
                assisting_units: units.remove(&r.id).unwrap_or_default(),
                id: r.id,
                category: Named {
                    id: r.category_id,
                    code: r.category_code,
                    name: r.category_name,
                },
                area_kind: area_kind(r.area_kind.as_deref()),
                area: match (r.area_id, r.area_code, r.area_name) {
                    (Some(id), Some(code), Some(name)) => Some(Named { id, code, name }),
                    _ => None,
                },
                lead_unit: Named {
                    id: r.lead_unit_id,
                    code: r.lead_code,
                    name: r.lead_name,
                },
                level: level.coded(),
                note: r.note,
                updated_by: r.updated_by,
                updated_at: r.updated_at,
                stats: RuleStats {
                    dispatches: r.dispatches,
                    followed: r.followed,
                    returned: r.returned,
                    misrouting_rate: (r.followed > 0)
                        .then(|| r.returned as f64 / r.followed as f64),
                },
            })
        })
        .collect()
}

async fn rule_by_id<T: Tx>(tx: &mut T, id: i64) -> Result<Option<RoutingRule>, StoreError> {
    let mut q = Sql::new(RULE_SELECT);
    q.push(" WHERE r.id = ").arg(Arg::I64(id));
    Ok(load_rules(tx, q).await?.pop())
}

fn suggestion_of(rule: RoutingRule) -> RouteSuggestion {
    RouteSuggestion {
        rule_id: Some(rule.id),
        source: Coded {
            code: "rule",
            label: "分派规则",
        },
        area: rule.area,
        lead_unit: rule.lead_unit,
        assisting_units: rule.assisting_units,
        level: rule.level,
        note: rule.note,
    }
}

/// The most specific rule for a category at a place — the grid's, else the village's,
/// else the township's, else the city-wide one — or, with no rule, the category's own
/// department as a city-level suggestion without a rule id. `None` when the category
/// has neither.
///
/// Reads only, so any transaction may ask: whoever sets an event's category calls it
/// to route the event anew (store the returned `rule_id` in `events.routing_rule_id`).
/// The intake itself only needs the rule and its level ([`most_specific`]).
pub(crate) async fn suggest_route<T: Tx>(
    tx: &mut T,
    category_id: i64,
    township_id: i64,
    village_id: Option<i64>,
    grid_id: Option<i64>,
) -> Result<Option<RouteSuggestion>, StoreError> {
    let rules = matrix_of(tx, &[category_id]).await?;
    if let Some(m) = most_specific(&rules, (township_id, village_id, grid_id))
        && let Some(rule) = rule_by_id(tx, m.id).await?
    {
        return Ok(Some(suggestion_of(rule)));
    }
    let mut q = Sql::new(
        "SELECT o.id, o.code, o.name FROM categories c JOIN orgs o ON o.id = c.department_id \
         WHERE c.id = ",
    );
    q.arg(Arg::I64(category_id));
    let dept: Option<(i64, String, String)> = tx.rows(q).await?.into_iter().next();
    Ok(dept.map(|(id, code, name)| RouteSuggestion {
        rule_id: None,
        source: Coded {
            code: "category_default",
            label: "类别默认部门",
        },
        area: None,
        lead_unit: Named { id, code, name },
        assisting_units: Vec::new(),
        level: RuleLevel::City.coded(),
        note: None,
    }))
}

/// Routes a stored event again (after its category was set or changed): stores the
/// rule the matrix now suggests in `events.routing_rule_id` and returns the
/// suggestion. Call it in the transaction that changes the category. The event's
/// level is left as it is: moving a running event to the city is an escalation.
pub(crate) async fn reroute<T: Tx>(
    tx: &mut T,
    event_id: i64,
    category_id: i64,
    township_id: i64,
    village_id: Option<i64>,
    grid_id: Option<i64>,
) -> Result<Option<RouteSuggestion>, StoreError> {
    let route = suggest_route(tx, category_id, township_id, village_id, grid_id).await?;
    let mut q = Sql::new("UPDATE events SET routing_rule_id = ");
    q.arg(Arg::OptI64(route.as_ref().and_then(|r| r.rule_id)))
        .push(" WHERE id = ")
        .arg(Arg::I64(event_id));
    tx.exec(q).await?;
    Ok(route)
}

/// The suggestion for a stored event: the rule that routed it while that rule exists,
/// else what the matrix suggests now. The event page shows this, and a dispatch is
/// counted against the rule it names.
pub(crate) async fn event_route<T: Tx>(
    tx: &mut T,
    row: &EventRow,
) -> Result<Option<RouteSuggestion>, StoreError> {
    if let Some(id) = row.routing_rule_id
        && let Some(rule) = rule_by_id(tx, id).await?
    {
        return Ok(Some(suggestion_of(rule)));
    }
    match row.category_id {
        Some(c) => suggest_route(tx, c, row.township_id, row.village_id, row.grid_id).await,
        None => Ok(None),
    }
}

/// On a dispatch (in the lifecycle transaction): whether it follows the lead unit of
/// the rule that routed the event. Dispatches without a rule are not counted.
pub(crate) async fn record_dispatch<T: Tx>(
    tx: &mut T,
    row: &EventRow,
    lead_unit: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(route) = event_route(tx, row).await? else {
        return Ok(());
    };
    let Some(rule_id) = route.rule_id else {
        return Ok(());
    };
    let mut q = Sql::new(
        "INSERT INTO routing_dispatches (event_id, rule_id, lead_unit_id, suggested_id, followed, \
         dispatched_at) VALUES ",
    );
    q.list([
        Arg::I64(row.id),
        Arg::I64(rule_id),
        Arg::I64(lead_unit),
        Arg::I64(route.lead_unit.id),
        Arg::Bool(route.lead_unit.id == lead_unit),
        Arg::Time(now),
    ]);
    tx.exec(q).await?;
    Ok(())
}

/// On a return (退回) by the lead unit: its dispatch, the event's latest, was returned.
pub(crate) async fn record_return<T: Tx>(
    tx: &mut T,
    row: &EventRow,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(lead) = row.lead_unit_id else {
        return Ok(());
    };
    let mut q = Sql::new("UPDATE routing_dispatches SET returned_at = ");
    q.arg(Arg::Time(now))
        .push(" WHERE id = (SELECT MAX(id) FROM routing_dispatches WHERE event_id = ")
        .arg(Arg::I64(row.id))
        .push(") AND returned_at IS NULL AND lead_unit_id = ")
        .arg(Arg::I64(lead));
    tx.exec(q).await?;
    Ok(())
}

/// A rule checked against the reference data, by ids.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolved {
    category_id: i64,
    area_id: Option<i64>,
    lead: i64,
    assisting: Vec<i64>,
    level: RuleLevel,
    note: Option<String>,
}

const MAX_NOTE: usize = 500;

/// Checks a rule: the category is a 小类, the area a grid, village or township, the
/// units are units, and a stationed unit or township office serves only rules inside
/// its own township (as a dispatch would require). Refusals name the field.
async fn resolve<T: Tx>(tx: &mut T, input: &RuleInput) -> Result<Resolved, StoreError> {
    let code = input.category.trim();
    if code.is_empty() {
        return Err(StoreError::invalid(
            "category",
            "请填写事件类别（小类）编码",
        ));
    }
    let (category, has_children) = category_by_code(tx, code)
        .await?
        .ok_or_else(|| StoreError::invalid("category", format!("未知事件类别 {code}")))?;
    if has_children {
        return Err(StoreError::invalid(
            "category",
            format!("{code} {} 是大类，请选择小类", category.name),
        ));
    }
    let area = match input
        .area
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        None => None,
        Some(code) => {
            let org = org_by_code(tx, code)
                .await?
                .ok_or_else(|| StoreError::invalid("area", format!("未知区域编码 {code}")))?;
            if !matches!(
                org.kind,
                OrgKind::Grid | OrgKind::Village | OrgKind::Township
            ) {
                return Err(StoreError::invalid(
                    "area",
                    format!(
                        "{} 是{}，区域须为网格、村（社区）或乡镇（街道），留空表示全市",
                        org.name,
                        org.kind.label_zh()
                    ),
                ));
            }
            Some(org)
        }
    };
    let township = area.as_ref().and_then(|a| match a.kind {
        OrgKind::Township => Some(a.id),
        _ => a.township_id,
    });
    let unit = async |tx: &mut T, field: &str, code: &str| -> Result<i64, StoreError> {
        let code = code.trim();
        if code.is_empty() {
            return Err(StoreError::invalid(field, "请填写单位编码"));
        }
        let org = org_by_code(tx, code)
            .await?
            .ok_or_else(|| StoreError::invalid(field, format!("未知单位编码 {code}")))?;
        if !org.kind.is_unit() {
            return Err(StoreError::invalid(
                field,
                format!("{} 是{}，不是可分派的单位", org.name, org.kind.label_zh()),
            ));
        }
        if org.kind != OrgKind::Department && (township.is_none() || org.township_id != township) {
            return Err(StoreError::invalid(
                field,
                format!(
                    "{} 是{}，只能用于其所在乡镇（街道）内的规则",
                    org.name,
                    org.kind.label_zh()
                ),
            ));
        }
        Ok(org.id.0)
    };
    let lead = unit(tx, "lead_unit", &input.lead_unit).await?;
    let mut assisting = Vec::new();
    for code in input
        .assisting_units
        .iter()
        .filter(|c| !c.trim().is_empty())
    {
        let id = unit(tx, "assisting_units", code).await?;
        if id == lead {
            return Err(StoreError::invalid(
                "assisting_units",
                format!("{} 已是主办单位，不能同时协办", code.trim()),
            ));
        }
        if assisting.contains(&id) {
            return Err(StoreError::invalid(
                "assisting_units",
                format!("{} 重复", code.trim()),
            ));
        }
        assisting.push(id);
    }
    let level = RuleLevel::parse(&input.level).ok_or_else(|| {
        StoreError::invalid("level", "层级须为 网格、村（社区）、乡镇（街道）或 市")
    })?;
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(StoreError::invalid(
            "note",
            format!("备注不能超过 {MAX_NOTE} 字"),
        ));
    }
    Ok(Resolved {
        category_id: category.id.0,
        area_id: area.map(|a| a.id.0),
        lead,
        assisting,
        level,
        note,
    })
}

fn duplicate(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate {
            field: "area".into(),
        },
        _ => StoreError::Database(e),
    }
}

async fn insert_rule<T: Tx>(
    tx: &mut T,
    r: &Resolved,
    by: &Acting,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let mut q = Sql::new(
        "INSERT INTO routing_rules (category_id, area_id, lead_unit_id, level, note, updated_by, updated_at) \
         VALUES ",
    );
    q.list([
        Arg::I64(r.category_id),
        Arg::OptI64(r.area_id),
        Arg::I64(r.lead),
        Arg::Text(r.level.code().into()),
        Arg::OptText(r.note.clone()),
        Arg::Text(by.name.clone()),
        Arg::Time(now),
    ])
    .push(" RETURNING id");
    let (id,) = tx
        .rows::<(i64,)>(q)
        .await
        .map_err(duplicate)?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Corrupt("insert returned no rule".into()))?;
    set_units(tx, id, &r.assisting).await?;
    Ok(id)
}

async fn update_rule<T: Tx>(
    tx: &mut T,
    id: i64,
    r: &Resolved,
    by: &Acting,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut q = Sql::new("UPDATE routing_rules SET category_id = ");
    q.arg(Arg::I64(r.category_id))
        .push(", area_id = ")
        .arg(Arg::OptI64(r.area_id))
        .push(", lead_unit_id = ")
        .arg(Arg::I64(r.lead))
        .push(", level = ")
        .arg(Arg::Text(r.level.code().into()))
        .push(", note = ")
        .arg(Arg::OptText(r.note.clone()))
        .push(", updated_by = ")
        .arg(Arg::Text(by.name.clone()))
        .push(", updated_at = ")
        .arg(Arg::Time(now))
        .push(" WHERE id = ")
        .arg(Arg::I64(id));
    if tx.exec(q).await.map_err(duplicate)? == 0 {
        return Err(StoreError::NotFound);
    }
    set_units(tx, id, &r.assisting).await
}

async fn set_units<T: Tx>(tx: &mut T, rule: i64, units: &[i64]) -> Result<(), StoreError> {
    let mut q = Sql::new("DELETE FROM routing_rule_units WHERE rule_id = ");
    q.arg(Arg::I64(rule));
    tx.exec(q).await?;
    if units.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new("INSERT INTO routing_rule_units (rule_id, unit_id, seq) VALUES ");
    q.rows(
        units
            .iter()
            .enumerate()
            .map(|(i, u)| [Arg::I64(rule), Arg::I64(*u), Arg::I64(i as i64)]),
    );
    tx.exec(q).await?;
    Ok(())
}

async fn delete_rule<T: Tx>(tx: &mut T, id: i64) -> Result<u64, StoreError> {
    let mut q = Sql::new("DELETE FROM routing_rule_units WHERE rule_id = ");
    q.arg(Arg::I64(id));
    tx.exec(q).await?;
    let mut q = Sql::new("DELETE FROM routing_rules WHERE id = ");
    q.arg(Arg::I64(id));
    Ok(tx.exec(q).await?)
}

fn audit(
    by: &Acting,
    action: &str,
    id: Option<i64>,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> AuditRecord {
    AuditRecord {
        at: now,
        actor: by.clone(),
        action: format!("routing.{action}"),
        object_type: "routing_rule",
        object_id: id.map(|i| i.to_string()),
        detail: Some(detail),
    }
}

fn describe(input: &RuleInput) -> serde_json::Value {
    serde_json::json!({
        "category": input.category.trim(),
        "area": input.area.as_deref().map(str::trim).filter(|a| !a.is_empty()),
        "lead_unit": input.lead_unit.trim(),
        "assisting_units": input.assisting_units.iter().map(|u| u.trim()).filter(|u| !u.is_empty()).collect::<Vec<_>>(),
        "level": input.level.trim(),
        "note": input.note,
    })
}

impl Store {
    /// The matrix for an actor: staff read it, only admins change it.
    pub fn routing_for(&self, actor: &Actor) -> RoutingRepo<'_> {
        RoutingRepo {
            store: self,
            acting: Acting::from(actor),
            role: Some(actor.role),
        }
    }

    /// The matrix for a trusted loader (the demo, the CLI), which may change it.
    pub fn routing_loader(&self, acting: Acting) -> RoutingRepo<'_> {
        RoutingRepo {
            store: self,
            acting,
            role: None,
        }
    }
}

/// Reading and changing the matrix as one actor.
pub struct RoutingRepo<'a> {
    store: &'a Store,
    acting: Acting,
    /// `None` for a trusted loader.
    role: Option<Role>,
}

impl RoutingRepo<'_> {
    /// Staff who dispatch, handle or oversee events read the matrix.
    pub fn may_read(&self) -> bool {
        !matches!(
            self.role,
            Some(Role::Citizen | Role::GridWorker | Role::Integration)
        )
    }

    pub fn may_edit(&self) -> bool {
        matches!(self.role, None | Some(Role::Admin))
    }

    fn check_read(&self) -> Result<(), StoreError> {
        if self.may_read() {
            Ok(())
        } else {
            Err(StoreError::invalid("role", "无权查看分派规则"))
        }
    }

    fn check_edit(&self) -> Result<(), StoreError> {
        if self.may_edit() {
            Ok(())
        } else {
            Err(StoreError::invalid(
                "role",
                "只有系统管理员可以修改分派规则",
            ))
        }
    }

    pub async fn list(&self, f: &RuleFilter) -> Result<Vec<RoutingRule>, StoreError> {
        self.check_read()?;
        let mut q = Sql::new(RULE_SELECT);
        q.push(" WHERE 1 = 1");
        if let Some(c) = f
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            q.push(" AND (c.code = ")
                .arg(Arg::Text(c.into()))
                .push(" OR c.parent_id IN (SELECT p.id FROM categories p WHERE p.code = ")
                .arg(Arg::Text(c.into()))
                .push("))");
        }
        match f.area.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            None => {}
            Some("city") => {
                q.push(" AND r.area_id IS NULL");
            }
            Some(a) => {
                q.push(" AND a.code = ").arg(Arg::Text(a.into()));
            }
        }
        q.push(RULE_ORDER);
        in_tx!(self.store, Read, |tx| load_rules(&mut tx, q).await)
    }

    pub async fn get(&self, id: i64) -> Result<RoutingRule, StoreError> {
        self.check_read()?;
        in_tx!(self.store, Read, |tx| rule_by_id(&mut tx, id).await)?.ok_or(StoreError::NotFound)
    }

    /// Adds a rule; a second rule for the same (category, area) is a duplicate.
    pub async fn create(
        &self,
        input: &RuleInput,
        now: DateTime<Utc>,
    ) -> Result<RoutingRule, StoreError> {
        self.check_edit()?;
        let by = &self.acting;
        let id = in_tx!(self.store, Write, |tx| {
            let r = resolve(&mut tx, input).await?;
            let id = insert_rule(&mut tx, &r, by, now).await?;
            tx.insert_audit(&audit(by, "create", Some(id), describe(input), now))
                .await?;
            Ok::<_, StoreError>(id)
        })?;
        self.get_unchecked(id).await
    }

    pub async fn update(
        &self,
        id: i64,
        input: &RuleInput,
        now: DateTime<Utc>,
    ) -> Result<RoutingRule, StoreError> {
        self.check_edit()?;
        let by = &self.acting;
        in_tx!(self.store, Write, |tx| {
            let r = resolve(&mut tx, input).await?;
            update_rule(&mut tx, id, &r, by, now).await?;
            tx.insert_audit(&audit(by, "update", Some(id), describe(input), now))
                .await?;
            Ok::<_, StoreError>(())
        })?;
        self.get_unchecked(id).await
    }

    /// Deletes a rule. Events it routed keep its id, and its counted dispatches stay.
    pub async fn delete(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.check_edit()?;
        let by = &self.acting;
        in_tx!(self.store, Write, |tx| {
            let Some(old) = rule_by_id(&mut tx, id).await? else {
                return Err(StoreError::NotFound);
            };
            delete_rule(&mut tx, id).await?;
            tx.insert_audit(&audit(by, "delete", Some(id), describe(&old.input()), now))
                .await?;
            Ok(())
        })
    }

    async fn get_unchecked(&self, id: i64) -> Result<RoutingRule, StoreError> {
        in_tx!(self.store, Read, |tx| rule_by_id(&mut tx, id).await)?.ok_or(StoreError::NotFound)
    }

    /// Replaces the whole matrix with the rows of a file, in one transaction, or
    /// stores nothing and returns every bad row (with those the file reader already
    /// refused, `bad_rows`). A rule whose (category, area) is in the file keeps its id
    /// and its counts, and is updated only if it changed; rules not in the file are
    /// deleted.
    pub async fn import(
        &self,
        lines: &[RuleLine],
        bad_rows: Vec<BadRow>,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<ImportOutcome, ImportRefused>, StoreError> {
        self.check_edit()?;
        let by = &self.acting;
        // A refusal or an error leaves through `return` or `?`, dropping the
        // transaction: nothing is stored.
        in_tx!(self.store, Write, |tx| {
            let mut bad = bad_rows;
            let mut good: Vec<(usize, Resolved)> = Vec::new();
            let mut first: HashMap<(i64, Option<i64>), usize> = HashMap::new();
            for l in lines {
                match resolve(&mut tx, &l.rule).await {
                    Ok(r) => {
                        if let Some(f) = first.insert((r.category_id, r.area_id), l.row) {
                            bad.push(BadRow {
                                row: l.row,
                                field: "area".into(),
                                reason: format!("与第 {f} 行的类别和区域重复"),
                            });
                        } else {
                            good.push((l.row, r));
                        }
                    }
                    Err(StoreError::Invalid { field, message }) => bad.push(BadRow {
                        row: l.row,
                        field,
                        reason: message,
                    }),
                    Err(e) => return Err(e),
                }
            }
            if !bad.is_empty() {
                bad.sort_by_key(|b| b.row);
                return Ok(Err(ImportRefused { bad_rows: bad }));
            }
            let existing = load_rules(&mut tx, Sql::new(RULE_SELECT)).await?;
            let mut by_key: HashMap<(i64, Option<i64>), Resolved> = HashMap::new();
            let mut ids: HashMap<(i64, Option<i64>), i64> = HashMap::new();
            for e in &existing {
                let key = (e.category.id, e.area.as_ref().map(|a| a.id));
                ids.insert(key, e.id);
                by_key.insert(
                    key,
                    Resolved {
                        category_id: e.category.id,
                        area_id: e.area.as_ref().map(|a| a.id),
                        lead: e.lead_unit.id,
                        assisting: e.assisting_units.iter().map(|u| u.id).collect(),
                        level: parse_level(e.level.code)?,
                        note: e.note.clone(),
                    },
                );
            }
            let mut out = ImportOutcome::default();
            let keys: std::collections::HashSet<(i64, Option<i64>)> = good
                .iter()
                .map(|(_, r)| (r.category_id, r.area_id))
                .collect();
            // Deleted first: a file may move a unit between rules freely.
            for (key, id) in &ids {
                if !keys.contains(key) {
                    delete_rule(&mut tx, *id).await?;
                    out.deleted += 1;
                }
            }
            for (_, r) in &good {
                let key = (r.category_id, r.area_id);
                match ids.get(&key) {
                    Some(_) if by_key.get(&key) == Some(r) => out.unchanged += 1,
                    Some(id) => {
                        update_rule(&mut tx, *id, r, by, now).await?;
                        out.updated += 1;
                    }
                    None => {
                        insert_rule(&mut tx, r, by, now).await?;
                        out.created += 1;
                    }
                }
            }
            tx.insert_audit(&audit(
                by,
                "import",
                None,
                serde_json::json!({
                    "source": source,
                    "rows": good.len(),
                    "created": out.created,
                    "updated": out.updated,
                    "unchanged": out.unchanged,
                    "deleted": out.deleted,
                }),
                now,
            ))
            .await?;
            Ok::<_, StoreError>(Ok(out))
        })
    }

    /// The latest changes to the matrix (from the audit log), newest first.
    pub async fn changes(&self, limit: i64) -> Result<Vec<RuleChange>, StoreError> {
        self.check_read()?;
        let mut q = Sql::new(
            "SELECT at, actor_name, action, object_id, detail FROM audit_log \
             WHERE object_type = 'routing_rule' ORDER BY id DESC LIMIT ",
        );
        q.arg(Arg::I64(limit.clamp(1, 1000)));
        type Row = (
            DateTime<Utc>,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = in_tx!(self.store, Read, |tx| tx
            .rows::<Row>(q)
            .await
            .map_err(StoreError::from))?;
        Ok(rows
            .into_iter()
            .map(|(at, actor_name, action, id, detail)| RuleChange {
                at,
                actor_name,
                action,
                rule_id: id.and_then(|i| i.parse().ok()),
                detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
            })
            .collect())
    }
}

//! A deterministic demo of 余姚市 as plain data, for trying zhili without a real city.
//!
//! [`generate`] returns the real townships and villages of 余姚市 (NBS 2023 codes,
//! embedded at compile time), synthetic grid polygons that tile them, the city
//! departments and their stationed units, a two-level event category tree, demo
//! accounts, and about 3,000 events over the year before `today`, each marked with how
//! far along its life it has got. Nothing here does IO: the consumer maps this data into
//! the database and drives each event through the lifecycle state machine.
//!
//! The output depends on `today` only through dates and the year in external ids; the
//! random choices come from one constant seed (see the private `rng` module), so the same
//! `today` gives identical output, byte for byte, on every machine.

mod categories;
mod divisions;
mod events;
pub mod population;
mod rng;
mod routing;
mod texts;
mod units;
mod users;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// Everything the demo contains.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoCity {
    /// 余姚市 itself, code "330281".
    pub city: Division,
    /// The 21 real townships and streets (乡镇 / 街道).
    pub townships: Vec<Township>,
    /// The 326 real villages and communities (村 / 社区).
    pub villages: Vec<Village>,
    pub grids: Vec<Grid>,
    /// City departments (市级部门).
    pub departments: Vec<Unit>,
    /// Units stationed in each township by city departments (派驻机构).
    pub stationed_units: Vec<StationedUnit>,
    /// A two-level tree: 大类 (`parent_code` None) first, each followed by its 小类.
    pub categories: Vec<Category>,
    pub users: Vec<DemoUser>,
    /// Sorted by `reported_at`.
    pub events: Vec<EventSeed>,
    /// The responsibility matrix (分派规则), loaded before the events.
    pub routing_rules: Vec<RoutingRuleSeed>,
}

/// One rule of the routing matrix, by codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoutingRuleSeed {
    /// A 小类.
    pub category_code: String,
    /// A township, village or grid; None for the whole city.
    pub area_code: Option<String>,
    pub lead_unit_code: String,
    pub assisting_unit_codes: Vec<String>,
    /// "grid", "village", "township" or "city".
    pub level: &'static str,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Division {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TownshipKind {
    /// 街道
    Street,
    /// 镇
    Town,
    /// 乡
    Xiang,
}

impl TownshipKind {
    /// The suffix of the township's name: 街道, 镇 or 乡.
    pub fn suffix(self) -> &'static str {
        match self {
            TownshipKind::Street => "街道",
            TownshipKind::Town => "镇",
            TownshipKind::Xiang => "乡",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Township {
    pub code: String,
    pub name: String,
    pub kind: TownshipKind,
    /// `[min_lon, min_lat, max_lon, max_lat]`, WGS-84. A synthetic placement roughly where
    /// the township lies; the townships' boxes do not overlap.
    pub bbox: [f64; 4],
}

impl Township {
    /// The name without 街道/镇/乡 ("凤山" for 凤山街道), as used in unit names.
    pub fn short_name(&self) -> &str {
        self.name
            .strip_suffix(self.kind.suffix())
            .unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Village {
    /// The 12-digit NBS code.
    pub code: String,
    /// The everyday name: "最良村" for the registered "最良村委会", "阳明东路社区" for
    /// "阳明东路居委会" (kept as 居委会 where that would clash with a 社区 of the same name).
    pub name: String,
    pub township_code: String,
    /// A community (社区 / 居委会) rather than a village (村).
    pub is_community: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grid {
    /// The village code followed by a two-digit sequence, e.g. "33028100200101".
    pub code: String,
    /// e.g. "梦麟社区第1网格".
    pub name: String,
    pub village_code: String,
    pub township_code: String,
    /// "urban_community", "urban_village", "ordinary_village" or "mountain_village".
    pub grid_type: &'static str,
    /// A closed ring (first point == last point) of `(lon, lat)`, WGS-84.
    pub polygon: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// e.g. "D-ZJ".
    pub code: String,
    /// e.g. "余姚市住房和城乡建设局".
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationedUnit {
    /// e.g. "S-330281002-PCS".
    pub code: String,
    /// e.g. "凤山派出所".
    pub name: String,
    /// The city department that stations it.
    pub department_code: String,
    pub township_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    /// "01" for a 大类, "0101" for a 小类.
    pub code: String,
    pub name: String,
    /// None for a 大类.
    pub parent_code: Option<String>,
    /// "comprehensive_governance", "market_supervision", "law_enforcement" or
    /// "public_service"; a 小类 has its 大类's platform.
    pub platform: &'static str,
    /// A focus issue (焦点问题, DOMAIN.md O6), handled under listed supervision.
    pub focus: bool,
    /// Handling limit in working days; for a 大类 the longest of its 小类.
    pub limit_days: u32,
    /// The city department usually responsible; None for a 大类.
    pub department_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoUser {
    pub username: String,
    pub display_name: String,
    /// "admin", "city_operator", "city_leader", "township_operator", "unit_handler",
    /// "grid_worker", "oversight" or "citizen".
    pub role: &'static str,
    /// Township code for a township operator, unit or stationed-unit code for a unit
    /// handler, grid code for a grid worker, None otherwise.
    pub org_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventSeed {
    /// Unique per channel, e.g. "12345-2026-000123"; numbered per channel and year in
    /// order of `reported_at`.
    pub external_id: String,
    pub channel: &'static str,
    pub reporter_kind: &'static str,
    /// None for anonymous reports.
    pub reporter_name: Option<String>,
    /// An 11-digit mobile number; None for anonymous reports and departments.
    pub reporter_phone: Option<String>,
    /// Some("citizen1") / Some("grid1") for events those demo accounts reported.
    pub reporter_username: Option<String>,
    pub text: String,
    pub address: String,
    /// A point inside the event's grid polygon.
    pub lon: f64,
    pub lat: f64,
    /// Always a 小类.
    pub category_code: String,
    pub grid_code: String,
    /// "low", "normal", "high" or "urgent".
    pub priority: &'static str,
    /// Within the 365 days before `today` (China time), never on or after it.
    pub reported_at: DateTime<Utc>,
    /// How far along its life the event has got.
    pub stage: Stage,
    /// A unit returned it once, then it was dispatched again. Only when the stage is on
    /// the main path at or past Handling.
    pub returned_once: bool,
    /// Verification failed once (返工) before passing. Only at or past Verified.
    pub reworked: bool,
    /// 1 非常满意 … 5 非常不满意. Always Some for Rated; Some or None (closed without a
    /// rating) for Closed; None otherwise.
    pub satisfaction: Option<u8>,
}

/// How far along its life an event has got. The main path is
/// Reported → Accepted → Dispatched → Handling → Resolved → Verified → Informed → Rated
/// → Closed; Rejected (not accepted) and Suspended (stopped while handling) leave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Stage {
    Reported,
    Accepted,
    Rejected,
    Dispatched,
    Handling,
    Resolved,
    Verified,
    Informed,
    Rated,
    Closed,
    Suspended,
}

impl Stage {
    pub const ALL: [Stage; 11] = [
        Stage::Reported,
        Stage::Accepted,
        Stage::Rejected,
        Stage::Dispatched,
        Stage::Handling,
        Stage::Resolved,
        Stage::Verified,
        Stage::Informed,
        Stage::Rated,
        Stage::Closed,
        Stage::Suspended,
    ];

    /// The position on the main path, None for Rejected and Suspended.
    pub fn step(self) -> Option<u8> {
        match self {
            Stage::Reported => Some(0),
            Stage::Accepted => Some(1),
            Stage::Dispatched => Some(2),
            Stage::Handling => Some(3),
            Stage::Resolved => Some(4),
            Stage::Verified => Some(5),
            Stage::Informed => Some(6),
            Stage::Rated => Some(7),
            Stage::Closed => Some(8),
            Stage::Rejected | Stage::Suspended => None,
        }
    }

    /// Whether an event at this stage has gone through `other` on the main path.
    /// False whenever either is off the main path (unless they are equal).
    pub fn has_reached(self, other: Stage) -> bool {
        match (self.step(), other.step()) {
            (Some(a), Some(b)) => a >= b,
            _ => self == other,
        }
    }
}

/// Generates the demo city. The same `today` gives identical output.
pub fn generate(today: NaiveDate) -> DemoCity {
    let divisions = divisions::build();
    let departments = units::departments();
    let stationed_units = units::stationed_units(&divisions.townships);
    let categories = categories::tree();
    let users = users::accounts(&divisions);
    let events = events::generate(today, &divisions);
    let routing_rules = routing::rules(
        &categories,
        &divisions.townships,
        &divisions.villages,
        &divisions.grids,
        &stationed_units,
    );
    DemoCity {
        city: divisions.city,
        townships: divisions.townships,
        villages: divisions.villages,
        grids: divisions.grids,
        departments,
        stationed_units,
        categories,
        users,
        events,
        routing_rules,
    }
}

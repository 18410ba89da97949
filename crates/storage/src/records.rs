//! What goes into storage and what comes out of it: plain records and the views the
//! server shows, already scoped and masked for the actor who asked.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::lifecycle::ExtensionRequest;
use zhili_domain::{
    Actor, CategoryId, Channel, GeoPoint, GridType, OrgId, OrgKind, Platform, Priority,
    ReporterKind, Satisfaction, Status,
};

/// An event as another record names it: its id for links, its number for people.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRef {
    pub id: i64,
    pub number: String,
}

impl EventRef {
    /// From the two columns of a LEFT JOIN on events: none when either is missing.
    pub fn of(id: Option<i64>, number: Option<String>) -> Option<EventRef> {
        Some(EventRef {
            id: id?,
            number: number?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewOrg {
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    pub parent_id: Option<OrgId>,
    pub department_id: Option<OrgId>,
    pub township_id: Option<OrgId>,
    pub grid_type: Option<GridType>,
    /// Closed ring of (lon, lat), WGS-84.
    pub polygon: Option<Vec<(f64, f64)>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Org {
    pub id: OrgId,
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    pub parent_id: Option<OrgId>,
    pub department_id: Option<OrgId>,
    pub township_id: Option<OrgId>,
    pub grid_type: Option<GridType>,
}

#[derive(Debug, Clone)]
pub struct NewCategory {
    pub code: String,
    pub name: String,
    pub parent_id: Option<CategoryId>,
    pub platform: Platform,
    pub focus: bool,
    pub limit_days: u32,
    pub department_id: Option<OrgId>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Category {
    pub id: CategoryId,
    pub code: String,
    pub name: String,
    pub parent_id: Option<CategoryId>,
    pub platform: Platform,
    pub focus: bool,
    pub limit_days: u32,
    pub department_id: Option<OrgId>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    /// An argon2id PHC string; storage never sees a password.
    pub password_hash: String,
    pub role: zhili_domain::Role,
    pub org_id: Option<OrgId>,
    /// A one-time password, to be changed at the first login.
    pub must_change_password: bool,
}

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub actor: Actor,
    pub password_hash: String,
    pub active: bool,
    /// Recent failed logins and any lock (domain/src/lockout.rs).
    pub failures: zhili_domain::LoginFailures,
    /// Password age and second factor, for the policy's gate (domain/src/credentials.rs).
    pub credentials: zhili_domain::CredentialState,
    pub totp: TotpState,
}

/// An account's TOTP authenticator (RFC 6238), as stored with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TotpState {
    /// The bound secret, base32.
    pub secret: Option<String>,
    /// A secret shown for enrolment, bound once a code from it is confirmed.
    pub pending: Option<String>,
    /// The last time step whose code was accepted: a code works once (RFC 6238 §5.2).
    pub last_step: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub credentials: zhili_domain::CredentialState,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A reference by id with the code and name people read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Named {
    pub id: i64,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coded {
    pub code: &'static str,
    pub label: &'static str,
}

impl Coded {
    pub fn of_status(s: Status) -> Self {
        Coded {
            code: s.code(),
            label: s.label_zh(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReporterView {
    pub kind: Coded,
    pub name: Option<String>,
    pub phone: Option<String>,
    /// True when name and phone were masked for this viewer.
    pub masked: bool,
    /// True when this viewer may reveal them (with a reason; audited).
    pub revealable: bool,
}

/// A reporter's contact in full, as revealed to one handler for one reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevealedContact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub reason: String,
}

/// Reporters' contacts taken out in bulk (AC-09), with who took them and why, for
/// the watermark the export carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactExport {
    pub rows: Vec<ContactRow>,
    /// Events the filter selected whose contact the exporter has no part in.
    pub withheld: usize,
    pub exported_by: String,
    pub exporter_id: i64,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactRow {
    pub number: String,
    pub category: Option<String>,
    pub status: &'static str,
    pub township: String,
    pub reported_at: DateTime<Utc>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventSummary {
    pub id: i64,
    pub number: String,
    pub channel: Coded,
    pub status: Coded,
    pub priority: Coded,
    /// The first 80 characters of the text.
    pub excerpt: String,
    pub category: Option<Named>,
    pub township: Named,
    pub grid: Option<Named>,
    pub lead_unit: Option<Named>,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Waits in the triage queue; its suggestions, best first.
    pub needs_triage: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<zhili_domain::Suggestion>,
    /// 普通 or 敏感 (AC-08).
    pub sensitivity: Coded,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub action: Coded,
    pub from_status: Option<Coded>,
    pub to_status: Coded,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventDetail {
    pub id: i64,
    pub number: String,
    pub channel: Coded,
    pub external_id: Option<String>,
    pub reporter: ReporterView,
    pub text: String,
    pub address: Option<String>,
    pub location: Option<GeoPoint>,
    pub category: Option<Named>,
    pub township: Named,
    pub village: Option<Named>,
    pub grid: Option<Named>,
    pub lead_unit: Option<Named>,
    pub assisting_units: Vec<Named>,
    pub priority: Coded,
    pub status: Coded,
    pub extension_days: u32,
    pub pending_extension: Option<ExtensionRequest>,
    pub satisfaction: Option<Coded>,
    pub return_count: u32,
    pub rework_count: u32,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When handling is due (the category's limit plus approved extensions) and when
    /// the reporter must have heard back; `deadlines_estimated` when counted without
    /// the holidays of a year not yet loaded.
    pub handle_due_at: Option<DateTime<Utc>>,
    pub feedback_due_at: Option<DateTime<Utc>>,
    pub deadlines_estimated: bool,
    /// The rung of the escalation ladder it is run at.
    pub level: Coded,
    /// Every clock that has started, with its yellow time and whether it still runs.
    pub deadlines: Vec<DeadlineView>,
    /// What the classifier suggested and why, and the operator's choice.
    pub classification: Option<zhili_domain::Classification>,
    /// Waits in the triage queue for an operator to choose its category.
    pub needs_triage: bool,
    pub timeline: Vec<TimelineEntry>,
    /// What the viewer may do now.
    pub allowed_actions: Vec<Coded>,
    /// The master this event duplicates, and (for a master) its duplicates.
    pub duplicate_of: Option<crate::chat::EventRef>,
    pub duplicates: Vec<crate::chat::EventRef>,
    /// Where the routing matrix sends it (staff only; see `routing`).
    pub routing: Option<crate::routing::RouteSuggestion>,
    /// The processing notice its reporter was given (PI-02; see `notices`); none
    /// for events from before notices were kept and for imported history.
    pub notice_version: Option<String>,
    /// 普通 or 敏感 (AC-08), and why it was last set.
    pub sensitivity: Coded,
    pub sensitivity_reason: Option<String>,
    /// The viewer runs the event and may change its label.
    pub can_label: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadlineView {
    pub clock: Coded,
    pub due_at: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
    /// False once the clock stopped (the step it times is done) or while suspended.
    pub running: bool,
}

pub(crate) fn coded_channel(c: Channel) -> Coded {
    Coded {
        code: c.code(),
        label: c.label_zh(),
    }
}
pub(crate) fn coded_sensitivity(s: zhili_domain::Sensitivity) -> Coded {
    Coded {
        code: s.code(),
        label: s.label_zh(),
    }
}
pub(crate) fn coded_priority(p: Priority) -> Coded {
    Coded {
        code: p.code(),
        label: p.label_zh(),
    }
}
pub(crate) fn coded_reporter(k: ReporterKind) -> Coded {
    Coded {
        code: k.code(),
        label: k.label_zh(),
    }
}
pub(crate) fn coded_satisfaction(s: Satisfaction) -> Coded {
    Coded {
        code: s.code(),
        label: s.label_zh(),
    }
}

/// Sort orders the event list offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    ReportedAt,
    UpdatedAt,
    Number,
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateFilter {
    Hide,
    Only,
}

/// Filters for the event list; codes as people type them.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub statuses: Vec<Status>,
    pub township: Option<String>,
    pub grid: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub channel: Option<Channel>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub text: Option<String>,
    /// Only events waiting in the triage queue.
    pub triage: bool,
    /// Leave linked duplicates out, or list only them.
    pub duplicates: Option<DuplicateFilter>,
    /// Only events past their handling deadline at this instant, with the handling
    /// clock running (the command centre's 超期).
    pub overdue_at: Option<DateTime<Utc>>,
    pub sort: SortKey,
    pub descending: bool,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// One audit record, written in the same transaction as the change it records.
/// Where it came from (the client's address, the request id) is not part of it: it
/// is taken from the request being served when the record is written
/// ([`crate::audit::RequestContext`]), so no call site can leave it out.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    /// Who, with the role and area they acted in.
    pub actor: crate::Acting,
    pub action: String,
    pub object_type: &'static str,
    pub object_id: Option<String>,
    pub detail: Option<serde_json::Value>,
}

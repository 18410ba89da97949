//! The governance domain of zhili, free of IO so it can be tested alone: who acts
//! (actors, roles, scope), on what (areas, units, categories, events), and by which
//! rules an event moves through its life.

pub mod actor;
pub mod alerts;
pub mod classification;
pub mod codes;
pub mod credentials;
pub mod duplicates;
pub mod event;
pub mod ids;
pub mod kpi;
pub mod lifecycle;
pub mod lockout;
pub mod mask;
pub mod notice;
pub mod permission;
pub mod rights;
pub mod sensitivity;
pub mod supervision;
pub mod values;

pub use actor::{AccountRefusal, Actor, Area, Capacities, Scope, may_manage_account};
pub use alerts::{AlertKind, AlertRules, Finding};
pub use classification::{
    Classification, Decision, KeywordRule, ModelOpinion, RuleMode, RuleTarget, Suggestion,
    SuggestionSource,
};
pub use codes::{
    Channel, CoordSystem, GridType, InformChannel, OrgKind, Platform, Priority, RejectReason,
    ReporterKind, Role, Satisfaction,
};
pub use credentials::{CredentialState, Gate, PasswordPolicy, PasswordProblem, check_new_password};
pub use duplicates::{DuplicateRule, best_master, text_similarity};
pub use event::{NewEvent, NewEventError, RawNewEvent, RawReporter, event_number};
pub use ids::{CategoryId, EventId, OrgId, UserId};
pub use lifecycle::{Action, ActionKind, EventState, Level, LifecycleError, Outcome, Status};
pub use lockout::{LockoutPolicy, LoginFailures};
pub use mask::mask_in_text;
pub use notice::{NoticeTerms, ProcessingNotice};
pub use permission::Permission;
pub use sensitivity::{Detected, LabelRefusal, SensitiveKind, Sensitivity, check_label_change};
pub use values::{EventText, GeoPoint, PersonName, Phone, ValueError, mask_name, mask_phone};

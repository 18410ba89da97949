//! The event lifecycle as an explicit state machine. `apply` is the only way an
//! event's state changes: it checks who may act and whether the action fits the
//! current state, and returns the new state with the timeline entry that explains it.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::actor::Capacities;
use crate::codes::{InformChannel, RejectReason, Satisfaction, coded_enum};
use crate::ids::OrgId;
use crate::supervision::SupervisionLevel;
use crate::values::EventText;

coded_enum!(Status {
    Reported = "reported" / "上报",
    Accepted = "accepted" / "已受理",
    Rejected = "rejected" / "不予受理",
    Dispatched = "dispatched" / "已分派",
    Handling = "handling" / "处置中",
    Resolved = "resolved" / "已办结",
    Verified = "verified" / "已核查",
    Informed = "informed" / "已反馈",
    Rated = "rated" / "已评价",
    Closed = "closed" / "已归档",
    Suspended = "suspended" / "挂起",
    Transferred = "transferred" / "已移交110",
});

coded_enum!(
    /// The rung of the escalation ladder an event is run at (grid → township → city).
    /// An event comes in at its township's command room; one that stays unhandled past
    /// its limit there, or needs powers the township lacks, moves up with its history.
    Level {
        Grid = "grid" / "网格",
        Township = "township" / "乡镇（街道）",
        City = "city" / "市",
    }
);

impl Level {
    /// The next rung up, or `None` at the top.
    pub fn up(self) -> Option<Level> {
        match self {
            Level::Grid => Some(Level::Township),
            Level::Township => Some(Level::City),
            Level::City => None,
        }
    }
}

coded_enum!(ActionKind {
    Accept = "accept" / "受理",
    Reject = "reject" / "不予受理",
    Dispatch = "dispatch" / "分派",
    Sign = "sign" / "签收",
    Return = "return" / "退回",
    Resolve = "resolve" / "办结",
    VerifyPass = "verify_pass" / "核查通过",
    VerifyFail = "verify_fail" / "核查不通过（返工）",
    Inform = "inform" / "反馈",
    Rate = "rate" / "评价",
    Reopen = "reopen" / "重新办理",
    Close = "close" / "归档",
    RequestExtension = "request_extension" / "申请延期",
    ApproveExtension = "approve_extension" / "同意延期",
    DenyExtension = "deny_extension" / "驳回延期",
    Suspend = "suspend" / "挂起",
    Resume = "resume" / "恢复",
    Supervise = "supervise" / "督办",
    TransferTo110 = "transfer_110" / "移交110",
    Escalate = "escalate" / "升级",
});

/// Who may take an action at all, whatever the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Operator,
    LeadUnit,
    OperatorOrReporter,
    Supervisor,
}

impl ActionKind {
    fn who(self) -> Who {
        use ActionKind::*;
        match self {
            Accept | Reject | Dispatch | VerifyPass | VerifyFail | Inform | Close
            | ApproveExtension | DenyExtension | Suspend | Resume | TransferTo110 | Escalate => {
                Who::Operator
            }
            Sign | Return | Resolve | RequestExtension => Who::LeadUnit,
            Rate | Reopen => Who::OperatorOrReporter,
            Supervise => Who::Supervisor,
        }
    }

    fn permitted(self, c: &Capacities) -> bool {
        match self.who() {
            Who::Operator => c.operator,
            Who::LeadUnit => c.lead_unit,
            Who::OperatorOrReporter => c.operator || c.reporter,
            Who::Supervisor => c.operator || c.supervisor,
        }
    }
}

/// One requested transition with its payload, as it arrives from the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Accept {
        #[serde(default)]
        note: Option<String>,
    },
    Reject {
        reason: RejectReason,
        note: String,
    },
    Dispatch {
        lead_unit: OrgId,
        #[serde(default)]
        assisting_units: Vec<OrgId>,
        #[serde(default)]
        note: Option<String>,
    },
    Sign {
        #[serde(default)]
        note: Option<String>,
    },
    Return {
        reason: String,
    },
    Resolve {
        result: String,
        #[serde(default)]
        photos: Vec<String>,
    },
    VerifyPass {
        #[serde(default)]
        note: Option<String>,
    },
    VerifyFail {
        reason: String,
    },
    Inform {
        channel: InformChannel,
        #[serde(default)]
        note: Option<String>,
    },
    Rate {
        satisfaction: Satisfaction,
        #[serde(default)]
        comment: Option<String>,
    },
    Reopen {
        reason: String,
    },
    Close {
        #[serde(default)]
        note: Option<String>,
    },
    RequestExtension {
        days: u32,
        reason: String,
    },
    ApproveExtension {
        #[serde(default)]
        note: Option<String>,
    },
    DenyExtension {
        reason: String,
    },
    Suspend {
        reason: String,
    },
    Resume {
        #[serde(default)]
        note: Option<String>,
    },
    /// Issues a supervision order (督办单); see `crate::supervision`.
    Supervise {
        #[serde(default)]
        level: SupervisionLevel,
        /// The day (China time, `YYYY-MM-DD`) by which the supervised answer is due;
        /// text here so that a bad date is refused naming this field.
        due_date: String,
        note: String,
        /// The responsible leader: required for 包案督办, and for 挂牌督办 of a focus issue.
        #[serde(default)]
        leader: Option<String>,
    },
    /// A police matter (D3): handed to 110 through the exchange, tracked until 110
    /// acknowledges it.
    #[serde(rename = "transfer_110")]
    TransferTo110 {
        reason: String,
    },
    /// Up one rung of the escalation ladder: by an operator whose level lacks the
    /// powers, or by the deadline sweep when the event is overdue.
    Escalate {
        reason: String,
    },
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        use ActionKind as K;
        match self {
            Action::Accept { .. } => K::Accept,
            Action::Reject { .. } => K::Reject,
            Action::Dispatch { .. } => K::Dispatch,
            Action::Sign { .. } => K::Sign,
            Action::Return { .. } => K::Return,
            Action::Resolve { .. } => K::Resolve,
            Action::VerifyPass { .. } => K::VerifyPass,
            Action::VerifyFail { .. } => K::VerifyFail,
            Action::Inform { .. } => K::Inform,
            Action::Rate { .. } => K::Rate,
            Action::Reopen { .. } => K::Reopen,
            Action::Close { .. } => K::Close,
            Action::RequestExtension { .. } => K::RequestExtension,
            Action::ApproveExtension { .. } => K::ApproveExtension,
            Action::DenyExtension { .. } => K::DenyExtension,
            Action::Suspend { .. } => K::Suspend,
            Action::Resume { .. } => K::Resume,
            Action::Supervise { .. } => K::Supervise,
            Action::TransferTo110 { .. } => K::TransferTo110,
            Action::Escalate { .. } => K::Escalate,
        }
    }

    /// The human note the timeline shows for this action.
    pub fn note(&self) -> Option<&str> {
        match self {
            Action::Accept { note }
            | Action::Dispatch { note, .. }
            | Action::Sign { note }
            | Action::VerifyPass { note }
            | Action::Inform { note, .. }
            | Action::Close { note }
            | Action::ApproveExtension { note }
            | Action::Resume { note } => note.as_deref(),
            Action::Reject { note, .. } => Some(note),
            Action::Return { reason }
            | Action::VerifyFail { reason }
            | Action::Reopen { reason }
            | Action::RequestExtension { reason, .. }
            | Action::DenyExtension { reason }
            | Action::Suspend { reason }
            | Action::TransferTo110 { reason }
            | Action::Escalate { reason } => Some(reason),
            Action::Resolve { result, .. } => Some(result),
            Action::Rate { comment, .. } => comment.as_deref(),
            Action::Supervise { note, .. } => Some(note),
        }
    }

    /// Checks the payload on its own, before any state is looked at.
    fn validate(&self) -> Result<(), LifecycleError> {
        const NOTE_MAX: usize = 2_000;
        let required = |field: &'static str, v: &str| {
            EventText::parse_max(v, NOTE_MAX)
                .map(|_| ())
                .map_err(|e| LifecycleError::Invalid {
                    field,
                    message: e.to_string(),
                })
        };
        let optional = |field: &'static str, v: &Option<String>| match v {
            Some(s) if s.chars().count() > NOTE_MAX => Err(LifecycleError::Invalid {
                field,
                message: format!("不能超过 {NOTE_MAX} 个字符"),
            }),
            _ => Ok(()),
        };
        match self {
            Action::Reject { note, .. } => required("note", note),
            Action::Return { reason }
            | Action::VerifyFail { reason }
            | Action::Reopen { reason }
            | Action::DenyExtension { reason }
            | Action::Suspend { reason }
            | Action::TransferTo110 { reason }
            | Action::Escalate { reason } => required("reason", reason),
            Action::Supervise {
                level,
                due_date,
                note,
                leader,
            } => crate::supervision::parse_due_date(due_date)
                .and_then(|_| crate::supervision::check_order(*level, note, leader.as_deref()))
                .map_err(|e| LifecycleError::Invalid {
                    field: e.field,
                    message: e.message,
                }),
            Action::Resolve { result, photos } => {
                required("result", result)?;
                if photos.len() > 20 {
                    return Err(LifecycleError::Invalid {
                        field: "photos",
                        message: "最多 20 张照片".into(),
                    });
                }
                Ok(())
            }
            Action::RequestExtension { days, reason } => {
                if !(1..=60).contains(days) {
                    return Err(LifecycleError::Invalid {
                        field: "days",
                        message: "延期天数须在 1–60 个工作日之间".into(),
                    });
                }
                required("reason", reason)
            }
            Action::Dispatch {
                lead_unit,
                assisting_units,
                note,
            } => {
                if assisting_units.contains(lead_unit) {
                    return Err(LifecycleError::Invalid {
                        field: "assisting_units",
                        message: "协办单位不能与主办单位相同".into(),
                    });
                }
                if assisting_units.len() > 10 {
                    return Err(LifecycleError::Invalid {
                        field: "assisting_units",
                        message: "协办单位最多 10 个".into(),
                    });
                }
                optional("note", note)
            }
            Action::Accept { note }
            | Action::Sign { note }
            | Action::VerifyPass { note }
            | Action::Inform { note, .. }
            | Action::Close { note }
            | Action::ApproveExtension { note }
            | Action::Resume { note } => optional("note", note),
            Action::Rate { comment, .. } => optional("comment", comment),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionRequest {
    pub days: u32,
    pub reason: String,
}

/// Everything the lifecycle rules need to know about an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventState {
    pub status: Status,
    pub lead_unit: Option<OrgId>,
    pub assisting_units: Vec<OrgId>,
    /// Where a suspended event goes back to on resume.
    pub suspended_from: Option<Status>,
    pub pending_extension: Option<ExtensionRequest>,
    /// Working days granted by approved extensions, in total.
    pub extension_days: u32,
    pub satisfaction: Option<Satisfaction>,
    pub return_count: u32,
    pub rework_count: u32,
    /// The rung the event is run at; older stored states predate the ladder.
    #[serde(default = "Level::starting")]
    pub level: Level,
    /// Working days the event spent suspended: they move its handling deadline. Counted
    /// by storage on resume, which knows the calendar.
    #[serde(default)]
    pub suspended_days: u32,
}

impl EventState {
    pub fn new() -> Self {
        EventState {
            status: Status::Reported,
            lead_unit: None,
            assisting_units: Vec::new(),
            suspended_from: None,
            pending_extension: None,
            extension_days: 0,
            satisfaction: None,
            return_count: 0,
            rework_count: 0,
            level: Level::starting(),
            suspended_days: 0,
        }
    }

    /// The actions that fit the current state, whoever takes them.
    fn fits(&self, kind: ActionKind) -> bool {
        use ActionKind::*;
        use Status as S;
        let s = self.status;
        match kind {
            Accept | Reject => s == S::Reported,
            Dispatch => matches!(s, S::Accepted | S::Dispatched),
            Sign => s == S::Dispatched,
            Return => matches!(s, S::Dispatched | S::Handling),
            Resolve => s == S::Handling && self.pending_extension.is_none(),
            VerifyPass | VerifyFail => s == S::Resolved,
            Inform => s == S::Verified,
            Rate => s == S::Informed,
            Reopen => s == S::Rated && self.satisfaction.is_some_and(|x| x.is_dissatisfied()),
            Close => matches!(s, S::Rated | S::Informed | S::Rejected | S::Transferred),
            RequestExtension => s == S::Handling && self.pending_extension.is_none(),
            ApproveExtension | DenyExtension => {
                s == S::Handling && self.pending_extension.is_some()
            }
            Suspend => matches!(s, S::Accepted | S::Dispatched | S::Handling),
            Resume => s == S::Suspended,
            Supervise => s != S::Closed,
            TransferTo110 => matches!(s, S::Reported | S::Accepted),
            Escalate => {
                self.level.up().is_some()
                    && matches!(
                        s,
                        S::Reported | S::Accepted | S::Dispatched | S::Handling | S::Suspended
                    )
            }
        }
    }

    /// What this actor may do now: shown as buttons and listed in a 409.
    pub fn allowed_actions(&self, who: &Capacities) -> Vec<ActionKind> {
        ActionKind::ALL
            .iter()
            .copied()
            .filter(|k| k.permitted(who) && self.fits(*k))
            .collect()
    }

    /// Performs one action. Nothing changes on error.
    pub fn apply(&self, who: &Capacities, action: &Action) -> Result<Outcome, LifecycleError> {
        let kind = action.kind();
        if !kind.permitted(who) {
            return Err(LifecycleError::Forbidden { action: kind });
        }
        if !self.fits(kind) {
            return Err(LifecycleError::NotAllowed {
                status: self.status,
                action: kind,
                allowed: self.allowed_actions(who),
            });
        }
        action.validate()?;

        let mut next = self.clone();
        use Status as S;
        match action {
            Action::Accept { .. } => next.status = S::Accepted,
            Action::Reject { .. } => next.status = S::Rejected,
            Action::Dispatch {
                lead_unit,
                assisting_units,
                ..
            } => {
                next.status = S::Dispatched;
                next.lead_unit = Some(*lead_unit);
                next.assisting_units = assisting_units.clone();
            }
            Action::Sign { .. } => next.status = S::Handling,
            Action::Return { .. } => {
                // Back to the command room, to be dispatched again.
                next.status = S::Accepted;
                next.lead_unit = None;
                next.assisting_units.clear();
                next.pending_extension = None;
                next.return_count += 1;
            }
            Action::Resolve { .. } => next.status = S::Resolved,
            Action::VerifyPass { .. } => next.status = S::Verified,
            Action::VerifyFail { .. } => {
                next.status = S::Handling;
                next.rework_count += 1;
            }
            Action::Inform { .. } => next.status = S::Informed,
            Action::Rate { satisfaction, .. } => {
                next.status = S::Rated;
                next.satisfaction = Some(*satisfaction);
            }
            Action::Reopen { .. } => {
                next.status = S::Handling;
                next.satisfaction = None;
                next.rework_count += 1;
            }
            Action::Close { .. } => next.status = S::Closed,
            Action::RequestExtension { days, reason } => {
                next.pending_extension = Some(ExtensionRequest {
                    days: *days,
                    reason: reason.clone(),
                });
            }
            Action::ApproveExtension { .. } => {
                let days = next.pending_extension.take().map_or(0, |p| p.days);
                next.extension_days += days;
            }
            Action::DenyExtension { .. } => next.pending_extension = None,
            Action::Suspend { .. } => {
                next.suspended_from = Some(self.status);
                next.status = S::Suspended;
            }
            Action::Resume { .. } => {
                // `fits` guarantees Suspended, and Suspend always records the origin.
                next.status = self.suspended_from.unwrap_or(S::Accepted);
                next.suspended_from = None;
            }
            Action::Supervise { .. } => {}
            Action::TransferTo110 { .. } => next.status = S::Transferred,
            Action::Escalate { .. } => {
                // `fits` guarantees a rung above.
                next.level = self.level.up().unwrap_or(self.level);
            }
        }
        Ok(Outcome {
            from: self.status,
            to: next.status,
            kind,
            state: next,
        })
    }

    /// Invariants every reachable state keeps; the property test checks them.
    pub fn check_invariants(&self) -> Result<(), String> {
        use Status as S;
        let needs_lead = matches!(
            self.status,
            S::Dispatched | S::Handling | S::Resolved | S::Verified | S::Informed | S::Rated
        );
        if needs_lead && self.lead_unit.is_none() {
            return Err(format!("{} without a lead unit", self.status));
        }
        if (self.status == S::Suspended) != self.suspended_from.is_some() {
            return Err("suspended_from out of step with status".into());
        }
        if self.status == S::Rated && self.satisfaction.is_none() {
            return Err("rated without satisfaction".into());
        }
        let in_handling = self.status == S::Handling
            || (self.status == S::Suspended && self.suspended_from == Some(S::Handling));
        if self.pending_extension.is_some() && !in_handling {
            return Err("extension pending outside handling".into());
        }
        if self
            .lead_unit
            .is_some_and(|lead| self.assisting_units.contains(&lead))
        {
            return Err("lead unit also assisting".into());
        }
        Ok(())
    }
}

impl Level {
    /// Where a new event is run: its township's command room.
    pub fn starting() -> Level {
        Level::Township
    }
}

impl Default for EventState {
    fn default() -> Self {
        Self::new()
    }
}

/// The result of a successful action: the new state and what the timeline records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub kind: ActionKind,
    pub from: Status,
    pub to: Status,
    pub state: EventState,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LifecycleError {
    #[error("当前状态为「{}」，不能执行「{}」；可执行：{}", .status.label_zh(), .action.label_zh(), list_zh(.allowed))]
    NotAllowed {
        status: Status,
        action: ActionKind,
        allowed: Vec<ActionKind>,
    },
    #[error("您的角色无权执行「{}」", .action.label_zh())]
    Forbidden { action: ActionKind },
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

fn list_zh(kinds: &[ActionKind]) -> String {
    if kinds.is_empty() {
        return "无".into();
    }
    kinds
        .iter()
        .map(|k| format!("{}({})", k.label_zh(), k.code()))
        .collect::<Vec<_>>()
        .join("、")
}

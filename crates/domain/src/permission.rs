//! What a route needs of its caller's role (AC-02, AC-07). Every route of the server
//! is registered with one [`Permission`] (server `routes.rs`), checked before its
//! handler runs. A permission is a fixed set of roles, written out below as one
//! table so that it can be read, reviewed and printed (`zhili routes`).
//!
//! This is the first, coarse check. What a permitted caller may then see or do —
//! the events of their own area, the actions their part in one event allows —
//! is decided by the scope ([`crate::Actor::scope`]) and the lifecycle, as before.

use serde::{Deserialize, Serialize};

use crate::codes::{Role, coded_enum};

coded_enum!(
    /// The permissions routes are registered with.
    Permission {
        Public = "public" / "公开",
        OwnCredential = "own_credential" / "自带凭据",
        SignedIn = "signed_in" / "已登录账号",
        ReadEvents = "read_events" / "查看事件",
        ReportEvents = "report_events" / "上报事件",
        HandleEvents = "handle_events" / "处置事件",
        Dispatch = "dispatch" / "受理分派",
        UnitQueue = "unit_queue" / "部门工单",
        Command = "command" / "指挥调度",
        Operations = "operations" / "运行监控",
        Kpi = "kpi" / "统计考核",
        Staff = "staff" / "工作人员",
        Supervise = "supervise" / "督办反馈",
        Patrols = "patrols" / "巡查记录",
        PatrolCheckIn = "patrol_check_in" / "巡查签到",
        Chat = "chat" / "圈群消息",
        HandleChat = "handle_chat" / "圈群处理",
        Channel = "channel" / "渠道接入",
        ManageSystem = "manage_system" / "系统管理",
        ManageAccounts = "manage_accounts" / "账号管理",
        ReadAudit = "read_audit" / "审计查阅",
        ExportPersonalData = "export_personal_data" / "导出个人信息",
    }
);

use Role::*;

/// Every role but the two that have no part in events.
const EVENT_ROLES: &[Role] = &[
    Admin,
    CityOperator,
    CityLeader,
    TownshipOperator,
    UnitHandler,
    GridWorker,
    Oversight,
    Citizen,
    Integration,
];

/// Those who may run or watch the command centre (storage `command::may_view`).
const COMMAND: &[Role] = &[Admin, CityOperator, CityLeader, TownshipOperator, Oversight];

impl Permission {
    /// The roles this permission admits. `Public` admits everyone, signed in or not;
    /// `OwnCredential` too, for routes that check a credential of their own (the
    /// Open311 API key, the metrics scraper's token) in their handler.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Permission::Public | Permission::OwnCredential | Permission::SignedIn => Role::ALL,
            Permission::ReadEvents => EVENT_ROLES,
            // Oversight bodies watch and change nothing (O1).
            Permission::ReportEvents => &[
                Admin,
                CityOperator,
                CityLeader,
                TownshipOperator,
                UnitHandler,
                GridWorker,
                Citizen,
                Integration,
            ],
            // Whoever can have a part in an event: operator, unit, reporter,
            // supervising leader. Which action on which event is the lifecycle's.
            Permission::HandleEvents => &[
                CityOperator,
                CityLeader,
                TownshipOperator,
                UnitHandler,
                GridWorker,
                Citizen,
            ],
            // The command rooms: accepting, classifying, bulk work, duplicates.
            Permission::Dispatch => &[CityOperator, TownshipOperator],
            Permission::UnitQueue => &[UnitHandler],
            Permission::Command => COMMAND,
            // The city desk's view of the machinery: outbound queue, the classifier,
            // assessment schemes and surveys.
            Permission::Operations => &[Admin, CityOperator, CityLeader, TownshipOperator],
            Permission::Kpi => &[
                Admin,
                CityOperator,
                CityLeader,
                TownshipOperator,
                UnitHandler,
                GridWorker,
                Oversight,
            ],
            // Everyone who works on events, not the citizens and other systems.
            Permission::Staff => &[
                Admin,
                CityOperator,
                CityLeader,
                TownshipOperator,
                UnitHandler,
                GridWorker,
                Oversight,
            ],
            Permission::Supervise => &[CityOperator, CityLeader, TownshipOperator, UnitHandler],
            Permission::Patrols => &[
                Admin,
                CityOperator,
                CityLeader,
                TownshipOperator,
                GridWorker,
                Oversight,
            ],
            Permission::PatrolCheckIn => &[GridWorker],
            Permission::Chat => &[Admin, CityOperator, TownshipOperator, GridWorker],
            Permission::HandleChat => &[Admin, CityOperator, TownshipOperator],
            // Other systems pushing in (the chat-group webhook).
            Permission::Channel => &[Integration],
            Permission::ManageSystem => &[Admin],
            Permission::ManageAccounts => &[SecurityAdmin],
            Permission::ReadAudit => &[Auditor],
            // Bulk contacts for a follow-up campaign (AC-09): the command rooms that
            // run the events, never a unit, a leader or oversight.
            Permission::ExportPersonalData => &[CityOperator, TownshipOperator],
        }
    }

    /// The administrators' own work: the system, the accounts and the audit log.
    /// Where management networks are configured, only those reach it (AC-12).
    pub fn is_administration(self) -> bool {
        matches!(
            self,
            Permission::ManageSystem | Permission::ManageAccounts | Permission::ReadAudit
        )
    }

    /// Whether the route is open without a session (the gate lets it through).
    pub fn needs_no_session(self) -> bool {
        matches!(self, Permission::Public | Permission::OwnCredential)
    }

    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_security_and_audit_administrators_reach_only_their_own_work() {
        for p in Permission::ALL {
            let own = matches!(
                p,
                Permission::Public
                    | Permission::OwnCredential
                    | Permission::SignedIn
                    | Permission::ManageAccounts
            );
            assert_eq!(p.allows(SecurityAdmin), own, "{p}");
            let own = matches!(
                p,
                Permission::Public
                    | Permission::OwnCredential
                    | Permission::SignedIn
                    | Permission::ReadAudit
            );
            assert_eq!(p.allows(Auditor), own, "{p}");
        }
        // Accounts and the audit log are theirs alone: the system admin has neither.
        assert_eq!(Permission::ManageAccounts.roles(), &[SecurityAdmin]);
        assert_eq!(Permission::ReadAudit.roles(), &[Auditor]);
    }

    #[test]
    fn oversight_watches_and_changes_nothing() {
        assert!(Permission::ReadEvents.allows(Oversight));
        assert!(Permission::Command.allows(Oversight));
        for p in [
            Permission::ReportEvents,
            Permission::HandleEvents,
            Permission::Dispatch,
            Permission::ManageSystem,
        ] {
            assert!(!p.allows(Oversight), "{p}");
        }
    }
}

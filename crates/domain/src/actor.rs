//! Who is acting: a signed-in user with a role and (for most roles) an org, and what
//! that makes them to a given event.

use serde::{Deserialize, Serialize};

use crate::codes::Role;
use crate::ids::{OrgId, UserId};
use crate::sensitivity::Sensitivity;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Township for an operator, unit for a handler, grid for a grid worker.
    pub org_id: Option<OrgId>,
}

/// Where the events an actor may see lie. Storage turns a [`Scope`] into a WHERE
/// clause, so a query built for an actor cannot return what lies outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    All,
    Township(OrgId),
    Grid(OrgId),
    /// Events dispatched to this unit, now or before (as lead or assisting unit).
    Unit(OrgId),
    /// Events this user reported.
    Reporter(UserId),
    /// Events this account put in (another system's account: 110, 12345 …).
    CreatedBy(UserId),
    Nothing,
}

/// The events an actor may see: those in their area whose sensitivity label is
/// within their clearance (AC-08).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub area: Area,
    pub clearance: Sensitivity,
}

impl Scope {
    /// Every event, whatever its label: for the system's own work (sweeps, links,
    /// lookups by a check code), never for a person's view.
    pub const ALL: Scope = Scope {
        area: Area::All,
        clearance: Sensitivity::Sensitive,
    };

    pub fn sees_nothing(&self) -> bool {
        self.area == Area::Nothing
    }
}

impl Actor {
    pub fn scope(&self) -> Scope {
        let area = match (self.role, self.org_id) {
            (Role::Admin | Role::CityOperator | Role::CityLeader | Role::Oversight, _) => Area::All,
            (Role::TownshipOperator, Some(org)) => Area::Township(org),
            (Role::GridWorker, Some(org)) => Area::Grid(org),
            (Role::UnitHandler, Some(org)) => Area::Unit(org),
            (Role::Citizen, _) => Area::Reporter(self.user_id),
            (Role::Integration, _) => Area::CreatedBy(self.user_id),
            // Accounts and the audit log are their work, not events.
            (Role::SecurityAdmin | Role::Auditor, _) => Area::Nothing,
            // A role that needs an org but has none sees nothing rather than everything.
            (Role::TownshipOperator | Role::GridWorker | Role::UnitHandler, None) => Area::Nothing,
        };
        Scope {
            area,
            clearance: self.role.clearance(),
        }
    }

    /// Oversight bodies follow the whole process but change nothing (O1); the
    /// security and audit administrators have no part in events.
    pub fn can_report_events(&self) -> bool {
        !matches!(
            self.role,
            Role::Oversight | Role::SecurityAdmin | Role::Auditor
        )
    }
}

/// Why an account change is refused under the separation of duties (AC-07).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRefusal(pub &'static str);

/// Whether `manager` may create, change, or reset the password or second factor
/// of an account that has role `current` (`None`: a new account) and is to have
/// role `new`. Accounts are the security administrator's alone; the security and
/// audit administrators' own accounts come only from the command line (`zhili
/// user …`, run by whoever runs the server), so that no one in the application
/// can grant themselves a role or make a friendly auditor. `own`: the manager's
/// own account, whose role and active flag they may not change.
pub fn may_manage_account(
    manager: Role,
    current: Option<Role>,
    new: Role,
    own: bool,
) -> Result<(), AccountRefusal> {
    let guarded = |r: Role| matches!(r, Role::SecurityAdmin | Role::Auditor);
    if manager != Role::SecurityAdmin {
        return Err(AccountRefusal("只有安全管理员可以管理账号"));
    }
    if own {
        return Err(AccountRefusal(
            "不能修改自己的账号；请由命令行 zhili user 处理",
        ));
    }
    if current.is_some_and(guarded) || guarded(new) {
        return Err(AccountRefusal(
            "安全管理员和审计管理员账号只能由命令行 zhili user 建立和调整",
        ));
    }
    Ok(())
}

/// What an actor is to one particular event; decides which actions they may take
/// and whether they see the reporter's personal data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacities {
    /// Runs the event: the city command centre, or the command room of its township.
    pub operator: bool,
    /// A handler of the unit the event is currently dispatched to as lead.
    pub lead_unit: bool,
    /// A handler of a unit currently assisting.
    pub assisting_unit: bool,
    /// The signed-in user who reported it.
    pub reporter: bool,
    /// May write supervision notes (city leaders and the command centre).
    pub supervisor: bool,
}

impl Capacities {
    /// Those handling the event need the reporter's contact; nobody else does. For a
    /// sensitive event only the command room and the reporter do: the units reach
    /// the reporter through the command room, since a 举报 is often about them.
    pub fn sees_personal_data(&self, label: Sensitivity) -> bool {
        match label {
            Sensitivity::Normal => {
                self.operator || self.lead_unit || self.assisting_unit || self.reporter
            }
            Sensitivity::Sensitive => self.operator || self.reporter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_security_admin_manages_accounts_and_never_the_three_administrators() {
        use Role::*;
        assert!(may_manage_account(SecurityAdmin, None, UnitHandler, false).is_ok());
        assert!(may_manage_account(SecurityAdmin, Some(UnitHandler), Admin, false).is_ok());
        for manager in [Admin, CityOperator, Auditor, TownshipOperator] {
            assert!(may_manage_account(manager, None, UnitHandler, false).is_err());
        }
        // No self-grant, no friendly auditor, no second security admin.
        assert!(
            may_manage_account(SecurityAdmin, Some(SecurityAdmin), SecurityAdmin, true).is_err()
        );
        assert!(may_manage_account(SecurityAdmin, None, Auditor, false).is_err());
        assert!(may_manage_account(SecurityAdmin, Some(Auditor), Auditor, false).is_err());
        assert!(
            may_manage_account(SecurityAdmin, Some(UnitHandler), SecurityAdmin, false).is_err()
        );
        // The security and audit administrators see no events.
        let sec = Actor {
            user_id: UserId(1),
            username: "s".into(),
            display_name: "s".into(),
            role: SecurityAdmin,
            org_id: None,
        };
        assert!(sec.scope().sees_nothing());
        assert!(!sec.can_report_events());
    }

    fn actor(role: Role, org: Option<i64>) -> Actor {
        Actor {
            user_id: UserId(7),
            username: "u".into(),
            display_name: "u".into(),
            role,
            org_id: org.map(OrgId),
        }
    }

    #[test]
    fn scope_follows_role_and_org() {
        assert_eq!(actor(Role::Oversight, None).scope().area, Area::All);
        assert_eq!(
            actor(Role::TownshipOperator, Some(3)).scope().area,
            Area::Township(OrgId(3))
        );
        assert_eq!(
            actor(Role::UnitHandler, Some(9)).scope().area,
            Area::Unit(OrgId(9))
        );
        assert_eq!(
            actor(Role::Citizen, None).scope().area,
            Area::Reporter(UserId(7))
        );
        assert!(actor(Role::GridWorker, None).scope().sees_nothing());
    }

    #[test]
    fn only_handlers_and_the_reporter_see_personal_data() {
        assert!(!Capacities::default().sees_personal_data(Sensitivity::Normal));
        let supervisor_only = Capacities {
            supervisor: true,
            ..Default::default()
        };
        assert!(!supervisor_only.sees_personal_data(Sensitivity::Normal));
        let reporter = Capacities {
            reporter: true,
            ..Default::default()
        };
        assert!(reporter.sees_personal_data(Sensitivity::Sensitive));
        let lead = Capacities {
            lead_unit: true,
            ..Default::default()
        };
        assert!(lead.sees_personal_data(Sensitivity::Normal));
        assert!(!lead.sees_personal_data(Sensitivity::Sensitive));
        assert!(!actor(Role::Oversight, None).can_report_events());
    }
}

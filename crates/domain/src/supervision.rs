//! Supervision orders (督办, H1/H4/O6): an order on one event with a level, a due
//! date, an optional named leader and replies, and the rules of who may issue,
//! reply to and close one. Focus issues (焦点问题) are always under listed
//! supervision with a named responsible leader; the share is computed here too.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::actor::Actor;
use crate::codes::{Role, coded_enum};
use crate::ids::OrgId;
use crate::values::EventText;

coded_enum!(
    /// How heavily an event is supervised.
    SupervisionLevel {
        Ordinary = "ordinary" / "督办",
        Listed = "listed" / "挂牌督办",
        LeaderOwned = "leader_owned" / "包案督办",
    }
);

coded_enum!(
    /// Where an order stands: open until the handler replies, closed by the issuing
    /// side as done or withdrawn.
    OrderStatus {
        Open = "open" / "督办中",
        Replied = "replied" / "已回复",
        Done = "done" / "已办结",
        Withdrawn = "withdrawn" / "已撤销",
    }
);

coded_enum!(
    /// How the issuing side closes an order.
    CloseOutcome {
        Done = "done" / "已办结",
        Withdrawn = "withdrawn" / "已撤销",
    }
);

// `coded_enum!` writes the enum, whose variants cannot carry `#[default]`.
#[allow(clippy::derivable_impls)]
impl Default for SupervisionLevel {
    fn default() -> Self {
        SupervisionLevel::Ordinary
    }
}

impl SupervisionLevel {
    /// O6: a focus issue counts as supervised under these levels only.
    pub fn counts_for_focus(self) -> bool {
        matches!(
            self,
            SupervisionLevel::Listed | SupervisionLevel::LeaderOwned
        )
    }
}

impl OrderStatus {
    pub fn is_closed(self) -> bool {
        matches!(self, OrderStatus::Done | OrderStatus::Withdrawn)
    }

    /// A reply moves an open order to replied; a closed order takes no more replies.
    pub fn after_reply(self) -> Result<OrderStatus, SupervisionError> {
        if self.is_closed() {
            return Err(SupervisionError::new(
                "status",
                format!("督办单已「{}」，不能再回复", self.label_zh()),
            ));
        }
        Ok(OrderStatus::Replied)
    }

    pub fn after_close(self, outcome: CloseOutcome) -> Result<OrderStatus, SupervisionError> {
        if self.is_closed() {
            return Err(SupervisionError::new(
                "status",
                format!("督办单已「{}」，不能重复办结", self.label_zh()),
            ));
        }
        Ok(match outcome {
            CloseOutcome::Done => OrderStatus::Done,
            CloseOutcome::Withdrawn => OrderStatus::Withdrawn,
        })
    }
}

/// Overdue: still waiting for its first reply after the due time.
pub fn is_overdue(status: OrderStatus, due_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    status == OrderStatus::Open && due_at < now
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct SupervisionError {
    pub field: &'static str,
    pub message: String,
}

impl SupervisionError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        SupervisionError {
            field,
            message: message.into(),
        }
    }
}

pub const NOTE_MAX: usize = 2_000;
pub const LEADER_MAX: usize = 50;
pub const REPLY_MAX: usize = 2_000;

fn text(field: &'static str, v: &str, max: usize) -> Result<String, SupervisionError> {
    EventText::parse_max(v, max)
        .map(|t| t.as_str().to_string())
        .map_err(|e| SupervisionError::new(field, e.to_string()))
}

/// The due date as the `supervise` action carries it: `YYYY-MM-DD`, China time.
pub fn parse_due_date(v: &str) -> Result<NaiveDate, SupervisionError> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| {
        SupervisionError::new(
            "due_date",
            "督办期限须为日期，格式 YYYY-MM-DD（如 2026-12-05）",
        )
    })
}

/// The fields of a new order as the `supervise` action carries them, checked on
/// their own (without the event): a note, a leader name that fits, and a leader for
/// 包案督办 — that level means a named leader owns the case.
pub fn check_order(
    level: SupervisionLevel,
    note: &str,
    leader: Option<&str>,
) -> Result<(), SupervisionError> {
    text("note", note, NOTE_MAX)?;
    let leader = leader.map(str::trim).filter(|l| !l.is_empty());
    if let Some(l) = leader
        && l.chars().count() > LEADER_MAX
    {
        return Err(SupervisionError::new(
            "leader",
            format!("责任领导姓名不能超过 {LEADER_MAX} 个字符"),
        ));
    }
    if level == SupervisionLevel::LeaderOwned && leader.is_none() {
        return Err(SupervisionError::new(
            "leader",
            "包案督办须填写包案领导姓名",
        ));
    }
    Ok(())
}

/// The checks that need the event and the day: 挂牌督办 of a focus issue names its
/// responsible leader (O6), and the due date is not already past.
pub fn check_order_for_event(
    level: SupervisionLevel,
    leader: Option<&str>,
    due_date: NaiveDate,
    focus: bool,
    today: NaiveDate,
) -> Result<(), SupervisionError> {
    let leader = leader.map(str::trim).filter(|l| !l.is_empty());
    if focus && level == SupervisionLevel::Listed && leader.is_none() {
        return Err(SupervisionError::new(
            "leader",
            "焦点问题挂牌督办须填写责任领导姓名",
        ));
    }
    if due_date < today {
        return Err(SupervisionError::new(
            "due_date",
            format!("督办期限 {due_date} 已过，请选择今天或以后的日期"),
        ));
    }
    Ok(())
}

/// A reply's text, trimmed.
pub fn parse_reply(v: &str) -> Result<String, SupervisionError> {
    text("text", v, REPLY_MAX)
}

/// A closing note is optional; when given it must fit.
pub fn parse_close_note(v: Option<&str>) -> Result<Option<String>, SupervisionError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => text("note", s, NOTE_MAX).map(Some),
    }
}

/// A leader's name for the responsibility table (and the orders made from it).
pub fn parse_leader(v: &str) -> Result<String, SupervisionError> {
    text("leader_name", v, LEADER_MAX)
}

/// What rights on an order depend on: the event's township and current lead unit,
/// and the role of whoever issued the order (`None`: the system, for focus issues).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderContext {
    pub event_township: OrgId,
    pub event_lead_unit: Option<OrgId>,
    pub issued_by_role: Option<Role>,
}

/// The city command centre and city leaders supervise any event; a township command
/// room supervises the events of its own township. The same rule as the lifecycle's
/// `supervise` action (operator or supervisor).
pub fn may_issue(actor: &Actor, event_township: OrgId) -> bool {
    match actor.role {
        Role::CityOperator | Role::CityLeader => true,
        Role::TownshipOperator => actor.org_id == Some(event_township),
        _ => false,
    }
}

/// The supervised answer: a handler of the event's lead unit, or the event's
/// township command room.
pub fn may_reply(actor: &Actor, ctx: &OrderContext) -> bool {
    match actor.role {
        Role::UnitHandler => actor.org_id.is_some() && actor.org_id == ctx.event_lead_unit,
        Role::TownshipOperator => actor.org_id == Some(ctx.event_township),
        _ => false,
    }
}

/// The issuing side closes: the city command centre and city leaders any order, a
/// township command room the orders it issued itself.
pub fn may_close(actor: &Actor, ctx: &OrderContext) -> bool {
    match actor.role {
        Role::CityOperator | Role::CityLeader => true,
        Role::TownshipOperator => {
            actor.org_id == Some(ctx.event_township)
                && ctx.issued_by_role == Some(Role::TownshipOperator)
        }
        _ => false,
    }
}

/// Who may read orders at all (their own scope of events): staff and oversight
/// bodies, not citizens or other systems' accounts (they get the public view), nor
/// the security and audit administrators, who have no part in events.
pub fn may_read(actor: &Actor) -> bool {
    crate::Permission::Staff.allows(actor.role)
}

/// The share of focus events under listed or leader-owned supervision, in percent;
/// `None` when there were no focus events (nothing to be 100% of).
pub fn focus_share(focus_events: i64, supervised: i64) -> Option<f64> {
    if focus_events <= 0 {
        return None;
    }
    let share = supervised.clamp(0, focus_events) as f64 * 100.0 / focus_events as f64;
    Some((share * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    fn actor(role: Role, org: Option<i64>) -> Actor {
        Actor {
            user_id: UserId(1),
            username: "u".into(),
            display_name: "u".into(),
            role,
            org_id: org.map(OrgId),
        }
    }

    fn ctx(issued_by: Option<Role>) -> OrderContext {
        OrderContext {
            event_township: OrgId(2),
            event_lead_unit: Some(OrgId(9)),
            issued_by_role: issued_by,
        }
    }

    #[test]
    fn levels_and_statuses_have_codes_and_labels() {
        assert_eq!(
            SupervisionLevel::parse("listed"),
            Some(SupervisionLevel::Listed)
        );
        assert_eq!(SupervisionLevel::LeaderOwned.label_zh(), "包案督办");
        assert_eq!(SupervisionLevel::default(), SupervisionLevel::Ordinary);
        assert!(!SupervisionLevel::Ordinary.counts_for_focus());
        assert_eq!(OrderStatus::Open.label_zh(), "督办中");
        assert_eq!(OrderStatus::Withdrawn.label_zh(), "已撤销");
    }

    #[test]
    fn due_dates_are_calendar_dates() {
        assert_eq!(
            parse_due_date(" 2026-12-05 "),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap())
        );
        for bad in ["下周一", "2026-13-01", "2026/12/05", ""] {
            assert_eq!(parse_due_date(bad).unwrap_err().field, "due_date", "{bad}");
        }
    }

    #[test]
    fn a_leader_owned_order_names_its_leader() {
        let e = check_order(SupervisionLevel::LeaderOwned, "请加快", None).unwrap_err();
        assert_eq!(e.field, "leader");
        let e = check_order(SupervisionLevel::LeaderOwned, "请加快", Some("  ")).unwrap_err();
        assert_eq!(e.field, "leader");
        assert!(check_order(SupervisionLevel::LeaderOwned, "请加快", Some("张伟")).is_ok());
        assert!(check_order(SupervisionLevel::Listed, "请加快", None).is_ok());
        assert_eq!(
            check_order(SupervisionLevel::Ordinary, " ", None)
                .unwrap_err()
                .field,
            "note"
        );
        let long = "张".repeat(LEADER_MAX + 1);
        assert_eq!(
            check_order(SupervisionLevel::Ordinary, "x", Some(&long))
                .unwrap_err()
                .field,
            "leader"
        );
    }

    #[test]
    fn listed_supervision_of_a_focus_issue_needs_a_leader_and_a_future_date() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let tomorrow = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let yesterday = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let listed = SupervisionLevel::Listed;
        assert_eq!(
            check_order_for_event(listed, None, tomorrow, true, today)
                .unwrap_err()
                .field,
            "leader"
        );
        assert!(check_order_for_event(listed, None, tomorrow, false, today).is_ok());
        assert!(check_order_for_event(listed, Some("李强"), today, true, today).is_ok());
        assert_eq!(
            check_order_for_event(listed, Some("李强"), yesterday, true, today)
                .unwrap_err()
                .field,
            "due_date"
        );
    }

    #[test]
    fn an_order_is_replied_to_then_closed_once() {
        assert_eq!(OrderStatus::Open.after_reply(), Ok(OrderStatus::Replied));
        assert_eq!(OrderStatus::Replied.after_reply(), Ok(OrderStatus::Replied));
        assert_eq!(
            OrderStatus::Replied.after_close(CloseOutcome::Done),
            Ok(OrderStatus::Done)
        );
        assert_eq!(
            OrderStatus::Open.after_close(CloseOutcome::Withdrawn),
            Ok(OrderStatus::Withdrawn)
        );
        assert_eq!(OrderStatus::Done.after_reply().unwrap_err().field, "status");
        assert!(
            OrderStatus::Withdrawn
                .after_close(CloseOutcome::Done)
                .is_err()
        );
    }

    #[test]
    fn only_an_unanswered_order_past_its_time_is_overdue() {
        let due = DateTime::parse_from_rfc3339("2026-12-01T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let later = due + chrono::Duration::hours(1);
        assert!(is_overdue(OrderStatus::Open, due, later));
        assert!(!is_overdue(OrderStatus::Open, due, due));
        assert!(!is_overdue(OrderStatus::Replied, due, later));
        assert!(!is_overdue(OrderStatus::Done, due, later));
    }

    #[test]
    fn who_issues_replies_and_closes() {
        let city = actor(Role::CityOperator, None);
        let leader = actor(Role::CityLeader, None);
        let own_room = actor(Role::TownshipOperator, Some(2));
        let other_room = actor(Role::TownshipOperator, Some(3));
        let lead = actor(Role::UnitHandler, Some(9));
        let other_unit = actor(Role::UnitHandler, Some(8));
        let oversight = actor(Role::Oversight, None);
        let township = OrgId(2);
        assert!(may_issue(&city, township) && may_issue(&leader, township));
        assert!(may_issue(&own_room, township) && !may_issue(&other_room, township));
        assert!(!may_issue(&oversight, township) && !may_issue(&lead, township));

        let by_city = ctx(Some(Role::CityOperator));
        assert!(may_reply(&lead, &by_city) && may_reply(&own_room, &by_city));
        assert!(!may_reply(&other_unit, &by_city) && !may_reply(&other_room, &by_city));
        assert!(!may_reply(&oversight, &by_city) && !may_reply(&city, &by_city));

        assert!(may_close(&city, &by_city) && may_close(&leader, &ctx(None)));
        assert!(!may_close(&own_room, &by_city));
        assert!(may_close(&own_room, &ctx(Some(Role::TownshipOperator))));
        assert!(!may_close(&other_room, &ctx(Some(Role::TownshipOperator))));
        assert!(!may_close(&lead, &by_city) && !may_close(&oversight, &by_city));

        assert!(may_read(&oversight) && !may_read(&actor(Role::Citizen, None)));
    }

    #[test]
    fn the_focus_share_is_a_percentage_of_focus_events() {
        assert_eq!(focus_share(0, 0), None);
        assert_eq!(focus_share(4, 4), Some(100.0));
        assert_eq!(focus_share(3, 2), Some(66.7));
        assert_eq!(focus_share(2, 5), Some(100.0));
    }
}

//! Security alerts (SECURITY.md IP-09, 等保 8.1.4.4 f): patterns in the audit trail
//! a security administrator must look at the same day, found by the background work
//! of any instance and shown on `/admin/alerts`.
//!
//! The rules here are pure: they take what the audit trail says happened in a
//! window and say which alerts it makes. Each alert carries a key made of its kind,
//! its subject and its time bucket, so that two instances finding the same pattern,
//! or one instance finding it again a minute later, raise it once.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use crate::codes::{Role, coded_enum};

coded_enum!(
    /// What an alert is about: failed logins for many accounts from one address
    /// (someone trying a list of stolen passwords); one account revealing or
    /// exporting personal data in bulk; an audit chain that no longer verifies (a
    /// record edited, deleted or reordered, an anchor forged); an administrator
    /// signing in outside office hours.
    AlertKind {
        CredentialStuffing = "credential_stuffing" / "撞库登录",
        BulkPersonalData = "bulk_personal_data" / "批量获取个人信息",
        AuditChain = "audit_chain" / "审计链校验失败",
        OffHoursPrivileged = "off_hours_privileged" / "非工作时间特权登录",
    }
);

/// The thresholds (defaults from the checklist's spirit: a person mistyping does not
/// reach them, a script does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertRules {
    /// This many distinct accounts failing from one address within `window` …
    pub stuffing_accounts: usize,
    /// … or this many personal-data reveals and exports by one account within it.
    pub bulk_records: usize,
    pub window: Duration,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            stuffing_accounts: 5,
            bulk_records: 30,
            window: Duration::hours(1),
        }
    }
}

/// The roles whose sign-in outside office hours is an alert: the three
/// administrators, who can change the system, the accounts or read the audit log.
pub const PRIVILEGED: &[Role] = &[Role::Admin, Role::SecurityAdmin, Role::Auditor];

/// An alert found, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: AlertKind,
    /// Whom or what it is about: an address, a username, a record id.
    pub subject: String,
    /// Unique per alert: kind, subject and time bucket.
    pub key: String,
    pub count: usize,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    /// In Chinese, for the list.
    pub summary: String,
}

/// The start of the `window`-long bucket `at` falls in, for the keys.
fn bucket(at: DateTime<Utc>, window: Duration) -> String {
    at.duration_trunc(window)
        .unwrap_or(at)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// A failed login as the audit trail has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedLogin {
    pub ip: String,
    pub username: String,
    pub at: DateTime<Utc>,
}

/// What one subject did within one time bucket: how often, to how many distinct
/// targets, from when to when.
struct Tally<'a> {
    targets: std::collections::BTreeSet<&'a str>,
    count: usize,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
}

/// (subject, target, time, weight) counted by subject and `window` bucket.
fn tally<'a>(
    items: impl Iterator<Item = (&'a str, &'a str, DateTime<Utc>, usize)>,
    window: Duration,
) -> std::collections::BTreeMap<(&'a str, String), Tally<'a>> {
    let mut by = std::collections::BTreeMap::new();
    for (subject, target, at, weight) in items {
        let t = by
            .entry((subject, bucket(at, window)))
            .or_insert_with(|| Tally {
                targets: Default::default(),
                count: 0,
                first: at,
                last: at,
            });
        t.targets.insert(target);
        t.count += weight;
        t.first = t.first.min(at);
        t.last = t.last.max(at);
    }
    by
}

/// Addresses from which at least `stuffing_accounts` distinct usernames failed
/// within one window bucket.
pub fn credential_stuffing(failures: &[FailedLogin], rules: &AlertRules) -> Vec<Finding> {
    let items = failures
        .iter()
        .filter(|f| !f.ip.is_empty())
        .map(|f| (f.ip.as_str(), f.username.as_str(), f.at, 1));
    tally(items, rules.window)
        .into_iter()
        .filter(|(_, t)| t.targets.len() >= rules.stuffing_accounts.max(1))
        .map(|((ip, b), t)| Finding {
            kind: AlertKind::CredentialStuffing,
            key: format!("{}:{ip}:{b}", AlertKind::CredentialStuffing.code()),
            summary: format!(
                "{ip} 登录失败 {} 次，涉及 {} 个账号",
                t.count,
                t.targets.len()
            ),
            subject: ip.to_string(),
            count: t.count,
            first_at: t.first,
            last_at: t.last,
        })
        .collect()
}

/// A reveal or export of personal data, as the audit trail has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalDataAccess {
    pub username: String,
    pub at: DateTime<Utc>,
    /// How many people's data it handed over: 1 for a reveal, the row count of an
    /// export, so that one large export alerts like many reveals.
    pub records: usize,
}

/// Accounts handed at least `bulk_records` people's data in one window bucket.
pub fn bulk_personal_data(accesses: &[PersonalDataAccess], rules: &AlertRules) -> Vec<Finding> {
    let items = accesses
        .iter()
        .map(|a| (a.username.as_str(), "", a.at, a.records));
    tally(items, rules.window)
        .into_iter()
        .filter(|(_, t)| t.count >= rules.bulk_records.max(1))
        .map(|((user, b), t)| Finding {
            kind: AlertKind::BulkPersonalData,
            key: format!("{}:{user}:{b}", AlertKind::BulkPersonalData.code()),
            summary: format!("{user} 在一小时内查看或导出 {} 人次的个人信息", t.count),
            subject: user.to_string(),
            count: t.count,
            first_at: t.first,
            last_at: t.last,
        })
        .collect()
}

/// A privileged sign-in outside office hours; `audit_id` makes it one alert per
/// sign-in.
pub fn off_hours_login(username: &str, role: Role, at: DateTime<Utc>, audit_id: i64) -> Finding {
    Finding {
        kind: AlertKind::OffHoursPrivileged,
        key: format!("{}:{audit_id}", AlertKind::OffHoursPrivileged.code()),
        summary: format!("{}（{}）在非工作时间登录", username, role.label_zh()),
        subject: username.to_string(),
        count: 1,
        first_at: at,
        last_at: at,
    }
}

/// The chain broke at `record`: one alert per broken record.
pub fn audit_chain_broken(record: i64, what: &str, at: DateTime<Utc>) -> Finding {
    Finding {
        kind: AlertKind::AuditChain,
        key: format!("{}:{record}", AlertKind::AuditChain.code()),
        summary: format!("审计记录 #{record} 校验失败：{what}"),
        subject: format!("#{record}"),
        count: 1,
        first_at: at,
        last_at: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap()
    }

    #[test]
    fn many_accounts_failing_from_one_address_is_stuffing_one_account_is_not() {
        let rules = AlertRules::default();
        let mut failures: Vec<FailedLogin> = (0..5)
            .map(|i| FailedLogin {
                ip: "203.0.113.9".into(),
                username: format!("user{i}"),
                at: t(10, i * 3),
            })
            .collect();
        // Someone mistyping their own password ten times from another address.
        failures.extend((0..10).map(|i| FailedLogin {
            ip: "10.0.0.4".into(),
            username: "wangfang".into(),
            at: t(10, i),
        }));
        let found = credential_stuffing(&failures, &rules);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].subject, "203.0.113.9");
        assert_eq!(found[0].count, 5);
        assert_eq!(
            found[0].key,
            "credential_stuffing:203.0.113.9:2026-12-07T10:00"
        );
        // Four accounts are below the threshold.
        assert!(
            credential_stuffing(&failures[1..], &rules)
                .iter()
                .all(|f| f.subject != "203.0.113.9")
        );
    }

    #[test]
    fn bulk_reveals_by_one_account_alert_once_per_hour() {
        let rules = AlertRules {
            bulk_records: 3,
            ..AlertRules::default()
        };
        let acc = |m| PersonalDataAccess {
            username: "zhujian".into(),
            at: t(14, m),
            records: 1,
        };
        let found = bulk_personal_data(&[acc(1), acc(2), acc(59)], &rules);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].count, 3);
        assert!(bulk_personal_data(&[acc(1), acc(2)], &rules).is_empty());
        // One export of many rows is as much as many reveals.
        let export = PersonalDataAccess {
            records: 500,
            ..acc(30)
        };
        assert_eq!(bulk_personal_data(&[export], &rules)[0].count, 500);
    }

    #[test]
    fn keys_tell_alerts_apart() {
        let a = off_hours_login("admin", Role::Admin, t(3, 0), 41);
        let b = off_hours_login("admin", Role::Admin, t(3, 5), 42);
        assert_ne!(a.key, b.key);
        assert_eq!(
            audit_chain_broken(7, "edited", t(1, 0)).key,
            "audit_chain:7"
        );
    }
}

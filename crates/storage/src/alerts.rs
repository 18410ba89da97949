//! Security alerts (SECURITY.md IP-09) as stored: found in the audit trail by the
//! rules of `zhili_domain::alerts`, raised once per key whichever instance finds
//! them first, listed for the security administrator and acknowledged by them.
//! Raising and acknowledging are audited like every other change.

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use serde::Serialize;
use zhili_domain::alerts::{self, FailedLogin, PersonalDataAccess};
use zhili_domain::{AlertKind, AlertRules, Finding, Role};

use crate::backend::Tx;
use crate::records::AuditRecord;
use crate::sql::{Arg, Sql};
use crate::{Acting, Store, StoreError, in_tx};

/// The audit actions that hand personal data to a person: reveals of a reporter's
/// contact, original photos, and (once they exist) exports of personal data.
const PERSONAL_DATA_ACTIONS: &[&str] = &["pii.reveal", "attachment.read_original", "pii.export"];

/// An alert as the security administrator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SecurityAlert {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub summary: String,
    pub count: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub raised_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub note: Option<String>,
}

impl SecurityAlert {
    pub fn kind_label(&self) -> &'static str {
        AlertKind::parse(&self.kind).map_or("其他", AlertKind::label_zh)
    }
}

/// How many people's data one record handed over: an export's row count, else 1.
fn exported_rows(action: &str, detail: Option<&str>) -> usize {
    if action != "pii.export" {
        return 1;
    }
    detail
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .and_then(|d| d["rows"].as_u64())
        .map_or(1, |n| n as usize)
}

const ALERT_COLUMNS: &str = "SELECT id, kind, subject, summary, count, first_at, last_at, raised_at, \
     acknowledged_at, acknowledged_by, note FROM security_alerts";

impl Store {
    /// Reads the audit trail of the last two windows before `now` and raises what
    /// the rules find there: failed logins across many accounts from one address,
    /// personal data taken in bulk by one account, privileged sign-ins outside
    /// office hours. Returns the alerts raised by this call (not those raised before).
    pub async fn detect_security_alerts(
        &self,
        rules: &AlertRules,
        now: DateTime<Utc>,
    ) -> Result<Vec<Finding>, StoreError> {
        let since = now - rules.window * 2;
        let mut q = Sql::new(
            "SELECT actor_name, ip, at FROM audit_log WHERE action IN ('auth.login_failed', 'auth.login_locked') \
             AND ip IS NOT NULL AND at >= ",
        );
        q.arg(Arg::Time(since));
        let failed: Vec<(String, String, DateTime<Utc>)> =
            in_tx!(self, Read, |tx| tx.rows(q).await)?;
        let failed: Vec<FailedLogin> = failed
            .into_iter()
            .map(|(username, ip, at)| FailedLogin { ip, username, at })
            .collect();

        let mut q =
            Sql::new("SELECT actor_name, at, action, detail FROM audit_log WHERE action IN ");
        q.list(
            PERSONAL_DATA_ACTIONS
                .iter()
                .map(|a| Arg::Text(a.to_string())),
        )
        .push(" AND at >= ")
        .arg(Arg::Time(since));
        let taken: Vec<(String, DateTime<Utc>, String, Option<String>)> =
            in_tx!(self, Read, |tx| tx.rows(q).await)?;
        let taken: Vec<PersonalDataAccess> = taken
            .into_iter()
            .map(|(username, at, action, detail)| PersonalDataAccess {
                records: exported_rows(&action, detail.as_deref()),
                username,
                at,
            })
            .collect();

        let mut q = Sql::new(
            "SELECT id, actor_name, actor_role, at FROM audit_log WHERE action = 'auth.login' AND actor_role IN ",
        );
        q.list(
            alerts::PRIVILEGED
                .iter()
                .map(|r| Arg::Text(r.code().into())),
        )
        .push(" AND at >= ")
        .arg(Arg::Time(since));
        let logins: Vec<(i64, String, String, DateTime<Utc>)> =
            in_tx!(self, Read, |tx| tx.rows(q).await)?;

        let mut found = alerts::credential_stuffing(&failed, rules);
        found.extend(alerts::bulk_personal_data(&taken, rules));
        found.extend(
            logins
                .into_iter()
                .filter(|(_, _, _, at)| !self.in_office_hours(*at))
                .filter_map(|(id, name, role, at)| {
                    Some(alerts::off_hours_login(&name, Role::parse(&role)?, at, id))
                }),
        );
        self.raise_alerts(&found, now).await
    }

    /// Verifies the whole audit chain (as `zhili audit verify` does) and raises an
    /// alert for the first record where it breaks, once per record. Returns the
    /// break when there is one, raised now or before.
    pub async fn verify_audit_chain_for_alerts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::audit::ChainBreak>, StoreError> {
        let report = self.verify_audit_chain(None).await?;
        if let Some(b) = &report.first_break {
            let what = format!("{:?}", b.kind);
            self.raise_alerts(&[alerts::audit_chain_broken(b.id, &what, now)], now)
                .await?;
        }
        Ok(report.first_break)
    }

    /// Stores each finding whose key is new, audited as `alert.raised`, and returns
    /// those. Two instances raising the same finding store it once.
    pub async fn raise_alerts(
        &self,
        findings: &[Finding],
        now: DateTime<Utc>,
    ) -> Result<Vec<Finding>, StoreError> {
        let mut raised = Vec::new();
        for f in findings {
            if in_tx!(self, Write, |tx| { raise(&mut tx, f, now).await })? {
                raised.push(f.clone());
            }
        }
        Ok(raised)
    }

    /// Alerts newest first; with `open_only` those not yet acknowledged.
    pub async fn security_alerts(
        &self,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<SecurityAlert>, StoreError> {
        let mut q = Sql::new(ALERT_COLUMNS);
        if open_only {
            q.push(" WHERE acknowledged_at IS NULL");
        }
        q.push(" ORDER BY raised_at DESC, id DESC LIMIT ")
            .arg(Arg::I64(limit.clamp(1, 1000)));
        Ok(in_tx!(self, Read, |tx| tx.rows(q).await)?)
    }

    /// Marks an open alert as looked at, with what was found or done; audited as
    /// `alert.acknowledged`. An alert acknowledged before is refused.
    pub async fn acknowledge_alert(
        &self,
        id: i64,
        by: &Acting,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let note = note.trim();
        if note.chars().count() < 2 || note.chars().count() > 500 {
            return Err(StoreError::invalid("note", "请填写处理情况（2–500 字）"));
        }
        in_tx!(self, Write, |tx| {
            acknowledge(&mut tx, id, by, note, now).await
        })
    }

    /// Working day and between the start of the first office period and the close
    /// (China time). A year the calendar lacks counts Monday to Friday.
    fn in_office_hours(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&zhili_calendar::china_time());
        let date = local.date_naive();
        let workday = self
            .calendar()
            .is_working_day(date)
            .unwrap_or_else(|_| date.weekday().num_days_from_monday() < 5);
        let hours = &self.working_hours;
        let open = hours
            .periods()
            .first()
            .map_or(NaiveTime::MIN, |(start, _)| *start);
        workday && (open..=hours.close()).contains(&local.time())
    }
}

async fn raise<T: Tx>(tx: &mut T, f: &Finding, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let mut q = Sql::new(
        "INSERT INTO security_alerts (key, kind, subject, summary, count, first_at, last_at, raised_at) VALUES (",
    );
    q.arg(Arg::Text(f.key.clone()))
        .push(", ")
        .arg(Arg::Text(f.kind.code().into()))
        .push(", ")
        .arg(Arg::Text(f.subject.chars().take(200).collect()))
        .push(", ")
        .arg(Arg::Text(f.summary.chars().take(500).collect()))
        .push(", ")
        .arg(Arg::I64(f.count as i64))
        .push(", ")
        .arg(Arg::Time(f.first_at))
        .push(", ")
        .arg(Arg::Time(f.last_at))
        .push(", ")
        .arg(Arg::Time(now))
        .push(") ON CONFLICT (key) DO NOTHING");
    if tx.exec(q).await? == 0 {
        return Ok(false);
    }
    tx.insert_audit(&AuditRecord {
        at: now,
        actor: Acting::system("zhili"),
        action: "alert.raised".into(),
        object_type: "security_alert",
        object_id: Some(f.key.clone()),
        detail: Some(serde_json::json!({
            "kind": f.kind.code(),
            "subject": f.subject,
            "count": f.count,
            "summary": f.summary,
        })),
    })
    .await?;
    Ok(true)
}

async fn acknowledge<T: Tx>(
    tx: &mut T,
    id: i64,
    by: &Acting,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut q = Sql::new("UPDATE security_alerts SET acknowledged_at = ");
    q.arg(Arg::Time(now))
        .push(", acknowledged_by = ")
        .arg(Arg::Text(by.name.clone()))
        .push(", note = ")
        .arg(Arg::Text(note.to_string()))
        .push(" WHERE acknowledged_at IS NULL AND id = ")
        .arg(Arg::I64(id));
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    tx.insert_audit(&AuditRecord {
        at: now,
        actor: by.clone(),
        action: "alert.acknowledged".into(),
        object_type: "security_alert",
        object_id: Some(id.to_string()),
        detail: Some(serde_json::json!({ "note": note })),
    })
    .await?;
    Ok(())
}

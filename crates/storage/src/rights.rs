//! A reporter's rights over their data (PI-08) and the SMS one-time codes that
//! prove their phone (IA-11); the rules are `zhili_domain::rights`.
//!
//! A code is kept only as a keyed hash, with the keyed hash of the phone it went
//! to; counting codes per phone in the table is the per-phone send limit, shared
//! by every instance. A right code earns a pass (a random token, kept as its
//! SHA-256) that opens the reports given with that phone for half an hour. The
//! reports are found by the phone's lookup hash, so an event whose data was already
//! erased (PI-07) is no longer the reporter's to see: nothing of them is left in it.
//!
//! Requests wait for the command room running the event, which corrects the name
//! or phone, or erases them as the retention does, or refuses with a reason; each
//! step is on the event's timeline and in the audit log, and the reporter is told
//! the outcome by SMS.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::rights::{self, CodePolicy, RequestKind, RequestStatus};
use zhili_domain::{Actor, Phone, Role, Status};

use crate::backend::{TimelineInsert, Tx};
use crate::events::scope_sql;
use crate::pii::{Field, Pii};
use crate::records::{AuditRecord, Coded};
use crate::sql::{Arg, Sql};
use crate::{Acting, Store, StoreError, in_tx};

/// The one answer to a wrong, used, expired or exhausted code: which it was would
/// help a guesser.
const BAD_CODE: &str = "验证码错误或已失效，请重新获取";
const BAD_PASS: &str = "验证已过期，请重新获取验证码";

/// A code went out (or would have: the answer is the same for a phone that gave
/// no report, so that the form tells no one whose number reported).
#[derive(Debug, Clone, Serialize)]
pub struct CodeSent {
    pub expires_at: DateTime<Utc>,
}

/// What a right code earns.
#[derive(Debug, Clone, Serialize)]
pub struct ReporterPass {
    pub pass: String,
    pub expires_at: DateTime<Utc>,
}

/// One of the reporter's reports with everything the system holds about them in
/// it, unmasked: it is theirs.
#[derive(Debug, Clone, Serialize)]
pub struct MyReport {
    pub number: String,
    pub reported_at: DateTime<Utc>,
    pub status: Coded,
    pub channel: Coded,
    pub township: String,
    pub category: Option<String>,
    pub text: String,
    pub address: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub requests: Vec<MyRequest>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MyRequest {
    pub id: i64,
    pub kind: Coded,
    pub status: Coded,
    pub requested_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
}

/// A request as the command room handles it: the new values in full, since they
/// are to be written.
#[derive(Debug, Clone, Serialize)]
pub struct RightsRequest {
    pub id: i64,
    pub event_id: i64,
    pub event_number: String,
    pub township: String,
    pub kind: Coded,
    pub status: Coded,
    pub new_name: Option<String>,
    pub new_phone: Option<String>,
    pub note: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub overdue: bool,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
}

/// What a reporter files.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub number: String,
    pub kind: String,
    pub new_name: Option<String>,
    pub new_phone: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct CodeRow {
    id: i64,
    code_hash: String,
    attempts: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct MineRow {
    id: i64,
    number: String,
    reported_at: DateTime<Utc>,
    status: String,
    channel: String,
    township: String,
    category: Option<String>,
    text: String,
    address: Option<String>,
    reporter_name: Option<String>,
    reporter_phone: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct RequestRow {
    id: i64,
    event_id: i64,
    event_number: String,
    township: String,
    kind: String,
    status: String,
    new_name: Option<String>,
    new_phone: Option<String>,
    note: Option<String>,
    requested_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    decision_note: Option<String>,
}

const REQUEST_SELECT: &str = "SELECT r.id, r.event_id, e.number AS event_number, t.name AS township, \
 r.kind, r.status, r.new_name, r.new_phone, r.note, r.requested_at, r.due_at, r.decided_at, \
 r.decision_note FROM rights_requests r JOIN events e ON e.id = r.event_id \
 JOIN orgs t ON t.id = e.township_id ";

fn coded_kind(k: RequestKind) -> Coded {
    Coded {
        code: k.code(),
        label: k.label_zh(),
    }
}

fn coded_status(s: RequestStatus) -> Coded {
    Coded {
        code: s.code(),
        label: s.label_zh(),
    }
}

fn parse_kind(code: &str) -> Result<RequestKind, StoreError> {
    RequestKind::parse(code).ok_or_else(|| StoreError::Corrupt(format!("request kind {code}")))
}

fn parse_request_status(code: &str) -> Result<RequestStatus, StoreError> {
    RequestStatus::parse(code).ok_or_else(|| StoreError::Corrupt(format!("request status {code}")))
}

fn reporter_acting() -> Acting {
    Acting {
        role: Some(Role::Citizen),
        ..Acting::system("上报人（短信验证）")
    }
}

impl RequestRow {
    fn mine(&self) -> Result<MyRequest, StoreError> {
        Ok(MyRequest {
            id: self.id,
            kind: coded_kind(parse_kind(&self.kind)?),
            status: coded_status(parse_request_status(&self.status)?),
            requested_at: self.requested_at,
            due_at: self.due_at,
            decided_at: self.decided_at,
            decision_note: self.decision_note.clone(),
        })
    }

    fn for_staff(&self, pii: &Pii, now: DateTime<Utc>) -> Result<RightsRequest, StoreError> {
        let status = parse_request_status(&self.status)?;
        Ok(RightsRequest {
            id: self.id,
            event_id: self.event_id,
            event_number: self.event_number.clone(),
            township: self.township.clone(),
            kind: coded_kind(parse_kind(&self.kind)?),
            status: coded_status(status),
            new_name: pii.open_opt(Field::RightsName, self.new_name.as_deref())?,
            new_phone: pii.open_opt(Field::RightsPhone, self.new_phone.as_deref())?,
            note: pii.open_opt(Field::RightsNote, self.note.as_deref())?,
            requested_at: self.requested_at,
            due_at: self.due_at,
            overdue: status == RequestStatus::Open && self.due_at < now,
            decided_at: self.decided_at,
            decision_note: self.decision_note.clone(),
        })
    }
}

/// The phone index a live pass stands for.
async fn pass_phone<T: Tx>(
    tx: &mut T,
    pass: &str,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let mut q = Sql::new("SELECT phone_index FROM phone_codes WHERE pass_hash = ");
    q.arg(Arg::Text(crate::feedback::token_hash(pass.trim())))
        .push(" AND pass_expires_at > ")
        .arg(Arg::Time(now));
    let found: Vec<(String,)> = tx.rows(q).await?;
    found
        .into_iter()
        .next()
        .map(|r| r.0)
        .ok_or_else(|| StoreError::Forbidden(BAD_PASS.into()))
}

async fn sms<T: Tx>(
    tx: &mut T,
    pii: &Pii,
    key: &str,
    event_id: Option<i64>,
    phone: &str,
    text: String,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let payload = serde_json::json!({ "message_id": key, "to": [phone], "text": text });
    crate::outbox::enqueue(
        tx,
        pii,
        crate::outbox::TOPIC_SMS,
        key,
        event_id,
        &payload,
        now,
    )
    .await
}

impl Store {
    /// Sends a one-time code to `phone` by SMS (through the outbox), unless that
    /// phone had `policy.sends_per_phone` codes in the last `send_window`.
    pub async fn send_phone_code(
        &self,
        phone: &str,
        policy: &CodePolicy,
        now: DateTime<Utc>,
    ) -> Result<CodeSent, StoreError> {
        let phone = Phone::parse(phone).map_err(|e| StoreError::invalid("phone", e.to_string()))?;
        if !phone.as_str().starts_with('1') {
            return Err(StoreError::invalid("phone", "验证码只能发送到手机号码"));
        }
        let pii = self.pii()?;
        let index = pii.phone_index(phone.as_str());
        let code = rights::code_from(rand::random::<u32>());
        let expires_at = now + policy.ttl;
        in_tx!(self, Write, |tx| {
            let mut q = Sql::new("SELECT COUNT(*) FROM phone_codes WHERE phone_index = ");
            q.arg(Arg::Text(index.clone()))
                .push(" AND sent_at > ")
                .arg(Arg::Time(now - policy.send_window));
            if tx.count(q).await? >= policy.sends_per_phone {
                return Err(StoreError::RateLimited(format!(
                    "验证码发送过于频繁，请 {} 分钟后再试",
                    policy.send_window.num_minutes()
                )));
            }
            let mut q = Sql::new(
                "INSERT INTO phone_codes (phone_index, code_hash, sent_at, expires_at) VALUES (",
            );
            q.arg(Arg::Text(index.clone()))
                .push(", ")
                .arg(Arg::Text(pii.code_hash(&index, &code)))
                .push(", ")
                .arg(Arg::Time(now))
                .push(", ")
                .arg(Arg::Time(expires_at))
                .push(") RETURNING id");
            let id: Vec<(i64,)> = tx.rows(q).await?;
            let id = id.first().map_or(0, |r| r.0);
            sms(
                &mut tx,
                pii,
                &format!("zhili-sms-code-{id}"),
                None,
                phone.as_str(),
                format!(
                    "【基层治理四平台】您的验证码为 {code}，{} 分钟内有效，仅用于查询和更正您本人的上报信息。如非本人操作请忽略。",
                    policy.ttl.num_minutes()
                ),
                now,
            )
            .await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: reporter_acting(),
                action: "rights.code_sent".into(),
                object_type: "phone_code",
                object_id: Some(id.to_string()),
                detail: None,
            })
            .await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(CodeSent { expires_at })
    }

    /// Checks a code typed for `phone`. Right: the code is spent and a pass comes
    /// back. Wrong: the try is counted, and after `policy.max_attempts` the code
    /// is dead even for its right value.
    pub async fn verify_phone_code(
        &self,
        phone: &str,
        code: &str,
        policy: &CodePolicy,
        now: DateTime<Utc>,
    ) -> Result<ReporterPass, StoreError> {
        let bad = || StoreError::invalid("code", BAD_CODE);
        let Ok(phone) = Phone::parse(phone) else {
            return Err(StoreError::invalid(
                "phone",
                "不是有效的手机号或固定电话号码",
            ));
        };
        if !rights::well_formed_code(code) {
            return Err(StoreError::invalid("code", "请输入短信中的 6 位数字"));
        }
        let pii = self.pii()?;
        let index = pii.phone_index(phone.as_str());
        let typed = pii.code_hash(&index, code.trim());
        let pass = hex::encode(rand::random::<[u8; 24]>());
        let expires_at = now + policy.pass_ttl;
        // A wrong try must be committed: `break 'tried`, never `return`.
        let earned = in_tx!(self, Write, |tx| 'tried: {
            // Only the newest code counts: asking for a new one retires the old.
            let mut q =
                Sql::new("SELECT id, code_hash, attempts FROM phone_codes WHERE phone_index = ");
            q.arg(Arg::Text(index.clone()))
                .push(" ORDER BY sent_at DESC, id DESC LIMIT 1");
            let newest: Vec<CodeRow> = tx.rows(q).await?;
            let Some(c) = newest.into_iter().next() else {
                break 'tried Ok::<_, StoreError>(false);
            };
            let mut live = Sql::new("id = ");
            live.arg(Arg::I64(c.id))
                .push(" AND used_at IS NULL AND expires_at > ")
                .arg(Arg::Time(now))
                .push(" AND attempts < ")
                .arg(Arg::I64(policy.max_attempts));
            if c.code_hash == typed && c.attempts < policy.max_attempts {
                let mut q = Sql::new("UPDATE phone_codes SET used_at = ");
                q.arg(Arg::Time(now))
                    .push(", pass_hash = ")
                    .arg(Arg::Text(crate::feedback::token_hash(&pass)))
                    .push(", pass_expires_at = ")
                    .arg(Arg::Time(expires_at))
                    .push(" WHERE ")
                    .append(live);
                // Spent, expired, or spent by a racing request: not earned.
                if tx.exec(q).await? == 1 {
                    tx.insert_audit(&AuditRecord {
                        at: now,
                        actor: reporter_acting(),
                        action: "rights.verified".into(),
                        object_type: "phone_code",
                        object_id: Some(c.id.to_string()),
                        detail: None,
                    })
                    .await?;
                    break 'tried Ok(true);
                }
                break 'tried Ok(false);
            }
            let mut q = Sql::new("UPDATE phone_codes SET attempts = attempts + 1 WHERE ");
            q.append(live);
            tx.exec(q).await?;
            Ok(false)
        })?;
        if earned {
            Ok(ReporterPass { pass, expires_at })
        } else {
            Err(bad())
        }
    }

    /// Everything held about the holder of `pass` in their reports, in full; the
    /// access is audited (`pii.subject_access`).
    pub async fn my_reports(
        &self,
        pass: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MyReport>, StoreError> {
        let pii = self.pii()?;
        in_tx!(self, Write, |tx| {
            let index = pass_phone(&mut tx, pass, now).await?;
            let mut q = Sql::new(
                "SELECT e.id, e.number, e.reported_at, e.status, e.channel, t.name AS township, \
                 c.name AS category, e.text, e.address, e.reporter_name, e.reporter_phone \
                 FROM events e JOIN orgs t ON t.id = e.township_id \
                 LEFT JOIN categories c ON c.id = e.category_id WHERE e.reporter_phone_index = ",
            );
            q.arg(Arg::Text(index.clone()))
                .push(" ORDER BY e.reported_at DESC, e.id DESC LIMIT 200");
            let rows: Vec<MineRow> = tx.rows(q).await?;
            let mut r = Sql::new(REQUEST_SELECT);
            r.push("WHERE r.phone_index = ")
                .arg(Arg::Text(index))
                .push(" ORDER BY r.requested_at, r.id");
            let requests: Vec<RequestRow> = tx.rows(r).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let status = Status::parse(&row.status)
                    .ok_or_else(|| StoreError::Corrupt(format!("status {}", row.status)))?;
                let channel = zhili_domain::Channel::parse(&row.channel)
                    .ok_or_else(|| StoreError::Corrupt(format!("channel {}", row.channel)))?;
                out.push(MyReport {
                    requests: requests
                        .iter()
                        .filter(|q| q.event_id == row.id)
                        .map(RequestRow::mine)
                        .collect::<Result<_, _>>()?,
                    number: row.number,
                    reported_at: row.reported_at,
                    status: Coded::of_status(status),
                    channel: Coded {
                        code: channel.code(),
                        label: channel.label_zh(),
                    },
                    township: row.township,
                    category: row.category,
                    text: row.text,
                    address: row.address,
                    name: pii.open_opt(Field::ReporterName, row.reporter_name.as_deref())?,
                    phone: pii.open_opt(Field::ReporterPhone, row.reporter_phone.as_deref())?,
                });
            }
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: reporter_acting(),
                action: "pii.subject_access".into(),
                object_type: "reporter",
                object_id: None,
                detail: Some(serde_json::json!({
                    "numbers": out.iter().map(|r| r.number.as_str()).collect::<Vec<_>>(),
                })),
            })
            .await?;
            Ok(out)
        })
    }

    /// Files a request to correct or delete the personal data of one of the pass
    /// holder's reports. One open request of a kind per report.
    pub async fn file_rights_request(
        &self,
        pass: &str,
        new: &NewRequest,
        now: DateTime<Utc>,
    ) -> Result<MyRequest, StoreError> {
        let kind = RequestKind::parse(new.kind.trim()).ok_or_else(|| {
            StoreError::invalid(
                "kind",
                format!("申请类型应为 {}", RequestKind::codes().join("、")),
            )
        })?;
        let trimmed = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let (name, phone, note) = (
            trimmed(&new.new_name),
            trimmed(&new.new_phone),
            trimmed(&new.note),
        );
        rights::check_request(kind, name.as_deref(), phone.as_deref(), note.as_deref())
            .map_err(|p| StoreError::invalid(p.field, p.reason))?;
        let name = name
            .map(|n| zhili_domain::PersonName::parse(&n).map(|p| p.as_str().to_string()))
            .transpose()
            .map_err(|e| StoreError::invalid("name", e.to_string()))?;
        let phone = phone
            .map(|p| Phone::parse(&p).map(|p| p.as_str().to_string()))
            .transpose()
            .map_err(|e| StoreError::invalid("phone", e.to_string()))?;
        let pii = self.pii()?;
        in_tx!(self, Write, |tx| {
            let index = pass_phone(&mut tx, pass, now).await?;
            let mut q = Sql::new("SELECT id, status FROM events WHERE number = ");
            q.arg(Arg::Text(new.number.trim().to_string()))
                .push(" AND reporter_phone_index = ")
                .arg(Arg::Text(index.clone()));
            let found: Vec<(i64, String)> = tx.rows(q).await?;
            let Some((event_id, status)) = found.into_iter().next() else {
                return Err(StoreError::invalid("event", "没有找到您上报的该事件"));
            };
            let mut q = Sql::new("SELECT COUNT(*) FROM rights_requests WHERE event_id = ");
            q.arg(Arg::I64(event_id))
                .push(" AND status = 'open' AND kind = ")
                .arg(Arg::Text(kind.code().into()));
            if tx.count(q).await? > 0 {
                return Err(StoreError::invalid("kind", "该事件已有待处理的同类申请"));
            }
            let due = rights::due_at(now);
            let mut q = Sql::new(
                "INSERT INTO rights_requests (event_id, kind, phone_index, new_name, new_phone, note, \
                 requested_at, due_at) VALUES (",
            );
            q.arg(Arg::I64(event_id))
                .push(", ")
                .arg(Arg::Text(kind.code().into()))
                .push(", ")
                .arg(Arg::Text(index))
                .push(", ")
                .arg(Arg::OptText(
                    pii.seal_opt(Field::RightsName, name.as_deref()),
                ))
                .push(", ")
                .arg(Arg::OptText(
                    pii.seal_opt(Field::RightsPhone, phone.as_deref()),
                ))
                .push(", ")
                .arg(Arg::OptText(
                    pii.seal_opt(Field::RightsNote, note.as_deref()),
                ))
                .push(", ")
                .arg(Arg::Time(now))
                .push(", ")
                .arg(Arg::Time(due))
                .push(") RETURNING id");
            let id: Vec<(i64,)> = tx.rows(q).await?;
            let id = id.first().map_or(0, |r| r.0);
            let acting = reporter_acting();
            tx.insert_timeline(&TimelineInsert {
                event_id,
                at: now,
                actor_id: None,
                actor_name: acting.name.clone(),
                action: RIGHTS_ACTION.into(),
                from_status: Some(status.clone()),
                to_status: status,
                note: Some(format!(
                    "上报人申请{}个人信息（第 {id} 号申请，{} 前办理）",
                    kind.label_zh(),
                    due.with_timezone(&zhili_calendar::china_time())
                        .format("%Y-%m-%d")
                )),
                data: None,
            })
            .await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting,
                action: "rights.requested".into(),
                object_type: "rights_request",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({ "event_id": event_id, "kind": kind.code() })),
            })
            .await?;
            Ok(MyRequest {
                id,
                kind: coded_kind(kind),
                status: coded_status(RequestStatus::Open),
                requested_at: now,
                due_at: due,
                decided_at: None,
                decision_note: None,
            })
        })
    }

    /// The requests on the events `actor` runs as a command room, open ones first
    /// by deadline. Nobody else handles them.
    pub async fn rights_requests(
        &self,
        actor: &Actor,
        open_only: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<RightsRequest>, StoreError> {
        decides_requests(actor)?;
        let pii = self.pii()?;
        let mut q = Sql::new(REQUEST_SELECT);
        q.push("WHERE ").append(scope_sql(actor.scope()));
        if open_only {
            q.push(" AND r.status = 'open'");
        }
        q.push(" ORDER BY CASE WHEN r.status = 'open' THEN 0 ELSE 1 END, r.due_at, r.id LIMIT 500");
        let rows: Vec<RequestRow> = in_tx!(self, Read, |tx| tx.rows(q).await)?;
        rows.iter().map(|r| r.for_staff(pii, now)).collect()
    }

    /// Decides a request: `approve` writes the correction or erases the reporter's
    /// data from the event; a refusal needs a reason. Timeline, audit and an SMS to
    /// the reporter, in one transaction.
    pub async fn decide_rights_request(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<RightsRequest, StoreError> {
        decides_requests(actor)?;
        let note = note.trim();
        if !approve && !(4..=200).contains(&note.chars().count()) {
            return Err(StoreError::invalid(
                "note",
                "不予办理须说明理由（4–200 字），理由将告知上报人",
            ));
        }
        if note.chars().count() > 200 {
            return Err(StoreError::invalid("note", "说明不超过 200 字"));
        }
        let pii = self.pii()?;
        let acting = Acting::from(actor);
        in_tx!(self, Write, |tx| {
            let mut q = Sql::new(REQUEST_SELECT);
            q.push("WHERE r.id = ")
                .arg(Arg::I64(id))
                .push(" AND ")
                .append(scope_sql(actor.scope()));
            let rows: Vec<RequestRow> = tx.rows(q).await?;
            let row = rows.into_iter().next().ok_or(StoreError::NotFound)?;
            if row.status != RequestStatus::Open.code() {
                return Err(StoreError::invalid("id", "该申请已办理"));
            }
            let kind = parse_kind(&row.kind)?;
            let mut e =
                Sql::new("SELECT id, number, text, status, reporter_phone FROM events WHERE id = ");
            e.arg(Arg::I64(row.event_id));
            let ev: Vec<(i64, String, String, String, Option<String>)> = tx.rows(e).await?;
            let (event_id, number, text, status, sealed_phone) =
                ev.into_iter().next().ok_or(StoreError::NotFound)?;
            // Told at the number they gave: the old one, also after a correction.
            let phone = pii.open_opt(Field::ReporterPhone, sealed_phone.as_deref())?;
            let new_status = if approve {
                match kind {
                    RequestKind::Delete => {
                        crate::retention::erase(
                            &mut tx, pii, event_id, &number, &text, now, &acting,
                        )
                        .await?;
                    }
                    RequestKind::Correct => {
                        let name = pii.open_opt(Field::RightsName, row.new_name.as_deref())?;
                        let new_phone =
                            pii.open_opt(Field::RightsPhone, row.new_phone.as_deref())?;
                        let mut u = Sql::new("UPDATE events SET reporter_name = COALESCE(");
                        u.arg(Arg::OptText(
                            pii.seal_opt(Field::ReporterName, name.as_deref()),
                        ))
                        .push(", reporter_name), reporter_phone = COALESCE(")
                        .arg(Arg::OptText(
                            pii.seal_opt(Field::ReporterPhone, new_phone.as_deref()),
                        ))
                        .push(", reporter_phone), reporter_phone_index = COALESCE(")
                        .arg(Arg::OptText(
                            new_phone.as_deref().map(|p| pii.phone_index(p)),
                        ))
                        .push(", reporter_phone_index) WHERE id = ")
                        .arg(Arg::I64(event_id));
                        tx.exec(u).await?;
                    }
                }
                RequestStatus::Done
            } else {
                RequestStatus::Refused
            };
            let mut u = Sql::new("UPDATE rights_requests SET status = ");
            u.arg(Arg::Text(new_status.code().into()))
                .push(", decided_at = ")
                .arg(Arg::Time(now))
                .push(", decided_by = ")
                .arg(Arg::OptI64(acting.user_id.map(|u| u.0)))
                .push(", decision_note = ")
                .arg(Arg::OptText((!note.is_empty()).then(|| note.to_string())))
                .push(" WHERE id = ")
                .arg(Arg::I64(id));
            tx.exec(u).await?;
            tx.insert_timeline(&TimelineInsert {
                event_id,
                at: now,
                actor_id: acting.user_id.map(|u| u.0),
                actor_name: acting.name.clone(),
                action: RIGHTS_ACTION.into(),
                from_status: Some(status.clone()),
                to_status: status,
                note: Some(format!(
                    "第 {id} 号{}申请：{}{}",
                    kind.label_zh(),
                    new_status.label_zh(),
                    if note.is_empty() {
                        String::new()
                    } else {
                        format!("（{note}）")
                    }
                )),
                data: None,
            })
            .await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting.clone(),
                action: "rights.decided".into(),
                object_type: "rights_request",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({
                    "number": number,
                    "kind": kind.code(),
                    "outcome": new_status.code(),
                    "note": note,
                })),
            })
            .await?;
            if let Some(phone) = phone {
                let tail = match new_status {
                    RequestStatus::Refused => format!("不予办理，理由：{note}"),
                    _ => "已办理".to_string(),
                };
                sms(
                    &mut tx,
                    pii,
                    &format!("zhili-sms-rights-{id}"),
                    Some(event_id),
                    &phone,
                    format!(
                        "【基层治理四平台】您对事件（编号{number}）个人信息的{}申请{tail}。",
                        kind.label_zh()
                    ),
                    now,
                )
                .await?;
            }
            let mut q = Sql::new(REQUEST_SELECT);
            q.push("WHERE r.id = ").arg(Arg::I64(id));
            let rows: Vec<RequestRow> = tx.rows(q).await?;
            rows.first()
                .ok_or(StoreError::NotFound)?
                .for_staff(pii, now)
        })
    }
}

impl Store {
    /// Reminds the command room of each open request past its deadline, once: a
    /// notice (and its SMS and e-mail) to the township of the event and to the city
    /// command centre, which supervises. Guarded per request so that instances
    /// sweeping at the same time remind once. Returns how many were reminded.
    pub async fn remind_overdue_rights(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<usize, StoreError> {
        let pii = self.pii()?;
        let mut q = Sql::new(
            "SELECT r.id, r.kind, r.event_id, e.number, e.township_id, r.due_at FROM rights_requests r \
             JOIN events e ON e.id = r.event_id WHERE r.status = 'open' \
             AND r.overdue_notified_at IS NULL AND r.due_at <= ",
        );
        q.arg(Arg::Time(now))
            .push(" ORDER BY r.due_at, r.id LIMIT ")
            .arg(Arg::I64(limit.max(1)));
        let due: Vec<(i64, String, i64, String, i64, DateTime<Utc>)> =
            in_tx!(self, Read, |tx| tx.rows(q).await)?;
        let mut reminded = 0;
        for (id, kind, event_id, number, township, due_at) in due {
            let kind = parse_kind(&kind)?;
            let done = in_tx!(self, Write, |tx| 'remind: {
                let mut u = Sql::new("UPDATE rights_requests SET overdue_notified_at = ");
                u.arg(Arg::Time(now))
                    .push(" WHERE overdue_notified_at IS NULL AND status = 'open' AND id = ")
                    .arg(Arg::I64(id));
                if tx.exec(u).await? == 0 {
                    break 'remind Ok::<_, StoreError>(false); // another instance, or decided
                }
                let mut orgs = vec![township];
                orgs.extend(crate::warnings::city_org(&mut tx).await?);
                for org in orgs {
                    crate::warnings::notify(
                        &mut tx,
                        pii,
                        &crate::warnings::NewNotification {
                            event_id: Some(event_id),
                            org_id: org,
                            kind: RIGHTS_OVERDUE,
                            title: format!("【个人信息申请超期】{number}"),
                            body: format!(
                                "上报人对事件 {number} 的第 {id} 号{}申请已过办理期限（{}），请尽快办理。",
                                kind.label_zh(),
                                crate::warnings::china(due_at)
                            ),
                            at: now,
                        },
                    )
                    .await?;
                }
                Ok(true)
            })?;
            reminded += usize::from(done);
        }
        Ok(reminded)
    }
}

/// The notice kind of an overdue request.
pub(crate) const RIGHTS_OVERDUE: &str = "rights_overdue";

/// The timeline action of a reporter's request and its decision.
pub(crate) const RIGHTS_ACTION: &str = "rights";

/// Requests are decided by the command rooms, the city's or the township's.
fn decides_requests(actor: &Actor) -> Result<(), StoreError> {
    match actor.role {
        Role::CityOperator | Role::TownshipOperator => Ok(()),
        _ => Err(StoreError::Forbidden(
            "只有指挥室可以办理上报人的个人信息申请".into(),
        )),
    }
}

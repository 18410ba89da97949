//! Feedback to the reporter (O3): when the result is reported back (反馈), a reporter
//! with a phone gets a one-time rating link by SMS (through the outbox, in the same
//! transaction), answers on the five-level 好差评 scale without an account, and may
//! ask for the event to be handled again. Also the check code (查询码) with which a
//! reporter looks their event up in public: derived from the event number with a
//! secret kept in the database, so nothing per event is stored.

use std::future::Future;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use zhili_domain::{Action, ActionKind, Capacities, Satisfaction, Status, mask_in_text, mask_name};

use crate::backend::{EventRow, Tx};
use crate::events::{ActContext, Acting, act_on, row_in_scope};
use crate::pii::Field;
use crate::records::Coded;
use crate::{Store, StoreError, in_tx};

/// The name the timeline and audit give a reporter answering through the link.
pub const LINK_ACTOR: &str = "报告人（回访链接）";

/// How rating links are made.
#[derive(Debug, Clone)]
pub struct FeedbackSettings {
    /// How long a link can be used.
    pub link_ttl: chrono::Duration,
    /// Put before `/f/{token}` in the SMS, e.g. `https://zhili.yuyao.gov.cn`.
    pub link_base: String,
}

impl Default for FeedbackSettings {
    fn default() -> Self {
        FeedbackSettings {
            link_ttl: chrono::Duration::days(7),
            link_base: String::new(),
        }
    }
}

/// What the store keeps for this module: its settings and the check-code secret
/// once read.
#[derive(Debug, Default)]
pub(crate) struct FeedbackState {
    pub(crate) settings: FeedbackSettings,
    secret: OnceLock<[u8; 32]>,
}

impl FeedbackState {
    pub(crate) fn new(settings: FeedbackSettings) -> Self {
        FeedbackState {
            settings,
            secret: OnceLock::new(),
        }
    }
}

/// The statements this module runs inside an event's transaction (the pattern of
/// `backend::Tx`, kept here so the links stay in one file).
pub(crate) trait FeedbackTx: Tx {
    fn insert_feedback_token(
        &mut self,
        event_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Spends every open link of the event; the number spent.
    fn spend_open_tokens(
        &mut self,
        event_id: i64,
        how: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    /// Spends one link if it is still open; false when someone was quicker.
    fn spend_token(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
    fn token_by_hash(
        &mut self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<TokenRow>, sqlx::Error>> + Send;
    fn latest_token(
        &mut self,
        event_id: i64,
    ) -> impl Future<Output = Result<Option<TokenRow>, sqlx::Error>> + Send;
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub id: i64,
    pub event_id: i64,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub used_how: Option<String>,
}

const TOKEN_SELECT: &str =
    "SELECT id, event_id, expires_at, used_at, used_how FROM feedback_tokens ";

macro_rules! impl_feedback_tx {
    ($db:ty) => {
        impl<'c> FeedbackTx for sqlx::Transaction<'c, $db> {
            async fn insert_feedback_token(
                &mut self,
                event_id: i64,
                token_hash: &str,
                now: DateTime<Utc>,
                expires_at: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO feedback_tokens (event_id, token_hash, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(event_id)
                .bind(token_hash)
                .bind(now)
                .bind(expires_at)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn spend_open_tokens(
                &mut self,
                event_id: i64,
                how: &str,
                now: DateTime<Utc>,
            ) -> Result<u64, sqlx::Error> {
                sqlx::query(
                    "UPDATE feedback_tokens SET used_at = $1, used_how = $2 \
                     WHERE event_id = $3 AND used_at IS NULL",
                )
                .bind(now)
                .bind(how)
                .bind(event_id)
                .execute(&mut **self)
                .await
                .map(|r| r.rows_affected())
            }

            async fn spend_token(
                &mut self,
                id: i64,
                now: DateTime<Utc>,
            ) -> Result<bool, sqlx::Error> {
                sqlx::query(
                    "UPDATE feedback_tokens SET used_at = $1, used_how = 'answered' \
                     WHERE id = $2 AND used_at IS NULL",
                )
                .bind(now)
                .bind(id)
                .execute(&mut **self)
                .await
                .map(|r| r.rows_affected() == 1)
            }

            async fn token_by_hash(
                &mut self,
                token_hash: &str,
            ) -> Result<Option<TokenRow>, sqlx::Error> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{TOKEN_SELECT} WHERE token_hash = $1"
                )))
                .bind(token_hash)
                .fetch_optional(&mut **self)
                .await
            }

            async fn latest_token(
                &mut self,
                event_id: i64,
            ) -> Result<Option<TokenRow>, sqlx::Error> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{TOKEN_SELECT} WHERE event_id = $1 ORDER BY id DESC LIMIT 1"
                )))
                .bind(event_id)
                .fetch_optional(&mut **self)
                .await
            }
        }
    };
}

impl_feedback_tx!(sqlx::Sqlite);
impl_feedback_tx!(sqlx::Postgres);

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The hook `act_on` calls after every action: an inform makes a new link (and
/// spends the old ones); an action that takes the event out of 已反馈 spends the
/// open link, so it cannot rate an event rated by phone, closed or reopened.
/// `settings` is `None` when history is replayed: nothing is sent again.
pub(crate) async fn after_action<T: FeedbackTx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    settings: Option<&FeedbackSettings>,
    row: &EventRow,
    action: &Action,
    to: Status,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if row.status == Status::Informed.code() && to != Status::Informed {
        tx.spend_open_tokens(row.id, action.kind().code(), now)
            .await?;
    }
    let (Action::Inform { .. }, Some(settings)) = (action, settings) else {
        return Ok(());
    };
    tx.spend_open_tokens(row.id, "replaced", now).await?;
    // A reporter we cannot text gets no link: those with an account rate in the
    // app, the others by phone through the operator.
    let Some(phone) = pii.open_opt(Field::ReporterPhone, row.reporter_phone.as_deref())? else {
        return Ok(());
    };
    let token = hex::encode(rand::random::<[u8; 16]>());
    let expires_at = now + settings.link_ttl;
    tx.insert_feedback_token(row.id, &token_hash(&token), now, expires_at)
        .await?;
    let link = format!("{}/f/{token}", settings.link_base.trim_end_matches('/'));
    let message_id = format!("zhili-sms-feedback-{}-v{}", row.number, row.version + 1);
    let text = format!(
        "【基层治理四平台】您反映的事件（编号{}）已办理并反馈结果。请在{}天内点击链接评价：{link}",
        row.number,
        settings.link_ttl.num_days().max(1),
    );
    let payload = serde_json::json!({
        "message_id": message_id,
        // The one SMS shape (docs/connectors.md): recipients and text.
        "to": [phone],
        "text": text,
        "event_number": row.number,
        "expires_at": expires_at,
    });
    crate::outbox::enqueue(
        tx,
        pii,
        crate::outbox::TOPIC_SMS,
        &message_id,
        Some(row.id),
        &payload,
        now,
    )
    .await
}

/// Text as the public may read it: phone, ID and card numbers masked, and the
/// reporter's own name (and given name) where it appears.
pub fn mask_for_public(text: &str, reporter_name: Option<&str>) -> String {
    let mut out = mask_in_text(text);
    if let Some(name) = reporter_name.map(str::trim).filter(|n| !n.is_empty()) {
        out = out.replace(name, &mask_name(name));
        let given: String = name.chars().skip(1).collect();
        if given.chars().count() >= 2 {
            out = out.replace(&given, &"*".repeat(given.chars().count()));
        }
    }
    out
}

/// The six-digit check code of an event number under `secret`.
pub fn derive_check_code(secret: &[u8], number: &str) -> String {
    let mac = crate::pii::hmac_sha256(secret, number.as_bytes());
    let n = u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]) % 1_000_000;
    format!("{n:06}")
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The reporter's answer from the link's form.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackAnswer {
    pub satisfaction: Satisfaction,
    pub comment: Option<String>,
    /// "要求重新办理": only with a dissatisfied answer.
    pub reopen_reason: Option<String>,
}

/// An open link as its page shows it. No personal data: the result is masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackLink {
    pub event_number: String,
    pub category: Option<String>,
    pub township: String,
    pub status: Coded,
    /// What the handling unit reported as done, masked.
    pub result: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Where a link stands. An unknown link is `StoreError::NotFound`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LinkState {
    Open(Box<FeedbackLink>),
    Used,
    Expired,
}

/// What an answer did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answered {
    pub event_number: String,
    pub satisfaction: Coded,
    pub reopened: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AnswerOutcome {
    Answered(Answered),
    Used,
    Expired,
}

/// How the public lookup describes the event's rating link.
pub(crate) fn link_state_label(t: Option<&TokenRow>, now: DateTime<Utc>) -> Coded {
    let c = |code, label| Coded { code, label };
    match t {
        None => c("none", "未发送评价链接"),
        Some(t) => match t.used_how.as_deref() {
            Some("answered") => c("answered", "已通过链接评价"),
            Some(_) => c("spent", "已失效"),
            None if t.expires_at <= now => c("expired", "已过期"),
            None => c("open", "待评价"),
        },
    }
}

/// The last result a unit reported (办结), masked for the public.
pub(crate) async fn public_result<T: Tx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    row: &EventRow,
) -> Result<Option<String>, StoreError> {
    let name = reporter_name(pii, row)?;
    Ok(tx
        .timeline(row.id)
        .await?
        .into_iter()
        .rev()
        .find(|t| t.action == ActionKind::Resolve.code())
        .and_then(|t| t.note)
        .map(|n| mask_for_public(&n, name.as_deref())))
}

/// The reporter's name in plain text, for masking it in what the public reads.
pub(crate) fn reporter_name(
    pii: &crate::pii::Pii,
    row: &EventRow,
) -> Result<Option<String>, StoreError> {
    pii.open_opt(Field::ReporterName, row.reporter_name.as_deref())
}

async fn event_by_id<T: Tx>(tx: &mut T, id: i64) -> Result<EventRow, StoreError> {
    row_in_scope(tx, zhili_domain::Scope::ALL, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("feedback link of missing event {id}")))
}

impl Store {
    /// Rating links with these settings instead of the defaults (7 days, relative link).
    pub fn with_feedback_settings(mut self, settings: FeedbackSettings) -> Self {
        self.feedback = std::sync::Arc::new(FeedbackState::new(settings));
        self
    }

    /// The secret of the check codes: made once per database, by whichever
    /// instance comes first, and kept in memory after the first read.
    async fn check_secret(&self) -> Result<[u8; 32], StoreError> {
        if let Some(s) = self.feedback.secret.get() {
            return Ok(*s);
        }
        let fresh = hex::encode(rand::random::<[u8; 32]>());
        let stored: String = in_tx!(self, Write, |tx| {
            sqlx::query(
                "INSERT INTO check_code_secret (id, secret) VALUES (1, $1) ON CONFLICT DO NOTHING",
            )
            .bind(&fresh)
            .execute(&mut *tx)
            .await?;
            sqlx::query_scalar::<_, String>("SELECT secret FROM check_code_secret WHERE id = 1")
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from)
        })?;
        let secret: [u8; 32] = hex::decode(&stored)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| StoreError::Corrupt("check code secret".into()))?;
        Ok(*self.feedback.secret.get_or_init(|| secret))
    }

    /// The check code (查询码) of an event number, for the reporter.
    pub async fn check_code(&self, number: &str) -> Result<String, StoreError> {
        Ok(derive_check_code(&self.check_secret().await?, number))
    }

    /// Whether `code` is the check code of `number`, compared in constant time.
    pub async fn check_code_matches(&self, number: &str, code: &str) -> Result<bool, StoreError> {
        let expected = self.check_code(number).await?;
        Ok(same(expected.as_bytes(), code.trim().as_bytes()))
    }

    /// Reads a rating link. Unknown: `NotFound`.
    pub async fn feedback_link(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<LinkState, StoreError> {
        let hash = token_hash(token.trim());
        in_tx!(self, Read, |tx| {
            let t = tx.token_by_hash(&hash).await?.ok_or(StoreError::NotFound)?;
            if t.used_at.is_some() {
                return Ok(LinkState::Used);
            }
            if t.expires_at <= now {
                return Ok(LinkState::Expired);
            }
            let row = event_by_id(&mut tx, t.event_id).await?;
            let status = Status::parse(&row.status)
                .ok_or_else(|| StoreError::Corrupt(format!("status {}", row.status)))?;
            // Spent by the hook whenever the event leaves 已反馈; kept as a guard.
            if status != Status::Informed {
                return Ok(LinkState::Used);
            }
            let result = public_result(&mut tx, self.pii()?, &row).await?;
            Ok::<_, StoreError>(LinkState::Open(Box::new(FeedbackLink {
                event_number: row.number,
                category: row.category_name,
                township: row.township_name,
                status: Coded::of_status(status),
                result,
                expires_at: t.expires_at,
            })))
        })
    }

    /// The reporter answers through the link: the rating (and, if dissatisfied and
    /// asked for, the reopening) is applied as the reporter, with timeline and
    /// audit, and the link is spent — all in one transaction.
    pub async fn answer_feedback(
        &self,
        token: &str,
        answer: &FeedbackAnswer,
        now: DateTime<Utc>,
    ) -> Result<AnswerOutcome, StoreError> {
        let reopen = answer
            .reopen_reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if reopen.is_some() && !answer.satisfaction.is_dissatisfied() {
            return Err(StoreError::invalid(
                "reopen_reason",
                "只有“不满意”或“非常不满意”时才能要求重新办理",
            ));
        }
        let hash = token_hash(token.trim());
        let acting = Acting::system(LINK_ACTOR);
        let reporter = Capacities {
            reporter: true,
            ..Capacities::default()
        };
        let rules = self.deadline_rules();
        let ctx = ActContext {
            rules: &rules,
            replay: false,
            feedback: Some(&self.feedback.settings),
            pii: self.pii()?,
        };
        in_tx!(self, Write, |tx| {
            let t = tx.token_by_hash(&hash).await?.ok_or(StoreError::NotFound)?;
            if t.used_at.is_some() {
                return Ok(AnswerOutcome::Used);
            }
            if t.expires_at <= now {
                return Ok(AnswerOutcome::Expired);
            }
            if !tx.spend_token(t.id, now).await? {
                return Ok(AnswerOutcome::Used);
            }
            let row = event_by_id(&mut tx, t.event_id).await?;
            if row.status != Status::Informed.code() {
                return Ok(AnswerOutcome::Used);
            }
            let rate = Action::Rate {
                satisfaction: answer.satisfaction,
                comment: answer
                    .comment
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
            };
            act_on(&mut tx, &ctx, &row, &reporter, &acting, &rate, now).await?;
            if let Some(reason) = reopen {
                let row = event_by_id(&mut tx, t.event_id).await?;
                let action = Action::Reopen {
                    reason: reason.to_string(),
                };
                act_on(&mut tx, &ctx, &row, &reporter, &acting, &action, now).await?;
            }
            Ok::<_, StoreError>(AnswerOutcome::Answered(Answered {
                event_number: row.number,
                satisfaction: crate::records::coded_satisfaction(answer.satisfaction),
                reopened: reopen.is_some(),
            }))
        })
    }
}

/// The newest link of an event, for the public lookup.
pub(crate) async fn latest_link<T: FeedbackTx>(
    tx: &mut T,
    event_id: i64,
) -> Result<Option<TokenRow>, StoreError> {
    Ok(tx.latest_token(event_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_codes_are_six_digits_and_depend_on_the_secret() {
        let a = derive_check_code(&[1; 32], "YY20261128000001");
        assert_eq!(a.len(), 6);
        assert!(a.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(a, derive_check_code(&[1; 32], "YY20261128000001"));
        let others = (2..=6u8)
            .map(|k| derive_check_code(&[k; 32], "YY20261128000001"))
            .filter(|c| *c != a)
            .count();
        assert!(others >= 4);
        assert!(same(b"123456", b"123456"));
        assert!(!same(b"123456", b"123457"));
        assert!(!same(b"12345", b"123456"));
    }

    #[test]
    fn the_reporters_name_is_masked_in_public_text() {
        let t = mask_for_public(
            "我是王小明，电话13812345678，小明家门口很吵",
            Some("王小明"),
        );
        assert!(!t.contains("王小明"));
        assert!(!t.contains("小明"));
        assert!(!t.contains("13812345678"));
        assert!(t.contains("王**"));
    }
}

#[cfg(test)]
#[path = "feedback_tests.rs"]
mod story;

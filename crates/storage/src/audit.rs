//! The audit log as a hash chain. Each record stores the hash of the record before it
//! (`prev_hash`) and its own: `hash = SHA-256(prev_hash ‖ "\n" ‖ canonical record)`,
//! where the canonical record is a JSON object of the stored columns in a fixed order,
//! empty ones left out (so a column added later does not change old hashes). The
//! first record follows [`GENESIS`].
//!
//! Records are chained as they are written, in the transaction of the change they
//! record ([`crate::backend::Tx::insert_audit`]): SQLite has one writer at a time,
//! and PostgreSQL writers take a transaction-scoped advisory lock first, so the chain
//! never forks, whichever instance writes. [`Store::verify_audit_chain`] walks the
//! table in id order and reports the first record that was edited (its hash does not
//! match its content) or whose predecessor is not the record before it (one was
//! deleted, inserted or moved). A removed tail leaves a shorter chain that is still
//! whole: an anchor — the head written down earlier, off the system — catches that.
//!
//! Every record carries where it came from: the client's address and the request id
//! of the HTTP request it was written for ([`RequestContext`], set once per request
//! by the server, so the many places that write records need not pass it on), and
//! the actor's role and area ([`crate::Acting`]). Records of background work and the
//! CLI have no request and leave those empty.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backend::Tx;
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Records read per transaction while verifying.
const PAGE: i64 = 5_000;

/// Where a request came from, for the audit records written while serving it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The client's address (behind a trusted proxy, the one it reports).
    pub ip: Option<String>,
    /// The `x-request-id` the server answers with, to find the request in the logs.
    pub request_id: Option<String>,
}

tokio::task_local! {
    static REQUEST: RequestContext;
}

impl RequestContext {
    /// Runs `f` as serving this request: every audit record it writes (in this task)
    /// carries the request's address and id.
    pub async fn scope<F: std::future::Future>(self, f: F) -> F::Output {
        REQUEST.scope(self, f).await
    }

    /// The request being served by this task, if any.
    pub fn current() -> Option<RequestContext> {
        REQUEST.try_with(Clone::clone).ok()
    }

    /// Runs `f` in `request`'s scope when there is one: for work done in another
    /// task on a request's behalf (group commit's writers).
    pub(crate) async fn within<F: std::future::Future>(
        request: Option<RequestContext>,
        f: F,
    ) -> F::Output {
        match request {
            Some(r) => r.scope(f).await,
            None => f.await,
        }
    }
}

/// What a record's hash covers: its columns as stored.
#[derive(Serialize)]
pub(crate) struct Canonical<'a> {
    /// RFC 3339 in UTC with microseconds, the precision both backends keep.
    at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_id: Option<i64>,
    actor_name: &'a str,
    action: &'a str,
    object_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    // Added with migration 0026; empty in older records, which keep their hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_org_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// A record's columns as stored, borrowed: what [`Canonical`] is made of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Columns<'a> {
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub actor_role: Option<&'a str>,
    pub actor_org_id: Option<i64>,
    pub ip: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

impl<'a> Canonical<'a> {
    pub(crate) fn new(c: Columns<'a>) -> Self {
        Canonical {
            at: canonical_time(c.at),
            actor_id: c.actor_id,
            actor_name: c.actor_name,
            action: c.action,
            object_type: c.object_type,
            object_id: c.object_id,
            detail: c.detail,
            actor_role: c.actor_role,
            actor_org_id: c.actor_org_id,
            ip: c.ip,
            request_id: c.request_id,
        }
    }

    /// This record's hash when it follows `prev`.
    pub(crate) fn hash(&self, prev: &str) -> String {
        let json = serde_json::to_string(self).expect("a struct of strings serialises");
        let mut h = Sha256::new();
        h.update(prev.as_bytes());
        h.update(b"\n");
        h.update(json.as_bytes());
        hex::encode(h.finalize())
    }
}

/// The time as it is stored: PostgreSQL keeps microseconds, so the hash of a record
/// must not depend on finer digits.
pub(crate) fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// A time as hashes and signatures spell it: RFC 3339, UTC, microseconds.
fn canonical_time(at: DateTime<Utc>) -> String {
    stored_time(at).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The last record of the chain: written down (off the system) it is an anchor that a
/// later verification checks, so that removing the newest records shows too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub id: i64,
    pub hash: String,
    pub at: DateTime<Utc>,
}

/// How the chain is broken at a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The record's content does not match its hash: it was edited.
    Edited,
    /// The record does not follow the one before it: a record between them was
    /// deleted, or records were inserted or moved.
    Unlinked,
    /// The record has no hash: written around the application.
    Unsealed,
    /// The anchored record is gone, or holds something else now: the chain was cut
    /// back and perhaps written on, or rewritten with every hash recomputed.
    AnchorMismatch,
    /// A stored anchor whose signature does not verify: written or changed around
    /// the application, by someone without the master key.
    AnchorForged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    /// The first record where the chain does not hold (for an anchor, the record it
    /// anchors).
    pub id: i64,
    /// The record read before it, if any.
    pub previous_id: Option<i64>,
    pub kind: BreakKind,
    /// The stored anchor (`audit_anchors.id`) that does not hold, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Records read.
    pub records: u64,
    pub head: Option<ChainHead>,
    /// Signed anchors stored by the system and checked.
    pub anchors: u64,
    /// When the newest of them was written: an old one means anchoring stopped.
    pub last_anchor_at: Option<DateTime<Utc>>,
    /// `None`: the chain holds, matches every stored anchor and the given one.
    pub first_break: Option<ChainBreak>,
}

/// An anchor the system keeps itself: the chain's head at `at`, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SignedAnchor {
    pub id: i64,
    pub head_id: i64,
    pub head_hash: String,
    pub at: DateTime<Utc>,
    pub signature: String,
    /// The instance whose background work wrote it.
    pub written_by: String,
}

impl SignedAnchor {
    fn verifies(&self, pii: &crate::pii::Pii) -> bool {
        let expected =
            pii.anchor_signature(self.head_id, &self.head_hash, &canonical_time(self.at));
        expected == self.signature
    }
}

const ANCHOR_SELECT: &str =
    "SELECT id, head_id, head_hash, at, signature, written_by FROM audit_anchors";

/// Walks records in id order and keeps the first break of the chain itself.
#[derive(Default)]
struct Walk {
    records: u64,
    prev: Option<(i64, String)>,
    first_break: Option<ChainBreak>,
}

impl Walk {
    /// A walk that goes on from a record known to hold (`id`, `hash`).
    fn after(id: i64, hash: String) -> Walk {
        Walk {
            prev: Some((id, hash)),
            ..Walk::default()
        }
    }

    fn previous_id(&self) -> Option<i64> {
        self.prev.as_ref().map(|(id, _)| *id)
    }

    /// Notes a break at `id` unless an earlier one was found.
    fn found(&mut self, id: i64, kind: BreakKind, anchor_id: Option<i64>) {
        if self.first_break.is_none() {
            self.first_break = Some(ChainBreak {
                id,
                previous_id: self.previous_id(),
                kind,
                anchor_id,
            });
        }
    }

    fn step(&mut self, r: &StoredRecord) {
        self.records += 1;
        let expected_prev = self.prev.as_ref().map_or(GENESIS, |(_, h)| h.as_str());
        let kind = match (&r.prev_hash, &r.hash) {
            (None, _) | (_, None) => Some(BreakKind::Unsealed),
            (Some(p), Some(h)) if *h != r.canonical().hash(p) => Some(BreakKind::Edited),
            (Some(p), _) if p != expected_prev => Some(BreakKind::Unlinked),
            _ => None,
        };
        if let Some(kind) = kind {
            self.found(r.id, kind, None);
        }
        self.prev = Some((r.id, r.hash.clone().unwrap_or_default()));
    }
}

#[derive(sqlx::FromRow)]
struct StoredRecord {
    id: i64,
    at: DateTime<Utc>,
    actor_id: Option<i64>,
    actor_name: String,
    action: String,
    object_type: String,
    object_id: Option<String>,
    detail: Option<String>,
    actor_role: Option<String>,
    actor_org_id: Option<i64>,
    ip: Option<String>,
    request_id: Option<String>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

/// The columns of `audit_log` a [`StoredRecord`] is read from (a macro, so that
/// statements can `concat!` it).
macro_rules! record_columns {
    () => {
        "id, at, actor_id, actor_name, action, object_type, object_id, detail, \
         actor_role, actor_org_id, ip, request_id, prev_hash, hash"
    };
}

impl StoredRecord {
    fn canonical(&self) -> Canonical<'_> {
        Canonical::new(Columns {
            at: self.at,
            actor_id: self.actor_id,
            actor_name: &self.actor_name,
            action: &self.action,
            object_type: &self.object_type,
            object_id: self.object_id.as_deref(),
            detail: self.detail.as_deref(),
            actor_role: self.actor_role.as_deref(),
            actor_org_id: self.actor_org_id,
            ip: self.ip.as_deref(),
            request_id: self.request_id.as_deref(),
        })
    }
}

fn page_after(after: i64, unsealed_only: bool) -> Sql {
    let mut q = Sql::new(concat!(
        "SELECT ",
        record_columns!(),
        " FROM audit_log WHERE id > "
    ));
    q.arg(Arg::I64(after));
    if unsealed_only {
        q.push(" AND hash IS NULL");
    }
    q.push(" ORDER BY id LIMIT ").arg(Arg::I64(PAGE));
    q
}

impl Store {
    /// Recomputes the whole chain and reports the first record where it breaks:
    /// also where it no longer holds the head a stored, signed anchor names (or the
    /// anchor's signature is wrong), and with `anchor` (a head kept off the system)
    /// where that record is gone or changed. With stored anchors the store must be
    /// unlocked ([`Store::unlock_pii`]): their key comes from the master key.
    pub async fn verify_audit_chain(
        &self,
        anchor: Option<&ChainHead>,
    ) -> Result<ChainReport, StoreError> {
        let mut q = Sql::new(ANCHOR_SELECT);
        q.push(" ORDER BY head_id, id");
        let stored: Vec<SignedAnchor> =
            in_tx!(self, Read, |tx| tx.rows(q).await.map_err(StoreError::from))?;
        let pii = if stored.is_empty() {
            None
        } else {
            Some(self.pii()?)
        };
        let anchors = stored.len() as u64;
        let last_anchor_at = stored.iter().map(|a| a.at).max();
        // Anchor by anchored record, each with whether its signature holds; those
        // left at the end anchor records that are no longer there.
        let mut pending: std::collections::BTreeMap<i64, Vec<(SignedAnchor, bool)>> =
            Default::default();
        for a in stored {
            let ok = pii.is_some_and(|p| a.verifies(p));
            pending.entry(a.head_id).or_default().push((a, ok));
        }
        let mut walk = Walk::default();
        let mut anchor_seen = false;
        let mut head = None;
        loop {
            let after = walk.previous_id().unwrap_or(i64::MIN);
            let page: Vec<StoredRecord> = in_tx!(self, Read, |tx| tx
                .rows(page_after(after, false))
                .await
                .map_err(StoreError::from))?;
            let Some(last) = page.last() else { break };
            head = Some(ChainHead {
                id: last.id,
                hash: last.hash.clone().unwrap_or_default(),
                at: last.at,
            });
            for r in &page {
                if let Some(a) = anchor.filter(|a| a.id == r.id) {
                    anchor_seen = true;
                    if r.hash.as_deref() != Some(a.hash.as_str()) {
                        walk.found(r.id, BreakKind::AnchorMismatch, None);
                    }
                }
                for (a, ok) in pending.remove(&r.id).unwrap_or_default() {
                    if !ok {
                        walk.found(r.id, BreakKind::AnchorForged, Some(a.id));
                    } else if r.hash.as_deref() != Some(a.head_hash.as_str()) {
                        walk.found(r.id, BreakKind::AnchorMismatch, Some(a.id));
                    }
                }
                walk.step(r);
            }
        }
        if let Some(a) = anchor.filter(|_| !anchor_seen) {
            walk.found(a.id, BreakKind::AnchorMismatch, None);
        }
        for (head_id, left) in pending {
            for (a, ok) in left {
                let kind = if ok {
                    BreakKind::AnchorMismatch
                } else {
                    BreakKind::AnchorForged
                };
                walk.found(head_id, kind, Some(a.id));
            }
        }
        Ok(ChainReport {
            records: walk.records,
            head,
            anchors,
            last_anchor_at,
            first_break: walk.first_break,
        })
    }

    /// Writes a signed anchor of the chain's head, unless one was written less
    /// than `every` ago or the chain has not grown since: background work that any
    /// instance may run, each round (the chain lock makes two instances take turns,
    /// and the second then finds the first's anchor). The records since the last
    /// anchor are checked first, so that an anchor never vouches for a chain already
    /// broken; a break or a forged last anchor is an error, for the log, and no
    /// anchor is written until someone looks. `by` names the instance.
    pub async fn anchor_audit_chain(
        &self,
        every: chrono::Duration,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<Option<SignedAnchor>, StoreError> {
        let pii = self.pii()?;
        let (last, head) = in_tx!(self, Read, |tx| {
            let last = newest_anchor(&mut tx).await?;
            let head = chain_head(&mut tx).await?;
            Ok::<_, StoreError>((last, head))
        })?;
        if let Some(l) = &last {
            if !l.verifies(pii) {
                return Err(StoreError::Corrupt(format!(
                    "audit anchor #{}: its signature does not verify; run zhili audit verify",
                    l.id
                )));
            }
            if l.at > now - every {
                return Ok(None);
            }
        }
        let Some((head_id, Some(_))) = head else {
            // Empty, or the last record is unsealed: verify reports the latter.
            return Ok(None);
        };
        if last.as_ref().is_some_and(|l| l.head_id >= head_id) {
            return Ok(None);
        }
        // Outside the chain lock (which every audit write waits for): the records
        // since the last anchor, up to the head read above.
        let mut walk = match &last {
            Some(l) => Walk::after(l.head_id, l.head_hash.clone()),
            None => Walk::default(),
        };
        while walk.previous_id().is_none_or(|id| id < head_id) && walk.first_break.is_none() {
            let after = walk.previous_id().unwrap_or(i64::MIN);
            let page: Vec<StoredRecord> = in_tx!(self, Read, |tx| tx
                .rows(page_after(after, false))
                .await
                .map_err(StoreError::from))?;
            if page.is_empty() {
                break;
            }
            for r in page.iter().filter(|r| r.id <= head_id) {
                walk.step(r);
            }
            if page.last().is_some_and(|r| r.id >= head_id) {
                break;
            }
        }
        if let Some(b) = walk.first_break {
            return Err(StoreError::Corrupt(format!(
                "audit chain broken at record #{} ({:?}); not anchored, run zhili audit verify",
                b.id, b.kind
            )));
        }
        // What is signed is the head as the walk found it to hold.
        let Some((_, head_hash)) = walk.prev.filter(|(id, _)| *id == head_id) else {
            return Err(StoreError::Corrupt(format!(
                "audit record #{head_id} vanished while anchoring"
            )));
        };
        let at = stored_time(now);
        in_tx!(self, Write, |tx| {
            // Holds the chain (and so other instances' anchoring) until commit.
            tx.audit_chain_head().await?;
            if let Some(l) = newest_anchor(&mut tx).await?
                && (l.at > now - every || l.head_id >= head_id)
            {
                return Ok(None);
            }
            let mut q = Sql::new(
                "INSERT INTO audit_anchors (head_id, head_hash, at, signature, written_by) VALUES (",
            );
            q.arg(Arg::I64(head_id))
                .push(", ")
                .arg(Arg::Text(head_hash.clone()))
                .push(", ")
                .arg(Arg::Time(at))
                .push(", ")
                .arg(Arg::Text(pii.anchor_signature(
                    head_id,
                    &head_hash,
                    &canonical_time(at),
                )))
                .push(", ")
                .arg(Arg::Text(by.to_string()))
                .push(
                    ") ON CONFLICT (head_id) DO NOTHING \
                     RETURNING id, head_id, head_hash, at, signature, written_by",
                );
            let written: Vec<SignedAnchor> = tx.rows(q).await?;
            Ok::<_, StoreError>(written.into_iter().next())
        })
    }

    /// Chains the records written before the chain existed (their hash is empty), in
    /// id order after the last chained one. Run by [`Store::migrate`]; a no-op after.
    pub(crate) async fn seal_audit_chain(&self) -> Result<u64, StoreError> {
        let mut sealed = 0;
        loop {
            let n = in_tx!(self, Write, |tx| seal_page(&mut tx)
                .await
                .map_err(StoreError::from))?;
            if n == 0 {
                return Ok(sealed);
            }
            sealed += n;
        }
    }
}

async fn seal_page<T: Tx>(tx: &mut T) -> Result<u64, sqlx::Error> {
    let page: Vec<StoredRecord> = tx.rows(page_after(i64::MIN, true)).await?;
    let Some(first) = page.first() else {
        return Ok(0);
    };
    // The record before the first unsealed one, sealed or not: after a partial run
    // it is the last one sealed.
    let mut q = Sql::new("SELECT hash FROM audit_log WHERE id < ");
    q.arg(Arg::I64(first.id)).push(" ORDER BY id DESC LIMIT 1");
    let before: Vec<(Option<String>,)> = tx.rows(q).await?;
    let mut prev = match before.into_iter().next() {
        Some((Some(h),)) => h,
        Some((None,)) => return Ok(0), // an unsealed record amid sealed ones: verify reports it
        None => GENESIS.to_string(),
    };
    for r in &page {
        let hash = r.canonical().hash(&prev);
        let mut u = Sql::new("UPDATE audit_log SET prev_hash = ");
        u.arg(Arg::Text(prev.clone()))
            .push(", hash = ")
            .arg(Arg::Text(hash.clone()))
            .push(" WHERE id = ")
            .arg(Arg::I64(r.id));
        tx.exec(u).await?;
        prev = hash;
    }
    Ok(page.len() as u64)
}

async fn newest_anchor<T: Tx>(tx: &mut T) -> Result<Option<SignedAnchor>, sqlx::Error> {
    let mut q = Sql::new(ANCHOR_SELECT);
    q.push(" ORDER BY id DESC LIMIT 1");
    Ok(tx.rows(q).await?.into_iter().next())
}

/// The last record's id and hash.
async fn chain_head<T: Tx>(tx: &mut T) -> Result<Option<(i64, Option<String>)>, sqlx::Error> {
    let q = Sql::new("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1");
    Ok(tx.rows(q).await?.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fresh_stores, with_small_city};
    use crate::{AuditRecord, Backend};
    use chrono::TimeZone;

    fn login_failed(n: usize) -> AuditRecord {
        AuditRecord {
            at: Utc::now(),
            actor: crate::Acting::system(format!("用户{n}")),
            action: "auth.login_failed".into(),
            object_type: "session",
            object_id: Some(n.to_string()),
            detail: Some(serde_json::json!({ "ip": "10.0.0.1", "n": n })),
        }
    }

    /// Runs `q` as the database owner would, around the application.
    async fn exec(store: &Store, q: Sql) -> Result<u64, StoreError> {
        in_tx!(store, Write, |tx| tx
            .exec(q)
            .await
            .map_err(StoreError::from))
    }

    async fn raw(store: &Store, sql: &'static str) -> Result<u64, StoreError> {
        exec(store, Sql::new(sql)).await
    }

    async fn count(store: &Store, sql: &'static str) -> Result<i64, StoreError> {
        let rows: Vec<(i64,)> = in_tx!(store, Read, |tx| tx
            .rows(Sql::new(sql))
            .await
            .map_err(StoreError::from))?;
        Ok(rows[0].0)
    }

    /// What someone with the owner's rights does first: drop the append-only guard.
    async fn drop_guards(store: &Store) {
        let sql: &[&'static str] = match store.backend() {
            Backend::Sqlite => &[
                "DROP TRIGGER audit_log_no_update",
                "DROP TRIGGER audit_log_no_delete",
            ],
            Backend::Postgres => &[
                "DROP TRIGGER audit_log_no_update ON audit_log",
                "DROP TRIGGER audit_log_no_delete ON audit_log",
            ],
        };
        for s in sql {
            raw(store, s).await.unwrap();
        }
    }

    async fn ids(store: &Store) -> Vec<i64> {
        let read = async || -> Result<Vec<(i64,)>, StoreError> {
            in_tx!(store, Read, |tx| tx
                .rows(Sql::new("SELECT id FROM audit_log ORDER BY id"))
                .await
                .map_err(StoreError::from))
        };
        read().await.unwrap().into_iter().map(|(id,)| id).collect()
    }

    /// (ip, request id) of a stored record.
    type Origin = (Option<String>, Option<String>);

    /// Where every record came from, in id order.
    async fn origins(store: &Store) -> Vec<Origin> {
        let read = async || -> Result<Vec<Origin>, StoreError> {
            in_tx!(store, Read, |tx| tx
                .rows(Sql::new("SELECT ip, request_id FROM audit_log ORDER BY id"))
                .await
                .map_err(StoreError::from))
        };
        read().await.unwrap()
    }

    async fn append(store: &Store, records: &[AuditRecord]) -> Result<(), StoreError> {
        in_tx!(store, Write, |tx| tx
            .insert_audits(records)
            .await
            .map_err(StoreError::from))
    }

    async fn broken_at(store: &Store, anchor: Option<&ChainHead>) -> Option<(i64, BreakKind)> {
        let report = store.verify_audit_chain(anchor).await.unwrap();
        report.first_break.map(|b| (b.id, b.kind))
    }

    #[tokio::test]
    async fn the_chain_finds_the_first_edited_deleted_or_moved_record() {
        for store in fresh_stores().await {
            for n in 0..6 {
                store.audit(login_failed(n)).await.unwrap();
            }
            // The batch path of the intake chains as well.
            let batch: Vec<_> = (6..9).map(login_failed).collect();
            append(&store, &batch).await.unwrap();
            let report = store.verify_audit_chain(None).await.unwrap();
            assert_eq!(report.records, 9);
            assert_eq!(report.first_break, None);
            let id = ids(&store).await;
            assert_eq!(report.head.as_ref().map(|h| h.id), Some(id[8]));

            // The application's database role cannot change or remove a record.
            assert!(
                raw(&store, "UPDATE audit_log SET actor_name = 'x'")
                    .await
                    .is_err()
            );
            assert!(raw(&store, "DELETE FROM audit_log").await.is_err());
            assert_eq!(store.verify_audit_chain(None).await.unwrap().records, 9);

            drop_guards(&store).await;
            let edit = |to: &'static str| {
                let mut q = Sql::new("UPDATE audit_log SET actor_name = ");
                q.arg(Arg::Text(to.into()))
                    .push(" WHERE id = ")
                    .arg(Arg::I64(id[2]));
                q
            };
            exec(&store, edit("李四")).await.unwrap();
            assert_eq!(
                broken_at(&store, None).await,
                Some((id[2], BreakKind::Edited))
            );
            exec(&store, edit("用户2")).await.unwrap();
            assert_eq!(
                broken_at(&store, None).await,
                None,
                "the original content verifies again"
            );

            // Records 3 and 4 change places, hashes and all (through a free id: the
            // primary key allows no two rows with one id even for a moment).
            let swap = async |a: i64, b: i64| {
                for (from, to) in [(a, 1_000_000), (b, a), (1_000_000, b)] {
                    let mut q = Sql::new("UPDATE audit_log SET id = ");
                    q.arg(Arg::I64(to)).push(" WHERE id = ").arg(Arg::I64(from));
                    exec(&store, q).await.unwrap();
                }
            };
            swap(id[3], id[4]).await;
            assert_eq!(ids(&store).await, id, "the same ids, other contents");
            assert_eq!(
                broken_at(&store, None).await,
                Some((id[3], BreakKind::Unlinked))
            );
            swap(id[3], id[4]).await;
            assert_eq!(broken_at(&store, None).await, None);

            let mut del = Sql::new("DELETE FROM audit_log WHERE id = ");
            del.arg(Arg::I64(id[5]));
            exec(&store, del).await.unwrap();
            let report = store.verify_audit_chain(None).await.unwrap();
            let b = report.first_break.unwrap();
            assert_eq!(
                (b.id, b.kind, b.previous_id),
                (id[6], BreakKind::Unlinked, Some(id[4]))
            );
        }
    }

    #[tokio::test]
    async fn the_address_and_request_id_are_chained_with_the_record() {
        for store in fresh_stores().await {
            let from = RequestContext {
                ip: Some("192.0.2.7".into()),
                request_id: Some("req-1".into()),
            };
            from.clone()
                .scope(async {
                    assert_eq!(RequestContext::current().as_ref(), Some(&from));
                    store.audit(login_failed(1)).await.unwrap();
                    append(&store, &[login_failed(2)]).await.unwrap();
                })
                .await;
            assert_eq!(RequestContext::current(), None, "only inside the scope");
            store.audit(login_failed(3)).await.unwrap();
            let stored = origins(&store).await;
            let inside = (Some("192.0.2.7".to_string()), Some("req-1".to_string()));
            assert_eq!(stored, vec![inside.clone(), inside, (None, None)]);
            assert_eq!(broken_at(&store, None).await, None);

            // Someone with the owner's rights moves the first record to another
            // address: the chain shows it.
            drop_guards(&store).await;
            let id = ids(&store).await;
            let mut q = Sql::new("UPDATE audit_log SET ip = '10.9.9.9' WHERE id = ");
            q.arg(Arg::I64(id[0]));
            exec(&store, q).await.unwrap();
            assert_eq!(
                broken_at(&store, None).await,
                Some((id[0], BreakKind::Edited))
            );
            // So does a changed role on a record that had none.
            let mut q =
                Sql::new("UPDATE audit_log SET ip = '192.0.2.7', actor_role = 'admin' WHERE id = ");
            q.arg(Arg::I64(id[0]));
            exec(&store, q).await.unwrap();
            assert_eq!(
                broken_at(&store, None).await,
                Some((id[0], BreakKind::Edited))
            );
        }
    }

    fn hour() -> chrono::Duration {
        chrono::Duration::hours(1)
    }

    /// `n` records, then the anchor of their head.
    async fn anchored(store: &Store, n: usize) -> SignedAnchor {
        for i in 0..n {
            store.audit(login_failed(i)).await.unwrap();
        }
        store
            .anchor_audit_chain(hour(), Utc::now(), "w1")
            .await
            .unwrap()
            .expect("an anchor of a new chain")
    }

    async fn broken(store: &Store) -> Option<(i64, BreakKind, Option<i64>)> {
        let report = store.verify_audit_chain(None).await.unwrap();
        report.first_break.map(|b| (b.id, b.kind, b.anchor_id))
    }

    /// What a database owner does to hide a change: every hash recomputed from the
    /// first record on (the pass that chains records from before the chain).
    async fn recompute_every_hash(store: &Store) {
        raw(store, "UPDATE audit_log SET prev_hash = NULL, hash = NULL")
            .await
            .unwrap();
        store.seal_audit_chain().await.unwrap();
    }

    #[tokio::test]
    async fn a_chain_cut_back_past_a_signed_anchor_is_reported() {
        for store in fresh_stores().await {
            let a = anchored(&store, 5).await;
            let id = ids(&store).await;
            assert_eq!((a.head_id, a.written_by.as_str()), (id[4], "w1"));
            let report = store.verify_audit_chain(None).await.unwrap();
            assert_eq!((report.anchors, report.first_break), (1, None));
            assert_eq!(report.last_anchor_at, Some(a.at));

            for n in 5..8 {
                store.audit(login_failed(n)).await.unwrap();
            }
            drop_guards(&store).await;
            // The records after the newest anchor can go unseen: that is the window
            // the interval leaves (a file anchor narrows it).
            let mut cut = Sql::new("DELETE FROM audit_log WHERE id > ");
            cut.arg(Arg::I64(id[4]));
            exec(&store, cut).await.unwrap();
            assert_eq!(broken(&store).await, None);
            // Cut back past it, the anchored record is gone: reported without any
            // anchor kept off the system.
            let mut cut = Sql::new("DELETE FROM audit_log WHERE id >= ");
            cut.arg(Arg::I64(id[3]));
            exec(&store, cut).await.unwrap();
            assert_eq!(broken_at(&store, None).await.map(|b| b.0), Some(id[4]));
            assert_eq!(
                broken(&store).await,
                Some((id[4], BreakKind::AnchorMismatch, Some(a.id)))
            );
            // Written on, the id may exist again (SQLite), holding another record.
            for n in 8..12 {
                store.audit(login_failed(n)).await.unwrap();
            }
            assert_eq!(
                broken(&store).await,
                Some((id[4], BreakKind::AnchorMismatch, Some(a.id)))
            );
            // And no new anchor vouches for the cut chain.
            let later = Utc::now() + chrono::Duration::hours(2);
            assert!(matches!(
                store.anchor_audit_chain(hour(), later, "w1").await,
                Err(StoreError::Corrupt(_))
            ));
        }
    }

    #[tokio::test]
    async fn a_chain_rewritten_with_every_hash_recomputed_is_reported_by_its_anchor() {
        for store in fresh_stores().await {
            let a = anchored(&store, 6).await;
            let id = ids(&store).await;
            drop_guards(&store).await;
            let mut q = Sql::new("UPDATE audit_log SET actor_name = '另一人' WHERE id = ");
            q.arg(Arg::I64(id[1]));
            exec(&store, q).await.unwrap();
            assert_eq!(broken(&store).await.map(|b| b.1), Some(BreakKind::Edited));
            recompute_every_hash(&store).await;
            // Every record matches its hash and follows the one before: only the
            // signed anchor knows the head was another.
            assert_eq!(
                broken(&store).await,
                Some((id[5], BreakKind::AnchorMismatch, Some(a.id)))
            );
        }
    }

    #[tokio::test]
    async fn a_forged_or_changed_anchor_is_reported() {
        for store in fresh_stores().await {
            let a = anchored(&store, 4).await;
            let id = ids(&store).await;
            // The rewritten chain's new head, "anchored" without the key.
            drop_guards(&store).await;
            raw(&store, "UPDATE audit_log SET detail = NULL")
                .await
                .unwrap();
            recompute_every_hash(&store).await;
            let head = store.verify_audit_chain(None).await.unwrap().head.unwrap();
            let mut q = Sql::new(
                "INSERT INTO audit_anchors (head_id, head_hash, at, signature, written_by) VALUES (",
            );
            q.arg(Arg::I64(head.id + 1))
                .push(", ")
                .arg(Arg::Text(head.hash.clone()))
                .push(", ")
                .arg(Arg::Time(Utc::now()))
                .push(", ")
                .arg(Arg::Text("0".repeat(64)))
                .push(", 'dba')");
            exec(&store, q).await.unwrap();
            let report = store.verify_audit_chain(None).await.unwrap();
            assert_eq!(report.anchors, 2);
            // The real anchor no longer holds; it comes first.
            assert_eq!(
                report.first_break.map(|b| (b.id, b.kind)),
                Some((id[3], BreakKind::AnchorMismatch))
            );
            // Changed to the rewritten head, the real anchor's signature fails.
            let unguard = match store.backend() {
                Backend::Sqlite => "DROP TRIGGER audit_anchors_no_update",
                Backend::Postgres => "DROP TRIGGER audit_anchors_no_change ON audit_anchors",
            };
            raw(&store, unguard).await.unwrap();
            let mut q = Sql::new("UPDATE audit_anchors SET head_hash = ");
            q.arg(Arg::Text(head.hash.clone()))
                .push(" WHERE id = ")
                .arg(Arg::I64(a.id));
            exec(&store, q).await.unwrap();
            assert_eq!(
                broken(&store).await,
                Some((id[3], BreakKind::AnchorForged, Some(a.id)))
            );
            // The background work stops anchoring and says why, every round.
            assert!(matches!(
                store
                    .anchor_audit_chain(hour(), Utc::now() + chrono::Duration::hours(2), "w1")
                    .await,
                Err(StoreError::Corrupt(m)) if m.contains("signature")
            ));
            // A store that was never unlocked cannot check signatures: it says so
            // rather than report a chain it did not fully check.
            let mut locked = store.clone();
            locked.pii = None;
            assert!(matches!(
                locked.verify_audit_chain(None).await,
                Err(StoreError::PiiLocked)
            ));
        }
    }

    #[tokio::test]
    async fn anchors_are_written_at_most_once_per_interval_and_only_when_the_chain_grew() {
        for url in crate::testing::fresh_urls().await {
            let open = async || {
                let s = Store::connect(&url).await.unwrap();
                s.migrate().await.unwrap();
                crate::testing::unlocked(s).await
            };
            // Two instances on one database.
            let (one, two) = (open().await, open().await);
            let t0 = Utc::now();
            assert!(
                one.anchor_audit_chain(hour(), t0, "one")
                    .await
                    .unwrap()
                    .is_none(),
                "nothing to anchor yet"
            );
            one.audit(login_failed(1)).await.unwrap();
            let first = one.anchor_audit_chain(hour(), t0, "one").await.unwrap();
            assert!(first.is_some());
            two.audit(login_failed(2)).await.unwrap();
            // The other instance's sweep within the hour writes none, grown or not.
            let t1 = t0 + chrono::Duration::minutes(10);
            assert!(
                two.anchor_audit_chain(hour(), t1, "two")
                    .await
                    .unwrap()
                    .is_none()
            );
            assert!(
                one.anchor_audit_chain(hour(), t1, "one")
                    .await
                    .unwrap()
                    .is_none()
            );
            // An hour on, one of them anchors the grown chain, the other finds it done.
            let t2 = t0 + chrono::Duration::minutes(61);
            let (a, b) = tokio::join!(
                one.anchor_audit_chain(hour(), t2, "one"),
                two.anchor_audit_chain(hour(), t2, "two")
            );
            let written: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
            assert_eq!(written.len(), 1, "{written:?}");
            // Not grown since: no anchor however long it has been.
            let t3 = t0 + chrono::Duration::days(3);
            assert!(
                one.anchor_audit_chain(hour(), t3, "one")
                    .await
                    .unwrap()
                    .is_none()
            );
            let report = two.verify_audit_chain(None).await.unwrap();
            assert_eq!((report.anchors, report.first_break), (2, None));

            // A new master key (rewrap) leaves the anchors' key as it was.
            let next = crate::pii::MasterKey::generate();
            one.rewrap_pii(crate::testing::master_key(), &next, "test", t3)
                .await
                .unwrap();
            let reopened = Store::connect(&url).await.unwrap();
            let reopened = reopened
                .unlock_pii(&next, crate::testing::suite_for_url(&url), t3)
                .await
                .unwrap();
            let report = reopened.verify_audit_chain(None).await.unwrap();
            assert_eq!((report.anchors, report.first_break), (2, None));
        }
    }

    #[tokio::test]
    async fn a_cut_tail_shows_against_the_anchor() {
        for store in fresh_stores().await {
            for n in 0..5 {
                store.audit(login_failed(n)).await.unwrap();
            }
            let anchor = store.verify_audit_chain(None).await.unwrap().head.unwrap();
            assert_eq!(broken_at(&store, Some(&anchor)).await, None);
            let id = ids(&store).await;

            drop_guards(&store).await;
            let mut cut = Sql::new("DELETE FROM audit_log WHERE id >= ");
            cut.arg(Arg::I64(id[3]));
            exec(&store, cut).await.unwrap();
            // What is left is a whole chain; only the anchor knows it was longer.
            assert_eq!(broken_at(&store, None).await, None);
            assert_eq!(
                broken_at(&store, Some(&anchor)).await,
                Some((anchor.id, BreakKind::AnchorMismatch))
            );

            // Written on after the cut, the anchored id may exist again (SQLite reuses
            // the highest ids) but holds another record.
            for n in 5..8 {
                store.audit(login_failed(n)).await.unwrap();
            }
            assert_eq!(broken_at(&store, None).await, None);
            assert_eq!(
                broken_at(&store, Some(&anchor)).await,
                Some((anchor.id, BreakKind::AnchorMismatch))
            );
        }
    }

    /// `first` has appended and not committed yet when `second` begins and appends:
    /// `second` must wait and follow `first`'s record, not the head it could see.
    async fn interleave<T, F>(mut first: T, second: F)
    where
        T: Tx + Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        first.insert_audit(&login_failed(1)).await.unwrap();
        let other = tokio::spawn(async move {
            let mut tx = second.await;
            tx.insert_audit(&login_failed(2)).await.unwrap();
            tx.commit().await.unwrap();
        });
        // Time for `other` to get as far as it can before `first` commits.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        first.commit().await.unwrap();
        other.await.unwrap();
    }

    #[tokio::test]
    async fn a_second_writer_follows_the_first_even_before_it_commits() {
        for store in fresh_stores().await {
            match &store.pool {
                crate::Pool::Sqlite(p) => {
                    let p2 = p.clone();
                    let first = crate::begin_sqlite(p, crate::TxMode::Write).await.unwrap();
                    interleave(first, async move {
                        crate::begin_sqlite(&p2, crate::TxMode::Write)
                            .await
                            .unwrap()
                    })
                    .await;
                }
                crate::Pool::Postgres(p) => {
                    let p2 = p.clone();
                    let first = p.begin().await.unwrap();
                    interleave(first, async move { p2.begin().await.unwrap() }).await;
                }
            }
            let report = store.verify_audit_chain(None).await.unwrap();
            assert_eq!(report.records, 2);
            assert_eq!(
                report.first_break,
                None,
                "{:?}: the chain forked",
                store.backend()
            );
        }
    }

    #[tokio::test]
    async fn records_from_before_the_chain_are_sealed_by_migrate() {
        for store in fresh_stores().await {
            raw(
                &store,
                "INSERT INTO audit_log (at, actor_name, action, object_type) \
                 VALUES ('2026-01-05 08:00:00+00:00', '王五', 'auth.login', 'session')",
            )
            .await
            .unwrap();
            assert_eq!(
                broken_at(&store, None).await.map(|b| b.1),
                Some(BreakKind::Unsealed)
            );
            store.migrate().await.unwrap();
            store.audit(login_failed(1)).await.unwrap();
            let report = store.verify_audit_chain(None).await.unwrap();
            assert_eq!((report.records, report.first_break), (2, None));
        }
    }

    #[tokio::test]
    async fn the_timeline_is_append_only() {
        for store in fresh_stores().await {
            with_small_city(&store, "x").await;
            let op = store
                .user_by_username("fengshan")
                .await
                .unwrap()
                .unwrap()
                .actor;
            let event = zhili_domain::NewEvent::parse(zhili_domain::RawNewEvent {
                channel: "hotline_12345".into(),
                reporter: Some(zhili_domain::RawReporter {
                    kind: "citizen".into(),
                    name: None,
                    phone: Some("13800000009".into()),
                }),
                text: "楼道堆放杂物".into(),
                category: Some("0101".into()),
                grid: Some("33028100200101".into()),
                ..Default::default()
            })
            .unwrap();
            store
                .events_for(&op)
                .store(&event, Utc::now())
                .await
                .unwrap();
            assert!(
                raw(&store, "UPDATE timeline SET note = '改过'")
                    .await
                    .is_err()
            );
            assert!(raw(&store, "DELETE FROM timeline").await.is_err());
            assert!(
                count(&store, "SELECT COUNT(*) FROM timeline")
                    .await
                    .unwrap()
                    >= 1
            );
            assert_eq!(
                count(&store, "SELECT COUNT(*) FROM timeline WHERE note = '改过'")
                    .await
                    .unwrap(),
                0
            );
        }
    }

    fn columns(at: DateTime<Utc>, detail: Option<&str>) -> Columns<'_> {
        Columns {
            at,
            actor_id: Some(7),
            actor_name: "张三",
            action: "event.dispatch",
            object_type: "event",
            object_id: Some("42"),
            detail,
            actor_role: None,
            actor_org_id: None,
            ip: None,
            request_id: None,
        }
    }

    fn record(at: DateTime<Utc>, detail: Option<&str>) -> Canonical<'_> {
        Canonical::new(columns(at, detail))
    }

    #[test]
    fn the_hash_covers_every_field_and_the_predecessor() {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap();
        let detail = Some(r#"{"to":"住建局"}"#);
        let base = record(at, detail).hash(GENESIS);
        assert_eq!(base.len(), 64);
        assert_eq!(base, record(at, detail).hash(GENESIS));
        assert_ne!(base, record(at, Some(r#"{"to":"城管局"}"#)).hash(GENESIS));
        assert_ne!(base, record(at, None).hash(GENESIS));
        assert_ne!(
            base,
            record(at + chrono::Duration::microseconds(1), detail).hash(GENESIS)
        );
        assert_ne!(base, record(at, detail).hash(&base));
        let changed: [fn(&mut Columns<'_>); 5] = [
            |c| c.actor_id = Some(8),
            |c| c.actor_role = Some("township_operator"),
            |c| c.actor_org_id = Some(3),
            |c| c.ip = Some("10.0.0.1"),
            |c| c.request_id = Some("r-1"),
        ];
        for change in changed {
            let mut c = columns(at, detail);
            change(&mut c);
            assert_ne!(base, Canonical::new(c).hash(GENESIS));
        }
    }

    #[test]
    fn records_from_before_the_request_columns_keep_their_hashes() {
        // What a record of migration 0020's time hashed as: the new columns were not
        // there, and empty they are left out.
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap();
        let json = serde_json::to_string(&record(at, None)).unwrap();
        assert_eq!(
            json,
            r#"{"at":"2026-12-03T08:00:00.000000Z","actor_id":7,"actor_name":"张三","action":"event.dispatch","object_type":"event","object_id":"42"}"#
        );
    }

    #[test]
    fn digits_finer_than_a_microsecond_do_not_count() {
        // PostgreSQL keeps microseconds: a record read back must hash as it was written.
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let read_back = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_000);
        assert_eq!(
            record(at, None).hash(GENESIS),
            record(read_back, None).hash(GENESIS)
        );
    }
}

/// What the audit administrator searches the log by; every part optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// An action (`pii.reveal`), or a family of them ending in a dot (`pii.`).
    pub action: Option<String>,
    /// Part of the actor's name.
    pub actor: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// The client's address, exactly (PI-11: what one address did).
    pub ip: Option<String>,
    /// One request's records, by the `x-request-id` it was answered with.
    pub request_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub page: u32,
    pub per_page: u32,
}

/// One record as the audit administrator reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub detail: Option<serde_json::Value>,
    /// The role the actor acted in (its code, `township_operator`).
    pub actor_role: Option<String>,
    /// The area or unit the actor belonged to, with its name now.
    pub actor_org_id: Option<i64>,
    pub actor_org_name: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub hash: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FoundRecord {
    #[sqlx(flatten)]
    record: StoredRecord,
    actor_org_name: Option<String>,
}

fn audit_where(f: &AuditFilter) -> Sql {
    let mut q = Sql::new(" WHERE 1 = 1");
    let filled = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    if let Some(a) = filled(&f.action) {
        if let Some(family) = a.strip_suffix('.') {
            let mut pattern = crate::sql::like_contains(family);
            pattern.remove(0); // a prefix, not anywhere
            pattern.pop();
            pattern.push_str(".%");
            q.push(" AND action LIKE ")
                .arg(Arg::Text(pattern))
                .push(" ESCAPE '\\'");
        } else {
            q.push(" AND action = ").arg(Arg::Text(a));
        }
    }
    if let Some(a) = filled(&f.actor) {
        q.push(" AND actor_name LIKE ")
            .arg(Arg::Text(crate::sql::like_contains(&a)))
            .push(" ESCAPE '\\'");
    }
    if let Some(t) = filled(&f.object_type) {
        q.push(" AND object_type = ").arg(Arg::Text(t));
    }
    if let Some(o) = filled(&f.object_id) {
        q.push(" AND object_id = ").arg(Arg::Text(o));
    }
    if let Some(ip) = filled(&f.ip) {
        q.push(" AND ip = ").arg(Arg::Text(ip));
    }
    if let Some(r) = filled(&f.request_id) {
        q.push(" AND request_id = ").arg(Arg::Text(r));
    }
    if let Some(from) = f.from {
        q.push(" AND at >= ").arg(Arg::Time(from));
    }
    if let Some(to) = f.to {
        q.push(" AND at < ").arg(Arg::Time(to));
    }
    q
}

impl Store {
    /// The audit log, newest first, for the audit administrator. The search is
    /// itself recorded (`audit.read`, with the filter): who reads the log is in it.
    pub async fn search_audit(
        &self,
        f: &AuditFilter,
        reader: &crate::Acting,
        now: DateTime<Utc>,
    ) -> Result<crate::Page<AuditEntry>, StoreError> {
        let per_page = f.per_page.clamp(1, 200);
        let page = f.page.max(1);
        let mut count = Sql::new("SELECT COUNT(*) FROM audit_log");
        count.append(audit_where(f));
        let mut rows = Sql::new(concat!(
            "SELECT ",
            record_columns!(),
            ", (SELECT o.name FROM orgs o WHERE o.id = audit_log.actor_org_id) AS actor_org_name \
             FROM audit_log"
        ));
        rows.append(audit_where(f));
        rows.push(" ORDER BY id DESC LIMIT ")
            .arg(Arg::I64(i64::from(per_page)))
            .push(" OFFSET ")
            .arg(Arg::I64(i64::from(page - 1) * i64::from(per_page)));
        let said = serde_json::json!({
            "action": f.action, "actor": f.actor, "object_type": f.object_type,
            "object_id": f.object_id, "ip": f.ip, "request_id": f.request_id,
            "from": f.from, "to": f.to, "page": page,
        });
        let (total, found) = in_tx!(self, Write, |tx| {
            let total = tx.count(count).await?;
            let found: Vec<FoundRecord> = tx.rows(rows).await?;
            tx.insert_audit(&crate::AuditRecord {
                at: now,
                actor: reader.clone(),
                action: "audit.read".into(),
                object_type: "audit_log",
                object_id: None,
                detail: Some(said),
            })
            .await?;
            Ok::<_, StoreError>((total, found))
        })?;
        Ok(crate::Page {
            items: found
                .into_iter()
                .map(
                    |FoundRecord {
                         record: r,
                         actor_org_name,
                     }| AuditEntry {
                        detail: r
                            .detail
                            .as_deref()
                            .and_then(|d| serde_json::from_str(d).ok()),
                        id: r.id,
                        at: r.at,
                        actor_id: r.actor_id,
                        actor_name: r.actor_name,
                        action: r.action,
                        object_type: r.object_type,
                        object_id: r.object_id,
                        actor_role: r.actor_role,
                        actor_org_id: r.actor_org_id,
                        actor_org_name,
                        ip: r.ip,
                        request_id: r.request_id,
                        hash: r.hash,
                    },
                )
                .collect(),
            total,
            page,
            per_page,
        })
    }
}

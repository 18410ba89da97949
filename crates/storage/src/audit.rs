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
            at: stored_time(c.at)
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string(),
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
    /// back and perhaps written on.
    AnchorMismatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    /// The first record where the chain does not hold.
    pub id: i64,
    /// The record read before it, if any.
    pub previous_id: Option<i64>,
    pub kind: BreakKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Records read.
    pub records: u64,
    pub head: Option<ChainHead>,
    /// `None`: the chain holds (and matches the anchor, if one was given).
    pub first_break: Option<ChainBreak>,
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
    /// Recomputes the whole chain and reports the first record where it breaks;
    /// with `anchor`, also that the anchored record is still there, unchanged.
    pub async fn verify_audit_chain(
        &self,
        anchor: Option<&ChainHead>,
    ) -> Result<ChainReport, StoreError> {
        let mut records = 0u64;
        let mut prev: Option<(i64, String)> = None;
        let mut first_break = None;
        let mut anchor_seen = false;
        let mut head = None;
        loop {
            let after = prev.as_ref().map_or(i64::MIN, |(id, _)| *id);
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
                records += 1;
                if let Some(a) = anchor.filter(|a| a.id == r.id) {
                    anchor_seen = true;
                    if r.hash.as_deref() != Some(a.hash.as_str()) && first_break.is_none() {
                        first_break = Some(ChainBreak {
                            id: r.id,
                            previous_id: prev.as_ref().map(|(id, _)| *id),
                            kind: BreakKind::AnchorMismatch,
                        });
                    }
                }
                let expected_prev = prev.as_ref().map_or(GENESIS, |(_, h)| h.as_str());
                let kind = match (&r.prev_hash, &r.hash) {
                    (None, _) | (_, None) => Some(BreakKind::Unsealed),
                    (Some(p), Some(h)) if *h != r.canonical().hash(p) => Some(BreakKind::Edited),
                    (Some(p), _) if p != expected_prev => Some(BreakKind::Unlinked),
                    _ => None,
                };
                if let (Some(kind), None) = (kind, &first_break) {
                    first_break = Some(ChainBreak {
                        id: r.id,
                        previous_id: prev.as_ref().map(|(id, _)| *id),
                        kind,
                    });
                }
                prev = Some((r.id, r.hash.clone().unwrap_or_default()));
            }
        }
        if let Some(a) = anchor.filter(|_| !anchor_seen && first_break.is_none()) {
            first_break = Some(ChainBreak {
                id: a.id,
                previous_id: prev.as_ref().map(|(id, _)| *id),
                kind: BreakKind::AnchorMismatch,
            });
        }
        Ok(ChainReport {
            records,
            head,
            first_break,
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

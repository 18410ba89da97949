//! Accounts nobody has used for a while are disabled (SECURITY.md IA-13, 等保
//! 8.1.4.2 c): a staff account whose last login (or, never used, its creation) lies
//! further back than the configured period is set inactive, which also ends its
//! sessions (`Store::session` checks `active`). The security administrator turns it
//! back on (`/admin/users`, or `zhili user` on the server).
//!
//! Citizens' and other systems' accounts are left alone, as with password age: no
//! person sits at a staff desk behind them.
//!
//! Background work any instance may do: each account is disabled in its own small
//! transaction, guarded by `active`, so two instances racing disable and audit it once.

use chrono::{DateTime, Duration, Utc};
use zhili_domain::Role;

use crate::backend::Tx;
use crate::records::AuditRecord;
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

// An account's idle clock starts at its last login, else at its creation:
// `COALESCE(last_login_at, created_at)` below.

impl Store {
    /// Disables the staff accounts idle since before `now - idle` (at most `limit`
    /// a call) and returns their usernames. Each is audited as `user.disabled_idle`
    /// with the instance that did it.
    pub async fn disable_idle_accounts(
        &self,
        idle: Duration,
        now: DateTime<Utc>,
        by: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let cutoff = now - idle;
        let mut q = Sql::new(
            "SELECT id, username, COALESCE(last_login_at, created_at) FROM users \
             WHERE active AND role NOT IN (",
        );
        q.arg(Arg::Text(Role::Citizen.code().into()))
            .push(", ")
            .arg(Arg::Text(Role::Integration.code().into()))
            .push(") AND COALESCE(last_login_at, created_at) < ")
            .arg(Arg::Time(cutoff))
            .push(" ORDER BY id LIMIT ")
            .arg(Arg::I64(limit.max(1)));
        let due: Vec<(i64, String, DateTime<Utc>)> = in_tx!(self, Read, |tx| tx.rows(q).await)?;
        let mut disabled = Vec::new();
        for (id, username, since) in due {
            let done = in_tx!(self, Write, |tx| {
                disable(&mut tx, id, &username, since, cutoff, idle, now, by).await
            })?;
            if done {
                disabled.push(username);
            }
        }
        Ok(disabled)
    }
}

impl Store {
    /// Turns an account back on from the server's command line (`zhili user enable`),
    /// whatever its role, and starts its idle clock again; audited as `user.enabled`.
    /// The application cannot do this for the security and audit administrators,
    /// so a disabled one comes back this way.
    pub async fn enable_account(
        &self,
        id: zhili_domain::UserId,
        by: &crate::Acting,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_tx!(self, Write, |tx| {
            let mut q = Sql::new("UPDATE users SET active = TRUE, last_login_at = ");
            q.arg(Arg::Time(now))
                .push(" WHERE id = ")
                .arg(Arg::I64(id.0));
            if tx.exec(q).await? == 0 {
                return Err(StoreError::NotFound);
            }
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "user.enabled".into(),
                object_type: "user",
                object_id: Some(id.0.to_string()),
                detail: None,
            })
            .await
            .map_err(StoreError::from)
        })
    }
}

#[allow(clippy::too_many_arguments)]
async fn disable<T: Tx>(
    tx: &mut T,
    id: i64,
    username: &str,
    since: DateTime<Utc>,
    cutoff: DateTime<Utc>,
    idle: Duration,
    now: DateTime<Utc>,
    by: &str,
) -> Result<bool, StoreError> {
    let mut q = Sql::new("UPDATE users SET active = FALSE WHERE active AND id = ");
    q.arg(Arg::I64(id))
        .push(" AND COALESCE(last_login_at, created_at) < ")
        .arg(Arg::Time(cutoff));
    if tx.exec(q).await? == 0 {
        // Another instance was first, or the account logged in meanwhile.
        return Ok(false);
    }
    tx.insert_audit(&AuditRecord {
        at: now,
        actor: crate::Acting::system(by.chars().take(64).collect::<String>()),
        action: "user.disabled_idle".into(),
        object_type: "user",
        object_id: Some(id.to_string()),
        detail: Some(serde_json::json!({
            "username": username,
            "idle_since": since,
            "idle_days": idle.num_days(),
        })),
    })
    .await?;
    Ok(true)
}

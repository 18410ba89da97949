//! Changing passwords and binding second factors. Each change and its audit record
//! are one transaction; a changed password ends the account's other sessions, a
//! reset by an admin ends all of them. Storage sees only hashes and TOTP secrets,
//! and keeps the secrets sealed (`pii::Field::TotpSecret`, `TotpPending`); the rules
//! (length, age, who needs a second factor) are in the domain and the codes are
//! checked by the server.

use chrono::{DateTime, Utc};
use zhili_domain::UserId;

use crate::backend::Tx;
use crate::events::Acting;
use crate::pii::Field;
use crate::records::AuditRecord;
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

fn record(
    at: DateTime<Utc>,
    by: &Acting,
    action: &str,
    user: UserId,
    detail: Option<serde_json::Value>,
) -> AuditRecord {
    AuditRecord {
        at,
        actor: by.clone(),
        action: action.into(),
        object_type: "user",
        object_id: Some(user.0.to_string()),
        detail,
    }
}

impl Store {
    /// The user's own change of password (`new_hash` already checked against the
    /// policy and hashed). Ends every session of the account but `keep` (the one the
    /// change was made in), so a thief who had the old password is logged out.
    pub async fn change_own_password(
        &self,
        user: UserId,
        by: &Acting,
        new_hash: &str,
        keep: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_tx!(self, Write, |tx| {
            set_password(&mut tx, user, new_hash, false, now).await?;
            let mut end = Sql::new("DELETE FROM sessions WHERE user_id = ");
            end.arg(Arg::I64(user.0));
            if let Some(k) = keep {
                end.push(" AND token_hash <> ")
                    .arg(Arg::Text(k.to_string()));
            }
            let ended = tx.exec(end).await?;
            tx.insert_audit(&record(
                now,
                by,
                "auth.password_changed",
                user,
                Some(serde_json::json!({ "sessions_ended": ended })),
            ))
            .await?;
            Ok::<_, StoreError>(())
        })
    }

    /// An admin's reset: a one-time password that must be changed at the next
    /// login, and every session of the account ended.
    pub async fn reset_password(
        &self,
        user: UserId,
        by: &Acting,
        one_time_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_tx!(self, Write, |tx| {
            set_password(&mut tx, user, one_time_hash, true, now).await?;
            end_sessions(&mut tx, user).await?;
            tx.insert_audit(&record(now, by, "user.password_reset", user, None))
                .await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Keeps `secret` (base32) as the account's pending authenticator: shown once
    /// for enrolment, bound by [`Store::bind_totp`]. A new start replaces an old
    /// pending secret, never a bound one.
    pub async fn start_totp_enrolment(&self, user: UserId, secret: &str) -> Result<(), StoreError> {
        let sealed = self.pii()?.seal(Field::TotpPending, secret);
        in_tx!(self, Write, |tx| {
            let mut q = Sql::new("UPDATE users SET totp_pending = ");
            q.arg(Arg::Text(sealed))
                .push(" WHERE totp_secret IS NULL AND id = ")
                .arg(Arg::I64(user.0));
            match tx.exec(q).await? {
                0 => Err(StoreError::invalid(
                    "totp",
                    "已绑定动态口令；如需更换，请管理员先解绑",
                )),
                _ => Ok(()),
            }
        })
    }

    /// Binds the pending secret, its first code having been accepted at `step`;
    /// audited. False when there is no pending secret (or it changed meanwhile).
    pub async fn bind_totp(
        &self,
        user: UserId,
        by: &Acting,
        pending: &str,
        step: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let pii = self.pii()?;
        in_tx!(self, Write, |tx| {
            // Sealed values differ at every sealing, so the compare-and-set is on the
            // stored value read here: one changed meanwhile (a new enrolment on
            // another instance) is not this one, and nothing is bound.
            let mut q =
                Sql::new("SELECT totp_pending FROM users WHERE totp_secret IS NULL AND id = ");
            q.arg(Arg::I64(user.0));
            let stored: Vec<(Option<String>,)> = tx.rows(q).await?;
            let Some((Some(sealed),)) = stored.into_iter().next() else {
                return Ok::<_, StoreError>(false);
            };
            if pii.open(Field::TotpPending, &sealed)? != pending {
                return Ok(false);
            }
            let mut q = Sql::new("UPDATE users SET totp_secret = ");
            q.arg(Arg::Text(pii.seal(Field::TotpSecret, pending)))
                .push(", totp_pending = NULL, totp_last_step = ")
                .arg(Arg::I64(step))
                .push(" WHERE totp_secret IS NULL AND totp_pending = ")
                .arg(Arg::Text(sealed))
                .push(" AND id = ")
                .arg(Arg::I64(user.0));
            if tx.exec(q).await? == 0 {
                return Ok(false);
            }
            tx.insert_audit(&record(now, by, "auth.totp_bound", user, None))
                .await?;
            Ok(true)
        })
    }

    /// Takes the TOTP code of time step `step` for a login: true once per step, so
    /// a code seen over a shoulder or in a proxy log cannot be used again, on any
    /// instance (compare-and-set on the stored step).
    pub async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        in_tx!(self, Write, |tx| {
            let mut q = Sql::new("UPDATE users SET totp_last_step = ");
            q.arg(Arg::I64(step))
                .push(" WHERE totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ")
                .arg(Arg::I64(step))
                .push(") AND id = ")
                .arg(Arg::I64(user.0));
            Ok::<_, StoreError>(tx.exec(q).await? == 1)
        })
    }

    /// An admin unbinds a lost authenticator; the account's sessions end, and an
    /// admin role must bind a new one at its next login.
    pub async fn reset_totp(
        &self,
        user: UserId,
        by: &Acting,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_tx!(self, Write, |tx| {
            let mut q = Sql::new(
                "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL WHERE id = ",
            );
            q.arg(Arg::I64(user.0));
            if tx.exec(q).await? == 0 {
                return Err(StoreError::NotFound);
            }
            end_sessions(&mut tx, user).await?;
            tx.insert_audit(&record(now, by, "user.totp_reset", user, None))
                .await?;
            Ok::<_, StoreError>(())
        })
    }
}

async fn set_password<T: Tx>(
    tx: &mut T,
    user: UserId,
    hash: &str,
    must_change: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut q = Sql::new("UPDATE users SET password_hash = ");
    q.arg(Arg::Text(hash.to_string()))
        .push(", must_change_password = ")
        .arg(Arg::Bool(must_change))
        .push(", password_changed_at = ")
        .arg(Arg::Time(now))
        .push(" WHERE id = ")
        .arg(Arg::I64(user.0));
    match tx.exec(q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

async fn end_sessions<T: Tx>(tx: &mut T, user: UserId) -> Result<u64, StoreError> {
    let mut end = Sql::new("DELETE FROM sessions WHERE user_id = ");
    end.arg(Arg::I64(user.0));
    Ok(tx.exec(end).await?)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::testing::{audit_count, fresh_stores, with_small_city};

    fn system() -> Acting {
        Acting::system("test")
    }

    #[tokio::test]
    async fn a_changed_password_ends_the_other_sessions_and_is_audited() {
        for store in fresh_stores().await {
            with_small_city(&store, "old-hash").await;
            let u = store.user_by_username("fengshan").await.unwrap().unwrap();
            let id = u.actor.user_id;
            let now = Utc::now();
            for t in ["keep", "other-1", "other-2"] {
                store
                    .create_session(&u.actor, t, "csrf", now, now + Duration::hours(1))
                    .await
                    .unwrap();
            }
            store
                .change_own_password(id, &system(), "new-hash", Some("keep"), now)
                .await
                .unwrap();
            let idle = Duration::minutes(30);
            assert!(store.session("keep", now, idle).await.unwrap().is_some());
            assert!(store.session("other-1", now, idle).await.unwrap().is_none());
            assert!(store.session("other-2", now, idle).await.unwrap().is_none());
            let after = store.user_by_username("fengshan").await.unwrap().unwrap();
            assert_eq!(after.password_hash, "new-hash");
            assert!(!after.credentials.must_change_password);
            assert_eq!(audit_count(&store, "auth.password_changed").await, 1);

            // A reset by an admin ends the kept session too and asks for a change.
            store
                .reset_password(id, &system(), "one-time-hash", now)
                .await
                .unwrap();
            assert!(store.session("keep", now, idle).await.unwrap().is_none());
            let reset = store.user_by_username("fengshan").await.unwrap().unwrap();
            assert!(reset.credentials.must_change_password);
            assert_eq!(audit_count(&store, "user.password_reset").await, 1);
        }
    }

    #[tokio::test]
    async fn a_totp_step_is_taken_once_and_only_forward() {
        for store in fresh_stores().await {
            with_small_city(&store, "hash").await;
            let u = store.user_by_username("admin").await.unwrap().unwrap();
            let id = u.actor.user_id;
            let now = Utc::now();
            // Nothing bound yet: no step is accepted.
            assert!(!store.use_totp_step(id, 100).await.unwrap());
            store
                .start_totp_enrolment(id, "PENDINGSECRET")
                .await
                .unwrap();
            // A stale pending secret does not bind.
            assert!(
                !store
                    .bind_totp(id, &system(), "OTHER", 100, now)
                    .await
                    .unwrap()
            );
            assert!(
                store
                    .bind_totp(id, &system(), "PENDINGSECRET", 100, now)
                    .await
                    .unwrap()
            );
            let bound = store.user_by_username("admin").await.unwrap().unwrap();
            assert_eq!(bound.totp.secret.as_deref(), Some("PENDINGSECRET"));
            assert!(bound.credentials.second_factor);
            // The enrolment's own step is used up; later steps work once each.
            assert!(!store.use_totp_step(id, 100).await.unwrap());
            assert!(store.use_totp_step(id, 101).await.unwrap());
            assert!(!store.use_totp_step(id, 101).await.unwrap());
            assert!(!store.use_totp_step(id, 99).await.unwrap());
            // Bound: a new enrolment is refused until an admin resets it.
            assert!(store.start_totp_enrolment(id, "NEW").await.is_err());
            store.reset_totp(id, &system(), now).await.unwrap();
            let reset = store.user_by_username("admin").await.unwrap().unwrap();
            assert_eq!(reset.totp, crate::records::TotpState::default());
            assert_eq!(audit_count(&store, "auth.totp_bound").await, 1);
            assert_eq!(audit_count(&store, "user.totp_reset").await, 1);
        }
    }
}

//! Reference data (areas, units, categories, users) and sessions. Imports refer to
//! parents by code, as the files a city has do, and either store everything or nothing.

use chrono::{DateTime, Utc};
use zhili_domain::{Actor, CategoryId, GridType, OrgId, OrgKind, Platform, Role, UserId};

use crate::backend::{CategoryRow, OrgRow, Tx, UserRow};
use crate::pii::{Field, Pii};
use crate::records::{
    AuditRecord, Category, NewCategory, NewOrg, NewUser, Org, Session, UserRecord,
};
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

#[derive(Debug, Clone)]
pub struct OrgImport {
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    pub parent_code: Option<String>,
    pub department_code: Option<String>,
    pub grid_type: Option<GridType>,
    pub polygon: Option<Vec<(f64, f64)>>,
}

#[derive(Debug, Clone)]
pub struct CategoryImport {
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub platform: Platform,
    pub focus: bool,
    pub limit_days: u32,
    pub department_code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UserImport {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub org_code: Option<String>,
    /// A one-time password (`zhili user add`), to be changed at the first login.
    pub must_change_password: bool,
}

/// Everything a city is made of, parents before children.
#[derive(Debug, Clone, Default)]
pub struct ReferenceImport {
    pub orgs: Vec<OrgImport>,
    pub categories: Vec<CategoryImport>,
    pub users: Vec<UserImport>,
}

pub(crate) fn org_from_row(r: OrgRow) -> Result<Org, StoreError> {
    Ok(Org {
        id: OrgId(r.id),
        kind: OrgKind::parse(&r.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("org kind {}", r.kind)))?,
        grid_type: r
            .grid_type
            .as_deref()
            .map(|g| {
                GridType::parse(g).ok_or_else(|| StoreError::Corrupt(format!("grid type {g}")))
            })
            .transpose()?,
        code: r.code,
        name: r.name,
        parent_id: r.parent_id.map(OrgId),
        department_id: r.department_id.map(OrgId),
        township_id: r.township_id.map(OrgId),
    })
}

fn category_from_row(r: CategoryRow) -> Result<Category, StoreError> {
    Ok(Category {
        id: CategoryId(r.id),
        platform: Platform::parse(&r.platform)
            .ok_or_else(|| StoreError::Corrupt(format!("platform {}", r.platform)))?,
        code: r.code,
        name: r.name,
        parent_id: r.parent_id.map(CategoryId),
        focus: r.focus,
        limit_days: u32::try_from(r.limit_days).unwrap_or(0),
        department_id: r.department_id.map(OrgId),
    })
}

/// The account as stored, its TOTP secrets opened with `pii` (a store that holds
/// one must be unlocked to read it: never passed on sealed, never dropped).
pub(crate) fn user_from_row(r: UserRow, pii: Option<&Pii>) -> Result<UserRecord, StoreError> {
    let open = |field, sealed: Option<String>| match sealed {
        None => Ok(None),
        Some(s) => pii.ok_or(StoreError::PiiLocked)?.open(field, &s).map(Some),
    };
    Ok(UserRecord {
        actor: Actor {
            user_id: UserId(r.id),
            role: Role::parse(&r.role)
                .ok_or_else(|| StoreError::Corrupt(format!("role {}", r.role)))?,
            username: r.username,
            display_name: r.display_name,
            org_id: r.org_id.map(OrgId),
        },
        password_hash: r.password_hash,
        active: r.active,
        failures: zhili_domain::LoginFailures {
            count: u32::try_from(r.failed_logins).unwrap_or(u32::MAX),
            since: r.failed_since,
            locked_until: r.locked_until,
        },
        credentials: zhili_domain::CredentialState {
            must_change_password: r.must_change_password,
            password_changed_at: r.password_changed_at,
            second_factor: r.totp_secret.is_some(),
        },
        totp: crate::records::TotpState {
            secret: open(Field::TotpSecret, r.totp_secret)?,
            pending: open(Field::TotpPending, r.totp_pending)?,
            last_step: r.totp_last_step,
        },
    })
}

pub(crate) async fn org_by_code<T: Tx>(tx: &mut T, code: &str) -> Result<Option<Org>, StoreError> {
    let mut q = Sql::new("code = ");
    q.arg(Arg::Text(code.to_string()));
    tx.org_where(q)
        .await?
        .into_iter()
        .next()
        .map(org_from_row)
        .transpose()
}

pub(crate) async fn org_by_id<T: Tx>(tx: &mut T, id: OrgId) -> Result<Option<Org>, StoreError> {
    let mut q = Sql::new("id = ");
    q.arg(Arg::I64(id.0));
    tx.org_where(q)
        .await?
        .into_iter()
        .next()
        .map(org_from_row)
        .transpose()
}

pub(crate) async fn category_by_code<T: Tx>(
    tx: &mut T,
    code: &str,
) -> Result<Option<(Category, bool)>, StoreError> {
    let mut q = Sql::new("code = ");
    q.arg(Arg::Text(code.to_string()));
    let Some(c) = tx.category_where(q).await?.into_iter().next() else {
        return Ok(None);
    };
    let mut children = Sql::new("parent_id = ");
    children.arg(Arg::I64(c.id));
    let has_children = !tx.category_where(children).await?.is_empty();
    Ok(Some((category_from_row(c)?, has_children)))
}

pub(crate) async fn user_by_username<T: Tx>(
    tx: &mut T,
    pii: Option<&Pii>,
    username: &str,
) -> Result<Option<UserRecord>, StoreError> {
    let mut q = Sql::new("username = ");
    q.arg(Arg::Text(username.to_string()));
    tx.user_where(q)
        .await?
        .map(|r| user_from_row(r, pii))
        .transpose()
}

async fn import<T: Tx>(
    tx: &mut T,
    data: &ReferenceImport,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let lookup =
        async |tx: &mut T, field: &str, code: &Option<String>| -> Result<Option<Org>, StoreError> {
            match code {
                None => Ok(None),
                Some(c) => org_by_code(tx, c)
                    .await?
                    .map(Some)
                    .ok_or_else(|| StoreError::invalid(field, format!("未知编码 {c}"))),
            }
        };
    for o in &data.orgs {
        let parent = lookup(tx, "parent_code", &o.parent_code).await?;
        let department = lookup(tx, "department_code", &o.department_code).await?;
        // Areas and stationed units carry the township they lie in, so scope
        // checks need no walk up the tree.
        let township_id = match (o.kind, &parent) {
            (OrgKind::Township, _) => None,
            (_, Some(p)) if p.kind == OrgKind::Township => Some(p.id),
            (_, Some(p)) => p.township_id,
            (_, None) => None,
        };
        let new = NewOrg {
            code: o.code.clone(),
            name: o.name.clone(),
            kind: o.kind,
            parent_id: parent.map(|p| p.id),
            department_id: department.map(|d| d.id),
            township_id,
            grid_type: o.grid_type,
            polygon: o.polygon.clone(),
        };
        let id = tx
            .insert_org(&new)
            .await
            .map_err(|e| unique("orgs.code", e))?;
        if o.kind == OrgKind::Township {
            // A township is its own township: one column answers "which township".
            tx.set_township(id, id).await?;
        }
    }
    for c in &data.categories {
        let parent_id = match &c.parent_code {
            None => None,
            Some(p) => Some(
                category_by_code(tx, p)
                    .await?
                    .ok_or_else(|| StoreError::invalid("parent_code", format!("未知类别 {p}")))?
                    .0
                    .id,
            ),
        };
        let department = lookup(tx, "department_code", &c.department_code).await?;
        tx.insert_category(&NewCategory {
            code: c.code.clone(),
            name: c.name.clone(),
            parent_id,
            platform: c.platform,
            focus: c.focus,
            limit_days: c.limit_days,
            department_id: department.map(|d| d.id),
        })
        .await
        .map_err(|e| unique("categories.code", e))?;
    }
    for u in &data.users {
        let org = lookup(tx, "org_code", &u.org_code).await?;
        let id = tx
            .insert_user(
                &NewUser {
                    username: u.username.clone(),
                    display_name: u.display_name.clone(),
                    password_hash: u.password_hash.clone(),
                    role: u.role,
                    org_id: org.map(|o| o.id),
                    must_change_password: u.must_change_password,
                },
                now,
            )
            .await
            .map_err(|e| unique("username", e))?;
        tx.insert_audit(&AuditRecord {
            at: now,
            actor: crate::Acting::system("system"),
            action: "user.create".into(),
            object_type: "user",
            object_id: Some(id.to_string()),
            detail: Some(serde_json::json!({ "username": u.username, "role": u.role.code() })),
        })
        .await?;
    }
    Ok(())
}

pub(crate) fn unique(field: &str, e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate {
            field: field.to_string(),
        },
        _ => StoreError::Database(e),
    }
}

impl Store {
    /// Imports reference data in one transaction: all of it, or none of it.
    pub async fn import_reference(
        &self,
        data: &ReferenceImport,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_tx!(self, Write, |tx| import(&mut tx, data, now).await)
    }

    /// True before any reference data exists (a fresh database).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        in_tx!(self, Read, |tx| {
            let n = tx.count(Sql::new("SELECT COUNT(*) FROM orgs")).await;
            n.map(|n| n == 0).map_err(StoreError::from)
        })
    }

    pub async fn org_by_code(&self, code: &str) -> Result<Option<Org>, StoreError> {
        in_tx!(self, Read, |tx| org_by_code(&mut tx, code).await)
    }

    /// Orgs of one kind, in code order (townships for a filter, units for dispatch).
    pub async fn orgs_of_kind(&self, kinds: &[OrgKind]) -> Result<Vec<Org>, StoreError> {
        let mut q = Sql::new("kind IN (");
        for (i, k) in kinds.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.arg(Arg::Text(k.code().to_string()));
        }
        q.push(") ORDER BY code");
        in_tx!(self, Read, |tx| tx
            .org_where(q)
            .await?
            .into_iter()
            .map(org_from_row)
            .collect::<Result<Vec<_>, _>>())
    }

    /// Grid outlines as stored (JSON rings), for the map and point-in-grid lookups.
    pub async fn grid_polygons(&self) -> Result<Vec<(OrgId, Vec<(f64, f64)>)>, StoreError> {
        let rows = in_tx!(self, Read, |tx| tx
            .grid_polygons()
            .await
            .map_err(StoreError::from))?;
        rows.into_iter()
            .map(|(id, json)| {
                let ring: Vec<[f64; 2]> = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("polygon of org {id}: {e}")))?;
                Ok((OrgId(id), ring.into_iter().map(|[x, y]| (x, y)).collect()))
            })
            .collect()
    }

    pub async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        in_tx!(self, Read, |tx| tx
            .category_where(Sql::new("1 = 1 ORDER BY code"))
            .await?
            .into_iter()
            .map(category_from_row)
            .collect::<Result<Vec<_>, _>>())
    }

    /// Stores a validated calendar year (as JSON), replacing an earlier load of
    /// that year, with its audit record.
    pub async fn put_calendar_year(
        &self,
        year: i32,
        data_json: &str,
        loaded_by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_tx!(self, Write, |tx| {
            tx.put_calendar_year(i64::from(year), data_json, now, loaded_by)
                .await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: crate::Acting::system(loaded_by.to_string()),
                action: "calendar.load".into(),
                object_type: "calendar_year",
                object_id: Some(year.to_string()),
                detail: None,
            })
            .await
            .map_err(StoreError::from)
        })
    }

    /// Calendar years loaded into the database, as stored JSON.
    pub async fn calendar_years(&self) -> Result<Vec<(i32, String)>, StoreError> {
        let rows = in_tx!(self, Read, |tx| tx
            .calendar_years()
            .await
            .map_err(StoreError::from))?;
        Ok(rows
            .into_iter()
            .filter_map(|(y, d)| i32::try_from(y).ok().map(|y| (y, d)))
            .collect())
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let pii = self.pii.as_deref();
        in_tx!(self, Read, |tx| user_by_username(&mut tx, pii, username)
            .await)
    }

    /// Counts a wrong password for an account, locking it when `policy` says so, and
    /// audits both in the same transaction. Returns whether this failure locked it.
    pub async fn record_login_failure(
        &self,
        user_id: UserId,
        attempted_as: &str,
        policy: &zhili_domain::LockoutPolicy,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // Compare-and-set on the stored count: on PostgreSQL another instance may
        // count a failure of the same account at the same moment.
        for _ in 0..5 {
            let done = in_tx!(self, Write, |tx| {
                let mut q = Sql::new("id = ");
                q.arg(Arg::I64(user_id.0));
                let Some(user) = tx
                    .user_where(q)
                    .await?
                    .map(|r| user_from_row(r, self.pii.as_deref()))
                    .transpose()?
                else {
                    return Err(StoreError::NotFound);
                };
                let (next, locks) = user.failures.after_failure(now, policy);
                let mut u = Sql::new("UPDATE users SET failed_logins = ");
                u.arg(Arg::I64(i64::from(next.count)))
                    .push(", failed_since = ")
                    .arg(Arg::OptTime(next.since))
                    .push(", locked_until = ")
                    .arg(Arg::OptTime(next.locked_until))
                    .push(" WHERE id = ")
                    .arg(Arg::I64(user_id.0))
                    .push(" AND failed_logins = ")
                    .arg(Arg::I64(i64::from(user.failures.count)));
                if tx.exec(u).await? == 0 {
                    Ok::<_, StoreError>(None)
                } else {
                    let failed = |action: &str, detail| AuditRecord {
                        at: now,
                        // The account's holder, or someone with its name: the role
                        // and area are the account's.
                        actor: crate::Acting::from(&user.actor)
                            .named(attempted_as.chars().take(64).collect::<String>()),
                        action: action.into(),
                        object_type: "user",
                        object_id: Some(user_id.0.to_string()),
                        detail: Some(detail),
                    };
                    let mut records = vec![failed(
                        "auth.login_failed",
                        serde_json::json!({ "while_locked": user.failures.is_locked(now) }),
                    )];
                    if locks {
                        records.push(failed(
                            "auth.locked",
                            serde_json::json!({ "until": next.locked_until }),
                        ));
                    }
                    tx.insert_audits(&records).await?;
                    Ok(Some(locks))
                }
            })?;
            if let Some(locks) = done {
                return Ok(locks);
            }
        }
        // Lost the race five times to failures of the same account counted elsewhere:
        // those counted, so the lock comes all the same. No error here, which would
        // answer a login differently from a wrong password.
        tracing::warn!(
            user_id = user_id.0,
            "login failure not counted: the count kept changing"
        );
        Ok(false)
    }

    /// Counts one hit of `key` in the window starting at `window_start` (Unix
    /// seconds) and returns the window's hits so far, this one included. The first
    /// hit of a window also clears windows that started before `expired_before`.
    pub async fn hit_rate_limit(
        &self,
        key: &str,
        window_start: i64,
        expired_before: i64,
    ) -> Result<i64, StoreError> {
        in_tx!(self, Write, |tx| {
            let mut q = Sql::new(
                "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1) \
                 ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
            );
            q.args = vec![Arg::Text(key.to_string()), Arg::I64(window_start)];
            let hits: Vec<(i64,)> = tx.rows(q).await?;
            let hits = hits.first().map_or(1, |h| h.0);
            if hits == 1 {
                let mut old = Sql::new("DELETE FROM rate_limits WHERE window_start < ");
                old.arg(Arg::I64(expired_before));
                tx.exec(old).await?;
            }
            Ok::<_, StoreError>(hits)
        })
    }

    /// Records a login attempt (success or failure) in the audit log.
    pub async fn audit(&self, record: AuditRecord) -> Result<(), StoreError> {
        in_tx!(self, Write, |tx| tx
            .insert_audit(&record)
            .await
            .map_err(StoreError::from))
    }

    /// Starts a session; the token itself is never stored, only its hash.
    pub async fn create_session(
        &self,
        actor: &Actor,
        token_hash: &str,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_tx!(self, Write, |tx| {
            tx.insert_session(token_hash, actor.user_id.0, csrf_token, now, expires_at)
                .await?;
            // A login that gets through clears the count of failures before it, and
            // restarts the account's idle clock (idle_accounts.rs).
            let mut reset = Sql::new(
                "UPDATE users SET failed_logins = 0, failed_since = NULL, last_login_at = ",
            );
            reset
                .arg(Arg::Time(now))
                .push(" WHERE id = ")
                .arg(Arg::I64(actor.user_id.0));
            tx.exec(reset).await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: crate::Acting::from(actor).named(actor.username.clone()),
                action: "auth.login".into(),
                object_type: "session",
                object_id: None,
                detail: None,
            })
            .await
            .map_err(StoreError::from)
        })
    }

    /// The session for a token hash if it is still valid: not past its absolute
    /// expiry, not idle longer than `idle`, and its user still active.
    pub async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        idle: chrono::Duration,
    ) -> Result<Option<Session>, StoreError> {
        // One statement on the pool, no transaction around it: every request
        // comes through here, and each BEGIN or COMMIT is one more round trip.
        let found: Option<crate::backend::SessionUserRow> = match &self.pool {
            crate::Pool::Sqlite(p) => {
                sqlx::query_as(crate::backend::SESSION_BY_TOKEN)
                    .bind(token_hash)
                    .fetch_optional(p)
                    .await?
            }
            crate::Pool::Postgres(p) => {
                sqlx::query_as(crate::backend::SESSION_BY_TOKEN)
                    .bind(token_hash)
                    .fetch_optional(p)
                    .await?
            }
        };
        let Some(crate::backend::SessionUserRow {
            session: s,
            user: u,
        }) = found
        else {
            return Ok(None);
        };
        let user = user_from_row(u, self.pii.as_deref())?;
        if !user.active || now >= s.expires_at || now - s.last_seen_at > idle {
            return Ok(None);
        }
        // Touch at most once a minute: a busy page should not write on every request.
        if now - s.last_seen_at > chrono::Duration::minutes(1) {
            in_tx!(self, Write, |tx| tx
                .touch_session(token_hash, now)
                .await
                .map_err(StoreError::from))?;
        }
        Ok(Some(Session {
            actor: user.actor,
            credentials: user.credentials,
            csrf_token: s.csrf_token,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
        }))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        in_tx!(self, Write, |tx| tx
            .delete_session(token_hash)
            .await
            .map_err(StoreError::from))
    }

    /// A logout by `by`: their session ends and an `auth.logout` record says so, in
    /// one transaction (AU-01).
    pub async fn end_session(
        &self,
        token_hash: &str,
        by: &crate::events::Acting,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_tx!(self, Write, |tx| {
            tx.delete_session(token_hash).await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "auth.logout".into(),
                object_type: "user",
                object_id: by.user_id.map(|u| u.0.to_string()),
                detail: None,
            })
            .await?;
            Ok::<_, StoreError>(())
        })
    }
}

//! What the system administrator edits on the admin pages: users (role, area, active)
//! and the categories' time limits and departments. Every change writes its audit
//! record in the same transaction; the server checks that the caller is an admin.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::{OrgId, OrgKind, Role};

use crate::backend::Tx;
use crate::events::Acting;
use crate::records::{AuditRecord, Named, NewUser};
use crate::reference::{org_by_code, unique};
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// Longest time limit a category may have, in working days.
pub const LIMIT_DAYS_MAX: u32 = 365;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserSummary {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub role_label: &'static str,
    pub org: Option<Named>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// An authenticator app is bound.
    pub second_factor: bool,
    /// The account still has a one-time password.
    pub must_change_password: bool,
}

/// A new account as the admin's form gives it (the password already hashed).
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub username: &'a str,
    /// The username when blank.
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    /// Township, unit or grid code for the roles bound to one.
    pub org_code: Option<&'a str>,
}

/// A change to a user; `None` leaves that part as it is. `org_code: Some("")`
/// clears the area.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub org_code: Option<String>,
    pub active: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct UserListRow {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    org_id: Option<i64>,
    org_code: Option<String>,
    org_name: Option<String>,
    active: bool,
    created_at: DateTime<Utc>,
    second_factor: bool,
    must_change_password: bool,
}

const USER_SELECT: &str = "SELECT u.id, u.username, u.display_name, u.role, u.org_id, \
 o.code AS org_code, o.name AS org_name, u.active, u.created_at, \
 (u.totp_secret IS NOT NULL) AS second_factor, u.must_change_password FROM users u \
 LEFT JOIN orgs o ON o.id = u.org_id ";

fn user_summary(r: UserListRow) -> Result<UserSummary, StoreError> {
    let role =
        Role::parse(&r.role).ok_or_else(|| StoreError::Corrupt(format!("role {}", r.role)))?;
    Ok(UserSummary {
        id: r.id,
        username: r.username,
        display_name: r.display_name,
        role,
        role_label: role.label_zh(),
        org: match (r.org_id, r.org_code, r.org_name) {
            (Some(id), Some(code), Some(name)) => Some(Named { id, code, name }),
            _ => None,
        },
        active: r.active,
        created_at: r.created_at,
        second_factor: r.second_factor,
        must_change_password: r.must_change_password,
    })
}

/// The kind of org a role's account belongs to, if the role needs one.
pub fn org_kind_for(role: Role) -> Option<&'static str> {
    match role {
        Role::TownshipOperator => Some("乡镇（街道）"),
        Role::UnitHandler => Some("部门、派驻机构或乡镇科室"),
        Role::GridWorker => Some("网格"),
        _ => None,
    }
}

fn fits(role: Role, kind: OrgKind) -> bool {
    match role {
        Role::TownshipOperator => kind == OrgKind::Township,
        Role::UnitHandler => kind.is_unit(),
        Role::GridWorker => kind == OrgKind::Grid,
        _ => false,
    }
}

/// The org for `role` from `code`: required (and of the right kind) for the roles
/// bound to an area or unit, refused for the others.
async fn org_for_role<T: Tx>(
    tx: &mut T,
    role: Role,
    code: Option<&str>,
) -> Result<Option<OrgId>, StoreError> {
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    match (org_kind_for(role), code) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(StoreError::invalid(
            "org",
            format!("角色「{}」不属于任何区域或单位", role.label_zh()),
        )),
        (Some(kind), None) => Err(StoreError::invalid(
            "org",
            format!("角色「{}」须指定所属{kind}（编码）", role.label_zh()),
        )),
        (Some(kind), Some(c)) => {
            let org = org_by_code(tx, c)
                .await?
                .ok_or_else(|| StoreError::invalid("org", format!("未知编码 {c}")))?;
            if !fits(role, org.kind) {
                return Err(StoreError::invalid(
                    "org",
                    format!(
                        "{}（{}）不是{kind}，与角色「{}」不符",
                        org.name,
                        org.code,
                        role.label_zh()
                    ),
                ));
            }
            Ok(Some(org.id))
        }
    }
}

/// A login name: 1–64 letters, digits, '.', '_', '-'.
pub fn valid_username(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 64
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

impl Store {
    /// Every user, by username, with role and area.
    pub async fn users(&self) -> Result<Vec<UserSummary>, StoreError> {
        let mut q = Sql::new(USER_SELECT);
        q.push("ORDER BY u.username");
        let rows = in_tx!(self, Read, |tx| tx
            .rows::<UserListRow>(q)
            .await
            .map_err(StoreError::from))?;
        rows.into_iter().map(user_summary).collect()
    }

    pub async fn user_summary(&self, id: i64) -> Result<UserSummary, StoreError> {
        let mut q = Sql::new(USER_SELECT);
        q.push("WHERE u.id = ").arg(Arg::I64(id));
        let rows = in_tx!(self, Read, |tx| tx
            .rows::<UserListRow>(q)
            .await
            .map_err(StoreError::from))?;
        rows.into_iter()
            .next()
            .map(user_summary)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// Creates an account (the password already hashed) after checking the username
    /// and that the org fits the role; audited.
    pub async fn create_user(
        &self,
        new: &NewAccount<'_>,
        by: &Acting,
        now: DateTime<Utc>,
    ) -> Result<UserSummary, StoreError> {
        let NewAccount {
            username,
            display_name,
            password_hash,
            role,
            org_code,
        } = *new;
        let username = username.trim();
        if !valid_username(username) {
            return Err(StoreError::invalid(
                "username",
                "用户名须为 1–64 个字母、数字或 . _ -",
            ));
        }
        let display_name = match display_name.trim() {
            "" => username,
            n => n,
        };
        if display_name.chars().count() > 50 {
            return Err(StoreError::invalid(
                "display_name",
                "姓名不能超过 50 个字符",
            ));
        }
        let id = in_tx!(self, Write, |tx| {
            let org_id = org_for_role(&mut tx, role, org_code).await?;
            let id = tx
                .insert_user(
                    &NewUser {
                        username: username.to_string(),
                        display_name: display_name.to_string(),
                        password_hash: password_hash.to_string(),
                        role,
                        org_id,
                        // The admin's form shows a one-time password.
                        must_change_password: true,
                    },
                    now,
                )
                .await
                .map_err(|e| unique("username", e))?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "user.create".into(),
                object_type: "user",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({
                    "username": username,
                    "role": role.code(),
                    "org": org_code,
                })),
            })
            .await?;
            Ok::<_, StoreError>(id)
        })?;
        self.user_summary(id).await
    }

    /// Changes a user's role, area or active flag; audited with before and after.
    /// Deactivating ends the user's sessions at once. An admin cannot lock
    /// themselves out (deactivate or demote their own account).
    pub async fn update_user(
        &self,
        id: i64,
        change: &UserChange,
        by: &Acting,
        now: DateTime<Utc>,
    ) -> Result<UserSummary, StoreError> {
        let before = self.user_summary(id).await?;
        let own = by.user_id.map(|u| u.0) == Some(id);
        if own && (change.active == Some(false) || change.role.is_some_and(|r| r != Role::Admin)) {
            return Err(StoreError::invalid(
                "user",
                "不能停用或降级自己的管理员账号",
            ));
        }
        let role = change.role.unwrap_or(before.role);
        let org_code = match &change.org_code {
            Some(c) => Some(c.clone()).filter(|c| !c.trim().is_empty()),
            // Keep the org unless the new role has no place for it.
            None => before
                .org
                .as_ref()
                .map(|o| o.code.clone())
                .filter(|_| org_kind_for(role).is_some()),
        };
        let active = change.active.unwrap_or(before.active);
        in_tx!(self, Write, |tx| {
            let org_id = org_for_role(&mut tx, role, org_code.as_deref()).await?;
            let mut q = Sql::new("UPDATE users SET role = ");
            q.arg(Arg::Text(role.code().into()))
                .push(", org_id = ")
                .arg(Arg::OptI64(org_id.map(|o| o.0)))
                .push(", active = ")
                .arg(Arg::Bool(active));
            if active && !before.active {
                // Turned back on: its idle clock starts again (idle_accounts.rs).
                q.push(", last_login_at = ").arg(Arg::Time(now));
            }
            q.push(" WHERE id = ").arg(Arg::I64(id));
            tx.exec(q).await?;
            if !active
                || role != before.role
                || org_id.map(|o| o.0) != before.org.as_ref().map(|o| o.id)
            {
                // A changed role or area takes effect at the next login.
                let mut end = Sql::new("DELETE FROM sessions WHERE user_id = ");
                end.arg(Arg::I64(id));
                tx.exec(end).await?;
            }
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "user.update".into(),
                object_type: "user",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({
                    "username": before.username,
                    "before": {
                        "role": before.role.code(),
                        "org": before.org.as_ref().map(|o| o.code.clone()),
                        "active": before.active,
                    },
                    "after": { "role": role.code(), "org": org_code, "active": active },
                })),
            })
            .await?;
            Ok::<_, StoreError>(())
        })?;
        self.user_summary(id).await
    }

    /// Sets a category's time limit (working days) and responsible department
    /// (`None` clears it); audited. The limit applies to deadlines counted from now
    /// on (new events, extensions, recounts); deadlines already set stay.
    pub async fn update_category(
        &self,
        code: &str,
        limit_days: u32,
        department_code: Option<&str>,
        by: &Acting,
        now: DateTime<Utc>,
    ) -> Result<crate::records::Category, StoreError> {
        if !(1..=LIMIT_DAYS_MAX).contains(&limit_days) {
            return Err(StoreError::invalid(
                "limit_days",
                format!("办理时限须为 1–{LIMIT_DAYS_MAX} 个工作日"),
            ));
        }
        let dept = department_code.map(str::trim).filter(|c| !c.is_empty());
        in_tx!(self, Write, |tx| {
            let (before, _) = crate::reference::category_by_code(&mut tx, code)
                .await?
                .ok_or(StoreError::NotFound)?;
            let dept_id = match dept {
                None => None,
                Some(c) => {
                    let o = org_by_code(&mut tx, c)
                        .await?
                        .filter(|o| o.kind.is_unit())
                        .ok_or_else(|| {
                            StoreError::invalid("department", format!("未知单位编码 {c}"))
                        })?;
                    Some(o.id.0)
                }
            };
            let mut q = Sql::new("UPDATE categories SET limit_days = ");
            q.arg(Arg::I64(i64::from(limit_days)))
                .push(", department_id = ")
                .arg(Arg::OptI64(dept_id))
                .push(" WHERE id = ")
                .arg(Arg::I64(before.id.0));
            tx.exec(q).await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "category.update".into(),
                object_type: "category",
                object_id: Some(before.code.clone()),
                detail: Some(serde_json::json!({
                    "before": { "limit_days": before.limit_days, "department_id": before.department_id.map(|d| d.0) },
                    "after": { "limit_days": limit_days, "department": dept },
                })),
            })
            .await?;
            let (after, _) = crate::reference::category_by_code(&mut tx, code)
                .await?
                .ok_or(StoreError::NotFound)?;
            Ok::<_, StoreError>(after)
        })
    }
}

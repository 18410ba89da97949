//! Open311 API clients and the public view of service requests (docs/open311.md).
//! A client is an outside system (FixMyStreet, a city app) that posts requests with a
//! key; the key is stored only as its SHA-256 and the client acts as a zhili user of
//! its own (role `integration`), so every event it makes is attributed to it. The
//! public view is what anyone may read about a request: no reporter, no phone, no
//! internal notes — the query never even selects those columns.

use chrono::{DateTime, Utc};
use zhili_domain::{Channel, GeoPoint, Role, Status};

use crate::backend::Tx;
use crate::events::Acting;
use crate::records::{AuditRecord, NewUser};
use crate::reference::{unique, user_from_row};
use crate::sql::{Arg, Sql, bind_all};
use crate::{Store, StoreError, in_tx};

/// An Open311 client with the user it acts as.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiClient {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub actor: zhili_domain::Actor,
}

/// Client names become part of a username, so they keep to its alphabet.
pub const CLIENT_NAME_MAX: usize = 48;

/// The username of the account a client acts as.
pub fn client_username(name: &str) -> String {
    format!("open311-{name}")
}

fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= CLIENT_NAME_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "name",
            format!("客户端名称须为 1–{CLIENT_NAME_MAX} 个字母、数字或 . _ -"),
        ))
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ClientRow {
    id: i64,
    name: String,
    user_id: i64,
    active: bool,
    created_at: DateTime<Utc>,
}

const CLIENT_SELECT: &str = "SELECT id, name, user_id, active, created_at FROM api_clients ";

async fn with_actor<T: Tx>(
    tx: &mut T,
    pii: Option<&crate::pii::Pii>,
    row: ClientRow,
) -> Result<ApiClient, StoreError> {
    let mut q = Sql::new("id = ");
    q.arg(Arg::I64(row.user_id));
    let user = tx
        .user_where(q)
        .await?
        .map(|r| user_from_row(r, pii))
        .transpose()?
        .ok_or_else(|| StoreError::Corrupt(format!("api client {} without user", row.id)))?;
    Ok(ApiClient {
        id: row.id,
        name: row.name,
        // A client whose account was disabled is disabled too.
        active: row.active && user.active,
        created_at: row.created_at,
        actor: user.actor,
    })
}

/// The channels whose events stay out of the public view: petitions (信访) and
/// matters handed over by the police concern people more than places, and their
/// senders did not publish them.
pub const NON_PUBLIC_CHANNELS: &[Channel] = &[Channel::Petition, Channel::Exchange110];

/// What anyone may read about one request.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicRequest {
    pub number: String,
    pub channel: Channel,
    pub status: Status,
    /// The event text as stored; the caller masks personal data in it before showing.
    pub text: String,
    pub address: Option<String>,
    pub location: Option<GeoPoint>,
    pub category_code: Option<String>,
    pub category_name: Option<String>,
    /// Working days the category allows for handling.
    pub limit_days: Option<u32>,
    pub township_name: String,
    pub village_name: Option<String>,
    pub lead_unit_name: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub handle_due_at: Option<DateTime<Utc>>,
    /// The handling result of the last 办结 (resolve), for the reporter and the public.
    pub result: Option<String>,
}

/// Which requests to read. `numbers`, when given, decides alone.
#[derive(Debug, Clone, Default)]
pub struct PublicRequestFilter {
    pub numbers: Vec<String>,
    pub categories: Vec<String>,
    pub statuses: Vec<Status>,
    /// Reported at or after.
    pub from: Option<DateTime<Utc>>,
    /// Reported at or before.
    pub to: Option<DateTime<Utc>>,
    /// At most this many, newest first (capped at 1000).
    pub limit: u32,
}

pub const PUBLIC_LIMIT_MAX: u32 = 1000;

#[derive(Debug, Clone, sqlx::FromRow)]
struct PublicRow {
    id: i64,
    number: String,
    channel: String,
    status: String,
    text: String,
    address: Option<String>,
    lon: Option<f64>,
    lat: Option<f64>,
    reported_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    handle_due_at: Option<DateTime<Utc>>,
    category_code: Option<String>,
    category_name: Option<String>,
    limit_days: Option<i64>,
    township_name: String,
    village_name: Option<String>,
    lead_unit_name: Option<String>,
}

/// Only public columns: the reporter's name, phone and account are not selected.
const PUBLIC_SELECT: &str = "SELECT e.id, e.number, e.channel, e.status, e.text, e.address, \
 e.lon, e.lat, e.reported_at, e.updated_at, e.closed_at, e.handle_due_at, \
 c.code AS category_code, c.name AS category_name, c.limit_days AS limit_days, \
 t.name AS township_name, v.name AS village_name, u.name AS lead_unit_name \
 FROM events e JOIN orgs t ON t.id = e.township_id LEFT JOIN orgs v ON v.id = e.village_id \
 LEFT JOIN categories c ON c.id = e.category_id LEFT JOIN orgs u ON u.id = e.lead_unit_id ";

fn public_query(f: &PublicRequestFilter) -> Sql {
    let mut q = Sql::new(PUBLIC_SELECT);
    q.push("WHERE e.channel NOT IN ");
    q.list(
        NON_PUBLIC_CHANNELS
            .iter()
            .map(|c| Arg::Text(c.code().into())),
    );
    if !f.numbers.is_empty() {
        q.push(" AND e.number IN ");
        q.list(f.numbers.iter().map(|n| Arg::Text(n.clone())));
    } else {
        if !f.categories.is_empty() {
            q.push(" AND c.code IN ");
            q.list(f.categories.iter().map(|c| Arg::Text(c.clone())));
        }
        if !f.statuses.is_empty() {
            q.push(" AND e.status IN ");
            q.list(f.statuses.iter().map(|s| Arg::Text(s.code().into())));
        }
        if let Some(from) = f.from {
            q.push(" AND e.reported_at >= ").arg(Arg::Time(from));
        }
        if let Some(to) = f.to {
            q.push(" AND e.reported_at <= ").arg(Arg::Time(to));
        }
    }
    q.push(" ORDER BY e.reported_at DESC, e.id DESC LIMIT ")
        .arg(Arg::I64(i64::from(f.limit.clamp(1, PUBLIC_LIMIT_MAX))));
    q
}

fn public_from_row(r: PublicRow, result: Option<String>) -> Result<PublicRequest, StoreError> {
    Ok(PublicRequest {
        channel: Channel::parse(&r.channel)
            .ok_or_else(|| StoreError::Corrupt(format!("channel {}", r.channel)))?,
        status: Status::parse(&r.status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {}", r.status)))?,
        number: r.number,
        text: r.text,
        address: r.address,
        location: match (r.lon, r.lat) {
            (Some(lon), Some(lat)) => Some(GeoPoint { lon, lat }),
            _ => None,
        },
        category_code: r.category_code,
        category_name: r.category_name,
        limit_days: r.limit_days.and_then(|d| u32::try_from(d).ok()),
        township_name: r.township_name,
        village_name: r.village_name,
        lead_unit_name: r.lead_unit_name,
        reported_at: r.reported_at,
        updated_at: r.updated_at,
        closed_at: r.closed_at,
        handle_due_at: r.handle_due_at,
        result,
    })
}

impl Store {
    /// Registers a client: its account (role `integration`, no usable password) and
    /// the hash of its key, with audit records, in one transaction. The key itself
    /// never reaches storage.
    pub async fn create_api_client(
        &self,
        name: &str,
        key_hash: &str,
        by: &Acting,
        now: DateTime<Utc>,
    ) -> Result<ApiClient, StoreError> {
        check_name(name)?;
        if key_hash.len() != 64 || !key_hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(StoreError::invalid("key_hash", "须为 SHA-256 十六进制串"));
        }
        in_tx!(self, Write, |tx| {
            let user_id = tx
                .insert_user(
                    &NewUser {
                        username: client_username(name),
                        display_name: format!("Open311客户端 {name}"),
                        // Not a PHC string: no password ever verifies, the account
                        // cannot log in to pages or the JSON API.
                        password_hash: "!open311-client".into(),
                        role: Role::Integration,
                        org_id: None,
                        must_change_password: false,
                    },
                    now,
                )
                .await
                .map_err(|e| unique("name", e))?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO api_clients (name, key_hash, user_id, active, created_at) \
                 VALUES ($1, $2, $3, TRUE, $4) RETURNING id",
            )
            .bind(name)
            .bind(key_hash)
            .bind(user_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| unique("name", e))?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "user.create".into(),
                object_type: "user",
                object_id: Some(user_id.to_string()),
                detail: Some(serde_json::json!({
                    "username": client_username(name),
                    "role": Role::Integration.code(),
                })),
            })
            .await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "api_client.create".into(),
                object_type: "api_client",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({ "name": name, "user_id": user_id })),
            })
            .await?;
            let row = ClientRow {
                id,
                name: name.to_string(),
                user_id,
                active: true,
                created_at: now,
            };
            with_actor(&mut tx, self.pii.as_deref(), row).await
        })
    }

    /// The active client holding the key with this hash.
    pub async fn api_client_by_key_hash(
        &self,
        key_hash: &str,
    ) -> Result<Option<ApiClient>, StoreError> {
        let found = in_tx!(self, Read, |tx| {
            let row = sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(format!(
                "{CLIENT_SELECT} WHERE key_hash = $1"
            )))
            .bind(key_hash)
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                Some(r) => with_actor(&mut tx, self.pii.as_deref(), r).await.map(Some),
                None => Ok::<_, StoreError>(None),
            }
        })?;
        Ok(found.filter(|c| c.active))
    }

    /// Every client, active or not, by name.
    pub async fn api_clients(&self) -> Result<Vec<ApiClient>, StoreError> {
        in_tx!(self, Read, |tx| {
            let rows = sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(format!(
                "{CLIENT_SELECT} ORDER BY name"
            )))
            .fetch_all(&mut *tx)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(with_actor(&mut tx, self.pii.as_deref(), r).await?);
            }
            Ok::<_, StoreError>(out)
        })
    }

    /// Turns a client (and the account it acts as) off or back on; its key stops or
    /// starts working at once.
    pub async fn set_api_client_active(
        &self,
        name: &str,
        active: bool,
        by: &Acting,
        now: DateTime<Utc>,
    ) -> Result<ApiClient, StoreError> {
        in_tx!(self, Write, |tx| {
            let row = sqlx::query_as::<_, ClientRow>(
                "UPDATE api_clients SET active = $2 WHERE name = $1 \
                 RETURNING id, name, user_id, active, created_at",
            )
            .bind(name)
            .bind(active)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            sqlx::query("UPDATE users SET active = $2 WHERE id = $1")
                .bind(row.user_id)
                .bind(active)
                .execute(&mut *tx)
                .await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: if active {
                    "api_client.activate".into()
                } else {
                    "api_client.deactivate".into()
                },
                object_type: "api_client",
                object_id: Some(row.id.to_string()),
                detail: Some(serde_json::json!({ "name": name })),
            })
            .await?;
            with_actor(&mut tx, self.pii.as_deref(), row).await
        })
    }

    /// Requests as the public sees them, newest first. Events of
    /// [`NON_PUBLIC_CHANNELS`] are never returned.
    pub async fn public_requests(
        &self,
        filter: &PublicRequestFilter,
    ) -> Result<Vec<PublicRequest>, StoreError> {
        let q = public_query(filter);
        let (rows, results) = in_tx!(self, Read, |tx| {
            let rows = bind_all!(
                sqlx::query_as::<_, PublicRow>(sqlx::AssertSqlSafe(q.text.clone())),
                q.args.clone()
            )
            .fetch_all(&mut *tx)
            .await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let mut results = std::collections::HashMap::new();
            if !ids.is_empty() {
                let mut n = Sql::new(
                    "SELECT event_id, note FROM timeline WHERE action = 'resolve' AND event_id IN ",
                );
                n.list(ids.iter().map(|i| Arg::I64(*i)));
                n.push(" ORDER BY event_id, seq");
                let notes = bind_all!(
                    sqlx::query_as::<_, (i64, Option<String>)>(sqlx::AssertSqlSafe(n.text)),
                    n.args
                )
                .fetch_all(&mut *tx)
                .await?;
                // Ordered by seq: the last resolve of an event wins.
                for (id, note) in notes {
                    results.insert(id, note);
                }
            }
            Ok::<_, StoreError>((rows, results))
        })?;
        rows.into_iter()
            .map(|r| {
                let result = results.get(&r.id).cloned().flatten();
                public_from_row(r, result)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fresh_stores, with_small_city};
    use zhili_domain::{NewEvent, RawNewEvent, RawReporter};

    fn cli() -> Acting {
        Acting::system("命令行")
    }

    const HASH: &str = "aa00000000000000000000000000000000000000000000000000000000000000";

    #[tokio::test]
    async fn a_client_is_found_by_its_key_hash_until_deactivated() {
        for store in fresh_stores().await {
            with_small_city(&store, "x").await;
            let now = Utc::now();
            let c = store
                .create_api_client("fixmystreet", HASH, &cli(), now)
                .await
                .unwrap();
            assert_eq!(c.actor.role, Role::Integration);
            assert_eq!(c.actor.username, "open311-fixmystreet");
            let found = store.api_client_by_key_hash(HASH).await.unwrap().unwrap();
            assert_eq!(found.id, c.id);
            assert!(
                store
                    .api_client_by_key_hash(&"b".repeat(64))
                    .await
                    .unwrap()
                    .is_none()
            );
            // Names are unique, and the account cannot log in with any password.
            assert!(matches!(
                store
                    .create_api_client("fixmystreet", &"c".repeat(64), &cli(), now)
                    .await,
                Err(StoreError::Duplicate { .. })
            ));
            assert!(matches!(
                store
                    .create_api_client("bad name", &"c".repeat(64), &cli(), now)
                    .await,
                Err(StoreError::Invalid { .. })
            ));
            let user = store
                .user_by_username("open311-fixmystreet")
                .await
                .unwrap()
                .unwrap();
            assert!(!user.password_hash.starts_with('$'));

            store
                .set_api_client_active("fixmystreet", false, &cli(), now)
                .await
                .unwrap();
            assert!(store.api_client_by_key_hash(HASH).await.unwrap().is_none());
            assert_eq!(store.api_clients().await.unwrap().len(), 1);
            store
                .set_api_client_active("fixmystreet", true, &cli(), now)
                .await
                .unwrap();
            assert!(store.api_client_by_key_hash(HASH).await.unwrap().is_some());
            assert!(matches!(
                store
                    .set_api_client_active("nobody", false, &cli(), now)
                    .await,
                Err(StoreError::NotFound)
            ));
        }
    }

    fn raw(channel: &str, ext: &str) -> RawNewEvent {
        RawNewEvent {
            channel: channel.into(),
            external_id: Some(ext.into()),
            reporter: Some(RawReporter {
                kind: "citizen".into(),
                name: Some("王小明".into()),
                phone: Some("13812345678".into()),
            }),
            text: "小区门口夜间施工噪音很大".into(),
            category: Some("0101".into()),
            grid: Some("33028100200101".into()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn the_public_view_leaves_out_petitions_and_filters_by_number() {
        for store in fresh_stores().await {
            with_small_city(&store, "x").await;
            let now = Utc::now();
            let c = store
                .create_api_client("app", HASH, &cli(), now)
                .await
                .unwrap();
            let city = store.user_by_username("city").await.unwrap().unwrap().actor;
            let mut numbers = Vec::new();
            for (actor, channel) in [(&c.actor, "open311"), (&city, "petition")] {
                let new = NewEvent::parse(raw(channel, "k1")).unwrap();
                let crate::CreateOutcome::Created(d) =
                    store.events_for(actor).create(&new, now).await.unwrap()
                else {
                    panic!("expected a new event")
                };
                numbers.push(d.number);
            }
            let all = store
                .public_requests(&PublicRequestFilter {
                    limit: 1000,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(all.len(), 1);
            assert_eq!(all[0].number, numbers[0]);
            assert_eq!(all[0].category_code.as_deref(), Some("0101"));
            assert_eq!(all[0].township_name, "凤山街道");
            assert_eq!(all[0].limit_days, Some(5));
            let by_number = store
                .public_requests(&PublicRequestFilter {
                    numbers: numbers.clone(),
                    limit: 1000,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(by_number.len(), 1, "the petition stays private");
            let closed = store
                .public_requests(&PublicRequestFilter {
                    statuses: vec![Status::Closed],
                    limit: 1000,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert!(closed.is_empty());
        }
    }
}

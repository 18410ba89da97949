//! Photos of events: the citizen's form, the grid worker's report, evidence added
//! while handling. Each photo is stored twice: as uploaded (`original`, with its EXIF
//! position and time, which can matter as evidence) and without metadata
//! (`public_copy`). Everyone gets the public copy by default; the original only goes,
//! on explicit request, to those who also see the reporter's personal data (the
//! operators of the event's area, the units handling it, the reporter) and to the
//! uploader, and each such download is audited.
//!
//! Access goes through the event: whoever cannot see an event cannot see or add its
//! photos, and gets the same "not found" either way.

mod photo;

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::{Actor, Role, Status, UserId};

pub use photo::{MAX_PHOTO_BYTES, Photo, PhotoError, PhotoKind};

use crate::backend::Tx;
use crate::events::Acting;
use crate::records::{AuditRecord, Coded};
use crate::{Store, StoreError, in_tx};

/// At most this many photos per event (the grid app's nine-photo grid).
pub const MAX_PHOTOS_PER_EVENT: i64 = 9;

/// A stored photo's description, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttachmentMeta {
    pub id: i64,
    pub event_id: i64,
    pub content_type: &'static str,
    /// Bytes as uploaded.
    pub size: i64,
    /// Bytes of the public copy.
    pub public_size: i64,
    /// SHA-256 of the original, hex.
    pub sha256: String,
    pub filename: String,
    pub uploaded_at: DateTime<Utc>,
    /// The uploader's role (their name is personal data, so not shown here).
    pub uploader_role: Option<Coded>,
    /// Whether the viewer who asked may download the original.
    pub original_available: bool,
}

/// An event's photos as one viewer may see them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttachmentList {
    pub items: Vec<AttachmentMeta>,
    /// Whether the viewer may add a photo now.
    pub may_upload: bool,
    pub max_photos: i64,
    pub max_bytes: usize,
}

/// Which copy of a photo to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Without metadata: for everyone who may see the event.
    Public,
    /// As uploaded, metadata included.
    Original,
}

#[derive(Debug, Clone)]
pub struct AttachmentFile {
    pub meta: AttachmentMeta,
    pub variant: Variant,
    pub bytes: Vec<u8>,
}

/// The result of an upload: a new photo, or the same bytes already on this event
/// (a retried upload stores nothing twice).
#[derive(Debug, Clone)]
pub enum Added {
    Created(AttachmentMeta),
    Existing(AttachmentMeta),
}

/// Photo access for one actor.
pub struct AttachmentRepo<'a> {
    store: &'a Store,
    actor: Actor,
}

/// The right to add photos to one event, handed out only after the check
/// ([`AttachmentRepo::uploader`]).
pub struct Uploader<'a> {
    repo: &'a AttachmentRepo<'a>,
    event_id: i64,
}

impl Store {
    pub fn attachments_for(&self, actor: &Actor) -> AttachmentRepo<'_> {
        AttachmentRepo {
            store: self,
            actor: actor.clone(),
        }
    }
}

/// What decides who may do what with an event's photos.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EventFacts {
    township_id: i64,
    grid_id: Option<i64>,
    reporter_user_id: Option<i64>,
    status: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Relation {
    may_upload: bool,
    sees_originals: bool,
    /// Would be an uploader, but the event is archived.
    closed_to_uploader: bool,
}

/// Uploaders: the reporter, the operators of the event's area, the units handling it
/// now and the grid worker of its grid. Originals: those who see the reporter's
/// personal data (the same rule as for name and phone). An archived event's photos
/// are a closed record.
fn relation(actor: &Actor, facts: &EventFacts, active_units: &[i64]) -> Relation {
    let org = actor.org_id.map(|o| o.0);
    let operator = actor.role == Role::CityOperator
        || (actor.role == Role::TownshipOperator && org == Some(facts.township_id));
    let handling_unit =
        actor.role == Role::UnitHandler && org.is_some_and(|o| active_units.contains(&o));
    let reporter = facts.reporter_user_id == Some(actor.user_id.0);
    let grid_worker = actor.role == Role::GridWorker && org.is_some() && org == facts.grid_id;
    let open = facts.status != Status::Closed.code();
    let uploader = operator || handling_unit || reporter || grid_worker;
    Relation {
        may_upload: open && uploader,
        sees_originals: operator || handling_unit || reporter,
        closed_to_uploader: uploader && !open,
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct MetaRow {
    id: i64,
    event_id: i64,
    content_type: String,
    size: i64,
    public_size: i64,
    sha256: String,
    filename: String,
    uploaded_at: DateTime<Utc>,
    uploaded_by: Option<i64>,
    uploader_role: Option<String>,
}

fn meta(row: MetaRow, actor: &Actor, rel: Relation) -> Result<AttachmentMeta, StoreError> {
    let kind = PhotoKind::from_content_type(&row.content_type).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "attachment {}: content type {}",
            row.id, row.content_type
        ))
    })?;
    let uploader_role = row.uploader_role.as_deref().and_then(Role::parse);
    Ok(AttachmentMeta {
        original_available: rel.sees_originals || row.uploaded_by == Some(actor.user_id.0),
        id: row.id,
        event_id: row.event_id,
        content_type: kind.content_type(),
        size: row.size,
        public_size: row.public_size,
        sha256: row.sha256,
        filename: row.filename,
        uploaded_at: row.uploaded_at,
        uploader_role: uploader_role.map(|r| Coded {
            code: r.code(),
            label: r.label_zh(),
        }),
    })
}

/// A new row, as inserted.
pub(crate) struct Insert<'a> {
    event_id: i64,
    uploaded_by: Option<UserId>,
    at: DateTime<Utc>,
    photo: &'a Photo,
}

/// The statements of this module, for both backends' transactions (the same pattern
/// as `backend::Tx`, kept here so that photos stay in one file).
pub(crate) trait AttachTx: Tx {
    /// Serialises uploads to one event, so that two at once cannot pass the limit.
    fn lock_event(&mut self, event_id: i64)
    -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn event_facts(
        &mut self,
        event_id: i64,
    ) -> impl Future<Output = Result<Option<EventFacts>, sqlx::Error>> + Send;
    fn active_units(
        &mut self,
        event_id: i64,
    ) -> impl Future<Output = Result<Vec<i64>, sqlx::Error>> + Send;
    fn attachment_rows(
        &mut self,
        event_id: i64,
    ) -> impl Future<Output = Result<Vec<MetaRow>, sqlx::Error>> + Send;
    fn attachment_row(
        &mut self,
        id: i64,
    ) -> impl Future<Output = Result<Option<MetaRow>, sqlx::Error>> + Send;
    fn attachment_by_sha(
        &mut self,
        event_id: i64,
        sha256: &str,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send;
    fn attachment_count(
        &mut self,
        event_id: i64,
    ) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;
    fn insert_attachment(
        &mut self,
        a: &Insert<'_>,
    ) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;
    fn attachment_bytes(
        &mut self,
        id: i64,
        variant: Variant,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, sqlx::Error>> + Send;
}

const META_SELECT: &str = "SELECT a.id, a.event_id, a.content_type, a.size, a.public_size, \
 a.sha256, a.filename, a.uploaded_at, a.uploaded_by, u.role AS uploader_role \
 FROM attachments a LEFT JOIN users u ON u.id = a.uploaded_by ";

macro_rules! impl_attach_tx {
    ($db:ty, $lock:literal) => {
        impl<'c> AttachTx for sqlx::Transaction<'c, $db> {
            async fn lock_event(&mut self, event_id: i64) -> Result<(), sqlx::Error> {
                if !$lock.is_empty() {
                    sqlx::query($lock)
                        .bind(event_id)
                        .execute(&mut **self)
                        .await?;
                }
                Ok(())
            }

            async fn event_facts(&mut self, event_id: i64) -> Result<Option<EventFacts>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT township_id, grid_id, reporter_user_id, status FROM events WHERE id = $1",
                )
                .bind(event_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn active_units(&mut self, event_id: i64) -> Result<Vec<i64>, sqlx::Error> {
                sqlx::query_scalar("SELECT unit_id FROM event_units WHERE event_id = $1 AND active")
                    .bind(event_id)
                    .fetch_all(&mut **self)
                    .await
            }

            async fn attachment_rows(&mut self, event_id: i64) -> Result<Vec<MetaRow>, sqlx::Error> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{META_SELECT} WHERE a.event_id = $1 ORDER BY a.id"
                )))
                .bind(event_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn attachment_row(&mut self, id: i64) -> Result<Option<MetaRow>, sqlx::Error> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{META_SELECT} WHERE a.id = $1")))
                    .bind(id)
                    .fetch_optional(&mut **self)
                    .await
            }

            async fn attachment_by_sha(&mut self, event_id: i64, sha256: &str) -> Result<Option<i64>, sqlx::Error> {
                sqlx::query_scalar("SELECT id FROM attachments WHERE event_id = $1 AND sha256 = $2")
                    .bind(event_id)
                    .bind(sha256)
                    .fetch_optional(&mut **self)
                    .await
            }

            async fn attachment_count(&mut self, event_id: i64) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar("SELECT COUNT(*) FROM attachments WHERE event_id = $1")
                    .bind(event_id)
                    .fetch_one(&mut **self)
                    .await
            }

            async fn insert_attachment(&mut self, a: &Insert<'_>) -> Result<i64, sqlx::Error> {
                let size = i64::try_from(a.photo.original().len()).unwrap_or(i64::MAX);
                let public_size = i64::try_from(a.photo.public().len()).unwrap_or(i64::MAX);
                sqlx::query_scalar(
                    "INSERT INTO attachments (event_id, uploaded_by, uploaded_at, content_type, size, \
                     public_size, sha256, filename, original, public_copy) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(a.event_id)
                .bind(a.uploaded_by.map(|u| u.0))
                .bind(a.at)
                .bind(a.photo.kind().content_type())
                .bind(size)
                .bind(public_size)
                .bind(a.photo.sha256())
                .bind(a.photo.filename())
                .bind(a.photo.original())
                .bind(a.photo.public())
                .fetch_one(&mut **self)
                .await
            }

            async fn attachment_bytes(&mut self, id: i64, variant: Variant) -> Result<Option<Vec<u8>>, sqlx::Error> {
                let sql = match variant {
                    Variant::Public => "SELECT public_copy FROM attachments WHERE id = $1",
                    Variant::Original => "SELECT original FROM attachments WHERE id = $1",
                };
                sqlx::query_scalar(sql).bind(id).fetch_optional(&mut **self).await
            }
        }
    };
}

// SQLite has one writer at a time (BEGIN IMMEDIATE) and needs no row lock.
impl_attach_tx!(sqlx::Sqlite, "");
impl_attach_tx!(
    sqlx::Postgres,
    "SELECT id FROM events WHERE id = $1 FOR UPDATE"
);

/// Stores `photo` on `event_id` with its audit record, unless the same bytes are
/// there already. The caller has checked the uploader's right.
async fn insert_one<T: AttachTx>(
    tx: &mut T,
    acting: &Acting,
    event_id: i64,
    photo: &Photo,
    now: DateTime<Utc>,
) -> Result<Result<i64, i64>, StoreError> {
    if let Some(id) = tx.attachment_by_sha(event_id, photo.sha256()).await? {
        return Ok(Err(id));
    }
    if tx.attachment_count(event_id).await? >= MAX_PHOTOS_PER_EVENT {
        return Err(StoreError::invalid(
            "photo",
            format!("每个事件最多 {MAX_PHOTOS_PER_EVENT} 张照片，已达上限"),
        ));
    }
    let id = tx
        .insert_attachment(&Insert {
            event_id,
            uploaded_by: acting.user_id,
            at: now,
            photo,
        })
        .await?;
    tx.insert_audit(&AuditRecord {
        at: now,
        actor: acting.clone(),
        action: "attachment.upload".into(),
        object_type: "attachment",
        object_id: Some(id.to_string()),
        detail: Some(serde_json::json!({
            "event_id": event_id,
            "content_type": photo.kind().content_type(),
            "size": photo.original().len(),
            "sha256": photo.sha256(),
        })),
    })
    .await?;
    Ok(Ok(id))
}

/// The photos sent with a new event, stored in the event's own transaction: a photo
/// that cannot be stored leaves no event behind. The reporter is the uploader.
pub(crate) async fn attach_to_new_event<T: AttachTx>(
    tx: &mut T,
    acting: &Acting,
    event_id: i64,
    photos: &[Photo],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for photo in photos {
        // The same photo twice in one report is stored once.
        let _new_or_existing = insert_one(tx, acting, event_id, photo, now).await?;
    }
    Ok(())
}

impl<'a> AttachmentRepo<'a> {
    /// The facts of an event the actor can see; `NotFound` otherwise.
    async fn visible(&self, event_id: i64) -> Result<(), StoreError> {
        self.store.events_for(&self.actor).get(event_id).await?;
        Ok(())
    }

    async fn relation_in<T: AttachTx>(
        &self,
        tx: &mut T,
        event_id: i64,
    ) -> Result<Relation, StoreError> {
        let facts = tx
            .event_facts(event_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let units = tx.active_units(event_id).await?;
        Ok(relation(&self.actor, &facts, &units))
    }

    /// The event's photos, oldest first.
    pub async fn list(&self, event_id: i64) -> Result<AttachmentList, StoreError> {
        self.visible(event_id).await?;
        let actor = &self.actor;
        let (rel, rows) = in_tx!(self.store, Read, |tx| {
            let rel = self.relation_in(&mut tx, event_id).await?;
            Ok::<_, StoreError>((rel, tx.attachment_rows(event_id).await?))
        })?;
        let count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        Ok(AttachmentList {
            items: rows
                .into_iter()
                .map(|r| meta(r, actor, rel))
                .collect::<Result<_, _>>()?,
            may_upload: rel.may_upload && count < MAX_PHOTOS_PER_EVENT,
            max_photos: MAX_PHOTOS_PER_EVENT,
            max_bytes: MAX_PHOTO_BYTES,
        })
    }

    /// The right to add photos to `event_id`: `NotFound` when the actor cannot see
    /// the event, `None` when they see it but may not add photos, `Invalid` when
    /// they could but the event is archived.
    pub async fn uploader(&'a self, event_id: i64) -> Result<Option<Uploader<'a>>, StoreError> {
        self.visible(event_id).await?;
        let rel = in_tx!(self.store, Read, |tx| self
            .relation_in(&mut tx, event_id)
            .await)?;
        if rel.closed_to_uploader {
            return Err(StoreError::invalid("photo", "事件已归档，不能再添加照片"));
        }
        Ok(rel.may_upload.then_some(Uploader {
            repo: self,
            event_id,
        }))
    }

    /// One photo's bytes. `NotFound` when the actor cannot see its event; `None` when
    /// they asked for the original and may only have the public copy. Reading an
    /// original (it may hold a position) leaves an audit record.
    pub async fn open(
        &self,
        id: i64,
        variant: Variant,
        now: DateTime<Utc>,
    ) -> Result<Option<AttachmentFile>, StoreError> {
        let row = in_tx!(self.store, Read, |tx| tx
            .attachment_row(id)
            .await
            .map_err(StoreError::from))?
        .ok_or(StoreError::NotFound)?;
        let event_id = row.event_id;
        self.visible(event_id).await?;
        // Only reading an original writes (its audit record).
        match variant {
            Variant::Public => in_tx!(self.store, Read, |tx| {
                self.file_in(&mut tx, row, variant, now).await
            }),
            Variant::Original => in_tx!(self.store, Write, |tx| {
                self.file_in(&mut tx, row, variant, now).await
            }),
        }
    }

    async fn file_in<T: AttachTx>(
        &self,
        tx: &mut T,
        row: MetaRow,
        variant: Variant,
        now: DateTime<Utc>,
    ) -> Result<Option<AttachmentFile>, StoreError> {
        let (id, event_id) = (row.id, row.event_id);
        let rel = self.relation_in(tx, event_id).await?;
        let m = meta(row, &self.actor, rel)?;
        if variant == Variant::Original {
            if !m.original_available {
                return Ok(None);
            }
            let acting = Acting::from(&self.actor);
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting,
                action: "attachment.read_original".into(),
                object_type: "attachment",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({ "event_id": event_id })),
            })
            .await?;
        }
        let bytes = tx
            .attachment_bytes(id, variant)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Some(AttachmentFile {
            meta: m,
            variant,
            bytes,
        }))
    }
}

impl Uploader<'_> {
    pub fn event_id(&self) -> i64 {
        self.event_id
    }

    /// Stores `photo` (checked again inside the transaction: the right may have
    /// gone since it was handed out, say by a unit returning the event).
    pub async fn add(&self, photo: &Photo, now: DateTime<Utc>) -> Result<Added, StoreError> {
        let repo = self.repo;
        let actor = &repo.actor;
        let acting = Acting::from(actor);
        let event_id = self.event_id;
        in_tx!(repo.store, Write, |tx| {
            tx.lock_event(event_id).await?;
            let rel = repo.relation_in(&mut tx, event_id).await?;
            if !rel.may_upload {
                return Err(StoreError::invalid("photo", "您当前无权为该事件添加照片"));
            }
            let (id, created) = match insert_one(&mut tx, &acting, event_id, photo, now).await? {
                Ok(id) => (id, true),
                Err(id) => (id, false),
            };
            let row = tx.attachment_row(id).await?.ok_or(StoreError::NotFound)?;
            let m = meta(row, actor, rel)?;
            Ok(if created {
                Added::Created(m)
            } else {
                Added::Existing(m)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhili_domain::OrgId;

    fn actor(role: Role, org: Option<i64>, id: i64) -> Actor {
        Actor {
            user_id: UserId(id),
            username: "u".into(),
            display_name: "u".into(),
            role,
            org_id: org.map(OrgId),
        }
    }

    async fn audited(store: &Store, action: &str) -> i64 {
        let sql = "SELECT COUNT(*) FROM audit_log WHERE action = $1";
        match &store.pool {
            crate::Pool::Sqlite(p) => sqlx::query_scalar(sql).bind(action).fetch_one(p).await,
            crate::Pool::Postgres(p) => sqlx::query_scalar(sql).bind(action).fetch_one(p).await,
        }
        .expect("audit count")
    }

    fn new_event(text: &str) -> zhili_domain::NewEvent {
        let raw: zhili_domain::RawNewEvent = serde_json::from_value(serde_json::json!({
            "channel": "patrol",
            "text": text,
            "grid": "33028100200101",
        }))
        .expect("raw event");
        zhili_domain::NewEvent::parse(raw).expect("valid event")
    }

    #[tokio::test]
    async fn photos_come_with_the_event_in_one_transaction_and_leave_audit_records() {
        for store in crate::testing::fresh_stores().await {
            crate::testing::with_small_city(&store, "x").await;
            let user = |name: &'static str| {
                let store = store.clone();
                async move { store.user_by_username(name).await.unwrap().unwrap().actor }
            };
            let (grid1, city) = (user("grid1").await, user("city").await);
            let photos: Vec<Photo> = (0..10u8)
                .map(|i| {
                    let mut jpeg = photo::tests::jpeg();
                    // A comment makes each original different; it is not in the public copy.
                    jpeg.splice(2..2, [0xFF, 0xFE, 0, 3, i]);
                    Photo::parse(jpeg, Some("p.jpg")).unwrap()
                })
                .collect();
            let events = store.events_for(&grid1);
            let now = Utc::now();
            // Ten photos: the tenth is refused, and with it the whole report.
            let err = events
                .create_with_photos(&new_event("十张照片"), &photos, now)
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::Invalid { ref field, .. } if field == "photo"));
            let filter = crate::EventFilter {
                page: 1,
                per_page: 10,
                ..Default::default()
            };
            assert_eq!(
                store.events_for(&city).list(&filter).await.unwrap().total,
                0
            );
            assert_eq!(audited(&store, "attachment.upload").await, 0);

            let created = events
                .create_with_photos(&new_event("两张照片"), &photos[..2], now)
                .await
                .unwrap();
            let crate::CreateOutcome::Created(d) = created else {
                panic!("a new event")
            };
            let list = store.attachments_for(&city).list(d.id).await.unwrap();
            assert_eq!(list.items.len(), 2);
            assert!(list.items.iter().all(|m| m.original_available));
            assert_eq!(audited(&store, "attachment.upload").await, 2);

            let first = list.items[0].id;
            let file = store
                .attachments_for(&city)
                .open(first, Variant::Original, now)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(file.bytes, photos[0].original());
            assert_eq!(audited(&store, "attachment.read_original").await, 1);
            let public = store
                .attachments_for(&city)
                .open(first, Variant::Public, now)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(public.bytes, photos[0].public());
            assert_eq!(audited(&store, "attachment.read_original").await, 1);
        }
    }

    #[test]
    fn who_may_add_photos_and_who_sees_originals() {
        let facts = EventFacts {
            township_id: 2,
            grid_id: Some(20),
            reporter_user_id: Some(100),
            status: "dispatched".into(),
        };
        let units = [7];
        let rel = |a: &Actor| {
            let r = relation(a, &facts, &units);
            (r.may_upload, r.sees_originals)
        };
        assert_eq!(rel(&actor(Role::CityOperator, None, 1)), (true, true));
        assert_eq!(
            rel(&actor(Role::TownshipOperator, Some(2), 1)),
            (true, true)
        );
        assert_eq!(
            rel(&actor(Role::TownshipOperator, Some(3), 1)),
            (false, false)
        );
        assert_eq!(rel(&actor(Role::UnitHandler, Some(7), 1)), (true, true));
        assert_eq!(rel(&actor(Role::UnitHandler, Some(8), 1)), (false, false));
        assert_eq!(rel(&actor(Role::GridWorker, Some(20), 1)), (true, false));
        assert_eq!(rel(&actor(Role::GridWorker, Some(21), 1)), (false, false));
        assert_eq!(rel(&actor(Role::Citizen, None, 100)), (true, true));
        assert_eq!(rel(&actor(Role::Citizen, None, 101)), (false, false));
        assert_eq!(rel(&actor(Role::Oversight, None, 1)), (false, false));
        assert_eq!(rel(&actor(Role::CityLeader, None, 1)), (false, false));
        let closed = EventFacts {
            status: Status::Closed.code().into(),
            ..facts.clone()
        };
        let r = relation(&actor(Role::CityOperator, None, 1), &closed, &units);
        assert_eq!((r.may_upload, r.sees_originals), (false, true));
        assert!(r.closed_to_uploader);
        assert!(!relation(&actor(Role::Oversight, None, 1), &closed, &units).closed_to_uploader);
    }
}

//! The processing notices in force, version by version (SECURITY.md PI-02, PIPL
//! Art. 17). A server publishes the notice of its settings when it starts; events
//! taken in from then on carry its version (`events.notice_version`), and an earlier
//! version's text stays readable for as long as events refer to it.
//!
//! The version is a digest of the text, so any change of wording, retention period
//! or contact is a new version by itself, and two instances with the same settings
//! publish the same one.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use zhili_domain::ProcessingNotice;

use crate::backend::Tx;
use crate::records::AuditRecord;
use crate::sql::{Arg, Sql};
use crate::{Acting, Store, StoreError, in_tx};

/// A notice as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct PublishedNotice {
    pub version: String,
    pub text_zh: String,
    pub text_en: String,
    pub published_at: DateTime<Utc>,
}

/// `N-` and the first 12 hex digits of SHA-256 over both texts.
pub fn notice_version(notice: &ProcessingNotice) -> String {
    let mut h = Sha256::new();
    h.update(notice.zh.as_bytes());
    h.update([0u8]);
    h.update(notice.en.as_bytes());
    format!("N-{}", &hex::encode(h.finalize())[..12])
}

impl Store {
    /// Stores `notice` unless its version is stored already (audited once, as
    /// `notice.published`), and makes it the version every later live intake of this
    /// store and its clones records. Returns the version.
    pub async fn publish_notice(
        &self,
        notice: &ProcessingNotice,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let version = notice_version(notice);
        let v = version.clone();
        in_tx!(self, Write, |tx| { insert(&mut tx, &v, notice, now).await })?;
        *self.notice.write().unwrap_or_else(|e| e.into_inner()) = Some(version.clone().into());
        Ok(version)
    }

    /// The version live intake records now; `None` before any was published.
    pub fn current_notice_version(&self) -> Option<std::sync::Arc<str>> {
        self.notice
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// One stored version, for anyone to read (the public notice page).
    pub async fn notice(&self, version: &str) -> Result<Option<PublishedNotice>, StoreError> {
        let mut q = Sql::new(
            "SELECT version, text_zh, text_en, published_at FROM processing_notices WHERE version = ",
        );
        q.arg(Arg::Text(version.to_string()));
        let rows: Vec<PublishedNotice> = in_tx!(self, Read, |tx| tx.rows(q).await)?;
        Ok(rows.into_iter().next())
    }

    /// The notice in force: the one this store publishes, else the newest stored
    /// (a store opened without publishing, as by a backup tool).
    pub async fn notice_in_force(&self) -> Result<Option<PublishedNotice>, StoreError> {
        if let Some(v) = self.current_notice_version() {
            return self.notice(&v).await;
        }
        Ok(self.notices().await?.into_iter().next())
    }

    /// Every version ever published, newest first.
    pub async fn notices(&self) -> Result<Vec<PublishedNotice>, StoreError> {
        let q = Sql::new(
            "SELECT version, text_zh, text_en, published_at FROM processing_notices \
             ORDER BY published_at DESC, version",
        );
        Ok(in_tx!(self, Read, |tx| tx.rows(q).await)?)
    }
}

async fn insert<T: Tx>(
    tx: &mut T,
    version: &str,
    notice: &ProcessingNotice,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut q = Sql::new(
        "INSERT INTO processing_notices (version, text_zh, text_en, published_at) VALUES (",
    );
    q.arg(Arg::Text(version.to_string()))
        .push(", ")
        .arg(Arg::Text(notice.zh.clone()))
        .push(", ")
        .arg(Arg::Text(notice.en.clone()))
        .push(", ")
        .arg(Arg::Time(now))
        .push(") ON CONFLICT (version) DO NOTHING");
    if tx.exec(q).await? == 1 {
        tx.insert_audit(&AuditRecord {
            at: now,
            actor: Acting::system("zhili"),
            action: "notice.published".into(),
            object_type: "processing_notice",
            object_id: Some(version.to_string()),
            detail: None,
        })
        .await?;
    }
    Ok(())
}

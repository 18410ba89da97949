//! Retention of personal data (PI-07): some time after an event is closed, the
//! reporter's name and phone are erased, phone and ID numbers in its text and in
//! its chat messages are masked, and the messages that went out about it (which
//! carry the phone) are emptied. The event, its place, category, timeline and
//! every figure counted from them stay: statistics do not need the person.
//!
//! Background work any instance may do: each event is erased in its own small
//! transaction, guarded by `anonymised_at IS NULL`, so two instances racing on the
//! same event erase it once and audit it once.

use chrono::{DateTime, Duration, Utc};
use zhili_domain::mask::mask_in_text;

use crate::backend::Tx;
use crate::records::AuditRecord;
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// Stands in for a chat sender's name, which may not be empty.
const ERASED_NAME: &str = "（已匿名）";

impl Store {
    /// Erases the personal data of events closed before `now - keep` (at most
    /// `limit` events a call); returns how many were erased. Each erasure is audited
    /// (`event.anonymised`) with the instance that did it.
    pub async fn anonymise_closed(
        &self,
        keep: Duration,
        now: DateTime<Utc>,
        by: &str,
        limit: i64,
    ) -> Result<usize, StoreError> {
        let pii = self.pii()?;
        let mut q = Sql::new(
            "SELECT id, number, text FROM events WHERE anonymised_at IS NULL AND status = 'closed' \
             AND closed_at < ",
        );
        q.arg(Arg::Time(now - keep))
            .push(" ORDER BY closed_at LIMIT ")
            .arg(Arg::I64(limit.max(1)));
        let due: Vec<(i64, String, String)> = in_tx!(self, Read, |tx| tx.rows(q).await)?;
        let mut erased = 0;
        for (id, number, text) in due {
            let done = in_tx!(self, Write, |tx| {
                erase(
                    &mut tx,
                    pii,
                    id,
                    &number,
                    &text,
                    now,
                    &crate::Acting::system(by),
                )
                .await
            })?;
            erased += usize::from(done);
        }
        Ok(erased)
    }
}

/// Erases one event's personal data, audited as `event.anonymised` by `by`: the
/// retention's own work, or a command room granting a reporter's deletion request.
/// `false` when it was erased before.
pub(crate) async fn erase<T: Tx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    id: i64,
    number: &str,
    text: &str,
    now: DateTime<Utc>,
    by: &crate::Acting,
) -> Result<bool, StoreError> {
    // The phone's hash is replaced by one per event: the count of reporters who
    // could be called back stays, the link between a person's reports goes.
    let mut q = Sql::new(
        "UPDATE events SET reporter_name = NULL, reporter_phone = NULL, \
         reporter_phone_index = CASE WHEN reporter_phone_index IS NULL THEN NULL \
         ELSE 'erased:' || CAST(id AS TEXT) END, text = ",
    );
    q.arg(Arg::Text(mask_in_text(text)))
        .push(", anonymised_at = ")
        .arg(Arg::Time(now))
        .push(" WHERE anonymised_at IS NULL AND id = ")
        .arg(Arg::I64(id));
    if tx.exec(q).await? == 0 {
        return Ok(false); // another instance was first
    }
    let mut q = Sql::new("SELECT id, text FROM chat_messages WHERE event_id = ");
    q.arg(Arg::I64(id));
    let messages: Vec<(i64, String)> = tx.rows(q).await?;
    for (mid, mtext) in &messages {
        let mut u = Sql::new("UPDATE chat_messages SET sender_phone = NULL, sender_name = ");
        u.arg(Arg::Text(
            pii.seal(crate::pii::Field::SenderName, ERASED_NAME),
        ))
        .push(", text = ")
        .arg(Arg::Text(mask_in_text(mtext)))
        .push(" WHERE id = ")
        .arg(Arg::I64(*mid));
        tx.exec(u).await?;
    }
    // Messages still to deliver keep their payload: they are owed to someone.
    let mut u = Sql::new("UPDATE outbox SET payload = ");
    u.arg(Arg::Text(pii.seal(
        crate::pii::Field::OutboxPayload,
        r#"{"anonymised":true}"#,
    )))
    .push(" WHERE status <> 'pending' AND event_id = ")
    .arg(Arg::I64(id));
    let emptied = tx.exec(u).await?;
    tx.insert_audit(&AuditRecord {
        at: now,
        actor: by.clone(),
        action: "event.anonymised".into(),
        object_type: "event",
        object_id: Some(id.to_string()),
        detail: Some(serde_json::json!({
            "number": number,
            "messages": messages.len(),
            "outbox": emptied,
        })),
    })
    .await?;
    Ok(true)
}

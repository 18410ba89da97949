//! Personal data at rest (DC-01). Reporters' names and phone numbers, chat senders'
//! names and phones, staff phones, outgoing messages (which carry phones) and staff
//! TOTP secrets (a second factor is only one if a copy of the database does not
//! hand it over) are stored sealed: AES-256-GCM per value, with the column as associated
//! data so a sealed value cannot be moved to another column unnoticed. Lookups by
//! phone go through a keyed hash (HMAC-SHA256), never through the plain number.
//!
//! Keys are enveloped. The *field keys* (one for sealing, one for the lookup hash) are
//! random, made once per database and stored there wrapped (sealed) under the
//! *master key*, which never touches the database: it comes from `ZHILI_PII_KEY` or
//! a key file. A database copy or backup without the master key holds no readable
//! personal data. Changing the master key rewraps the field keys in one statement
//! ([`crate::Store::rewrap_pii`]); every instance on one database needs the same
//! master key, and one with another key is refused at start.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use chrono::{DateTime, Utc};

use crate::backend::Tx;
use crate::crypto::{CryptoSuite, Suite};
use crate::records::AuditRecord;
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// Sealed values start with this; anything else in a sealed column is corrupt.
const PREFIX: &str = "pii1:";
/// Associated data of the wrapped field keys.
const WRAP_AAD: &[u8] = b"zhili pii field keys v1";

/// The key that wraps a database's field keys: 32 bytes, written as base64.
/// Zeroed when dropped, and never printed (`Debug` shows only its id).
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> MasterKey {
        Self::from_bytes(Zeroizing::new(rand::random::<[u8; 32]>()))
    }

    /// Reads the base64 form (`zhili pii new-key` prints one); surrounding blanks
    /// (a key file's newline) are ignored.
    pub fn from_base64(text: &str) -> Result<MasterKey, StoreError> {
        let bad = || {
            StoreError::PiiKey(
                "主密钥应为 base64 编码的 32 字节（可用 zhili pii new-key 生成）".into(),
            )
        };
        let raw = Zeroizing::new(B64.decode(text.trim()).map_err(|_| bad())?);
        let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| bad())?;
        Ok(Self::from_bytes(Zeroizing::new(bytes)))
    }

    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> MasterKey {
        // A one-way name for the key, so errors and audit records can say which key
        // without showing it.
        let digest = Sha256::new()
            .chain_update(b"zhili master key id")
            .chain_update(bytes.as_slice())
            .finalize();
        MasterKey {
            id: hex::encode(&digest[..4]),
            bytes,
        }
    }

    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(B64.encode(self.bytes.as_slice()))
    }

    /// Eight hex digits naming the key (not derived reversibly from it).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Wraps field keys for storage, with the database's suite.
    pub(crate) fn wrap(&self, keys: &FieldKeyBytes, suite: Suite) -> String {
        seal_with(suite.algorithms(), &self.bytes, WRAP_AAD, keys.0.as_slice())
    }

    pub(crate) fn unwrap(&self, wrapped: &str, suite: Suite) -> Result<FieldKeyBytes, StoreError> {
        let plain = Zeroizing::new(
            open_with(suite.algorithms(), &self.bytes, WRAP_AAD, wrapped)
                .ok_or_else(|| StoreError::PiiKey("主密钥与数据库中的个人信息密钥不匹配".into()))?,
        );
        let bytes: [u8; 64] = plain
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("pii_keys: wrapped keys of wrong length".into()))?;
        Ok(FieldKeyBytes(Zeroizing::new(bytes)))
    }
}

/// A database's two field keys, as stored (wrapped) in `pii_keys`.
pub(crate) struct FieldKeyBytes(Zeroizing<[u8; 64]>);

impl FieldKeyBytes {
    pub(crate) fn generate() -> FieldKeyBytes {
        FieldKeyBytes(Zeroizing::new(std::array::from_fn(|_| rand::random())))
    }
}

/// The columns that hold sealed values; each seals with its own associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    ReporterName,
    ReporterPhone,
    SenderName,
    SenderPhone,
    StaffPhone,
    OutboxPayload,
    /// A bound authenticator's secret.
    TotpSecret,
    /// A secret shown for enrolment and not bound yet: its own column, so a pending
    /// value copied into `totp_secret` around the application does not open there.
    TotpPending,
    /// A reporter's corrected name, phone and note, waiting for the command room.
    RightsName,
    RightsPhone,
    RightsNote,
}

impl Field {
    fn aad(self) -> &'static [u8] {
        match self {
            Field::ReporterName => b"events.reporter_name",
            Field::ReporterPhone => b"events.reporter_phone",
            Field::SenderName => b"chat_messages.sender_name",
            Field::SenderPhone => b"chat_messages.sender_phone",
            Field::StaffPhone => b"users.phone",
            Field::OutboxPayload => b"outbox.payload",
            Field::TotpSecret => b"users.totp_secret",
            Field::TotpPending => b"users.totp_pending",
            Field::RightsName => b"rights_requests.new_name",
            Field::RightsPhone => b"rights_requests.new_phone",
            Field::RightsNote => b"rights_requests.note",
        }
    }
}

/// A database's field keys, unwrapped: seals and opens values, hashes phones,
/// signs the audit chain's anchors.
pub struct Pii {
    suite: &'static dyn CryptoSuite,
    seal_key: Zeroizing<[u8; 32]>,
    index_key: Zeroizing<[u8; 32]>,
    anchor_key: Zeroizing<[u8; 32]>,
}

/// Derives the key that signs audit anchors from the field keys. From these and
/// not from the master key itself: like them it is out of reach of whoever has
/// only the database, and it survives a change of master key (`rewrap`), which
/// must not make every anchor signed before it look forged.
const ANCHOR_KEY_LABEL: &[u8] = b"zhili audit anchor key v1";

impl std::fmt::Debug for Pii {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pii(..)")
    }
}

impl Pii {
    pub(crate) fn new(keys: &FieldKeyBytes, suite: Suite) -> Pii {
        let suite = suite.algorithms();
        let mut seal_key = Zeroizing::new([0u8; 32]);
        seal_key.copy_from_slice(&keys.0[..32]);
        let mut index_key = Zeroizing::new([0u8; 32]);
        index_key.copy_from_slice(&keys.0[32..]);
        Pii {
            anchor_key: Zeroizing::new(suite.mac(keys.0.as_slice(), ANCHOR_KEY_LABEL)),
            suite,
            seal_key,
            index_key,
        }
    }

    /// The algorithm suite the keys work with.
    pub fn suite(&self) -> Suite {
        self.suite.suite()
    }

    /// The signature of an audit anchor: HMAC-SHA256 over its head and time, hex.
    pub(crate) fn anchor_signature(&self, head_id: i64, head_hash: &str, at: &str) -> String {
        let message = format!("zhili audit anchor v1\n{head_id}\n{head_hash}\n{at}");
        hex::encode(
            self.suite
                .mac(self.anchor_key.as_slice(), message.as_bytes()),
        )
    }

    pub(crate) fn seal(&self, field: Field, plain: &str) -> String {
        seal_with(self.suite, &self.seal_key, field.aad(), plain.as_bytes())
    }

    pub(crate) fn seal_opt(&self, field: Field, plain: Option<&str>) -> Option<String> {
        plain.map(|p| self.seal(field, p))
    }

    /// The plain value of a sealed one. A value that does not open (edited, moved
    /// from another column, or sealed under other keys) is an error, never passed on.
    pub(crate) fn open(&self, field: Field, sealed: &str) -> Result<String, StoreError> {
        open_with(self.suite, &self.seal_key, field.aad(), sealed)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "{}: a sealed value does not open",
                    String::from_utf8_lossy(field.aad())
                ))
            })
    }

    pub(crate) fn open_opt(
        &self,
        field: Field,
        sealed: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        sealed.map(|s| self.open(field, s)).transpose()
    }

    /// The keyed hash of a one-time code sent to the phone with lookup hash
    /// `phone_index`: six digits hashed without a key would be read back by trying
    /// a million.
    pub(crate) fn code_hash(&self, phone_index: &str, code: &str) -> String {
        let mac = self.suite.mac(
            self.index_key.as_slice(),
            format!("code:{phone_index}:{code}").as_bytes(),
        );
        hex::encode(mac)
    }

    /// The lookup hash of a phone number: the same number (whatever its spacing or
    /// +86) always gives the same hash, and the hash tells nothing without the key.
    pub(crate) fn phone_index(&self, phone: &str) -> String {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let digits = match digits.strip_prefix("86") {
            Some(rest) if rest.len() == 11 => rest.to_string(),
            _ => digits,
        };
        let mac = self.suite.mac(
            self.index_key.as_slice(),
            format!("phone:{digits}").as_bytes(),
        );
        hex::encode(&mac[..16])
    }
}

/// Whether a stored value is sealed (a plain one is left from before sealing began).
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

fn seal_with(suite: &dyn CryptoSuite, key: &[u8; 32], aad: &[u8], plain: &[u8]) -> String {
    let raw = suite.seal(key, aad, plain);
    format!("{PREFIX}{}{}", suite.tag(), B64.encode(raw))
}

fn open_with(suite: &dyn CryptoSuite, key: &[u8; 32], aad: &[u8], sealed: &str) -> Option<Vec<u8>> {
    // A value of the other suite does not carry this one's tag (base64 has no `:`).
    let body = sealed.strip_prefix(PREFIX)?.strip_prefix(suite.tag())?;
    if body.contains(':') {
        return None;
    }
    suite.open(key, aad, &B64.decode(body).ok()?)
}

/// HMAC-SHA256 (RFC 2104), for the check codes, whose secret is a setting and not
/// one of the database's keys.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    Suite::Standard.algorithms().mac(key, message)
}

/// The row of `pii_keys` that holds the field keys.
const KEYS_ROW: &str = "fields";
/// Values sealed per transaction by the pass over values from before sealing.
const SEAL_PAGE: i64 = 500;

impl Store {
    /// Makes the store able to read and write personal data: unwraps the database's
    /// field keys with `master` (making them on first use), then seals whatever was
    /// stored in plain text before sealing began. A master key other than the one
    /// the keys were wrapped under is refused with the ids of both, and so is a
    /// `suite` other than the one they were made for (DC-05: chosen once).
    pub async fn unlock_pii(
        mut self,
        master: &MasterKey,
        suite: Suite,
        now: DateTime<Utc>,
    ) -> Result<Store, StoreError> {
        let (keys, sealed_at) = self.field_keys(master, suite, now).await?;
        self.pii = Some(std::sync::Arc::new(Pii::new(&keys, suite)));
        if sealed_at.is_none() {
            let n = self.seal_plain_values(now).await?;
            if n.total() > 0 {
                tracing::info!(?n, "personal data stored before sealing is sealed now");
            }
        }
        Ok(self)
    }

    /// The unwrapped field keys; an error while [`Store::unlock_pii`] has not run.
    pub(crate) fn pii(&self) -> Result<&Pii, StoreError> {
        self.pii.as_deref().ok_or(StoreError::PiiLocked)
    }

    /// The suite the database's field keys were made for, if they were made.
    pub async fn pii_suite(&self) -> Result<Option<Suite>, StoreError> {
        let row = in_tx!(self, Read, |tx| read_keys_row(&mut tx).await)?;
        row.map(|r| r.suite()).transpose()
    }

    /// The id of the master key the database's field keys are wrapped under, if any.
    pub async fn pii_master_key_id(&self) -> Result<Option<String>, StoreError> {
        Ok(in_tx!(self, Read, |tx| read_keys_row(&mut tx).await)?.map(|r| r.master_key_id))
    }

    /// Wraps the field keys under `new` instead of `old` (a changed master key): one
    /// statement, no value is sealed again. Audited.
    pub async fn rewrap_pii(
        &self,
        old: &MasterKey,
        new: &MasterKey,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_tx!(self, Write, |tx| {
            let Some(row) = read_keys_row(&mut tx).await? else {
                return Err(StoreError::PiiKey("数据库中还没有个人信息密钥".into()));
            };
            if row.master_key_id != old.id() {
                return Err(wrong_master(&row.master_key_id, old));
            }
            let suite = row.suite()?;
            let keys = old.unwrap(&row.wrapped, suite)?;
            let mut q = Sql::new("UPDATE pii_keys SET master_key_id = ");
            q.arg(Arg::Text(new.id().into()))
                .push(", wrapped = ")
                .arg(Arg::Text(new.wrap(&keys, suite)))
                .push(", rewrapped_at = ")
                .arg(Arg::Time(now))
                .push(" WHERE name = ")
                .arg(Arg::Text(KEYS_ROW.into()));
            tx.exec(q).await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: crate::Acting::system(by),
                action: "pii.master_key_changed".into(),
                object_type: "pii_keys",
                object_id: Some(KEYS_ROW.into()),
                detail: Some(serde_json::json!({ "from": old.id(), "to": new.id() })),
            })
            .await?;
            Ok(())
        })
    }

    async fn field_keys(
        &self,
        master: &MasterKey,
        suite: Suite,
        now: DateTime<Utc>,
    ) -> Result<(FieldKeyBytes, Option<DateTime<Utc>>), StoreError> {
        in_tx!(self, Write, |tx| {
            if read_keys_row(&mut tx).await?.is_none() {
                // Another instance starting at the same moment may win: then its
                // keys are the ones, and ours are dropped unused.
                let mut q = Sql::new(
                    "INSERT INTO pii_keys (name, master_key_id, wrapped, created_at, suite) VALUES (",
                );
                q.arg(Arg::Text(KEYS_ROW.into()))
                    .push(", ")
                    .arg(Arg::Text(master.id().into()))
                    .push(", ")
                    .arg(Arg::Text(master.wrap(&FieldKeyBytes::generate(), suite)))
                    .push(", ")
                    .arg(Arg::Time(now))
                    .push(", ")
                    .arg(Arg::Text(suite.code().into()))
                    .push(") ON CONFLICT (name) DO NOTHING");
                tx.exec(q).await?;
            }
            let Some(row) = read_keys_row(&mut tx).await? else {
                return Err(StoreError::Corrupt("pii_keys: row not kept".into()));
            };
            if row.master_key_id != master.id() {
                return Err(wrong_master(&row.master_key_id, master));
            }
            let kept = row.suite()?;
            if kept != suite {
                return Err(StoreError::PiiKey(format!(
                    "数据库的个人信息密钥使用 {}，本实例配置为 {}（crypto_suite = \"{}\"）；算法只能在建库时选择",
                    kept.label(),
                    suite.label(),
                    suite.code()
                )));
            }
            Ok((master.unwrap(&row.wrapped, suite)?, row.sealed_at))
        })
    }

    /// Seals the values stored in plain text before sealing began (and sets the
    /// phone hashes), a page per transaction so a large database does not hold the
    /// write lock for long. Marks the pass done; audited when it sealed anything.
    async fn seal_plain_values(&self, now: DateTime<Utc>) -> Result<SealedCounts, StoreError> {
        let pii = self.pii()?;
        let mut n = SealedCounts::default();
        loop {
            let page = in_tx!(self, Write, |tx| seal_page(&mut tx, pii).await)?;
            if page.total() == 0 {
                break;
            }
            n.events += page.events;
            n.messages += page.messages;
            n.staff += page.staff;
            n.outbox += page.outbox;
            n.totp += page.totp;
        }
        in_tx!(self, Write, |tx| {
            let mut q = Sql::new("UPDATE pii_keys SET sealed_at = ");
            q.arg(Arg::Time(now))
                .push(" WHERE name = ")
                .arg(Arg::Text(KEYS_ROW.into()));
            tx.exec(q).await?;
            if n.total() > 0 {
                tx.insert_audit(&AuditRecord {
                    at: now,
                    actor: crate::Acting::system("system"),
                    action: "pii.sealed".into(),
                    object_type: "pii_keys",
                    object_id: Some(KEYS_ROW.into()),
                    detail: Some(serde_json::json!({
                        "events": n.events, "messages": n.messages, "staff": n.staff,
                        "outbox": n.outbox, "totp": n.totp,
                    })),
                })
                .await?;
            }
            Ok::<_, StoreError>(())
        })?;
        Ok(n)
    }
}

fn wrong_master(stored: &str, given: &MasterKey) -> StoreError {
    StoreError::PiiKey(format!(
        "数据库的个人信息密钥由主密钥 {stored} 加密，而本进程的主密钥是 {}；\
         同一数据库的所有实例须使用同一主密钥（ZHILI_PII_KEY 或 pii_key_file）",
        given.id()
    ))
}

#[derive(sqlx::FromRow)]
struct KeysRow {
    master_key_id: String,
    wrapped: String,
    sealed_at: Option<DateTime<Utc>>,
    suite: String,
}

impl KeysRow {
    fn suite(&self) -> Result<Suite, StoreError> {
        Suite::parse(&self.suite)
            .ok_or_else(|| StoreError::Corrupt(format!("pii_keys: unknown suite {}", self.suite)))
    }
}

async fn read_keys_row<T: Tx>(tx: &mut T) -> Result<Option<KeysRow>, StoreError> {
    let mut q =
        Sql::new("SELECT master_key_id, wrapped, sealed_at, suite FROM pii_keys WHERE name = ");
    q.arg(Arg::Text(KEYS_ROW.into()));
    Ok(tx.rows(q).await?.into_iter().next())
}

#[derive(Debug, Default, Clone, Copy)]
struct SealedCounts {
    events: u64,
    messages: u64,
    staff: u64,
    outbox: u64,
    /// Accounts whose TOTP secrets (bound or pending) were sealed.
    totp: u64,
}

impl SealedCounts {
    fn total(&self) -> u64 {
        self.events + self.messages + self.staff + self.outbox + self.totp
    }
}

fn seal_if_plain(pii: &Pii, field: Field, v: Option<String>) -> Option<String> {
    v.map(|v| {
        if is_sealed(&v) {
            v
        } else {
            pii.seal(field, &v)
        }
    })
}

async fn seal_page<T: Tx>(tx: &mut T, pii: &Pii) -> Result<SealedCounts, StoreError> {
    let mut n = SealedCounts::default();
    // The literal is PREFIX; a placeholder would keep SQLite from using LIKE well.
    let mut q = Sql::new(
        "SELECT id, reporter_name, reporter_phone FROM events \
         WHERE reporter_name NOT LIKE 'pii1:%' OR reporter_phone NOT LIKE 'pii1:%' ORDER BY id LIMIT ",
    );
    q.arg(Arg::I64(SEAL_PAGE));
    let rows: Vec<(i64, Option<String>, Option<String>)> = tx.rows(q).await?;
    for (id, name, phone) in rows {
        let index = phone
            .as_deref()
            .filter(|p| !is_sealed(p))
            .map(|p| pii.phone_index(p));
        let mut u = Sql::new("UPDATE events SET reporter_name = ");
        u.arg(Arg::OptText(seal_if_plain(pii, Field::ReporterName, name)))
            .push(", reporter_phone = ")
            .arg(Arg::OptText(seal_if_plain(
                pii,
                Field::ReporterPhone,
                phone,
            )));
        if let Some(i) = index {
            u.push(", reporter_phone_index = ").arg(Arg::Text(i));
        }
        u.push(" WHERE id = ").arg(Arg::I64(id));
        tx.exec(u).await?;
        n.events += 1;
    }
    let mut q = Sql::new(
        "SELECT id, sender_name, sender_phone FROM chat_messages \
         WHERE sender_name NOT LIKE 'pii1:%' OR sender_phone NOT LIKE 'pii1:%' ORDER BY id LIMIT ",
    );
    q.arg(Arg::I64(SEAL_PAGE));
    let rows: Vec<(i64, Option<String>, Option<String>)> = tx.rows(q).await?;
    for (id, name, phone) in rows {
        let mut u = Sql::new("UPDATE chat_messages SET sender_name = ");
        u.arg(Arg::OptText(seal_if_plain(pii, Field::SenderName, name)))
            .push(", sender_phone = ")
            .arg(Arg::OptText(seal_if_plain(pii, Field::SenderPhone, phone)))
            .push(" WHERE id = ")
            .arg(Arg::I64(id));
        tx.exec(u).await?;
        n.messages += 1;
    }
    let mut q =
        Sql::new("SELECT id, phone FROM users WHERE phone NOT LIKE 'pii1:%' ORDER BY id LIMIT ");
    q.arg(Arg::I64(SEAL_PAGE));
    let rows: Vec<(i64, String)> = tx.rows(q).await?;
    for (id, phone) in rows {
        let mut u = Sql::new("UPDATE users SET phone = ");
        u.arg(Arg::Text(pii.seal(Field::StaffPhone, &phone)))
            .push(" WHERE id = ")
            .arg(Arg::I64(id));
        tx.exec(u).await?;
        n.staff += 1;
    }
    let mut q = Sql::new(
        "SELECT id, payload FROM outbox WHERE payload NOT LIKE 'pii1:%' ORDER BY id LIMIT ",
    );
    q.arg(Arg::I64(SEAL_PAGE));
    let rows: Vec<(i64, String)> = tx.rows(q).await?;
    for (id, payload) in rows {
        let mut u = Sql::new("UPDATE outbox SET payload = ");
        u.arg(Arg::Text(pii.seal(Field::OutboxPayload, &payload)))
            .push(" WHERE id = ")
            .arg(Arg::I64(id));
        tx.exec(u).await?;
        n.outbox += 1;
    }
    let mut q = Sql::new(
        "SELECT id, totp_secret, totp_pending FROM users \
         WHERE totp_secret NOT LIKE 'pii1:%' OR totp_pending NOT LIKE 'pii1:%' ORDER BY id LIMIT ",
    );
    q.arg(Arg::I64(SEAL_PAGE));
    let rows: Vec<(i64, Option<String>, Option<String>)> = tx.rows(q).await?;
    for (id, secret, pending) in rows {
        let mut u = Sql::new("UPDATE users SET totp_secret = ");
        u.arg(Arg::OptText(seal_if_plain(pii, Field::TotpSecret, secret)))
            .push(", totp_pending = ")
            .arg(Arg::OptText(seal_if_plain(
                pii,
                Field::TotpPending,
                pending,
            )))
            .push(" WHERE id = ")
            .arg(Arg::I64(id));
        tx.exec(u).await?;
        n.totp += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pii() -> Pii {
        pii_in(Suite::Standard)
    }

    fn pii_in(suite: Suite) -> Pii {
        Pii::new(&FieldKeyBytes::generate(), suite)
    }

    #[test]
    fn each_suite_reads_its_own_values_only() {
        let keys = FieldKeyBytes::generate();
        let std = Pii::new(&keys, Suite::Standard);
        let sm = Pii::new(&keys, Suite::Commercial);
        let a = std.seal(Field::ReporterPhone, "13812345678");
        let b = sm.seal(Field::ReporterPhone, "13812345678");
        assert!(is_sealed(&a) && is_sealed(&b));
        assert!(b.starts_with("pii1:sm4:"), "{b}");
        assert_eq!(sm.open(Field::ReporterPhone, &b).unwrap(), "13812345678");
        assert!(std.open(Field::ReporterPhone, &b).is_err());
        assert!(sm.open(Field::ReporterPhone, &a).is_err());
        // The keyed hashes differ too: an index made under one suite finds nothing
        // under the other.
        assert_ne!(
            std.phone_index("13812345678"),
            sm.phone_index("13812345678")
        );
        assert_ne!(
            std.anchor_signature(1, "ab", "t"),
            sm.anchor_signature(1, "ab", "t")
        );
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_own_column_and_unchanged() {
        for suite in Suite::ALL {
            sealed_value_checks(suite);
        }
    }

    fn sealed_value_checks(suite: Suite) {
        let p = pii_in(suite);
        let s = p.seal(Field::ReporterPhone, "13812345678");
        assert!(is_sealed(&s));
        assert!(!s.contains("13812345678"));
        assert_eq!(p.open(Field::ReporterPhone, &s).unwrap(), "13812345678");
        assert!(
            p.open(Field::SenderPhone, &s).is_err(),
            "moved to another column"
        );
        let mut edited = s.clone().into_bytes();
        let last = edited.len() - 2;
        edited[last] = if edited[last] == b'A' { b'B' } else { b'A' };
        assert!(
            p.open(Field::ReporterPhone, std::str::from_utf8(&edited).unwrap())
                .is_err()
        );
        assert!(
            p.open(Field::ReporterPhone, "13812345678").is_err(),
            "plain text"
        );
        assert!(
            pii_in(suite).open(Field::ReporterPhone, &s).is_err(),
            "other keys"
        );
    }

    #[test]
    fn the_same_value_seals_differently_each_time() {
        let p = pii();
        assert_ne!(
            p.seal(Field::ReporterName, "王小明"),
            p.seal(Field::ReporterName, "王小明")
        );
    }

    #[test]
    fn the_phone_hash_ignores_spacing_and_the_country_code_but_not_the_key() {
        let p = pii();
        let h = p.phone_index("13812345678");
        assert_eq!(p.phone_index("138 1234 5678"), h);
        assert_eq!(p.phone_index("+86 138-1234-5678"), h);
        assert_ne!(p.phone_index("13812345679"), h);
        assert_ne!(pii().phone_index("13812345678"), h);
        assert_eq!(h.len(), 32);
    }

    #[test]
    fn field_keys_unwrap_only_under_their_master_key() {
        let master = MasterKey::generate();
        let keys = FieldKeyBytes::generate();
        let wrapped = master.wrap(&keys, Suite::Standard);
        let back = master.unwrap(&wrapped, Suite::Standard).unwrap();
        assert_eq!(back.0.as_slice(), keys.0.as_slice());
        let other = MasterKey::generate();
        assert!(matches!(
            other.unwrap(&wrapped, Suite::Standard),
            Err(StoreError::PiiKey(_))
        ));
        let again = MasterKey::from_base64(&master.to_base64()).unwrap();
        assert_eq!(again.id(), master.id());
        assert_eq!(format!("{master:?}"), format!("MasterKey({})", master.id()));
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }

    #[test]
    fn an_anchor_signature_covers_head_and_time_and_needs_the_keys() {
        let keys = FieldKeyBytes::generate();
        let (p, same) = (
            Pii::new(&keys, Suite::Commercial),
            Pii::new(&keys, Suite::Commercial),
        );
        let at = "2026-12-04T08:00:00.000000Z";
        let sig = p.anchor_signature(42, "ab12", at);
        assert_eq!(sig.len(), 64);
        assert_eq!(same.anchor_signature(42, "ab12", at), sig);
        assert_ne!(p.anchor_signature(43, "ab12", at), sig);
        assert_ne!(p.anchor_signature(42, "ab13", at), sig);
        assert_ne!(
            p.anchor_signature(42, "ab12", "2026-12-04T08:00:00.000001Z"),
            sig
        );
        assert_ne!(pii().anchor_signature(42, "ab12", at), sig, "other keys");
        // Not the phone hash's key under another name.
        assert_ne!(p.anchor_key.as_slice(), p.index_key.as_slice());
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}

//! What a backup and its restore are checked by: a digest of every table — its rows
//! in a fixed order, each as the database itself spells it, through SHA-256 — read in
//! one snapshot. Two databases of one backend with the same digests hold the same
//! data. The copying itself is the database's own (`VACUUM INTO`, `pg_dump`), run by
//! `zhili backup` (cli/src/backup_cmd.rs).

use std::future::Future;

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;

use crate::{Pool, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDigest {
    pub table: String,
    pub rows: u64,
    pub sha256: String,
}

/// `"name"`, for a table or column name read from the database's own catalog.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[derive(Default)]
struct Hasher {
    rows: u64,
    h: Sha256,
}

impl Hasher {
    fn row(&mut self, text: &str) {
        self.rows += 1;
        self.h.update(text.as_bytes());
        self.h.update(b"\n");
    }

    fn finish(self, table: String) -> TableDigest {
        TableDigest {
            table,
            rows: self.rows,
            sha256: hex::encode(self.h.finalize()),
        }
    }
}

async fn sqlite_digests(tx: &mut sqlx::SqliteConnection) -> Result<Vec<TableDigest>, sqlx::Error> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut out = Vec::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                .bind(&table)
                .fetch_all(&mut *tx)
                .await?;
        let row = columns
            .iter()
            .map(|c| format!("quote({})", ident(c)))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let sql = format!("SELECT {row} FROM {} ORDER BY 1", ident(&table));
        let mut h = Hasher::default();
        let mut rows = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql)).fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            h.row(&r);
        }
        drop(rows);
        out.push(h.finish(table));
    }
    Ok(out)
}

/// In a transaction that is REPEATABLE READ and has spelt times in UTC already.
async fn postgres_digests(tx: &mut sqlx::PgConnection) -> Result<Vec<TableDigest>, sqlx::Error> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut out = Vec::new();
    for table in tables {
        let sql = format!("SELECT t::text FROM {} t ORDER BY 1", ident(&table));
        let mut h = Hasher::default();
        let mut rows = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql)).fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            h.row(&r);
        }
        drop(rows);
        out.push(h.finish(table));
    }
    Ok(out)
}

/// One snapshot for all tables, and times spelt the same whatever the server's own
/// time zone.
async fn begin_pg_snapshot(
    p: &sqlx::PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let mut tx = p.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SET LOCAL TIME ZONE 'UTC'")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

impl Store {
    /// The digest of every table, by name, from one consistent snapshot.
    pub async fn table_digests(&self) -> Result<Vec<TableDigest>, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => {
                // A read transaction: one snapshot of the WAL for all tables.
                let mut tx = p.begin().await?;
                let out = sqlite_digests(&mut tx).await?;
                tx.commit().await?;
                out
            }
            Pool::Postgres(p) => {
                let mut tx = begin_pg_snapshot(p).await?;
                let out = postgres_digests(&mut tx).await?;
                tx.commit().await?;
                out
            }
        })
    }

    /// PostgreSQL: exports a snapshot, runs `dump` with its name (for `pg_dump
    /// --snapshot`) while digesting the same snapshot, so that the digests describe
    /// exactly what was dumped although the database goes on changing.
    pub async fn postgres_snapshot_digests<T, F, Fut>(
        &self,
        dump: F,
    ) -> Result<(Vec<TableDigest>, T), StoreError>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = T>,
    {
        let Pool::Postgres(p) = &self.pool else {
            return Err(StoreError::UnsupportedUrl);
        };
        let mut tx = begin_pg_snapshot(p).await?;
        let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *tx)
            .await?;
        // The snapshot lives as long as this transaction: the dump must have taken it
        // before we finish, so both run side by side and the transaction ends last.
        let (digests, dumped) = tokio::join!(postgres_digests(&mut tx), dump(snapshot));
        let digests = digests?;
        tx.commit().await?;
        Ok((digests, dumped))
    }

    /// Whether the database holds no tables at all: the only kind `zhili restore`
    /// writes into.
    pub async fn is_empty_database(&self) -> Result<bool, StoreError> {
        let n: i64 = match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
                    .fetch_one(p)
                    .await?
            }
            Pool::Postgres(p) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")
                    .fetch_one(p)
                    .await?
            }
        };
        Ok(n == 0)
    }

    /// An online copy of a SQLite database into a new file at `path`, consistent as
    /// of one moment, while other connections go on writing.
    pub async fn sqlite_backup_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let Pool::Sqlite(p) = &self.pool else {
            return Err(StoreError::UnsupportedUrl);
        };
        sqlx::query("VACUUM INTO $1")
            .bind(path.display().to_string())
            .execute(p)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{fresh_stores, with_small_city};

    #[tokio::test]
    async fn digests_see_every_change_and_only_changes() {
        for store in fresh_stores().await {
            with_small_city(&store, "x").await;
            let before = store.table_digests().await.unwrap();
            assert!(before.iter().any(|t| t.table == "orgs" && t.rows > 0));
            assert_eq!(
                before,
                store.table_digests().await.unwrap(),
                "reading changes nothing"
            );
            store
                .audit(crate::AuditRecord {
                    at: chrono::Utc::now(),
                    actor: crate::Acting::system("测试"),
                    action: "test.digest".into(),
                    object_type: "session",
                    object_id: None,
                    detail: None,
                })
                .await
                .unwrap();
            let after = store.table_digests().await.unwrap();
            let changed: Vec<_> = before
                .iter()
                .zip(&after)
                .filter(|(a, b)| a != b)
                .map(|(a, _)| a.table.as_str())
                .collect();
            assert_eq!(changed, ["audit_log"]);
        }
    }
}

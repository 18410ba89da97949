//! `zhili backup` and `zhili restore` (docs/backup.md): a copy made by the database
//! itself — SQLite's `VACUUM INTO` (online, while `serve` goes on writing) or
//! `pg_dump` in its custom format — and beside it a manifest with the file's SHA-256
//! and a digest of every table (storage/src/backup.rs). A restore goes only into an
//! empty database, checks the file against the manifest first and every table after,
//! and leaves nothing behind when either check fails.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use serde::{Deserialize, Serialize};
use zhili_storage::backup::TableDigest;
use zhili_storage::{Backend, Store};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist); the manifest goes to FILE.manifest.json.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    #[command(flatten)]
    store: crate::StoreArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file written by `zhili backup`, with its FILE.manifest.json beside it.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    #[command(flatten)]
    store: crate::StoreArgs,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    backend: String,
    created_at: DateTime<Utc>,
    file_sha256: String,
    tables: Vec<TableDigest>,
}

fn manifest_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

fn file_sha256(path: &Path) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    let mut f =
        std::fs::File::open(path).with_context(|| format!("无法读取 {}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// `sqlite:PATH?…` → PATH.
fn sqlite_path(url: &str) -> PathBuf {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    PathBuf::from(path.split('?').next().unwrap_or(path))
}

async fn run_tool(program: &str, args: &[String]) -> anyhow::Result<()> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .with_context(|| format!("无法运行 {program}（PostgreSQL 客户端工具须在 PATH 中）"))?;
    if !out.status.success() {
        bail!(
            "{program} 失败（{}）：{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let settings = args.store.settings(args.store.flags())?;
    let url = settings.database_url();
    if args.to.exists() {
        bail!("备份文件已存在，不会覆盖：{}", args.to.display());
    }
    let store = crate::open_store(&settings).await?;
    let backend = store.backend();
    let tables = match backend {
        Backend::Sqlite => {
            store
                .sqlite_backup_to(&args.to)
                .await
                .with_context(|| format!("无法写入备份 {}", args.to.display()))?;
            // The copy is the snapshot: digest the copy itself.
            let copy = Store::connect(&format!("sqlite:{}", args.to.display())).await?;
            let tables = copy.table_digests().await?;
            copy.close().await;
            tables
        }
        Backend::Postgres => {
            let to = args.to.display().to_string();
            let (tables, dumped) = store
                .postgres_snapshot_digests(|snapshot| async move {
                    run_tool(
                        "pg_dump",
                        &[
                            "--format=custom".into(),
                            "--no-owner".into(),
                            format!("--snapshot={snapshot}"),
                            format!("--file={to}"),
                            format!("--dbname={url}"),
                        ],
                    )
                    .await
                })
                .await?;
            dumped?;
            tables
        }
    };
    store.close().await;
    let manifest = Manifest {
        format: 1,
        backend: backend_name(backend).into(),
        created_at: Utc::now(),
        file_sha256: file_sha256(&args.to)?,
        tables,
    };
    let mpath = manifest_path(&args.to);
    std::fs::write(&mpath, serde_json::to_string_pretty(&manifest)?)
        .with_context(|| format!("无法写入 {}", mpath.display()))?;
    let rows: u64 = manifest.tables.iter().map(|t| t.rows).sum();
    println!(
        "备份完成：{}（{} 张表，{rows} 行），清单 {}",
        args.to.display(),
        manifest.tables.len(),
        mpath.display()
    );
    Ok(())
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let mpath = manifest_path(&args.from);
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(&mpath)
            .with_context(|| format!("找不到备份清单 {}", mpath.display()))?,
    )
    .with_context(|| format!("备份清单无效 {}", mpath.display()))?;
    if file_sha256(&args.from)? != manifest.file_sha256 {
        bail!(
            "备份文件与清单的校验和不符，文件已损坏或被改动：{}",
            args.from.display()
        );
    }
    let settings = args.store.settings(args.store.flags())?;
    let url = settings.database_url();
    let target_backend = if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    if target_backend != manifest.backend {
        bail!(
            "这是 {} 的备份，不能恢复到 {target_backend}",
            manifest.backend
        );
    }
    match target_backend {
        "sqlite" => {
            let path = sqlite_path(&url);
            if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
                bail!(
                    "目标数据库已存在且非空，恢复只写入新的数据库：{}",
                    path.display()
                );
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            // Beside the target, then renamed: a crash leaves no half database.
            let tmp = path.with_extension("restoring");
            std::fs::copy(&args.from, &tmp)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &path)?;
        }
        _ => {
            let target = Store::connect(&url).await.context("无法连接目标数据库")?;
            let empty = target.is_empty_database().await?;
            target.close().await;
            if !empty {
                bail!("目标数据库不是空的，恢复只写入新建的数据库");
            }
            // One transaction: a failed restore leaves the database empty.
            run_tool(
                "pg_restore",
                &[
                    "--exit-on-error".into(),
                    "--single-transaction".into(),
                    "--no-owner".into(),
                    format!("--dbname={url}"),
                    args.from.display().to_string(),
                ],
            )
            .await?;
        }
    }
    let restored = Store::connect(&url).await?;
    let tables = restored.table_digests().await?;
    restored.close().await;
    let differ: Vec<_> = manifest
        .tables
        .iter()
        .filter(|t| !tables.contains(t))
        .map(|t| t.table.as_str())
        .chain(
            tables
                .iter()
                .filter(|t| !manifest.tables.iter().any(|m| m.table == t.table))
                .map(|t| t.table.as_str()),
        )
        .collect();
    if !differ.is_empty() {
        bail!("恢复后的数据与备份清单不符：{}", differ.join("、"));
    }
    let rows: u64 = tables.iter().map(|t| t.rows).sum();
    println!(
        "恢复完成：{} 张表、{rows} 行，与备份清单（{}）逐表一致",
        tables.len(),
        manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    Ok(())
}

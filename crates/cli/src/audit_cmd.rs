//! `zhili audit`: the audit log's hash chain (storage/src/audit.rs, docs/audit.md).
//! `verify` recomputes it and names the first record edited, deleted or moved;
//! `head` prints the last record, to be kept off the system (printed, mailed to the
//! oversight office) and given back to `verify --anchor` later, so that cutting off
//! the newest records shows too.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use zhili_storage::audit::{BreakKind, ChainBreak, ChainHead};

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; fail at the first record edited, deleted or moved.
    Verify(VerifyArgs),
    /// Print the chain's last record as JSON, to keep off the system as an anchor.
    Head(StoreOnly),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// A head printed earlier by `zhili audit head`: it must still be in the chain.
    #[arg(long, value_name = "FILE")]
    anchor: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: crate::StoreArgs,
}

#[derive(Debug, Args)]
struct StoreOnly {
    #[command(flatten)]
    store: crate::StoreArgs,
}

pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    match args.command {
        AuditCommand::Verify(a) => {
            let anchor: Option<ChainHead> = match &a.anchor {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("无法读取锚定文件 {}", path.display()))?;
                    Some(serde_json::from_str(&text).with_context(|| {
                        format!("锚定文件 {} 不是 zhili audit head 的输出", path.display())
                    })?)
                }
                None => None,
            };
            let store = open(&a.store).await?;
            let report = store.verify_audit_chain(anchor.as_ref()).await?;
            store.close().await;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            match report.first_break {
                None => {
                    if !a.json {
                        let head = report.head.as_ref().map_or_else(
                            || "（空）".to_string(),
                            |h| format!("#{} {}", h.id, h.hash),
                        );
                        println!("审计链完整：{} 条记录，最后一条 {head}", report.records);
                        if anchor.is_some() {
                            println!("锚定的记录仍在链中，未被改动");
                        }
                    }
                    Ok(())
                }
                Some(b) => bail!("审计链断开：{}（共读 {} 条）", describe(&b), report.records),
            }
        }
        AuditCommand::Head(a) => {
            let store = open(&a.store).await?;
            let report = store.verify_audit_chain(None).await?;
            store.close().await;
            let Some(head) = report.head else {
                bail!("审计日志为空，没有可锚定的记录");
            };
            if let Some(b) = report.first_break {
                bail!("审计链已断开，不宜锚定：{}", describe(&b));
            }
            println!("{}", serde_json::to_string(&head)?);
            Ok(())
        }
    }
}

fn describe(b: &ChainBreak) -> String {
    let before = b
        .previous_id
        .map_or_else(|| "链首".to_string(), |p| format!("前一条记录 #{p}"));
    match b.kind {
        BreakKind::Edited => format!("记录 #{} 被改动过，内容与其哈希不符 (edited)", b.id),
        BreakKind::Unlinked => format!(
            "记录 #{} 接不上{before}：其间有记录被删除、插入或调换 (unlinked)",
            b.id
        ),
        BreakKind::Unsealed => format!("记录 #{} 没有哈希，不是经本系统写入的 (unsealed)", b.id),
        BreakKind::AnchorMismatch => format!(
            "锚定的记录 #{} 已不在链中或已被替换：其后的记录被截去 (anchor mismatch)",
            b.id
        ),
    }
}

async fn open(args: &crate::StoreArgs) -> anyhow::Result<zhili_storage::Store> {
    let settings = args.settings(args.flags())?;
    crate::open_store(&settings).await
}

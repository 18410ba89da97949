//! `zhili audit`: the audit log's hash chain (storage/src/audit.rs, docs/audit.md).
//! `verify` recomputes it and names the first record edited, deleted or moved;
//! `head` prints the last record, to be kept off the system (printed, mailed to the
//! oversight office) and given back to `verify --anchor` later, so that cutting off
//! the newest records shows too. `verify` also checks every signed anchor the
//! background work stored (their signatures, and that each anchored record is still
//! there unchanged), so a rewritten or cut chain shows even without a file.

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
                        match report.last_anchor_at {
                            Some(at) => println!(
                                "{} 个签名锚点均有效，最近一个写于 {}",
                                report.anchors,
                                at.format("%Y-%m-%d %H:%M:%S UTC")
                            ),
                            None => println!("尚无签名锚点（由后台任务定时写入）"),
                        }
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
            "{}锚定的记录 #{} 已不在链中或已被替换：链被截短或整体重写 (anchor mismatch)",
            stored_anchor(b),
            b.id
        ),
        BreakKind::AnchorForged => format!(
            "{}的签名无效：锚点不是本系统写入的，或被改动过（锚定记录 #{}） (anchor forged)",
            stored_anchor(b),
            b.id
        ),
    }
}

/// "签名锚点 #n " for a stored anchor, "" for the file given.
fn stored_anchor(b: &ChainBreak) -> String {
    b.anchor_id
        .map_or_else(String::new, |a| format!("签名锚点 #{a} "))
}

async fn open(args: &crate::StoreArgs) -> anyhow::Result<zhili_storage::Store> {
    let settings = args.settings(args.flags())?;
    crate::open_store(&settings).await
}

//! `zhili import petitions|hotline FILE --as USERNAME`: back-loads a petition
//! system's export (Excel or CSV) or a 12345 batch file (JSON Lines or a JSON array)
//! as events, through the same checks and create path as the API, in one
//! transaction. Every bad row is listed as `第 N 行 · 列名: 原因`; unless
//! `--good-rows-only` is given, one bad row means nothing is stored.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use zhili_intake::{RowError, hotline, petition};
use zhili_storage::imports::{ImportMode, ImportOptions, ImportReport, ImportRow};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    command: ImportCommand,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// 信访 export: .xlsx, .xls or .csv (UTF-8 or GBK), columns found by their Chinese
    /// header (信访件编号 and 信访内容 required; see docs/imports.md).
    Petitions(FileArgs),
    /// 12345 work orders for back-loading history: JSON Lines or one JSON array of
    /// orders in the hotline's push format.
    Hotline(HotlineArgs),
    /// Survey results (知晓率, 参与率): .xlsx or .csv with 区域编码, 月份, 受访人数,
    /// 知晓人数, 参与人数; any bad row and nothing is stored (see docs/kpis.md).
    Survey(SurveyArgs),
}

#[derive(Debug, Args)]
struct SurveyArgs {
    file: PathBuf,
    /// admin, city_operator, or township_operator (its own areas only).
    #[arg(long = "as", value_name = "USERNAME")]
    as_user: String,
    #[command(flatten)]
    store: crate::StoreArgs,
}

#[derive(Debug, Args)]
struct FileArgs {
    /// The file to import.
    file: PathBuf,
    /// The account the import runs as: it is named in every event's timeline and in
    /// the audit log, and its area bounds the rows (admin, city_operator or
    /// township_operator).
    #[arg(long = "as", value_name = "USERNAME")]
    as_user: String,
    /// Store the good rows even when some rows are bad (those are listed).
    #[arg(long)]
    good_rows_only: bool,
    /// Check every row against the database, store nothing.
    #[arg(long, conflicts_with = "good_rows_only")]
    dry_run: bool,
    #[command(flatten)]
    store: crate::StoreArgs,
}

#[derive(Debug, Args)]
struct HotlineArgs {
    #[command(flatten)]
    file: FileArgs,
    /// Coordinate system of orders' lon/lat when an order does not name one.
    #[arg(long, value_name = "CRS", default_value = "gcj02")]
    crs: String,
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    match args.command {
        ImportCommand::Petitions(a) => import(a, Format::Petitions).await,
        ImportCommand::Hotline(a) => import(a.file, Format::Hotline { crs: a.crs }).await,
        ImportCommand::Survey(a) => import_survey(a).await,
    }
}

async fn import_survey(args: SurveyArgs) -> anyhow::Result<()> {
    use zhili_intake::survey;
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("无法读取 {}", args.file.display()))?;
    let lines =
        survey::read(&bytes).with_context(|| format!("无法导入 {}", args.file.display()))?;
    let settings = args.store.settings(args.store.flags())?;
    let store = crate::open_store(&settings).await?;
    let user = store
        .user_by_username(&args.as_user)
        .await?
        .filter(|u| u.active)
        .with_context(|| format!("没有启用的用户 {}（--as）", args.as_user))?;
    let (mut rows, mut bad) = (Vec::new(), Vec::new());
    for l in lines {
        match l {
            Ok(l) => rows.push(zhili_storage::survey::SurveyRow {
                row: l.row,
                area_code: l.area_code,
                month: l.month,
                respondents: l.respondents,
                aware: l.aware,
                participated: l.participated,
            }),
            Err(e) => bad.push(zhili_storage::imports::BadRow {
                row: e.row,
                field: e.field,
                reason: e.message,
            }),
        }
    }
    let source = args.file.display().to_string();
    let report = store
        .import_surveys(&user.actor, &rows, bad, &source, chrono::Utc::now())
        .await;
    store.close().await;
    let report = report?;
    if report.bad_rows.is_empty() {
        println!("已导入 {} 行问卷调查结果", report.stored);
        return Ok(());
    }
    for b in &report.bad_rows {
        eprintln!(
            "第 {} 行 · {}: {}",
            b.row,
            survey::column_name(&b.field),
            b.reason
        );
    }
    bail!("有 {} 行不正确，未导入任何数据", report.bad_rows.len())
}

enum Format {
    Petitions,
    Hotline { crs: String },
}

impl Format {
    /// The file's own name for a field the intake or storage refused.
    fn field_name(&self, intake_field: &str) -> String {
        match self {
            Format::Petitions => petition::column_name(intake_field).to_string(),
            Format::Hotline { .. } => hotline::field_name(intake_field),
        }
    }
}

/// One refused row as printed.
struct Refused {
    row: usize,
    field: String,
    reason: String,
}

async fn import(args: FileArgs, format: Format) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("无法读取 {}", args.file.display()))?;
    let settings = args.store.settings(args.store.flags())?;
    let store = crate::open_store(&settings).await?;
    let user = store
        .user_by_username(&args.as_user)
        .await?
        .filter(|u| u.active)
        .with_context(|| format!("没有启用的用户 {}（--as）", args.as_user))?;

    let bar = progress_bar();
    let now = chrono::Utc::now();
    let parsed = parse(&bytes, &format, &bar, now, &store).await;
    let (mut rows, mut refused) = match parsed {
        Ok(p) => p,
        Err(e) => {
            bar.finish_and_clear();
            store.close().await;
            return Err(e.context(format!("无法导入 {}", args.file.display())));
        }
    };
    // The same classification as live intake: a row with no category gets the one the
    // classifier is sure of, or waits in its township's triage queue.
    let classifier = std::sync::Arc::new(settings.classifier()?);
    classifier.reload(&store).await?;
    for r in rows
        .iter_mut()
        .filter(|r| r.event.category_code.is_none() && r.category_name.is_none())
    {
        let d = classifier.decide(&store, r.event.text.as_str(), None);
        r.event.category_code = d.category;
        r.event.needs_triage = d.needs_triage;
        r.event.classification = Some(d.classification);
    }

    let requested = if args.dry_run {
        ImportMode::DryRun
    } else if args.good_rows_only {
        ImportMode::GoodRowsOnly
    } else {
        ImportMode::AllOrNothing
    };
    // Rows the file itself got wrong already refuse an all-or-nothing import; the
    // database still checks the rest so that one run lists every bad row.
    let mode = if requested == ImportMode::AllOrNothing && !refused.is_empty() {
        ImportMode::DryRun
    } else {
        requested
    };
    bar.set_message("导入");
    bar.set_length(rows.len() as u64);
    bar.set_position(0);
    let opts = ImportOptions {
        source: file_label(&args.file),
        mode,
        now,
    };
    let result = store
        .import_new_events(&user.actor, &rows, &opts, &|done| {
            bar.set_position(done as u64)
        })
        .await;
    bar.finish_and_clear();
    store.close().await;
    let report = result.context("导入失败，未写入任何数据")?;

    refused.extend(report.bad_rows.iter().map(|b| Refused {
        row: b.row,
        field: format.field_name(&b.field),
        reason: b.reason.clone(),
    }));
    refused.sort_by_key(|r| r.row);
    println!("{}", summary(&args.file, requested, &report, refused.len()));
    for r in &refused {
        println!("第 {} 行 · {}: {}", r.row, r.field, r.reason);
    }
    if !refused.is_empty() && report.created == 0 {
        bail!("{} 行有错误，未导入任何数据", refused.len());
    }
    Ok(())
}

/// The file's rows as events ready for storage, and the rows the file itself got
/// wrong, both with the row numbers the user sees.
async fn parse(
    bytes: &[u8],
    format: &Format,
    bar: &ProgressBar,
    now: chrono::DateTime<chrono::Utc>,
    store: &zhili_storage::Store,
) -> anyhow::Result<(Vec<ImportRow>, Vec<Refused>)> {
    bar.set_message("解析");
    let refused = |e: RowError| Refused {
        row: e.row,
        field: e.field,
        reason: e.message,
    };
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    match format {
        Format::Petitions => {
            let sheet = petition::Sheet::read(bytes)?;
            bar.set_length(sheet.len() as u64);
            for r in sheet.rows(now) {
                match r {
                    Ok(p) => rows.push(ImportRow {
                        row: p.row,
                        event: p.event,
                        township_name: p.area_name,
                        category_name: p.category_name,
                        reported_at: p.received_at,
                    }),
                    Err(e) => bad.push(refused(e)),
                }
                bar.inc(1);
            }
        }
        Format::Hotline { crs } => {
            let orders = hotline::batch_events(bytes, crs)?;
            // Orders with coordinates are located in their grid, as the API does.
            let grids = zhili_server::intake::Grids::default();
            grids.reload(store).await.context("无法加载网格数据")?;
            bar.set_length(orders.len() as u64);
            for r in orders {
                match r {
                    Ok((line, mut event)) => {
                        zhili_server::intake::locate(&grids, &mut event);
                        rows.push(ImportRow::new(line, event));
                    }
                    Err(e) => bad.push(refused(e)),
                }
                bar.inc(1);
            }
        }
    }
    Ok((rows, bad))
}

fn summary(file: &Path, mode: ImportMode, report: &ImportReport, bad: usize) -> String {
    let name = file_label(file);
    let skipped = if report.skipped_existing > 0 {
        format!("，{} 行此前已导入、已跳过", report.skipped_existing)
    } else {
        String::new()
    };
    match mode {
        ImportMode::DryRun => format!(
            "{name}: 检查完成，未写入。{} 行可导入{skipped}，{bad} 行有错误",
            report.good
        ),
        _ if bad == 0 => format!("{name}: 已导入 {} 条事件{skipped}", report.created),
        ImportMode::GoodRowsOnly => format!(
            "{name}: 已导入 {} 条事件{skipped}；{bad} 行有错误，未导入：",
            report.created
        ),
        ImportMode::AllOrNothing => format!(
            "{name}: 未导入任何数据：{bad} 行有错误（其余 {} 行无误{skipped}）。\
             请修正后重新导入，或加 --good-rows-only 只导入无误的行：",
            report.good
        ),
    }
}

fn file_label(file: &Path) -> String {
    file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

const BAR_TEMPLATE: &str = "{msg:4} [{bar:40}] {pos}/{len} 行 {elapsed_precise}";

/// A bar on stderr when it is a terminal, hidden otherwise (logs, pipes, tests).
fn progress_bar() -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    if let Ok(style) = ProgressStyle::with_template(BAR_TEMPLATE) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_template_is_valid() {
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
    }
}

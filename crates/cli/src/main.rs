//! `zhili`: serve the system, migrate a database, or put load on a running server.

mod audit_cmd;
mod backup_cmd;
mod calendar_cmd;
mod demo;
mod import_cmd;
mod loadgen;
mod open311_cmd;
mod pii_cmd;
mod settings;
mod train;
mod user_cmd;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use zhili_server::AppState;
use zhili_storage::Store;

use crate::settings::{Flags, Settings, redact_url};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "zhili",
    version,
    about = "治理 · 基层治理四平台：事件上报、分派、处置、监督",
    long_about = "治理 · 基层治理四平台：事件上报、分派、处置、监督。\n\n\
        Settings come from, lowest first: built-in defaults, a TOML file (--config), \
        ZHILI_* environment variables (ZHILI_DATABASE_URL, ZHILI_BIND, ZHILI_DATA_DIR, \
        ZHILI_DEMO, ZHILI_NUMBER_PREFIX, ZHILI_SESSION_IDLE_MINUTES, \
        ZHILI_SESSION_ABSOLUTE_HOURS, ZHILI_SECURE_COOKIES), and flags. \
        Logging follows RUST_LOG (default: info), as JSON lines unless stderr is a terminal \
        (ZHILI_LOG_FORMAT=json|text)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database and serve the API and pages until Ctrl-C / SIGTERM.
    Serve(ServeArgs),
    /// Bring the database schema up to date, then exit.
    Migrate(StoreArgs),
    /// Put load on a running zhili (loopback only): concurrent POST /api/v1/events.
    Loadgen(loadgen::LoadgenArgs),
    /// Working-day calendar: add working days, is a date a working day, check a year file.
    Calendar(calendar_cmd::CalendarArgs),
    /// Train the message classifier on a labelled CSV/TSV/Excel file and save the model.
    Train(train::TrainArgs),
    /// Evaluate a classifier model on a labelled file, or k-fold cross-validate (--cv).
    Eval(train::EvalArgs),
    /// Accounts: `zhili user add NAME --role ROLE [--org CODE]` prints a one-time password.
    User(user_cmd::UserArgs),
    /// Import a petition export (Excel/CSV) or a 12345 batch file as events, `--as` a user.
    Import(import_cmd::ImportArgs),
    /// Open311 clients: `zhili open311 add-client NAME` prints a one-time API key.
    Open311(open311_cmd::Open311Args),
    /// Audit log: `zhili audit verify` checks the hash chain, `zhili audit head` anchors it.
    Audit(audit_cmd::AuditArgs),
    /// Copy the database while it serves (SQLite) or with pg_dump, with a checksum manifest.
    Backup(backup_cmd::BackupArgs),
    /// Restore a backup into a new, empty database and check every table against its manifest.
    Restore(backup_cmd::RestoreArgs),
    /// Personal data keys: `zhili pii new-key` prints a master key, `rewrap` changes it.
    Pii(pii_cmd::PiiArgs),
    /// Print every route with the permission it needs and each permission's roles (Markdown).
    Routes,
}

#[derive(Debug, Args)]
struct StoreArgs {
    /// TOML file with any of: database_url, bind, data_dir, demo, number_prefix,
    /// session_idle_minutes, session_absolute_hours, secure_cookies.
    #[arg(long, value_name = "FILE", env = "ZHILI_CONFIG")]
    config: Option<PathBuf>,
    /// `sqlite:PATH` or `postgres://USER@HOST:PORT/DB` [default: sqlite:DATA_DIR/zhili.db]
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Directory for the SQLite database and other files [default: ./data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    /// Load the 余姚市 demo city into an empty database and show the demo accounts.
    #[arg(long)]
    demo: bool,
    /// Prefix of event numbers [default: YY with --demo, else ZL]
    #[arg(long, value_name = "PREFIX")]
    number_prefix: Option<String>,
}

impl StoreArgs {
    fn flags(&self) -> Flags {
        Flags {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            ..Flags::default()
        }
    }

    fn settings(&self, flags: Flags) -> anyhow::Result<Settings> {
        settings::load(self.config.as_deref(), settings::process_env(), &flags)
    }
}

/// Logs go to stderr: one JSON object per line (AU-07), or text for a person at a
/// terminal. `ZHILI_LOG_FORMAT=json|text` chooses; unset, JSON unless stderr is a
/// terminal. In JSON every field is an encoded string, so a value carrying a newline
/// or a quote (a username typed at the login, say) stays inside its one record
/// instead of forging another.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let terminal = std::io::stderr().is_terminal();
    let json = match std::env::var("ZHILI_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !terminal,
    };
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        fmt.json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        fmt.with_ansi(terminal).init();
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("错误: 无法启动运行时: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Migrate(args) => migrate(args).await,
            Command::Loadgen(args) => loadgen::run(args).await,
            Command::Calendar(args) => calendar_cmd::run(args).await,
            Command::Train(args) => train::train(args),
            Command::Eval(args) => train::eval(args),
            Command::User(args) => user_cmd::run(args).await,
            Command::Import(args) => import_cmd::run(args).await,
            Command::Open311(args) => open311_cmd::run(args).await,
            Command::Audit(args) => audit_cmd::run(args).await,
            Command::Backup(args) => backup_cmd::backup(args).await,
            Command::Restore(args) => backup_cmd::restore(args).await,
            Command::Pii(args) => pii_cmd::run(args).await,
            Command::Routes => {
                print!(
                    "{}",
                    zhili_server::routes::markdown(&zhili_server::route_table())
                );
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Connects (creating the data directory when SQLite lives there) and migrates.
async fn open_store(s: &Settings) -> anyhow::Result<Store> {
    let url = s.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&s.data_dir)
            .with_context(|| format!("无法创建数据目录 {}", s.data_dir.display()))?;
        let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("无法创建数据库目录 {}", parent.display()))?;
        }
    }
    let shown = redact_url(&url);
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("无法连接数据库 {shown}"))?
        .with_number_prefix(s.number_prefix())
        .with_warn_percent(s.deadline_warn_percent)
        .with_feedback_settings(s.feedback_settings())
        .with_recurrence_rule(s.recurrence_rule())
        .with_duplicate_rule(s.duplicate_rule()?)
        .with_working_hours(s.working_hours()?);
    store
        .migrate()
        .await
        .with_context(|| format!("数据库迁移失败 {shown}"))?;
    let master = pii_cmd::master_key(s)?;
    let store = store
        .unlock_pii(&master, s.crypto_suite()?, chrono::Utc::now())
        .await
        .with_context(|| format!("无法读取个人信息密钥 {shown}"))?;
    let store = store
        .load_calendar()
        .await
        .context("无法读取数据库中的工作日历年份")?;
    // Events taken in from here on record the notice their reporters were given.
    let notice = store
        .publish_notice(&s.processing_notice(), chrono::Utc::now())
        .await
        .context("无法保存个人信息处理告知")?;
    tracing::info!(database = %shown, notice = %notice, "数据库已就绪");
    Ok(store)
}

async fn migrate(args: StoreArgs) -> anyhow::Result<()> {
    let s = args.settings(args.flags())?;
    let store = open_store(&s).await?;
    store.close().await;
    println!("数据库迁移完成: {}", redact_url(&s.database_url()));
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let flags = Flags {
        bind: args.bind.clone(),
        demo: args.demo,
        number_prefix: args.number_prefix.clone(),
        ..args.store.flags()
    };
    let mut s = args.store.settings(flags)?;
    // A bad model stops the start before anything else happens.
    let mut classifier = s.classifier()?;
    let store = open_store(&s).await?;
    // Bind before a long demo load, so a taken port fails at once.
    let listener = tokio::net::TcpListener::bind(&s.bind)
        .await
        .with_context(|| format!("无法监听 {}", s.bind))?;
    let addr = listener.local_addr()?;

    if s.demo {
        if store.is_empty().await? {
            println!("演示模式: 数据库为空，正在加载余姚市演示数据……");
            let started = Instant::now();
            let n = demo::load(&store, chrono::Utc::now()).await?;
            println!(
                "演示数据加载完成: {n} 个事件，用时 {:.1} 秒（演示账号密码: {}）",
                started.elapsed().as_secs_f64(),
                demo::DEMO_PASSWORD
            );
        } else {
            println!("演示模式: 数据库已有数据，不再加载演示数据");
        }
        if s.classifier_model.is_none() {
            s.classifier_model = Some(demo::model(&store, &s.data_dir).await?);
            classifier = s.classifier()?;
        }
    }

    println!("zhili 已启动: http://{addr}");
    println!("listening on http://{addr}");
    tracing::info!(%addr, demo = s.demo, "serving");

    let state = AppState::new(store.clone(), s.server_config())
        .with_classifier(classifier)
        .load()
        .await
        .context("无法加载网格数据")?;
    // One signal stops both the HTTP server and the background work.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let worker = s.background_work.then(|| {
        tokio::spawn(zhili_server::worker::run(
            store.clone(),
            s.worker_config(),
            stopped(stop_rx.clone()),
        ))
    });
    zhili_server::serve(listener, state, stopped(stop_rx))
        .await
        .context("服务异常退出")?;
    if let Some(w) = worker {
        let _ = w.await;
    }
    store.close().await;
    println!("zhili 已停止");
    Ok(())
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_flags_parse() {
        let cli = Cli::try_parse_from([
            "zhili",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--demo",
            "--data-dir",
            "/tmp/x",
            "--database-url",
            "postgres://postgres@127.0.0.1:5432/x",
        ])
        .unwrap();
        let Command::Serve(a) = cli.command else {
            panic!("not serve")
        };
        assert!(a.demo);
        assert_eq!(a.bind.as_deref(), Some("127.0.0.1:0"));
        assert_eq!(a.store.data_dir, Some(PathBuf::from("/tmp/x")));
    }
}

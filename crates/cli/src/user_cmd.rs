//! `zhili user add`: accounts without a demo. The password is generated, printed once
//! and stored only as its argon2id hash, so no default credential ever exists.

use anyhow::{Context, bail};
use clap::Args;
use zhili_domain::Role;
use zhili_storage::{ReferenceImport, UserImport};

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
enum UserCommand {
    /// Create an account with a generated password, printed once.
    Add(UserAddArgs),
}

pub async fn run(args: UserArgs) -> anyhow::Result<()> {
    match args.command {
        UserCommand::Add(a) => add(a).await,
    }
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Login name (letters, digits, '.', '_', '-').
    username: String,
    /// admin, city_operator, city_leader, township_operator, unit_handler, grid_worker,
    /// oversight, citizen, integration
    #[arg(long)]
    role: String,
    /// Township code (operator), unit code (handler) or grid code (grid worker).
    #[arg(long)]
    org: Option<String>,
    /// Display name [default: the username]
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    store: crate::StoreArgs,
}

async fn add(args: UserAddArgs) -> anyhow::Result<()> {
    let role = Role::parse(&args.role)
        .with_context(|| format!("未知角色 {}，可选：{}", args.role, Role::codes().join(", ")))?;
    let valid = !args.username.is_empty()
        && args.username.len() <= 64
        && args
            .username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !valid {
        bail!("用户名须为 1–64 个字母、数字或 . _ -");
    }
    let needs_org = matches!(
        role,
        Role::TownshipOperator | Role::UnitHandler | Role::GridWorker
    );
    if needs_org && args.org.is_none() {
        bail!("角色 {} 需要 --org（乡镇、单位或网格编码）", role.code());
    }
    let settings = args.store.settings(args.store.flags())?;
    let store = crate::open_store(&settings).await?;
    let password = zhili_server::auth::one_time_password();
    let hash = tokio::task::spawn_blocking({
        let p = password.clone();
        move || zhili_server::hash_password(&p)
    })
    .await?;
    let import = ReferenceImport {
        users: vec![UserImport {
            display_name: args.name.clone().unwrap_or_else(|| args.username.clone()),
            username: args.username.clone(),
            password_hash: hash,
            role,
            org_code: args.org.clone(),
        }],
        ..Default::default()
    };
    store
        .import_reference(&import, chrono::Utc::now())
        .await
        .with_context(|| format!("无法创建用户 {}", args.username))?;
    store.close().await;
    println!("已创建用户 {}（{}）", args.username, role.label_zh());
    println!("一次性密码（只显示这一次，请妥善转交）: {password}");
    Ok(())
}

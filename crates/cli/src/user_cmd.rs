//! `zhili user add`: accounts without a demo. The password is generated, printed once
//! and stored only as its argon2id hash, so no default credential ever exists; it
//! must be changed at the first login. `zhili user reset-password` and
//! `zhili user reset-totp` are the way back in when the only admin forgot the
//! password or lost the phone: whoever may run the binary on the server.

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
    /// Give an account a new one-time password, printed once; its sessions end.
    ResetPassword(UserNameArgs),
    /// Unbind an account's authenticator app (a lost phone); its sessions end.
    ResetTotp(UserNameArgs),
    /// Turn a disabled account back on (one idle too long, say); its idle clock restarts.
    Enable(UserNameArgs),
}

pub async fn run(args: UserArgs) -> anyhow::Result<()> {
    match args.command {
        UserCommand::Add(a) => add(a).await,
        UserCommand::ResetPassword(a) => reset(a, Reset::Password).await,
        UserCommand::ResetTotp(a) => reset(a, Reset::Totp).await,
        UserCommand::Enable(a) => reset(a, Reset::Enable).await,
    }
}

#[derive(Debug, Args)]
pub struct UserNameArgs {
    username: String,
    #[command(flatten)]
    store: crate::StoreArgs,
}

enum Reset {
    Password,
    Totp,
    Enable,
}

async fn reset(args: UserNameArgs, what: Reset) -> anyhow::Result<()> {
    let settings = args.store.settings(args.store.flags())?;
    let store = crate::open_store(&settings).await?;
    let user = store
        .user_by_username(&args.username)
        .await?
        .with_context(|| format!("用户 {} 不存在", args.username))?;
    let by = zhili_storage::Acting::system("zhili user (命令行)");
    let now = chrono::Utc::now();
    match what {
        Reset::Password => {
            let password = zhili_server::auth::one_time_password();
            let hash = tokio::task::spawn_blocking({
                let p = password.clone();
                move || zhili_server::hash_password(&p)
            })
            .await?;
            store
                .reset_password(user.actor.user_id, &by, &hash, now)
                .await?;
            println!("已重置用户 {} 的密码，其登录均已退出", args.username);
            println!("一次性密码（只显示这一次，登录后须立即修改）: {password}");
        }
        Reset::Totp => {
            store.reset_totp(user.actor.user_id, &by, now).await?;
            println!("已解绑用户 {} 的动态口令，其登录均已退出", args.username);
        }
        Reset::Enable => {
            store.enable_account(user.actor.user_id, &by, now).await?;
            println!("已启用用户 {}", args.username);
        }
    }
    store.close().await;
    Ok(())
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
            must_change_password: true,
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

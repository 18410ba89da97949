//! `zhili open311`: API keys for Open311 clients (docs/open311.md). An admin issues
//! a key per outside system; the key is printed once and stored only as its SHA-256,
//! so a lost key is replaced by revoking the client and adding a new one.

use anyhow::Context;
use clap::Args;
use zhili_storage::{Acting, Store};

/// The demo city's one client, so FixMyStreet can be tried against `serve --demo`.
pub const DEMO_CLIENT: &str = "demo";
pub const DEMO_KEY: &str = "zhili-demo-open311";

#[derive(Debug, Args)]
pub struct Open311Args {
    #[command(subcommand)]
    command: Open311Command,
}

#[derive(Debug, clap::Subcommand)]
enum Open311Command {
    /// Register a client and print its API key (shown only this once).
    AddClient(ClientArgs),
    /// List the clients and whether their keys work.
    ListClients(StoreOnly),
    /// Stop a client's key from working (its requests stay).
    RevokeClient(ClientArgs),
}

#[derive(Debug, Args)]
struct ClientArgs {
    /// Client name (letters, digits, '.', '_', '-'), e.g. fixmystreet.
    name: String,
    #[command(flatten)]
    store: crate::StoreArgs,
}

#[derive(Debug, Args)]
struct StoreOnly {
    #[command(flatten)]
    store: crate::StoreArgs,
}

fn cli_acting() -> Acting {
    Acting::system("命令行（zhili open311）")
}

pub async fn run(args: Open311Args) -> anyhow::Result<()> {
    match args.command {
        Open311Command::AddClient(a) => {
            let store = open(&a.store).await?;
            let key = zhili_server::open311::generate_api_key();
            let client = store
                .create_api_client(
                    &a.name,
                    &zhili_server::open311::api_key_hash(&key),
                    &cli_acting(),
                    chrono::Utc::now(),
                )
                .await
                .with_context(|| format!("无法创建 Open311 客户端 {}", a.name))?;
            store.close().await;
            println!(
                "已创建 Open311 客户端 {}（以账号 {} 上报）",
                client.name, client.actor.username
            );
            println!("API 密钥（只显示这一次，请妥善转交）: {key}");
        }
        Open311Command::ListClients(a) => {
            let store = open(&a.store).await?;
            let clients = store.api_clients().await?;
            store.close().await;
            if clients.is_empty() {
                println!("还没有 Open311 客户端（zhili open311 add-client 名称）");
            }
            for c in clients {
                println!(
                    "{}\t{}\t{}\t创建于 {}",
                    c.name,
                    c.actor.username,
                    if c.active { "有效" } else { "已停用" },
                    c.created_at.format("%Y-%m-%d %H:%M UTC")
                );
            }
        }
        Open311Command::RevokeClient(a) => {
            let store = open(&a.store).await?;
            store
                .set_api_client_active(&a.name, false, &cli_acting(), chrono::Utc::now())
                .await
                .with_context(|| format!("无法停用 Open311 客户端 {}", a.name))?;
            store.close().await;
            println!("已停用 Open311 客户端 {}，其密钥即时失效", a.name);
        }
    }
    Ok(())
}

async fn open(args: &crate::StoreArgs) -> anyhow::Result<Store> {
    let settings = args.settings(args.flags())?;
    crate::open_store(&settings).await
}

/// Adds the demo client with its well-known key (the demo has no secrets).
pub async fn add_demo_client(
    store: &Store,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    store
        .create_api_client(
            DEMO_CLIENT,
            &zhili_server::open311::api_key_hash(DEMO_KEY),
            &Acting::system("演示数据导入"),
            now,
        )
        .await
        .context("创建演示 Open311 客户端")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_demo_key_belongs_to_the_demo_client() {
        let store = zhili_storage::testing::fresh_sqlite().await;
        add_demo_client(&store, chrono::Utc::now()).await.unwrap();
        let c = store
            .api_client_by_key_hash(&zhili_server::open311::api_key_hash(DEMO_KEY))
            .await
            .unwrap()
            .expect("the demo key works");
        assert_eq!(c.name, DEMO_CLIENT);
        assert_eq!(c.actor.role, zhili_domain::Role::Integration);
    }
}

//! Where the master key of personal data comes from, and the commands that handle
//! it. The key never comes from the config file or the database: `ZHILI_PII_KEY`
//! (the key itself, from a secret store), or a key file that only its owner may
//! read. A new installation without either gets `DATA_DIR/pii.key` made for it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use zhili_storage::pii::MasterKey;

use crate::settings::Settings;

/// The environment variable holding the master key (base64).
pub const KEY_ENV: &str = "ZHILI_PII_KEY";

#[derive(Debug, Args)]
pub struct PiiArgs {
    #[command(subcommand)]
    command: PiiCommand,
}

#[derive(Debug, Subcommand)]
enum PiiCommand {
    /// Print a new random master key (base64), for a key file or a secret store.
    NewKey,
    /// Show which master key the database's personal data keys are wrapped under.
    Status(crate::StoreArgs),
    /// Wrap the database's personal data keys under the key in FILE instead of the
    /// current one (a rotated master key). Nothing else is re-encrypted.
    Rewrap {
        #[command(flatten)]
        store: crate::StoreArgs,
        /// The new master key's file (as made from `zhili pii new-key`).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
}

pub async fn run(args: PiiArgs) -> anyhow::Result<()> {
    match args.command {
        PiiCommand::NewKey => {
            println!("{}", MasterKey::generate().to_base64().as_str());
        }
        PiiCommand::Status(store) => {
            let s = store.settings(store.flags())?;
            let opened = crate::open_store(&s).await?;
            match opened.pii_master_key_id().await? {
                Some(id) => println!("个人信息密钥由主密钥 {id} 加密"),
                None => println!("数据库中还没有个人信息密钥"),
            }
        }
        PiiCommand::Rewrap { store, to } => {
            let s = store.settings(store.flags())?;
            let opened = crate::open_store(&s).await?;
            let old = master_key(&s)?;
            let new = read_key_file(&to)?;
            opened
                .rewrap_pii(&old, &new, "zhili pii rewrap", chrono::Utc::now())
                .await?;
            println!(
                "个人信息密钥已改由主密钥 {} 加密（原为 {}）。请让所有实例改用新密钥后再销毁旧密钥。",
                new.id(),
                old.id()
            );
        }
    }
    Ok(())
}

/// The master key for these settings: `ZHILI_PII_KEY`, else `pii_key_file`, else
/// `DATA_DIR/pii.key` (made with mode 600 when missing).
pub fn master_key(s: &Settings) -> anyhow::Result<MasterKey> {
    if let Ok(text) = std::env::var(KEY_ENV) {
        return MasterKey::from_base64(&text).with_context(|| format!("{KEY_ENV} 无效"));
    }
    if let Some(path) = &s.pii_key_file {
        return read_key_file(path);
    }
    let path = s.data_dir.join("pii.key");
    if path.exists() {
        return read_key_file(&path);
    }
    let key = MasterKey::generate();
    std::fs::create_dir_all(&s.data_dir)
        .with_context(|| format!("无法创建数据目录 {}", s.data_dir.display()))?;
    write_key_file(&path, &key)?;
    tracing::warn!(
        file = %path.display(),
        key = key.id(),
        "已生成个人信息主密钥；请另行备份并妥善保管（丢失则无法读取个人信息），生产环境请用 {KEY_ENV} 或 pii_key_file 放在数据目录之外"
    );
    Ok(key)
}

fn read_key_file(path: &Path) -> anyhow::Result<MasterKey> {
    check_private(path)?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("无法读取主密钥文件 {}", path.display()))?;
    MasterKey::from_base64(&text).with_context(|| format!("主密钥文件无效 {}", path.display()))
}

fn write_key_file(path: &Path, key: &MasterKey) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("无法创建主密钥文件 {}", path.display()))?;
    writeln!(f, "{}", key.to_base64().as_str())?;
    f.sync_all()?;
    Ok(())
}

/// A key file others can read is refused, as ssh refuses such a private key.
fn check_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("无法读取主密钥文件 {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "主密钥文件 {} 的权限过宽（{:o}），其他用户可读；请执行 chmod 600",
                path.display(),
                mode & 0o777
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_key_file_is_private_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("zhili-pii-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pii.key");
        let _ = std::fs::remove_file(&path);
        let key = MasterKey::generate();
        write_key_file(&path, &key).unwrap();
        assert_eq!(read_key_file(&path).unwrap().id(), key.id());
        assert!(
            write_key_file(&path, &key).is_err(),
            "never overwrites a key"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = read_key_file(&path).unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

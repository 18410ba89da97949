//! Run-time settings: built-in defaults, then a TOML file, then `ZHILI_*` environment
//! variables, then command-line flags, each layer overriding the one before.
//! The `config` crate layers file and environment; clap parses the flags, which go in
//! last as overrides.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use zhili_server::ServerConfig;

/// The keys a config file may hold; each is also read from `ZHILI_<KEY>`.
pub const KEYS: &[&str] = &[
    "database_url",
    "bind",
    "data_dir",
    "demo",
    "number_prefix",
    "session_idle_minutes",
    "session_absolute_hours",
    "secure_cookies",
    "login_max_failures",
    "login_window_minutes",
    "login_lock_minutes",
    "client_ip_header",
    "password_max_age_days",
    "second_factor_roles",
    "exchange_110_url",
    "exchange_110_token",
    "outbox_lease_secs",
    "background_work",
    "hotline_12345_crs",
    "province_law_enforcement_url",
    "province_market_supervision_url",
    "province_token",
    "sms_gateway_url",
    "email_gateway_url",
    "notice_token",
    "deadline_warn_percent",
    "deadline_sweep_secs",
    "public_base_url",
    "feedback_link_days",
    "recurrence_min_reports",
    "recurrence_days",
    "recurrence_radius_m",
    "duplicate_radius_m",
    "duplicate_window_hours",
    "duplicate_min_similarity",
    "working_hours",
    "classifier_model",
    "classifier_fallback",
    "triage_confidence",
    "map_tile_url",
    "pii_key_file",
    "pii_retention_days",
    "audit_anchor_minutes",
    "metrics_token",
    "management_networks",
    "account_idle_days",
    "privacy_contact",
    "crypto_suite",
];

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_NUMBER_PREFIX: &str = "ZL";
pub const DEMO_NUMBER_PREFIX: &str = "YY";

/// `Debug` shows the tokens and the database URL (which may hold a password) as
/// `[REDACTED]`, and they are zeroed when the settings are dropped (RI-01).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `sqlite:PATH` or `postgres://…`; by default SQLite in the data directory.
    pub database_url: Option<SecretString>,
    pub bind: String,
    pub data_dir: PathBuf,
    pub demo: bool,
    /// Event numbers start with this; "YY" in demo mode unless set, else "ZL".
    pub number_prefix: Option<String>,
    pub session_idle_minutes: u32,
    pub session_absolute_hours: u32,
    pub secure_cookies: bool,
    /// This many wrong passwords for one account within `login_window_minutes` lock
    /// it for `login_lock_minutes` (5, 15, 30: the 等保 checklist's IA-06).
    pub login_max_failures: u32,
    pub login_window_minutes: u32,
    pub login_lock_minutes: u32,
    /// Behind a reverse proxy: the header with the client's address (e.g.
    /// `x-forwarded-for`), for the rate limits; unset: the connection's peer.
    pub client_ip_header: Option<String>,
    /// A staff password older than this must be changed at the next login; 0: never.
    pub password_max_age_days: u32,
    /// Roles that must bind an authenticator app (TOTP) before they can work,
    /// comma-separated role codes; unset: `admin`, or none with `--demo` (whose
    /// accounts share a published password anyway).
    pub second_factor_roles: Option<String>,
    /// Where matters for 110 are POSTed (docs/exchange-110.md); unset: they wait in
    /// the outbox and show as pending in the channel health.
    pub exchange_110_url: Option<String>,
    pub exchange_110_token: Option<SecretString>,
    /// How long a delivery lease lasts before another instance may take over.
    pub outbox_lease_secs: u32,
    /// Whether this instance does background work (outbox delivery).
    pub background_work: bool,
    /// The coordinate system of 12345 work orders that do not name one
    /// (wgs84, gcj02 or bd09; the call centre's map is usually GCJ-02).
    pub hotline_12345_crs: String,
    /// The province's mobile law-enforcement platform (H8), which follows the
    /// dispatches of 综合执法 events (docs/connectors.md); unset: they wait.
    pub province_law_enforcement_url: Option<String>,
    /// The province's "Internet + supervision" platform (互联网+监管), which follows
    /// the dispatches of 市场监管 events; unset: they wait.
    pub province_market_supervision_url: Option<String>,
    /// Bearer token for both province platforms.
    pub province_token: Option<SecretString>,
    /// SMS and e-mail gateways for deadline notices (docs/connectors.md); unset: the
    /// notices stay in the app and their messages wait in the outbox.
    pub sms_gateway_url: Option<String>,
    pub email_gateway_url: Option<String>,
    /// Bearer token for both gateways.
    pub notice_token: Option<SecretString>,
    /// Yellow warning when this share (%) of a clock's working time is used.
    pub deadline_warn_percent: u8,
    /// How often (seconds) the deadline sweep runs.
    pub deadline_sweep_secs: u32,
    /// The address citizens reach this server at, put before `/f/{token}` in the
    /// rating link a reporter gets by SMS (e.g. `https://zhili.yuyao.gov.cn`).
    pub public_base_url: Option<String>,
    /// How many days a rating link stays usable.
    pub feedback_link_days: u32,
    /// A recurring problem (D4): this many reports of one category within
    /// `recurrence_days` days within `recurrence_radius_m` metres.
    pub recurrence_min_reports: u32,
    pub recurrence_days: u32,
    pub recurrence_radius_m: u32,
    /// A new report is a duplicate of an open one of its category within
    /// `duplicate_radius_m` metres and `duplicate_window_hours` hours whose text is
    /// at least `duplicate_min_similarity` (0–1) alike; a category may set its own.
    pub duplicate_radius_m: u32,
    pub duplicate_window_hours: u32,
    pub duplicate_min_similarity: f64,
    /// Office hours for limits in working hours, e.g. `08:30-12:00,13:30-17:30`.
    pub working_hours: String,
    /// A model file made by `zhili train`; unset: classification by keyword rules alone.
    pub classifier_model: Option<PathBuf>,
    /// What to do when the model file is missing or corrupt: `refuse` to start
    /// (default), or start on the keyword `rules` alone and say so in the log and
    /// in `/healthz`.
    pub classifier_fallback: String,
    /// Below this confidence (0–1) an event waits in its township's triage queue.
    pub triage_confidence: f32,
    /// Background tiles for the command centre's map, `{z}/{x}/{y}` in the URL (a
    /// tile server on the city's own network). Unset: no tiles, the map shows the
    /// grids on a plain background and the browser asks no other host.
    pub map_tile_url: Option<String>,
    /// The file holding the master key of personal data (base64, mode 600). Unset:
    /// `ZHILI_PII_KEY` if given, else `DATA_DIR/pii.key`, made on first start. The
    /// key itself is never a setting: a config file is no place for it.
    pub pii_key_file: Option<PathBuf>,
    /// Reporters' personal data of events closed this many days ago is erased (PI-07).
    pub pii_retention_days: u32,
    /// The background work signs an anchor of the audit chain at most this often
    /// (minutes), when the chain has grown (AU-03, docs/audit.md).
    pub audit_anchor_minutes: u32,
    /// The Bearer token Prometheus sends for `/metrics` (best from
    /// `ZHILI_METRICS_TOKEN`); unset: only a signed-in system admin reads them.
    pub metrics_token: Option<SecretString>,
    /// Comma-separated networks (CIDR, e.g. `10.20.0.0/16, 192.168.8.0/24`) from which
    /// the administration pages and APIs may be reached (AC-12); unset: anywhere.
    pub management_networks: Option<String>,
    /// Staff accounts with no login for this many days are disabled (IA-13); 0: never.
    pub account_idle_days: u32,
    /// Where reporters ask about, correct or delete their personal data; part of the
    /// processing notice every channel shows (PI-02).
    pub privacy_contact: String,
    /// The algorithm suite of personal data and audit anchors (DC-05): `standard`
    /// (AES-256-GCM, HMAC-SHA256) or `sm` (SM4-GCM, HMAC-SM3). Chosen when the
    /// database's keys are made; every instance on it must say the same.
    pub crypto_suite: String,
}

/// What the command line said; `None` (or `false` for `demo`) leaves the lower layers be.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub demo: bool,
    pub number_prefix: Option<String>,
}

/// The `ZHILI_<KEY>` variables of the process for the known keys only, so that other
/// `ZHILI_*` variables (test hooks, RUST_LOG-like settings) are not mistaken for settings.
pub fn process_env() -> HashMap<String, String> {
    KEYS.iter()
        .filter_map(|k| {
            let name = format!("ZHILI_{}", k.to_uppercase());
            std::env::var(&name).ok().map(|v| (name, v))
        })
        .collect()
}

/// Layers defaults < file < environment < flags. `env` holds `ZHILI_*` variables (pass
/// [`process_env`] in production, a map in tests).
pub fn load(
    file: Option<&Path>,
    env: HashMap<String, String>,
    flags: &Flags,
) -> anyhow::Result<Settings> {
    let mut b = Config::builder()
        .set_default("bind", DEFAULT_BIND)?
        .set_default("data_dir", DEFAULT_DATA_DIR)?
        .set_default("demo", false)?
        .set_default("session_idle_minutes", 30)?
        .set_default("session_absolute_hours", 12)?
        .set_default("secure_cookies", false)?
        .set_default("login_max_failures", 5)?
        .set_default("login_window_minutes", 15)?
        .set_default("login_lock_minutes", 30)?
        .set_default("password_max_age_days", 90)?
        .set_default("outbox_lease_secs", 60)?
        .set_default("background_work", true)?
        .set_default("hotline_12345_crs", "gcj02")?
        .set_default(
            "deadline_warn_percent",
            i64::from(zhili_storage::deadlines::DEFAULT_WARN_PERCENT),
        )?
        .set_default("deadline_sweep_secs", 30)?
        .set_default("feedback_link_days", 7)?
        .set_default("recurrence_min_reports", 3)?
        .set_default("recurrence_days", 30)?
        .set_default("recurrence_radius_m", 300)?
        .set_default("working_hours", "08:30-12:00,13:30-17:30")?
        .set_default("duplicate_radius_m", 200)?
        .set_default("duplicate_window_hours", 72)?
        .set_default(
            "duplicate_min_similarity",
            zhili_domain::duplicates::DEFAULT_MIN_SIMILARITY,
        )?
        .set_default("classifier_fallback", "refuse")?
        .set_default("pii_retention_days", 730)?
        .set_default("account_idle_days", 90)?
        .set_default(
            "privacy_contact",
            "拨打 12345 政务服务热线，或到所在乡镇（街道）指挥室",
        )?
        .set_default("audit_anchor_minutes", 60)?
        .set_default("crypto_suite", "standard")?
        .set_default(
            "triage_confidence",
            f64::from(zhili_server::classify::DEFAULT_THRESHOLD),
        )?;
    if let Some(path) = file {
        if !path.is_file() {
            bail!("配置文件不存在: {}", path.display());
        }
        b = b.add_source(File::from(path).format(FileFormat::Toml).required(true));
    }
    let env: config::Map<String, String> = env.into_iter().collect();
    b = b
        .add_source(
            Environment::with_prefix("ZHILI")
                .ignore_empty(true)
                .source(Some(env)),
        )
        .set_override_option("database_url", flags.database_url.clone())?
        .set_override_option("bind", flags.bind.clone())?
        .set_override_option(
            "data_dir",
            flags.data_dir.as_ref().map(|d| d.display().to_string()),
        )?
        .set_override_option("demo", flags.demo.then_some(true))?
        .set_override_option("number_prefix", flags.number_prefix.clone())?;
    let settings: Settings = b
        .build()
        .context("读取配置失败")?
        .try_deserialize()
        .context("配置无效")?;
    settings.validate()?;
    Ok(settings)
}

impl Settings {
    fn validate(&self) -> anyhow::Result<()> {
        if let Some(p) = &self.number_prefix
            && (p.is_empty() || p.len() > 6 || !p.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            bail!("number_prefix 须为 1–6 个字母或数字，现为 {p:?}");
        }
        if self.session_idle_minutes == 0 || self.session_absolute_hours == 0 {
            bail!("session_idle_minutes 与 session_absolute_hours 须大于 0");
        }
        if self.login_max_failures == 0
            || self.login_window_minutes == 0
            || self.login_lock_minutes == 0
        {
            bail!("login_max_failures、login_window_minutes 与 login_lock_minutes 须大于 0");
        }
        self.second_factor_roles()?;
        self.management_networks()?;
        if let Some(url) = self.database_url.as_ref().map(ExposeSecret::expose_secret)
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            bail!("database_url 须以 sqlite: 或 postgres:// 开头");
        }
        if let Some(url) = self.database_url.as_ref().map(ExposeSecret::expose_secret) {
            check_database_tls(url)?;
        }
        if !(1..=100).contains(&self.deadline_warn_percent) {
            bail!(
                "deadline_warn_percent 须在 1–100 之间，现为 {}",
                self.deadline_warn_percent
            );
        }
        if self.deadline_sweep_secs == 0 {
            bail!("deadline_sweep_secs 须大于 0");
        }
        if self.recurrence_min_reports < 2
            || self.recurrence_days == 0
            || self.recurrence_radius_m == 0
        {
            bail!(
                "recurrence_min_reports 须至少为 2，recurrence_days 与 recurrence_radius_m 须大于 0"
            );
        }
        self.working_hours()?;
        self.duplicate_rule()?;
        if !(1..=90).contains(&self.feedback_link_days) {
            bail!(
                "feedback_link_days 须在 1–90 之间，现为 {}",
                self.feedback_link_days
            );
        }
        if let Some(u) = &self.public_base_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            bail!("public_base_url 须以 https:// 或 http:// 开头");
        }
        if let Some(u) = &self.map_tile_url
            && !(u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/'))
        {
            bail!(
                "map_tile_url 须以 https://、http:// 或 / 开头，如 https://tiles.example.gov.cn/{{z}}/{{x}}/{{y}}.png"
            );
        }
        if let Some(u) = &self.map_tile_url
            && !["{z}", "{x}", "{y}"].iter().all(|p| u.contains(p))
        {
            bail!("map_tile_url 须含 {{z}}、{{x}} 与 {{y}}，现为 {u:?}");
        }
        if !matches!(self.classifier_fallback.as_str(), "refuse" | "rules") {
            bail!(
                "classifier_fallback 须为 refuse 或 rules，现为 {:?}",
                self.classifier_fallback
            );
        }
        if !(0.0..=1.0).contains(&self.triage_confidence) {
            bail!(
                "triage_confidence 须在 0–1 之间，现为 {}",
                self.triage_confidence
            );
        }
        if zhili_domain::CoordSystem::parse(&self.hotline_12345_crs).is_none() {
            bail!(
                "hotline_12345_crs 须为 wgs84、gcj02 或 bd09，现为 {:?}",
                self.hotline_12345_crs
            );
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.expose_secret().to_string(),
            None => format!("sqlite:{}", self.data_dir.join("zhili.db").display()),
        }
    }

    pub fn number_prefix(&self) -> &str {
        match &self.number_prefix {
            Some(p) => p,
            None if self.demo => DEMO_NUMBER_PREFIX,
            None => DEFAULT_NUMBER_PREFIX,
        }
    }

    /// The classifier this server runs with. A configured model that cannot be read
    /// stops the start with the reason, unless `classifier_fallback = "rules"`.
    pub fn classifier(&self) -> anyhow::Result<zhili_server::classify::Classifier> {
        use zhili_server::classify::{Classifier, LoadedModel};
        let Some(path) = &self.classifier_model else {
            return Ok(Classifier::new(None, None, self.triage_confidence));
        };
        match LoadedModel::from_file(path) {
            Ok(m) => Ok(Classifier::new(Some(m), None, self.triage_confidence)),
            Err(problem) if self.classifier_fallback == "rules" => {
                Ok(Classifier::new(None, Some(problem), self.triage_confidence))
            }
            Err(problem) => bail!(
                "{problem}\n（如需在没有模型时仅按关键词规则分类，请设置 classifier_fallback = \"rules\"）"
            ),
        }
    }

    pub fn worker_config(&self) -> zhili_server::worker::WorkerConfig {
        // Host and pid name the instance in leases and in the work records; the
        // suffix keeps two containers apart that share a hostname and a pid (1).
        let suffix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() ^ (d.as_secs() as u32))
            & 0xffff;
        let mut cfg = zhili_server::worker::WorkerConfig::new(format!(
            "{}-{}-{suffix:04x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "zhili".into()),
            std::process::id()
        ));
        cfg.lease = chrono::Duration::seconds(i64::from(self.outbox_lease_secs.max(1)));
        cfg.sweep_every = std::time::Duration::from_secs(u64::from(self.deadline_sweep_secs));
        cfg.keep_personal_data = chrono::Duration::days(i64::from(self.pii_retention_days.max(1)));
        cfg.disable_idle_accounts = (self.account_idle_days > 0)
            .then(|| chrono::Duration::days(i64::from(self.account_idle_days)));
        cfg.anchor_every = chrono::Duration::minutes(i64::from(self.audit_anchor_minutes.max(1)));
        let receivers = [
            (
                zhili_storage::TOPIC_110,
                &self.exchange_110_url,
                &self.exchange_110_token,
            ),
            (
                zhili_storage::TOPIC_LAW_ENFORCEMENT,
                &self.province_law_enforcement_url,
                &self.province_token,
            ),
            (
                zhili_storage::TOPIC_MARKET_SUPERVISION,
                &self.province_market_supervision_url,
                &self.province_token,
            ),
            (
                zhili_storage::TOPIC_SMS,
                &self.sms_gateway_url,
                &self.notice_token,
            ),
            (
                zhili_storage::TOPIC_EMAIL,
                &self.email_gateway_url,
                &self.notice_token,
            ),
        ];
        for (topic, url, token) in receivers {
            if let Some(url) = url {
                cfg.connectors.insert(
                    topic.to_string(),
                    std::sync::Arc::new(zhili_server::worker::HttpConnector::new(
                        url.clone(),
                        token.clone(),
                    )),
                );
            }
        }
        cfg
    }

    /// The processing notice of these settings (PI-02), published by every start.
    pub fn processing_notice(&self) -> zhili_domain::ProcessingNotice {
        zhili_domain::ProcessingNotice::render(&zhili_domain::NoticeTerms {
            retention_days: self.pii_retention_days,
            contact: self.privacy_contact.clone(),
        })
    }

    pub fn feedback_settings(&self) -> zhili_storage::feedback::FeedbackSettings {
        zhili_storage::feedback::FeedbackSettings {
            link_ttl: chrono::Duration::days(i64::from(self.feedback_link_days)),
            link_base: self
                .public_base_url
                .as_deref()
                .unwrap_or("")
                .trim_end_matches('/')
                .to_string(),
        }
    }

    pub fn crypto_suite(&self) -> anyhow::Result<zhili_storage::crypto::Suite> {
        zhili_storage::crypto::Suite::parse(&self.crypto_suite).ok_or_else(|| {
            anyhow::anyhow!(
                "crypto_suite 无效：{}（可选 standard 或 sm）",
                self.crypto_suite
            )
        })
    }

    pub fn working_hours(&self) -> anyhow::Result<zhili_calendar::WorkingHours> {
        zhili_calendar::WorkingHours::try_from(self.working_hours.clone())
            .map_err(|e| anyhow::anyhow!("working_hours 无效（例：08:30-12:00,13:30-17:30）：{e}"))
    }

    pub fn recurrence_rule(&self) -> zhili_geo::RecurrenceRule {
        zhili_geo::RecurrenceRule {
            min_reports: self.recurrence_min_reports as usize,
            window_secs: i64::from(self.recurrence_days) * 24 * 3600,
            radius_m: f64::from(self.recurrence_radius_m),
        }
    }

    pub fn duplicate_rule(&self) -> anyhow::Result<zhili_domain::DuplicateRule> {
        zhili_domain::DuplicateRule::checked(
            f64::from(self.duplicate_radius_m),
            self.duplicate_window_hours,
            self.duplicate_min_similarity,
        )
        .map_err(|e| anyhow::anyhow!("duplicate_{e}"))
    }

    /// The management networks, each a CIDR block (a bare address is one host).
    fn management_networks(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        let Some(list) = &self.management_networks else {
            return Ok(Vec::new());
        };
        list.split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| {
                c.parse::<ipnet::IpNet>()
                    .or_else(|_| c.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .with_context(|| {
                        format!("management_networks: 无法解析 {c}（应为 10.20.0.0/16 这样的网段）")
                    })
            })
            .collect()
    }

    /// The roles that need a second factor, checked against the role codes.
    fn second_factor_roles(&self) -> anyhow::Result<Vec<zhili_domain::Role>> {
        let Some(list) = &self.second_factor_roles else {
            return Ok(if self.demo {
                Vec::new()
            } else {
                zhili_domain::PasswordPolicy::default().second_factor_roles
            });
        };
        list.split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| {
                zhili_domain::Role::parse(c).with_context(|| {
                    format!(
                        "second_factor_roles: 未知角色 {c}，可选：{}",
                        zhili_domain::Role::codes().join(", ")
                    )
                })
            })
            .collect()
    }

    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            demo_mode: self.demo,
            session_idle: chrono::Duration::minutes(i64::from(self.session_idle_minutes)),
            session_absolute: chrono::Duration::hours(i64::from(self.session_absolute_hours)),
            secure_cookies: self.secure_cookies,
            hotline_12345_crs: zhili_domain::CoordSystem::parse(&self.hotline_12345_crs)
                .unwrap_or(zhili_domain::CoordSystem::Gcj02),
            map_tile_url: self.map_tile_url.clone(),
            lockout: zhili_domain::LockoutPolicy {
                max_failures: self.login_max_failures,
                window: chrono::Duration::minutes(i64::from(self.login_window_minutes)),
                lock_for: chrono::Duration::minutes(i64::from(self.login_lock_minutes)),
            },
            rate_limits: zhili_server::rate_limit::RateLimits::default(),
            client_ip_header: self.client_ip_header.clone(),
            password_policy: zhili_domain::PasswordPolicy {
                max_age: (self.password_max_age_days > 0)
                    .then(|| chrono::Duration::days(i64::from(self.password_max_age_days))),
                // Checked in `validate`; were it not, fail closed.
                second_factor_roles: self.second_factor_roles().unwrap_or_else(|_| {
                    zhili_domain::PasswordPolicy::default().second_factor_roles
                }),
            },
            metrics_token: self
                .metrics_token
                .clone()
                .filter(|t| !t.expose_secret().trim().is_empty()),
            // Checked in `validate`; were it not, fail closed: nothing is a
            // management network, and the administration routes answer 403.
            management_networks: self
                .management_networks()
                .unwrap_or_else(|_| vec![ipnet::IpNet::from(std::net::IpAddr::from([0, 0, 0, 0]))]),
        }
    }
}

/// A PostgreSQL server on another host is reached only over TLS (SECURITY.md DI-01):
/// its URL must say `sslmode=require`, `verify-ca` or `verify-full`, or the start is
/// refused. One on this host (loopback, or a Unix socket) may be plain.
fn check_database_tls(url: &str) -> anyhow::Result<()> {
    if url.starts_with("sqlite:") {
        return Ok(());
    }
    let parsed = url::Url::parse(url)
        .map_err(|_| anyhow::anyhow!("database_url 无法解析：{}", redact_url(url)))?;
    let param = |name: &str| {
        parsed
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let host = param("host").unwrap_or_else(|| parsed.host_str().unwrap_or("").to_string());
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let local = host.is_empty()
        || host.starts_with('/')
        || host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let tls = matches!(
        param("sslmode").as_deref(),
        Some("require" | "verify-ca" | "verify-full")
    );
    if !local && !tls {
        bail!(
            "database_url 指向其他主机（{host}）的 PostgreSQL，须经 TLS 连接：请在地址后加 ?sslmode=verify-full（市内自建 CA 用 &sslrootcert=证书路径），至少 sslmode=require"
        );
    }
    Ok(())
}

/// The database URL with any password replaced, fit for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            // Query parameters may carry a password too.
            let path = path.split('?').next().unwrap_or("");
            format!("{scheme}://{masked}@{host}{path}")
        }
        None => format!(
            "{scheme}://{authority}{}",
            path.split('?').next().unwrap_or("")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn write_file(body: &str) -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zhili-cli-settings-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("zhili.toml");
        std::fs::write(&path, body).unwrap();
        path
    }

    #[test]
    fn defaults_alone() {
        let s = load(None, HashMap::new(), &Flags::default()).unwrap();
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.database_url(), "sqlite:./data/zhili.db");
        assert!(!s.demo);
        assert_eq!(s.number_prefix(), "ZL");
        assert_eq!(s.session_idle_minutes, 30);
        assert_eq!(s.session_absolute_hours, 12);
    }

    #[test]
    fn flags_beat_env_beat_file_beat_defaults() {
        let file = write_file(
            r#"
database_url = "sqlite:/from/file.db"
bind = "127.0.0.1:1111"
data_dir = "/file/data"
number_prefix = "FF"
session_idle_minutes = 45
session_absolute_hours = 6
"#,
        );
        // File over defaults.
        let s = load(Some(&file), HashMap::new(), &Flags::default()).unwrap();
        assert_eq!(s.database_url(), "sqlite:/from/file.db");
        assert_eq!(s.bind, "127.0.0.1:1111");
        assert_eq!(s.data_dir, PathBuf::from("/file/data"));
        assert_eq!(s.number_prefix(), "FF");
        assert_eq!(s.session_idle_minutes, 45);
        assert_eq!(s.session_absolute_hours, 6);
        assert!(!s.demo);

        // Environment over file; keys the environment does not set stay from the file.
        let e = env(&[
            ("ZHILI_BIND", "127.0.0.1:2222"),
            ("ZHILI_DATABASE_URL", "postgres://u@127.0.0.1/env"),
            ("ZHILI_DEMO", "true"),
            ("ZHILI_SESSION_IDLE_MINUTES", "10"),
        ]);
        let s = load(Some(&file), e.clone(), &Flags::default()).unwrap();
        assert_eq!(s.bind, "127.0.0.1:2222");
        assert_eq!(s.database_url(), "postgres://u@127.0.0.1/env");
        assert!(s.demo);
        assert_eq!(s.session_idle_minutes, 10);
        assert_eq!(s.data_dir, PathBuf::from("/file/data"));
        assert_eq!(
            s.number_prefix(),
            "FF",
            "an explicit prefix wins in demo mode"
        );

        // Flags over environment.
        let flags = Flags {
            bind: Some("127.0.0.1:0".into()),
            data_dir: Some(PathBuf::from("/flag/data")),
            number_prefix: Some("GG".into()),
            ..Flags::default()
        };
        let s = load(Some(&file), e, &flags).unwrap();
        assert_eq!(s.bind, "127.0.0.1:0");
        assert_eq!(s.data_dir, PathBuf::from("/flag/data"));
        assert_eq!(s.number_prefix(), "GG");
        // Not given as a flag: the environment's value stands.
        assert_eq!(s.database_url(), "postgres://u@127.0.0.1/env");
        assert!(s.demo, "an absent --demo does not switch demo mode off");
    }

    #[test]
    fn secrets_are_never_shown_by_debug_and_are_zeroed_on_drop() {
        let s = load(
            None,
            env(&[
                (
                    "ZHILI_DATABASE_URL",
                    "postgres://zhili:db-pass-4711@127.0.0.1/zhili",
                ),
                ("ZHILI_EXCHANGE_110_URL", "http://127.0.0.1:9/110"),
                ("ZHILI_EXCHANGE_110_TOKEN", "tok-110-a1b2"),
                ("ZHILI_PROVINCE_TOKEN", "tok-prov-c3d4"),
                ("ZHILI_NOTICE_TOKEN", "tok-sms-e5f6"),
                ("ZHILI_METRICS_TOKEN", "tok-metrics-g7h8"),
            ]),
            &Flags::default(),
        )
        .unwrap();
        // The values still reach the code that needs them …
        assert_eq!(
            s.database_url(),
            "postgres://zhili:db-pass-4711@127.0.0.1/zhili"
        );
        let server = s.server_config();
        assert_eq!(
            server
                .metrics_token
                .as_ref()
                .map(ExposeSecret::expose_secret),
            Some("tok-metrics-g7h8")
        );
        // … but neither the settings nor the server's configuration print them.
        let shown = format!("{s:?} {server:?}");
        for secret in [
            "db-pass-4711",
            "tok-110-a1b2",
            "tok-prov-c3d4",
            "tok-sms-e5f6",
            "tok-metrics-g7h8",
        ] {
            assert!(!shown.contains(secret), "{secret} shown by Debug");
        }
        assert!(shown.contains("REDACTED"));
        fn zeroed_on_drop<T: secrecy::zeroize::ZeroizeOnDrop + ?Sized>(_: &T) {}
        zeroed_on_drop(s.metrics_token.as_ref().unwrap());
    }

    #[test]
    fn a_database_on_another_host_needs_tls() {
        let with = |url: &str| load(None, env(&[("ZHILI_DATABASE_URL", url)]), &Flags::default());
        for plain in [
            "postgres://zhili@10.20.1.5/zhili",
            "postgres://zhili@db.yuyao.gov.cn:5432/zhili?sslmode=prefer",
            "postgresql://zhili@db.yuyao.gov.cn/zhili?sslmode=disable",
        ] {
            let e = with(plain).unwrap_err();
            assert!(
                format!("{e:#}").contains("sslmode=verify-full"),
                "{plain}: {e:#}"
            );
        }
        for ok in [
            "postgres://zhili@db.yuyao.gov.cn/zhili?sslmode=verify-full&sslrootcert=/etc/zhili/ca.pem",
            "postgres://zhili@10.20.1.5/zhili?sslmode=require",
            "postgres://zhili@127.0.0.1/zhili",
            "postgres://zhili@localhost/zhili",
            "postgres://zhili@[::1]/zhili",
            "postgres:///zhili?host=/var/run/postgresql",
            "sqlite:/var/lib/zhili/zhili.db",
        ] {
            assert!(with(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn deadline_settings_are_checked_and_applied() {
        let s = load(
            None,
            env(&[
                ("ZHILI_WORKING_HOURS", "09:00-12:00,14:00-18:00"),
                ("ZHILI_DEADLINE_WARN_PERCENT", "70"),
            ]),
            &Flags::default(),
        )
        .unwrap();
        assert_eq!(s.working_hours().unwrap().close().to_string(), "18:00:00");
        assert_eq!(s.deadline_warn_percent, 70);
        for (k, v, named) in [
            ("ZHILI_WORKING_HOURS", "12:00-08:30", "working_hours"),
            ("ZHILI_DEADLINE_WARN_PERCENT", "0", "deadline_warn_percent"),
            (
                "ZHILI_RECURRENCE_MIN_REPORTS",
                "1",
                "recurrence_min_reports",
            ),
            ("ZHILI_PUBLIC_BASE_URL", "zhili.gov.cn", "public_base_url"),
            (
                "ZHILI_DUPLICATE_MIN_SIMILARITY",
                "1.5",
                "duplicate_min_similarity",
            ),
            ("ZHILI_DUPLICATE_RADIUS_M", "0", "duplicate_radius_m"),
            (
                "ZHILI_MAP_TILE_URL",
                "tiles.example/{z}/{x}/{y}",
                "map_tile_url",
            ),
            (
                "ZHILI_MAP_TILE_URL",
                "https://tiles.example/a.png",
                "map_tile_url",
            ),
        ] {
            let e = load(None, env(&[(k, v)]), &Flags::default()).unwrap_err();
            assert!(format!("{e:#}").contains(named), "{k}={v}: {e:#}");
        }
    }

    #[test]
    fn a_bad_model_stops_the_start_unless_rules_alone_are_allowed() {
        let missing =
            std::env::temp_dir().join(format!("zhili-no-model-{}.zhm", std::process::id()));
        let model = missing.display().to_string();
        let s = load(
            None,
            env(&[("ZHILI_CLASSIFIER_MODEL", &model)]),
            &Flags::default(),
        )
        .unwrap();
        let err = s
            .classifier()
            .err()
            .expect("a missing model refuses the start");
        let msg = format!("{err:#}");
        assert!(
            msg.contains(&model) && msg.contains("classifier_fallback"),
            "{msg}"
        );

        let s = load(
            None,
            env(&[
                ("ZHILI_CLASSIFIER_MODEL", &model),
                ("ZHILI_CLASSIFIER_FALLBACK", "rules"),
            ]),
            &Flags::default(),
        )
        .unwrap();
        let status = s.classifier().expect("starts on rules alone").status();
        assert_eq!(status.mode, "rules");
        assert!(status.problem.unwrap().contains(&model));

        for (k, v) in [
            ("ZHILI_CLASSIFIER_FALLBACK", "maybe"),
            ("ZHILI_TRIAGE_CONFIDENCE", "1.5"),
        ] {
            let err = load(None, env(&[(k, v)]), &Flags::default()).unwrap_err();
            let name = k.trim_start_matches("ZHILI_").to_lowercase();
            assert!(format!("{err:#}").contains(&name), "{k}: {err:#}");
        }
    }

    #[test]
    fn the_default_database_follows_the_data_dir_from_any_layer() {
        let s = load(
            None,
            env(&[("ZHILI_DATA_DIR", "/tmp/zl")]),
            &Flags::default(),
        )
        .unwrap();
        assert_eq!(s.database_url(), "sqlite:/tmp/zl/zhili.db");
        let s = load(
            None,
            env(&[("ZHILI_DATA_DIR", "/tmp/zl")]),
            &Flags {
                data_dir: Some("/tmp/flag".into()),
                ..Flags::default()
            },
        )
        .unwrap();
        assert_eq!(s.database_url(), "sqlite:/tmp/flag/zhili.db");
    }

    #[test]
    fn demo_mode_numbers_with_yy_and_the_flag_turns_it_on() {
        let s = load(
            None,
            HashMap::new(),
            &Flags {
                demo: true,
                ..Flags::default()
            },
        )
        .unwrap();
        assert!(s.demo);
        assert_eq!(s.number_prefix(), "YY");
        let s = load(None, env(&[("ZHILI_DEMO", "1")]), &Flags::default()).unwrap();
        assert!(s.demo);
        let s = load(None, env(&[("ZHILI_DEMO", "")]), &Flags::default()).unwrap();
        assert!(!s.demo, "an empty variable counts as unset");
    }

    #[test]
    fn management_networks_are_cidr_blocks_or_single_addresses() {
        let nets = |v: &str| {
            load(
                None,
                env(&[("ZHILI_MANAGEMENT_NETWORKS", v)]),
                &Flags::default(),
            )
            .map(|s| s.server_config().management_networks)
        };
        assert!(
            load(None, HashMap::new(), &Flags::default())
                .unwrap()
                .server_config()
                .management_networks
                .is_empty()
        );
        let n = nets("10.20.0.0/16, 192.168.8.7, fd00::/8").unwrap();
        assert_eq!(n.len(), 3);
        assert!(n[0].contains(&"10.20.3.4".parse::<std::net::IpAddr>().unwrap()));
        assert!(!n[0].contains(&"10.21.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert_eq!(n[1].prefix_len(), 32);
        let err = nets("10.20.0.0/16, intranet").unwrap_err().to_string();
        assert!(
            err.contains("management_networks") && err.contains("intranet"),
            "{err}"
        );
    }

    #[test]
    fn admins_need_a_second_factor_unless_told_otherwise_or_in_the_demo() {
        use zhili_domain::Role;
        let roles = |s: &Settings| s.server_config().password_policy.second_factor_roles;
        let plain = load(None, HashMap::new(), &Flags::default()).unwrap();
        assert_eq!(
            roles(&plain),
            vec![Role::Admin, Role::SecurityAdmin, Role::Auditor]
        );
        assert_eq!(
            plain.server_config().password_policy.max_age,
            Some(chrono::Duration::days(90))
        );
        let demo = Flags {
            demo: true,
            ..Flags::default()
        };
        assert!(roles(&load(None, HashMap::new(), &demo).unwrap()).is_empty());
        let listed = env(&[
            ("ZHILI_SECOND_FACTOR_ROLES", "admin, city_operator"),
            ("ZHILI_PASSWORD_MAX_AGE_DAYS", "0"),
        ]);
        let s = load(None, listed, &demo).unwrap();
        assert_eq!(roles(&s), vec![Role::Admin, Role::CityOperator]);
        assert_eq!(s.server_config().password_policy.max_age, None);
        let err = load(
            None,
            env(&[("ZHILI_SECOND_FACTOR_ROLES", "boss")]),
            &Flags::default(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("boss"), "{err:#}");
    }

    #[test]
    fn mistakes_are_reported() {
        let typo = write_file("bnid = \"127.0.0.1:1\"\n");
        let err = load(Some(&typo), HashMap::new(), &Flags::default()).unwrap_err();
        assert!(format!("{err:#}").contains("bnid"), "{err:#}");
        let missing = Path::new("/nonexistent/zhili.toml");
        assert!(load(Some(missing), HashMap::new(), &Flags::default()).is_err());
        let bad_url = Flags {
            database_url: Some("mysql://x".into()),
            ..Flags::default()
        };
        assert!(load(None, HashMap::new(), &bad_url).is_err());
        assert!(
            load(
                None,
                env(&[("ZHILI_SESSION_IDLE_MINUTES", "soon")]),
                &Flags::default()
            )
            .is_err()
        );
    }

    #[test]
    fn urls_are_redacted_for_logs() {
        assert_eq!(
            redact_url("postgres://zhili:s3cret@db:5432/zhili?sslmode=require"),
            "postgres://zhili:***@db:5432/zhili"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            redact_url("sqlite:./data/zhili.db"),
            "sqlite:./data/zhili.db"
        );
    }
}

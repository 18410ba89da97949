//! Support for tests of zhili (here and in the server): a fresh database per test on
//! SQLite always, and on PostgreSQL when `ZHILI_TEST_PG` names a server, plus a
//! small city to test against. Not used by the product itself.

use chrono::Utc;
use zhili_domain::{GridType, OrgKind, Platform, Role};

use crate::{CategoryImport, OrgImport, ReferenceImport, Store, UserImport};

/// Fresh, migrated stores: SQLite in a temp file, and PostgreSQL when configured.
/// Each gets a database of its own, so tests never see each other's rows.
pub async fn fresh_stores() -> Vec<Store> {
    let mut stores = vec![fresh_sqlite().await];
    if let Some(pg) = fresh_postgres().await {
        stores.push(pg);
    }
    stores
}

pub async fn fresh_sqlite() -> Store {
    let url = fresh_sqlite_url();
    let store = Store::connect(&url).await.expect("sqlite connect");
    store.migrate().await.expect("sqlite migrate");
    unlocked(store).await
}

/// The master key of the stores made here: random, one per test process, so that
/// a second handle on a test database (and a `zhili` child given it through
/// `ZHILI_PII_KEY`) opens the same personal data.
pub fn master_key() -> &'static crate::pii::MasterKey {
    static KEY: std::sync::OnceLock<crate::pii::MasterKey> = std::sync::OnceLock::new();
    KEY.get_or_init(crate::pii::MasterKey::generate)
}

/// The algorithm suite (DC-05) of test databases at `url`: SQLite runs the standard
/// suite and PostgreSQL the national one, so that every storage and HTTP test with
/// `ZHILI_TEST_PG` runs under both. A `zhili` child on the database is given it as
/// `ZHILI_CRYPTO_SUITE`.
pub fn suite_for_url(url: &str) -> crate::crypto::Suite {
    if url.starts_with("postgres") {
        crate::crypto::Suite::Commercial
    } else {
        crate::crypto::Suite::Standard
    }
}

/// `store` able to read and write personal data, under [`master_key`], in the
/// suite its keys were made for (a `zhili` child may have made them) or else the
/// one [`suite_for_url`] gives its backend.
pub async fn unlocked(store: Store) -> Store {
    let suite = match store.pii_suite().await.expect("read the key row") {
        Some(s) => s,
        None => match store.backend() {
            crate::Backend::Postgres => crate::crypto::Suite::Commercial,
            crate::Backend::Sqlite => crate::crypto::Suite::Standard,
        },
    };
    store
        .unlock_pii(master_key(), suite, Utc::now())
        .await
        .expect("unlock personal data")
}

/// A URL for a new SQLite file in a directory of its own.
pub fn fresh_sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!("zhili-test-{}", unique_suffix()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    format!("sqlite:{}", dir.join("zhili.db").display())
}

/// URLs of new databases: SQLite always, PostgreSQL when `ZHILI_TEST_PG` is set.
pub async fn fresh_urls() -> Vec<String> {
    let mut urls = vec![fresh_sqlite_url()];
    urls.extend(fresh_postgres_url().await);
    urls
}

/// A URL for a brand-new PostgreSQL database, if `ZHILI_TEST_PG` is set.
pub async fn fresh_postgres_url() -> Option<String> {
    let base = std::env::var("ZHILI_TEST_PG")
        .ok()
        .filter(|s| !s.is_empty())?;
    let name = format!("zhili_t_{}", unique_suffix());
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("ZHILI_TEST_PG: connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let mut url = url::Url::parse(&base).expect("ZHILI_TEST_PG is a URL");
    url.set_path(&name);
    Some(url.to_string())
}

pub async fn fresh_postgres() -> Option<Store> {
    let url = fresh_postgres_url().await?;
    let store = Store::connect(&url).await.expect("postgres connect");
    store.migrate().await.expect("postgres migrate");
    Some(unlocked(store).await)
}

/// Every text value stored in any table (JSON as text), for tests that look for
/// what must never be stored in plain text.
pub async fn stored_text(store: &Store) -> Vec<String> {
    use sqlx::Row;
    let mut out = Vec::new();
    match &store.pool {
        crate::Pool::Sqlite(p) => {
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(p)
            .await
            .expect("tables");
            for (t,) in tables {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM \"{t}\"")))
                    .fetch_all(p)
                    .await
                    .expect("rows");
                for r in rows {
                    for i in 0..r.len() {
                        if let Ok(Some(v)) = r.try_get::<Option<String>, _>(i) {
                            out.push(v);
                        }
                    }
                }
            }
        }
        crate::Pool::Postgres(p) => {
            let cols: Vec<(String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'json', 'jsonb')",
            )
            .fetch_all(p)
            .await
            .expect("columns");
            for (t, c) in cols {
                let q =
                    format!("SELECT CAST(\"{c}\" AS TEXT) FROM \"{t}\" WHERE \"{c}\" IS NOT NULL");
                let vals: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(q))
                    .fetch_all(p)
                    .await
                    .expect("values");
                out.extend(vals.into_iter().map(|v| v.0));
            }
        }
    }
    out
}

/// Runs one statement as it is, for tests that set up what the product never
/// writes (values from before sealing, a hand-edited row).
pub async fn execute(store: &Store, sql: &str) {
    match &store.pool {
        crate::Pool::Sqlite(p) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await
                .expect("statement");
        }
        crate::Pool::Postgres(p) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await
                .expect("statement");
        }
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The small test city: two streets of 余姚 with a village and two grids each, the
/// 住建 department, a stationed unit per street, a few categories and one user per
/// role. Every user gets `password_hash`.
pub fn small_city(password_hash: &str) -> ReferenceImport {
    let org = |code: &str, name: &str, kind: OrgKind, parent: Option<&str>| OrgImport {
        code: code.into(),
        name: name.into(),
        kind,
        parent_code: parent.map(Into::into),
        department_code: None,
        grid_type: None,
        polygon: None,
    };
    let grid = |code: &str, name: &str, parent: &str, x: f64| OrgImport {
        grid_type: Some(GridType::UrbanCommunity),
        polygon: Some(vec![
            (x, 30.0),
            (x + 0.01, 30.0),
            (x + 0.01, 30.01),
            (x, 30.01),
            (x, 30.0),
        ]),
        ..org(code, name, OrgKind::Grid, Some(parent))
    };
    let stationed = |code: &str, name: &str, township: &str| OrgImport {
        department_code: Some("D-GA".into()),
        ..org(code, name, OrgKind::StationedUnit, Some(township))
    };
    let orgs = vec![
        org("330281", "余姚市", OrgKind::City, None),
        org("330281001", "梨洲街道", OrgKind::Township, Some("330281")),
        org("330281002", "凤山街道", OrgKind::Township, Some("330281")),
        org(
            "330281001001",
            "花园社区",
            OrgKind::Village,
            Some("330281001"),
        ),
        org(
            "330281002001",
            "舜北社区",
            OrgKind::Village,
            Some("330281002"),
        ),
        grid("33028100100101", "花园社区第1网格", "330281001001", 121.10),
        grid("33028100200101", "舜北社区第1网格", "330281002001", 121.15),
        grid("33028100200102", "舜北社区第2网格", "330281002001", 121.16),
        org(
            "D-ZJ",
            "余姚市住房和城乡建设局",
            OrgKind::Department,
            Some("330281"),
        ),
        org("D-GA", "余姚市公安局", OrgKind::Department, Some("330281")),
        stationed("S-330281001-PCS", "梨洲派出所", "330281001"),
        stationed("S-330281002-PCS", "凤山派出所", "330281002"),
    ];
    let cat = |code: &str, name: &str, parent: Option<&str>, focus: bool| CategoryImport {
        code: code.into(),
        name: name.into(),
        parent_code: parent.map(Into::into),
        platform: Platform::LawEnforcement,
        focus,
        limit_days: 5,
        department_code: parent.map(|_| "D-ZJ".into()),
    };
    let categories = vec![
        cat("01", "城市管理", None, false),
        cat("0101", "噪音扰民", Some("01"), true),
        cat("0102", "违章搭建", Some("01"), false),
    ];
    let user = |username: &str, name: &str, role: Role, org: Option<&str>| UserImport {
        username: username.into(),
        display_name: name.into(),
        password_hash: password_hash.into(),
        role,
        org_code: org.map(Into::into),
        must_change_password: false,
    };
    let users = vec![
        user("admin", "管理员", Role::Admin, None),
        user("secadmin", "安全管理员", Role::SecurityAdmin, None),
        user("auditor", "审计管理员", Role::Auditor, None),
        user("city", "市指挥中心", Role::CityOperator, None),
        user(
            "fengshan",
            "凤山指挥室",
            Role::TownshipOperator,
            Some("330281002"),
        ),
        user(
            "lizhou",
            "梨洲指挥室",
            Role::TownshipOperator,
            Some("330281001"),
        ),
        user("zhujian", "住建承办人", Role::UnitHandler, Some("D-ZJ")),
        user(
            "pcs",
            "凤山派出所民警",
            Role::UnitHandler,
            Some("S-330281002-PCS"),
        ),
        user(
            "grid1",
            "网格员甲",
            Role::GridWorker,
            Some("33028100200101"),
        ),
        user("oversight", "人大监督", Role::Oversight, None),
        user("citizen1", "市民甲", Role::Citizen, None),
        user("citizen2", "市民乙", Role::Citizen, None),
        user("sys110", "110联动接口", Role::Integration, None),
    ];
    ReferenceImport {
        orgs,
        categories,
        users,
    }
}

/// A store with the small city loaded.
pub async fn with_small_city(store: &Store, password_hash: &str) {
    store
        .import_reference(&small_city(password_hash), Utc::now())
        .await
        .expect("import small city");
}

/// How many audit records with `action` the store holds, for tests that check a
/// change was audited.
pub async fn audit_count(store: &Store, action: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM audit_log WHERE action = $1";
    match &store.pool {
        crate::Pool::Sqlite(p) => sqlx::query_scalar(sql).bind(action).fetch_one(p).await,
        crate::Pool::Postgres(p) => sqlx::query_scalar(sql).bind(action).fetch_one(p).await,
    }
    .expect("audit count")
}

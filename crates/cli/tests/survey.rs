//! `zhili import survey FILE --as USER` on SQLite always and on PostgreSQL when
//! ZHILI_TEST_PG is set: a file with a bad row stores nothing and lists it as
//! `第 N 行 · 列名: 原因`; a clean file is stored and shows in the awareness KPI.

use std::path::Path;
use std::process::Command;

use zhili_domain::kpi::KpiKind;
use zhili_storage::Store;
use zhili_storage::kpi::Period;
use zhili_storage::testing::{fresh_postgres_url, with_small_city};

fn zhili(url: &str, dir: &Path, file: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zhili"))
        .args(["import", "survey"])
        .arg(file)
        .args(["--as", "city", "--database-url", url, "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .env(
            "ZHILI_CRYPTO_SUITE",
            zhili_storage::testing::suite_for_url(url).code(),
        )
        .output()
        .expect("run zhili");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn awareness(store: &Store) -> Option<f64> {
    let city = store.user_by_username("city").await.unwrap().unwrap().actor;
    let r = store
        .kpis_for(&city)
        .kpis("330281002", Period::month("2026-03").unwrap())
        .await
        .unwrap();
    r.values
        .iter()
        .find(|v| v.kind == KpiKind::AwarenessRate)
        .and_then(|v| v.value)
}

#[tokio::test]
async fn survey_files_are_imported_all_or_nothing() {
    let dir = std::env::temp_dir().join(format!("zhili-survey-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut urls = vec![format!("sqlite:{}", dir.join("zhili.db").display())];
    urls.extend(fresh_postgres_url().await);
    for url in urls {
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        with_small_city(&store, "x").await;
        let bad = dir.join("bad.csv");
        std::fs::write(
            &bad,
            "区域编码,月份,受访人数,知晓人数,参与人数\n330281002,2026-03,200,150,50\n330281002,2026-13,10,1,1\n",
        )
        .unwrap();
        let (ok, _, err) = zhili(&url, &dir, &bad);
        assert!(!ok);
        assert!(err.contains("第 3 行 · 月份"), "{err}");
        assert_eq!(awareness(&store).await, None);

        let good = dir.join("good.csv");
        std::fs::write(
            &good,
            "区域编码,月份,受访人数,知晓人数,参与人数\n330281002,2026-03,200,150,50\n",
        )
        .unwrap();
        let (ok, out, err) = zhili(&url, &dir, &good);
        assert!(ok, "{err}");
        assert!(out.contains("已导入 1 行"), "{out}");
        assert_eq!(awareness(&store).await, Some(0.75));
        store.close().await;
    }
}

//! `zhili import` as a user runs it, on SQLite always and on PostgreSQL when
//! ZHILI_TEST_PG is set: a petition CSV with bad rows stores nothing, exits non-zero
//! and lists every bad row as `第 N 行 · 列名: 原因`; `--good-rows-only` stores the
//! rest; a row without a category is classified (or queued for triage) like live
//! intake; a second run of a clean file stores nothing new; a 12345 batch file too.

use std::path::{Path, PathBuf};
use std::process::Command;

use zhili_domain::Channel;
use zhili_storage::testing::{fresh_postgres_url, with_small_city};
use zhili_storage::{EventFilter, Store};

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn zhili(url: &str, dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_zhili"))
        .args(args)
        .arg("--database-url")
        .arg(url)
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .env(
            "ZHILI_CRYPTO_SUITE",
            zhili_storage::testing::suite_for_url(url).code(),
        )
        .output()
        .expect("run zhili");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zhili-import-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Database URLs with the small city loaded: SQLite, and PostgreSQL when configured.
async fn databases(dir: &Path) -> Vec<(String, Store)> {
    let mut urls = vec![format!("sqlite:{}", dir.join("zhili.db").display())];
    urls.extend(fresh_postgres_url().await);
    let mut out = Vec::new();
    for url in urls {
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        with_small_city(&store, "x").await;
        out.push((url, store));
    }
    out
}

async fn count(store: &Store, channel: Channel) -> i64 {
    let city = store.user_by_username("city").await.unwrap().unwrap().actor;
    store
        .events_for(&city)
        .list(&EventFilter {
            channel: Some(channel),
            per_page: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .total
}

const PETITIONS: &str = "\
信访件编号,来信来访日期,信访人姓名,联系电话,身份证号,问题属地,详细地址,信访内容,问题类别
XF-1,2026-11-20,张三,13812345678,11010519491231002X,凤山街道,舜北路12号,小区门口夜间施工噪音扰民,噪音扰民
XF-2,2026-11-21,李四,12345,,梨洲街道,,楼道堆放杂物,
XF-3,2026-11-21,王五,,,朗霞街道,,河道垃圾,0101
XF-4,2026-11-22,赵六,13912345678,,梨洲,,路灯不亮,
";

#[tokio::test]
async fn a_petition_csv_is_imported_all_or_nothing_or_good_rows_only() {
    let dir = temp_dir("petitions");
    let file = dir.join("信访导出.csv");
    std::fs::write(&file, PETITIONS).unwrap();
    let file = file.to_str().unwrap();
    for (url, store) in databases(&dir).await {
        // Row 3: a phone the intake refuses; row 4: a township only the database knows is unknown.
        let run = zhili(&url, &dir, &["import", "petitions", file, "--as", "city"]);
        assert!(!run.ok, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("未导入任何数据"), "{}", run.stdout);
        assert!(
            run.stdout.contains("\n第 3 行 · 联系电话: "),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout
                .contains("\n第 4 行 · 问题属地: 未知乡镇（街道）「朗霞街道」"),
            "{}",
            run.stdout
        );
        assert!(run.stderr.contains("2 行有错误"), "{}", run.stderr);
        assert_eq!(count(&store, Channel::Petition).await, 0);

        let run = zhili(
            &url,
            &dir,
            &[
                "import",
                "petitions",
                file,
                "--as",
                "city",
                "--good-rows-only",
            ],
        );
        assert!(run.ok, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("已导入 2 条事件"), "{}", run.stdout);
        assert!(run.stdout.contains("第 3 行 · 联系电话"), "{}", run.stdout);
        assert_eq!(count(&store, Channel::Petition).await, 2);
        // A row without a category goes through the same classification as live
        // intake: with no rule or model to decide, it waits in the triage queue.
        let lizhou = store
            .user_by_username("lizhou")
            .await
            .unwrap()
            .unwrap()
            .actor;
        let queue = store
            .events_for(&lizhou)
            .list(&EventFilter {
                triage: true,
                per_page: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(queue.total, 1, "{:?}", queue.items);
        assert!(queue.items[0].excerpt.contains("路灯不亮"));

        // The rows stored before are recognised; the file's bad rows are still bad.
        let run = zhili(
            &url,
            &dir,
            &[
                "import",
                "petitions",
                file,
                "--as",
                "city",
                "--good-rows-only",
            ],
        );
        assert!(run.stdout.contains("2 行此前已导入"), "{}", run.stdout);
        assert_eq!(count(&store, Channel::Petition).await, 2);
        store.close().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn clean_files_import_once_and_mistakes_are_named() {
    let dir = temp_dir("clean");
    let clean = dir.join("clean.csv");
    let (gbk, _, _) = encoding_rs::GBK
        .encode("信访编号,内容,属地\nG-1,菜场门口占道经营,凤山街道\nG-2,绿化带被毁,330281001\n");
    std::fs::write(&clean, &gbk).unwrap();
    let clean = clean.to_str().unwrap();
    let no_content = dir.join("no-content.csv");
    std::fs::write(&no_content, "信访件编号,姓名\nA,张三\n").unwrap();
    let orders = dir.join("orders.jsonl");
    std::fs::write(
        &orders,
        concat!(
            r#"{"order_no":"H-1","content":"井盖缺失","lon":121.155,"lat":30.005,"crs":"wgs84"}"#,
            "\n",
            r#"{"order_no":"H-2","content":"噪音","caller_phone":"123","township":"330281002"}"#,
            "\n",
        ),
    )
    .unwrap();
    let orders = orders.to_str().unwrap();
    for (url, store) in databases(&dir).await {
        let run = zhili(&url, &dir, &["import", "petitions", clean, "--as", "admin"]);
        assert!(run.ok, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("已导入 2 条事件"), "{}", run.stdout);
        let run = zhili(&url, &dir, &["import", "petitions", clean, "--as", "admin"]);
        assert!(run.ok, "{}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("已导入 0 条事件，2 行此前已导入"),
            "{}",
            run.stdout
        );
        assert_eq!(count(&store, Channel::Petition).await, 2);

        let run = zhili(
            &url,
            &dir,
            &[
                "import",
                "petitions",
                no_content.to_str().unwrap(),
                "--as",
                "admin",
            ],
        );
        assert!(!run.ok);
        assert!(
            run.stderr.contains("缺少必填列「信访内容」"),
            "{}",
            run.stderr
        );
        let run = zhili(
            &url,
            &dir,
            &["import", "petitions", clean, "--as", "nobody"],
        );
        assert!(!run.ok && run.stderr.contains("nobody"), "{}", run.stderr);
        let run = zhili(
            &url,
            &dir,
            &["import", "petitions", clean, "--as", "citizen1"],
        );
        assert!(
            !run.ok && run.stderr.contains("无权批量导入"),
            "{}",
            run.stderr
        );

        // 12345 batch: the bad line is named by the order's own field name.
        let run = zhili(&url, &dir, &["import", "hotline", orders, "--as", "city"]);
        assert!(!run.ok);
        assert!(
            run.stdout.contains("\n第 2 行 · caller_phone: "),
            "{}",
            run.stdout
        );
        assert_eq!(count(&store, Channel::Hotline12345).await, 0);
        let run = zhili(
            &url,
            &dir,
            &["import", "hotline", orders, "--as", "city", "--dry-run"],
        );
        assert!(
            !run.ok && run.stdout.contains("检查完成，未写入。1 行可导入"),
            "{}",
            run.stdout
        );
        let run = zhili(
            &url,
            &dir,
            &[
                "import",
                "hotline",
                orders,
                "--as",
                "city",
                "--good-rows-only",
            ],
        );
        assert!(run.ok, "{}{}", run.stdout, run.stderr);
        assert_eq!(count(&store, Channel::Hotline12345).await, 1);
        store.close().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

//! File imports through storage, on SQLite always and on PostgreSQL when
//! ZHILI_TEST_PG is set: a file with a bad row stores nothing and names every bad
//! row; "good rows only" stores the rest in the right townships; importing the same
//! file again stores nothing new; only command rooms may import, inside their area.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, TimeZone, Utc};
use zhili_domain::{Actor, NewEvent, RawNewEvent, RawReporter};
use zhili_storage::imports::{BadRow, ImportMode, ImportOptions, ImportReport, ImportRow};
use zhili_storage::testing::{fresh_stores, with_small_city};
use zhili_storage::{EventFilter, Store, StoreError};

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

fn petition(number: &str, text: &str) -> NewEvent {
    NewEvent::parse(RawNewEvent {
        channel: "petition".into(),
        external_id: Some(number.into()),
        reporter: Some(RawReporter {
            kind: "citizen".into(),
            name: Some("张三".into()),
            phone: Some("13812345678".into()),
        }),
        text: text.into(),
        ..Default::default()
    })
    .unwrap()
}

fn row(n: usize, number: &str, text: &str) -> ImportRow {
    ImportRow::new(n, petition(number, text))
}

/// A petition file as the intake hands it over: rows 2–6, three of them bad for
/// reasons only the database can tell (and one repeated number).
fn file_rows() -> Vec<ImportRow> {
    let mut r2 = row(2, "XF-001", "小区门口夜间施工噪音扰民");
    r2.township_name = Some("凤山街道".into());
    r2.category_name = Some("噪音扰民".into());
    r2.reported_at = Some(Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap());
    let mut r3 = row(3, "XF-002", "楼道堆放杂物");
    r3.event.category_code = Some("9999".into());
    r3.event.township_code = Some("330281002".into());
    let mut r4 = row(4, "XF-003", "花园社区路灯不亮");
    r4.event.address = Some("余姚市梨洲街道花园社区 12 幢".into());
    let mut r5 = row(5, "XF-004", "河道漂浮垃圾");
    r5.township_name = Some("朗霞街道".into());
    let mut r6 = row(6, "XF-001", "同一件又登记了一次");
    r6.township_name = Some("凤山街道".into());
    vec![r2, r3, r4, r5, r6]
}

fn opts(mode: ImportMode) -> ImportOptions {
    ImportOptions {
        source: "信访导出.xlsx".into(),
        mode,
        now: Utc::now(),
    }
}

async fn import(
    store: &Store,
    who: &str,
    rows: &[ImportRow],
    mode: ImportMode,
) -> Result<ImportReport, StoreError> {
    store
        .import_new_events(&actor(store, who).await, rows, &opts(mode), &|_| {})
        .await
}

async fn petitions(store: &Store) -> Vec<zhili_storage::EventSummary> {
    let city = actor(store, "city").await;
    store
        .events_for(&city)
        .list(&EventFilter {
            channel: Some(zhili_domain::Channel::Petition),
            sort: zhili_storage::SortKey::Number,
            per_page: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .items
}

fn bad(rows: &[BadRow]) -> Vec<(usize, &str)> {
    rows.iter().map(|b| (b.row, b.field.as_str())).collect()
}

#[tokio::test]
async fn a_file_with_bad_rows_stores_nothing_and_names_every_one() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let rows = file_rows();
        let calls = AtomicUsize::new(0);
        let last = AtomicUsize::new(0);
        let report = store
            .import_new_events(
                &actor(&store, "city").await,
                &rows,
                &opts(ImportMode::AllOrNothing),
                &|done| {
                    calls.fetch_add(1, Ordering::Relaxed);
                    last.store(done, Ordering::Relaxed);
                },
            )
            .await
            .unwrap();
        assert_eq!(
            bad(&report.bad_rows),
            [(3, "category"), (5, "township"), (6, "external_id")],
            "{report:?}"
        );
        assert!(report.bad_rows[0].reason.contains("9999"), "{report:?}");
        assert!(report.bad_rows[1].reason.contains("朗霞街道"), "{report:?}");
        assert!(report.bad_rows[2].reason.contains("第 2 行"), "{report:?}");
        assert_eq!((report.created, report.good, report.stored), (0, 2, false));
        assert_eq!(last.load(Ordering::Relaxed), rows.len());
        assert_eq!(calls.load(Ordering::Relaxed), rows.len());
        assert!(petitions(&store).await.is_empty(), "nothing stored");

        // A dry run of the good rows checks them and still stores nothing.
        let good: Vec<_> = rows
            .iter()
            .filter(|r| [2, 4].contains(&r.row))
            .cloned()
            .collect();
        let dry = import(&store, "city", &good, ImportMode::DryRun)
            .await
            .unwrap();
        assert_eq!((dry.good, dry.created, dry.stored), (2, 0, false));
        assert!(dry.bad_rows.is_empty());
        assert!(petitions(&store).await.is_empty());
    }
}

#[tokio::test]
async fn good_rows_only_stores_the_good_in_their_townships_once() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let rows = file_rows();
        let report = import(&store, "city", &rows, ImportMode::GoodRowsOnly)
            .await
            .unwrap();
        assert_eq!((report.created, report.stored), (2, true), "{report:?}");
        assert_eq!(
            bad(&report.bad_rows),
            [(3, "category"), (5, "township"), (6, "external_id")]
        );

        let stored = petitions(&store).await;
        assert_eq!(stored.len(), 2);
        let city = actor(&store, "city").await;
        let mut by_ext = std::collections::HashMap::new();
        for s in &stored {
            let d = store.events_for(&city).get(s.id).await.unwrap();
            by_ext.insert(d.external_id.clone().unwrap(), d);
        }
        let fengshan = &by_ext["XF-001"];
        assert_eq!(fengshan.township.name, "凤山街道");
        assert_eq!(
            fengshan.category.as_ref().map(|c| c.code.as_str()),
            Some("0101")
        );
        assert_eq!(
            fengshan.reported_at,
            Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap(),
            "the petition's own date"
        );
        assert_eq!(fengshan.timeline[0].action.code, "report");
        assert!(fengshan.timeline[0].actor_name.contains("市指挥中心"));
        let lizhou = &by_ext["XF-003"];
        assert_eq!(lizhou.township.name, "梨洲街道", "found from the address");
        assert_eq!(
            lizhou.village.as_ref().map(|v| v.name.as_str()),
            Some("花园社区")
        );

        // The same file again: the stored rows are recognised, nothing new.
        let again = import(&store, "city", &rows, ImportMode::GoodRowsOnly)
            .await
            .unwrap();
        assert_eq!((again.created, again.skipped_existing), (0, 2), "{again:?}");
        assert_eq!(again.bad_rows.len(), 3);
        let fixed: Vec<_> = rows
            .iter()
            .filter(|r| [2, 4].contains(&r.row))
            .cloned()
            .collect();
        let again = import(&store, "city", &fixed, ImportMode::AllOrNothing)
            .await
            .unwrap();
        assert_eq!((again.created, again.skipped_existing), (0, 2));
        assert!(again.bad_rows.is_empty());
        assert_eq!(petitions(&store).await.len(), 2);
    }
}

#[tokio::test]
async fn a_township_imports_into_its_own_area_only() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let mut elsewhere = row(2, "FS-1", "梨洲的事");
        elsewhere.township_name = Some("梨洲".into());
        let no_area = row(3, "FS-2", "没写属地的信访件");
        let mut future = row(4, "FS-3", "日期在将来");
        future.reported_at = Some(Utc::now() + Duration::days(3));
        let report = import(
            &store,
            "fengshan",
            &[elsewhere, no_area, future],
            ImportMode::GoodRowsOnly,
        )
        .await
        .unwrap();
        assert_eq!(bad(&report.bad_rows), [(2, "township"), (4, "reported_at")]);
        assert!(report.bad_rows[0].reason.contains("辖区"), "{report:?}");
        let stored = petitions(&store).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(
            stored[0].township.name, "凤山街道",
            "the importer's own township"
        );

        // Without an area of their own, the city must say where.
        let report = import(
            &store,
            "city",
            &[row(2, "C-1", "无属地")],
            ImportMode::AllOrNothing,
        )
        .await
        .unwrap();
        assert_eq!(bad(&report.bad_rows), [(2, "grid")]);

        for who in ["citizen1", "zhujian", "grid1", "oversight", "sys110"] {
            let err = import(&store, who, &[row(2, "N-1", "x")], ImportMode::GoodRowsOnly)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, StoreError::Invalid { field, .. } if field == "actor"),
                "{who}: {err}"
            );
        }
        assert_eq!(petitions(&store).await.len(), 1);
    }
}

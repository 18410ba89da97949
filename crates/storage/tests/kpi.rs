//! KPIs against a hand-computed fixture, on SQLite and (with ZHILI_TEST_PG) on
//! PostgreSQL: seven events with a controlled history in March 2026, every number
//! worked out by hand below, and every drill-down list checked to hold exactly the
//! events its number counts. Then surveys, scope, and assessment scores.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};
use zhili_calendar::china_time;
use zhili_domain::kpi::{AssessedKind, Board, Indicator, KpiKind, Scheme};
use zhili_domain::{
    Action, Actor, InformChannel, NewEvent, OrgId, RawNewEvent, RawReporter, RejectReason,
    Satisfaction,
};
use zhili_storage::kpi::{Part, Period};
use zhili_storage::survey::SurveyRow;
use zhili_storage::testing::{fresh_stores, with_small_city};
use zhili_storage::{Acting, HistoricalEvent, HistoricalStep, Store, StoreError};

/// China time, March 2026 unless the month says otherwise.
fn cn(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    china_time()
        .with_ymd_and_hms(2026, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn actor(store: &Store, username: &str) -> Actor {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .actor
}

async fn unit(store: &Store, code: &str) -> OrgId {
    store.org_by_code(code).await.unwrap().unwrap().id
}

fn event(name: &str, channel: &str, kind: &str, phone: Option<&str>, grid: &str) -> NewEvent {
    NewEvent::parse(RawNewEvent {
        channel: channel.into(),
        external_id: Some(name.into()),
        reporter: Some(RawReporter {
            kind: kind.into(),
            name: Some("张三".into()),
            phone: phone.map(Into::into),
        }),
        text: format!("{name} 小区夜间施工噪音扰民"),
        category: Some("0101".into()),
        grid: Some(grid.into()),
        ..Default::default()
    })
    .unwrap()
}

fn step(at: DateTime<Utc>, action: Action) -> HistoricalStep {
    HistoricalStep {
        at,
        actor_name: "测试".into(),
        action,
    }
}

fn accept(at: DateTime<Utc>) -> HistoricalStep {
    step(at, Action::Accept { note: None })
}
fn dispatch(at: DateTime<Utc>, unit: OrgId) -> HistoricalStep {
    step(
        at,
        Action::Dispatch {
            lead_unit: unit,
            assisting_units: vec![],
            note: None,
        },
    )
}
fn sign(at: DateTime<Utc>) -> HistoricalStep {
    step(at, Action::Sign { note: None })
}
fn resolve(at: DateTime<Utc>) -> HistoricalStep {
    step(
        at,
        Action::Resolve {
            result: "已处理".into(),
            photos: vec![],
        },
    )
}
fn verify(at: DateTime<Utc>) -> HistoricalStep {
    step(at, Action::VerifyPass { note: None })
}
fn inform(at: DateTime<Utc>) -> HistoricalStep {
    step(
        at,
        Action::Inform {
            channel: InformChannel::Phone,
            note: None,
        },
    )
}
fn rate(at: DateTime<Utc>, s: Satisfaction) -> HistoricalStep {
    step(
        at,
        Action::Rate {
            satisfaction: s,
            comment: None,
        },
    )
}
fn close(at: DateTime<Utc>) -> HistoricalStep {
    step(at, Action::Close { note: None })
}

const G1: &str = "33028100200101"; // 舜北社区第1网格, 凤山街道
const G2: &str = "33028100200102"; // 舜北社区第2网格, 凤山街道
const LZ: &str = "33028100100101"; // 花园社区第1网格, 梨洲街道
const FENGSHAN: &str = "330281002";

/// Category 0101 allows 5 working days; March 2026 has no holiday, so an event
/// received on a weekday is due at 17:30 on the same weekday a week later.
async fn load_fixture(store: &Store) {
    let zj = unit(store, "D-ZJ").await;
    let pcs = unit(store, "S-330281002-PCS").await;
    let h = |e: NewEvent, at, steps| HistoricalEvent {
        event: e,
        reporter_username: None,
        reported_at: at,
        steps,
    };
    let events = vec![
        // E1 Mon 03-02: citizen, closed 03-03 (due 03-09 17:30): on time, 满意.
        // Handling 03-02 09:30 → 03-03 10:30 = 2.5 + 4 + 2 = 8.5 working hours.
        h(
            event("E1", "hotline_12345", "citizen", Some("13800000001"), G1),
            cn(3, 2, 9, 0),
            vec![
                accept(cn(3, 2, 9, 30)),
                dispatch(cn(3, 2, 10, 0), zj),
                sign(cn(3, 2, 10, 30)),
                resolve(cn(3, 3, 10, 30)),
                verify(cn(3, 3, 11, 0)),
                inform(cn(3, 3, 14, 0)),
                rate(cn(3, 3, 15, 0), Satisfaction::Satisfied),
                close(cn(3, 3, 16, 0)),
            ],
        ),
        // E2 Mon 03-02: grid patrol (found actively), reworked once, 不满意, closed
        // 03-16 after its deadline 03-09. Handling 03-02 09:30 → last resolve
        // 03-04 11:00 = 6.5 + 7.5 + 2.5 = 16.5 working hours.
        h(
            event("E2", "patrol", "grid_worker", None, G1),
            cn(3, 2, 9, 0),
            vec![
                accept(cn(3, 2, 9, 30)),
                dispatch(cn(3, 2, 10, 0), zj),
                sign(cn(3, 2, 10, 30)),
                resolve(cn(3, 4, 9, 30)),
                step(
                    cn(3, 4, 10, 0),
                    Action::VerifyFail {
                        reason: "现场仍有噪音".into(),
                    },
                ),
                resolve(cn(3, 4, 11, 0)),
                verify(cn(3, 4, 11, 30)),
                inform(cn(3, 4, 14, 0)),
                rate(cn(3, 4, 15, 0), Satisfaction::Dissatisfied),
                close(cn(3, 16, 10, 0)),
            ],
        ),
        // E3 Tue 03-03: mis-routed to 住建, returned, then 凤山派出所; 基本满意, not
        // closed (due 03-10). Handling 09:30 → 15:30 = 2.5 + 2 = 4.5 hours.
        h(
            event("E3", "hotline_12345", "citizen", Some("13800000002"), G2),
            cn(3, 3, 9, 0),
            vec![
                accept(cn(3, 3, 9, 30)),
                dispatch(cn(3, 3, 10, 0), zj),
                step(
                    cn(3, 3, 10, 30),
                    Action::Return {
                        reason: "非本单位职责".into(),
                    },
                ),
                dispatch(cn(3, 3, 11, 0), pcs),
                sign(cn(3, 3, 11, 30)),
                resolve(cn(3, 3, 15, 30)),
                verify(cn(3, 3, 16, 0)),
                inform(cn(3, 3, 16, 30)),
                rate(cn(3, 3, 17, 0), Satisfaction::Basic),
            ],
        ),
        // E4 Wed 03-04: a courier (social reporter), still being handled (due 03-11).
        h(
            event("E4", "web_form", "courier", Some("13800000003"), G1),
            cn(3, 4, 9, 0),
            vec![
                accept(cn(3, 4, 9, 30)),
                dispatch(cn(3, 4, 10, 0), zj),
                sign(cn(3, 4, 10, 30)),
            ],
        ),
        // E5 Thu 03-05: the same citizen as E1, not accepted (不予受理).
        h(
            event("E5", "hotline_12345", "citizen", Some("13800000001"), G2),
            cn(3, 5, 9, 0),
            vec![step(
                cn(3, 5, 9, 30),
                Action::Reject {
                    reason: RejectReason::Duplicate,
                    note: "重复件".into(),
                },
            )],
        ),
        // E6 Fri 02-27: reported in February, due 03-06 17:30 (in March), closed
        // 03-05 without a rating: on time.
        h(
            event("E6", "hotline_12345", "citizen", Some("13800000004"), G1),
            cn(2, 27, 9, 0),
            vec![
                accept(cn(2, 27, 9, 30)),
                dispatch(cn(2, 27, 10, 0), zj),
                sign(cn(2, 27, 10, 30)),
                resolve(cn(3, 4, 10, 0)),
                verify(cn(3, 4, 10, 30)),
                inform(cn(3, 5, 9, 0)),
                close(cn(3, 5, 10, 0)),
            ],
        ),
        // E7 Mon 03-02 in 梨洲街道: never part of 凤山's numbers.
        h(
            event("E7", "hotline_12345", "citizen", Some("13800000005"), LZ),
            cn(3, 2, 9, 0),
            vec![
                accept(cn(3, 2, 9, 30)),
                dispatch(cn(3, 2, 10, 0), zj),
                sign(cn(3, 2, 10, 30)),
            ],
        ),
    ];
    let importer = Acting::system("测试");
    store.import_history(&events, &importer).await.unwrap();
    store
        .set_population(FENGSHAN, 30_000, cn(3, 1, 0, 0))
        .await
        .unwrap();
}

fn march() -> Period {
    Period::month("2026-03").unwrap()
}

/// The fixture's names (E1…) of the events behind one side of one KPI.
async fn behind(
    store: &Store,
    who: &Actor,
    kind: KpiKind,
    part: Part,
    code: &str,
) -> BTreeSet<String> {
    let page = store
        .kpis_for(who)
        .kpi_events(kind, part, code, march(), 1, 200)
        .await
        .unwrap();
    let names: BTreeSet<String> = page
        .items
        .iter()
        .map(|e| e.excerpt.split(' ').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(page.total as usize, names.len(), "{kind} {part:?}");
    names
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn kpis_match_the_hand_computed_fixture_and_their_drill_downs() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        load_fixture(&store).await;
        let city = actor(&store, "city").await;
        let report = store.kpis_for(&city).kpis(FENGSHAN, march()).await.unwrap();
        assert_eq!(report.subject.name, "凤山街道");
        let v = |k: KpiKind| *report.values.iter().find(|v| v.kind == k).unwrap();
        let close_to = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);

        // Reported in March and accepted: E1 E2 E3 E4 (E5 rejected, E6 February).
        assert_eq!(v(KpiKind::Accepted).value, Some(4.0));
        // Due in March: E1 E2 E3 E4 E6; closed by 04-01: E1 E2 E6 → 3/5.
        let c = v(KpiKind::CloseRate);
        assert_eq!((c.numerator, c.denominator), (3.0, Some(5.0)));
        assert!(close_to(c.value, 0.6));
        // Closed by the deadline: E1, E6 (E2 closed after it) → 2/5.
        let c = v(KpiKind::OnTimeCloseRate);
        assert_eq!((c.numerator, c.denominator), (2.0, Some(5.0)));
        // Handled E1 E2 E3, reworked E2 → 1/3.
        let c = v(KpiKind::ReworkRate);
        assert_eq!((c.numerator, c.denominator), (1.0, Some(3.0)));
        // Dispatched E1–E4, returned E3 → 1/4.
        let c = v(KpiKind::ReturnRate);
        assert_eq!((c.numerator, c.denominator), (1.0, Some(4.0)));
        assert_eq!(c.display(), "25.0%");
        // 8.5, 16.5, 4.5 working hours: average 29.5/3, median 8.5.
        let c = v(KpiKind::AvgHandlingHours);
        assert!(close_to(Some(c.numerator), 29.5), "{c:?}");
        assert_eq!(c.denominator, Some(3.0));
        assert_eq!(v(KpiKind::MedianHandlingHours).value, Some(8.5));
        // Rated E1 满意, E2 不满意, E3 基本满意 → 2/3.
        let c = v(KpiKind::SatisfactionRate);
        assert_eq!((c.numerator, c.denominator), (2.0, Some(3.0)));
        // Accepted 4, found actively E2 (patrol) and E4 (courier) → 2/4.
        let c = v(KpiKind::DiscoveryRate);
        assert_eq!((c.numerator, c.denominator), (2.0, Some(4.0)));
        // Residents reporting: E1/E5 (one phone), E3, E4 → 3 people of 30,000.
        let c = v(KpiKind::Participation);
        assert_eq!((c.numerator, c.denominator), (3.0, Some(30_000.0)));
        assert!(close_to(c.value, 1.0));
        // No survey imported yet: 无数据, not NaN.
        assert_eq!(v(KpiKind::AwarenessRate).value, None);
        assert_eq!(v(KpiKind::AwarenessRate).display(), "无数据");

        // Every number drills down to exactly its events.
        let d = |k, p| behind(&store, &city, k, p, FENGSHAN);
        use KpiKind::*;
        use Part::{Denominator as Den, Numerator as Num};
        assert_eq!(d(Accepted, Num).await, set(&["E1", "E2", "E3", "E4"]));
        assert_eq!(
            d(CloseRate, Den).await,
            set(&["E1", "E2", "E3", "E4", "E6"])
        );
        assert_eq!(d(CloseRate, Num).await, set(&["E1", "E2", "E6"]));
        assert_eq!(d(OnTimeCloseRate, Num).await, set(&["E1", "E6"]));
        assert_eq!(d(ReworkRate, Den).await, set(&["E1", "E2", "E3"]));
        assert_eq!(d(ReworkRate, Num).await, set(&["E2"]));
        assert_eq!(d(ReturnRate, Den).await, set(&["E1", "E2", "E3", "E4"]));
        assert_eq!(d(ReturnRate, Num).await, set(&["E3"]));
        assert_eq!(d(AvgHandlingHours, Den).await, set(&["E1", "E2", "E3"]));
        assert_eq!(d(SatisfactionRate, Den).await, set(&["E1", "E2", "E3"]));
        assert_eq!(d(SatisfactionRate, Num).await, set(&["E1", "E3"]));
        assert_eq!(d(DiscoveryRate, Num).await, set(&["E2", "E4"]));
        assert_eq!(d(Participation, Num).await, set(&["E1", "E3", "E4", "E5"]));
        // A number that is not made of events has no list.
        let none = store
            .kpis_for(&city)
            .kpi_events(Participation, Den, FENGSHAN, march(), 1, 50)
            .await;
        assert!(matches!(none, Err(StoreError::Invalid { ref field, .. }) if field == "part"));

        // A grid: E1 E2 E4 E6 are in 舜北1.
        let g = behind(&store, &city, Accepted, Num, G1).await;
        assert_eq!(g, set(&["E1", "E2", "E4"]));
        // A unit, by the events it led: 住建 led E1 E2 E3 (returned) E4 E6 E7.
        let zj = store.kpis_for(&city).kpis("D-ZJ", march()).await.unwrap();
        let zv = |k: KpiKind| *zj.values.iter().find(|v| v.kind == k).unwrap();
        assert_eq!(zv(ReturnRate).numerator, 1.0);
        assert_eq!(zv(ReturnRate).denominator, Some(5.0));
        assert_eq!(zv(Participation).value, None, "a unit has no residents");
        // The city counts 梨洲 too.
        let all = store.kpis_for(&city).kpis("330281", march()).await.unwrap();
        assert_eq!(all.values[0].value, Some(5.0));
    }
}

#[tokio::test]
async fn a_township_sees_only_its_own_kpis() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        load_fixture(&store).await;
        let fengshan = actor(&store, "fengshan").await;
        let repo = store.kpis_for(&fengshan);
        assert!(repo.kpis(FENGSHAN, march()).await.is_ok());
        assert!(repo.kpis(G2, march()).await.is_ok());
        assert!(repo.kpis("S-330281002-PCS", march()).await.is_ok());
        for other in ["330281001", LZ, "330281", "D-ZJ", "S-330281001-PCS"] {
            assert!(
                matches!(repo.kpis(other, march()).await, Err(StoreError::NotFound)),
                "{other}"
            );
            assert!(matches!(
                repo.kpi_events(KpiKind::Accepted, Part::Numerator, other, march(), 1, 10)
                    .await,
                Err(StoreError::NotFound)
            ));
        }
        let grid1 = actor(&store, "grid1").await;
        assert!(store.kpis_for(&grid1).kpis(G1, march()).await.is_ok());
        assert!(store.kpis_for(&grid1).kpis(G2, march()).await.is_err());
        let citizen = actor(&store, "citizen1").await;
        assert!(store.kpis_for(&citizen).kpis(G1, march()).await.is_err());
        let oversight = actor(&store, "oversight").await;
        assert!(
            store
                .kpis_for(&oversight)
                .kpis("330281001", march())
                .await
                .is_ok()
        );
    }
}

fn survey_row(row: usize, area: &str, month: &str, r: i64, a: i64, p: i64) -> SurveyRow {
    SurveyRow {
        row,
        area_code: area.into(),
        month: month.into(),
        respondents: r,
        aware: a,
        participated: p,
    }
}

#[tokio::test]
async fn surveys_are_imported_all_or_nothing_and_give_awareness_and_participation() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        let city = actor(&store, "city").await;
        let now = cn(4, 2, 9, 0);
        // Row 3 names an unknown area, row 4 has more aware than asked: nothing stored.
        let bad = vec![
            survey_row(2, FENGSHAN, "2026-03", 200, 150, 50),
            survey_row(3, "999999", "2026-03", 10, 1, 1),
            survey_row(4, "330281001", "2026-03", 100, 160, 10),
        ];
        let r = store
            .import_surveys(&city, &bad, vec![], "t.csv", now)
            .await
            .unwrap();
        assert_eq!(r.stored, 0);
        let rows: Vec<(usize, &str)> = r
            .bad_rows
            .iter()
            .map(|b| (b.row, b.field.as_str()))
            .collect();
        assert_eq!(rows, vec![(3, "area_code"), (4, "aware")]);
        let k = store.kpis_for(&city).kpis(FENGSHAN, march()).await.unwrap();
        assert_eq!(
            k.values
                .iter()
                .find(|v| v.kind == KpiKind::AwarenessRate)
                .unwrap()
                .value,
            None
        );

        let good = vec![
            survey_row(2, FENGSHAN, "2026-03", 200, 150, 50),
            survey_row(3, "330281001", "2026-03", 100, 60, 10),
        ];
        let r = store
            .import_surveys(&city, &good, vec![], "t.csv", now)
            .await
            .unwrap();
        assert_eq!((r.stored, r.bad_rows.len()), (2, 0));
        let rate = |k: &zhili_storage::kpi::KpiReport, kind| {
            k.values.iter().find(|v| v.kind == kind).unwrap().value
        };
        let k = store.kpis_for(&city).kpis(FENGSHAN, march()).await.unwrap();
        assert_eq!(rate(&k, KpiKind::AwarenessRate), Some(0.75));
        assert_eq!(rate(&k, KpiKind::SurveyParticipationRate), Some(0.25));
        // The city has no row of its own: both townships together, 210/300, 60/300.
        let k = store.kpis_for(&city).kpis("330281", march()).await.unwrap();
        assert_eq!(rate(&k, KpiKind::AwarenessRate), Some(0.7));
        assert_eq!(rate(&k, KpiKind::SurveyParticipationRate), Some(0.2));
        // A township imports only its own areas.
        let fengshan = actor(&store, "fengshan").await;
        let r = store
            .import_surveys(&fengshan, &good, vec![], "t.csv", now)
            .await
            .unwrap();
        assert_eq!((r.stored, r.bad_rows[0].row), (0, 3));
    }
}

fn ind(kpi: KpiKind, weight: u32) -> Indicator {
    Indicator {
        kpi,
        weight,
        target: None,
    }
}

#[tokio::test]
async fn schemes_are_checked_and_monthly_scores_ranked_with_ties() {
    for store in fresh_stores().await {
        with_small_city(&store, "x").await;
        load_fixture(&store).await;
        let city = actor(&store, "city").await;
        let now = cn(4, 1, 9, 0);
        let low = Scheme {
            name: "乡镇（街道）月度考核".into(),
            assessed: AssessedKind::Township,
            indicators: vec![
                ind(KpiKind::SatisfactionRate, 20),
                ind(KpiKind::CloseRate, 80),
            ],
        };
        match store.save_scheme(&city, &low, now).await {
            Err(StoreError::Invalid { field, message }) => {
                assert_eq!(field, "indicators");
                assert_eq!(message, "满意率权重不得低于 30%（O5）");
            }
            other => panic!("{other:?}"),
        }
        let fengshan = actor(&store, "fengshan").await;
        assert!(store.save_scheme(&fengshan, &low, now).await.is_err());

        // 凤山: satisfaction 2/3, close rate 3/5 → 66.67×0.4 + 60×0.6 = 62.67.
        // 梨洲 (E7 due 03-09, not closed; nothing rated): close 0% → only data, 0.
        let township = Scheme {
            indicators: vec![
                ind(KpiKind::SatisfactionRate, 40),
                ind(KpiKind::CloseRate, 60),
            ],
            ..low.clone()
        };
        let saved = store.save_scheme(&city, &township, now).await.unwrap();
        let s = store.scores(&city, saved.id, "2026-03").await.unwrap();
        let got: Vec<(&str, Option<usize>, Option<f64>)> = s
            .rows
            .iter()
            .map(|r| (r.body.code.as_str(), r.rank, r.score.total))
            .collect();
        assert_eq!(
            got,
            vec![
                ("330281002", Some(1), Some(62.67)),
                ("330281001", Some(2), Some(0.0))
            ]
        );

        // Grid teams on return rate alone: 舜北1 (E1 E2 E4 none returned) and
        // 花园1 (E7) both 100 and tied first (红榜); 舜北2 (E3 returned) 0, 黑榜.
        let grids = Scheme {
            name: "网格团队月度考核".into(),
            assessed: AssessedKind::GridTeam,
            indicators: vec![ind(KpiKind::ReturnRate, 100)],
        };
        let saved = store.save_scheme(&city, &grids, now).await.unwrap();
        let s = store.scores(&city, saved.id, "2026-03").await.unwrap();
        let got: Vec<(&str, Option<usize>, Option<Board>)> = s
            .rows
            .iter()
            .map(|r| (r.body.code.as_str(), r.rank, r.board))
            .collect();
        assert_eq!(
            got,
            vec![
                (LZ, Some(1), Some(Board::Red)),
                (G1, Some(1), Some(Board::Red)),
                (G2, Some(3), Some(Board::Black)),
            ]
        );
        // 凤山's command room ranks only its own grids, and not townships at all.
        let own = store.scores(&fengshan, saved.id, "2026-03").await.unwrap();
        assert_eq!(own.rows.len(), 2);
        let schemes = store.schemes(&fengshan).await.unwrap();
        assert_eq!(schemes.len(), 1);
        assert!(matches!(
            store.scores(&fengshan, schemes[0].id - 1, "2026-03").await,
            Err(StoreError::NotFound)
        ));
    }
}

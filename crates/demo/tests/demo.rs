//! Properties the consumer of the demo relies on: real divisions, a consistent map,
//! valid codes, and events that can be driven through the lifecycle as given.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use chrono::{NaiveDate, TimeDelta};
use zhili_demo::{DemoCity, EventSeed, Grid, Stage, TownshipKind, generate};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

fn city() -> &'static DemoCity {
    static CITY: OnceLock<DemoCity> = OnceLock::new();
    CITY.get_or_init(|| generate(today()))
}

const YUYAO: [f64; 4] = [121.0, 29.8, 121.4, 30.3];
const FENGSHAN: &str = "330281002";
const LIZHOU: &str = "330281001";

/// `[min_lon, min_lat, max_lon, max_lat]` of a grid, after checking that its polygon is
/// a closed axis-aligned rectangle.
fn rect(g: &Grid) -> [f64; 4] {
    let p = &g.polygon;
    assert_eq!(p.len(), 5, "{} is not a closed rectangle", g.code);
    assert_eq!(p[0], p[4], "{} ring is not closed", g.code);
    let xs: BTreeSet<u64> = p.iter().map(|q| q.0.to_bits()).collect();
    let ys: BTreeSet<u64> = p.iter().map(|q| q.1.to_bits()).collect();
    assert_eq!(
        (xs.len(), ys.len()),
        (2, 2),
        "{} is not axis-aligned",
        g.code
    );
    let min_x = p.iter().map(|q| q.0).fold(f64::INFINITY, f64::min);
    let max_x = p.iter().map(|q| q.0).fold(f64::NEG_INFINITY, f64::max);
    let min_y = p.iter().map(|q| q.1).fold(f64::INFINITY, f64::min);
    let max_y = p.iter().map(|q| q.1).fold(f64::NEG_INFINITY, f64::max);
    assert!(min_x < max_x && min_y < max_y, "{} is empty", g.code);
    [min_x, min_y, max_x, max_y]
}

fn area([x0, y0, x1, y1]: [f64; 4]) -> f64 {
    (x1 - x0) * (y1 - y0)
}

fn overlap(a: [f64; 4], b: [f64; 4]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    w * h
}

fn inside(r: [f64; 4], lon: f64, lat: f64) -> bool {
    r[0] <= lon && lon <= r[2] && r[1] <= lat && lat <= r[3]
}

fn contains(outer: [f64; 4], inner: [f64; 4]) -> bool {
    outer[0] <= inner[0] && inner[2] <= outer[2] && outer[1] <= inner[1] && inner[3] <= outer[3]
}

fn township_of(e: &EventSeed) -> &str {
    &e.grid_code[..9]
}

#[test]
fn same_day_gives_identical_output() {
    let a = generate(today());
    let b = generate(today());
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[test]
fn today_only_moves_dates() {
    let later = generate(today() + TimeDelta::days(100));
    let now = city();
    assert_eq!(later.grids, now.grids);
    assert_eq!(later.events.len(), now.events.len());
    for (a, b) in now.events.iter().zip(&later.events) {
        assert_eq!(a.text, b.text);
        assert_eq!(b.reported_at - a.reported_at, TimeDelta::days(100));
    }
}

#[test]
fn real_townships_and_villages() {
    let c = city();
    assert_eq!(
        (c.city.code.as_str(), c.city.name.as_str()),
        ("330281", "余姚市")
    );
    assert_eq!(c.townships.len(), 21);
    assert_eq!(c.villages.len(), 326);
    let by_code: BTreeMap<&str, _> = c.townships.iter().map(|t| (t.code.as_str(), t)).collect();
    assert_eq!(by_code[FENGSHAN].name, "凤山街道");
    assert_eq!(by_code[FENGSHAN].kind, TownshipKind::Street);
    assert_eq!(by_code[FENGSHAN].short_name(), "凤山");
    assert_eq!(by_code[LIZHOU].name, "梨洲街道");
    assert_eq!(by_code["330281114"].name, "梁弄镇");
    assert_eq!(by_code["330281201"].name, "鹿亭乡");
    assert_eq!(by_code["330281201"].kind, TownshipKind::Xiang);
    let kinds = |k| c.townships.iter().filter(|t| t.kind == k).count();
    assert_eq!(
        (
            kinds(TownshipKind::Street),
            kinds(TownshipKind::Town),
            kinds(TownshipKind::Xiang)
        ),
        (6, 14, 1)
    );
    let village = |code: &str| c.villages.iter().find(|v| v.code == code).unwrap();
    assert_eq!(village("330281002001").name, "梦麟社区");
    assert!(village("330281002001").is_community);
    assert_eq!(village("330281001200").name, "最良村");
    assert!(!village("330281001200").is_community);
    assert_eq!(village("330281002013").name, "阳明东路社区");
    for v in &c.villages {
        assert_eq!(v.code.len(), 12);
        assert!(v.code.starts_with(&v.township_code), "{}", v.code);
        assert!(by_code.contains_key(v.township_code.as_str()));
        assert!(!v.name.ends_with("村委会"), "{}", v.name);
        // 居委会 stays only where 社区 would clash with a sibling's name.
        if let Some(stem) = v.name.strip_suffix("居委会") {
            let clash = format!("{stem}社区");
            assert!(
                c.villages
                    .iter()
                    .any(|o| o.township_code == v.township_code && o.name == clash)
            );
        }
    }
    let per_township = |code: &str| {
        c.villages
            .iter()
            .filter(|v| v.township_code == code)
            .count()
    };
    assert_eq!(per_township(FENGSHAN), 21);
    assert_eq!(per_township("330281004"), 28);
}

#[test]
fn township_boxes_are_apart_and_inside_yuyao() {
    let t = &city().townships;
    for (i, a) in t.iter().enumerate() {
        assert!(contains(YUYAO, a.bbox), "{} outside", a.name);
        for b in &t[i + 1..] {
            assert_eq!(
                overlap(a.bbox, b.bbox),
                0.0,
                "{} overlaps {}",
                a.name,
                b.name
            );
        }
    }
}

#[test]
fn grids_tile_villages_and_never_overlap() {
    let c = city();
    let grids: Vec<(&Grid, [f64; 4])> = c.grids.iter().map(|g| (g, rect(g))).collect();
    for v in &c.villages {
        let n = c.grids.iter().filter(|g| g.village_code == v.code).count();
        assert!((1..=3).contains(&n), "{} has {n} grids", v.name);
    }
    for (i, (a, ra)) in grids.iter().enumerate() {
        assert!(contains(YUYAO, *ra), "{} outside 余姚", a.code);
        for (b, rb) in &grids[i + 1..] {
            assert_eq!(overlap(*ra, *rb), 0.0, "{} overlaps {}", a.code, b.code);
        }
    }
    // Non-overlapping and inside the box, with areas adding up: they cover it exactly.
    for t in &c.townships {
        let mine: Vec<_> = grids
            .iter()
            .filter(|(g, _)| g.township_code == t.code)
            .collect();
        for (g, r) in &mine {
            assert!(contains(t.bbox, *r), "{} outside {}", g.code, t.name);
        }
        let total: f64 = mine.iter().map(|(_, r)| area(*r)).sum();
        assert!(
            (total - area(t.bbox)).abs() < 1e-9,
            "{} not covered",
            t.name
        );
    }
    let first = c.grids.iter().find(|g| g.code == "33028100200101").unwrap();
    assert_eq!(first.name, "梦麟社区第1网格");
    for g in &c.grids {
        assert_eq!(g.code.len(), 14);
        assert!(g.code.starts_with(&g.village_code));
        assert!(g.village_code.starts_with(&g.township_code));
    }
}

#[test]
fn grid_types_follow_the_rules() {
    let c = city();
    let allowed = [
        "urban_community",
        "urban_village",
        "ordinary_village",
        "mountain_village",
    ];
    for g in &c.grids {
        assert!(allowed.contains(&g.grid_type), "{}", g.grid_type);
        let v = c
            .villages
            .iter()
            .find(|v| v.code == g.village_code)
            .unwrap();
        let t = c
            .townships
            .iter()
            .find(|t| t.code == g.township_code)
            .unwrap();
        let mountain_township =
            ["四明山镇", "大岚镇", "鹿亭乡", "梁弄镇"].contains(&t.name.as_str());
        let expected = if v.is_community {
            "urban_community"
        } else if t.kind == TownshipKind::Street {
            "urban_village"
        } else if mountain_township {
            "mountain_village"
        } else {
            g.grid_type // ordinary, or one of the hill villages of 陆埠/大隐
        };
        assert_eq!(g.grid_type, expected, "{}", g.name);
        if g.grid_type == "mountain_village" && !mountain_township {
            assert!(
                ["陆埠镇", "大隐镇"].contains(&t.name.as_str()),
                "{}",
                g.name
            );
        }
        if g.grid_type == "mountain_village" {
            assert!(
                g.code.ends_with("01")
                    && !c
                        .grids
                        .iter()
                        .any(|o| o.code == format!("{}02", g.village_code))
            );
        }
    }
    for kind in allowed {
        assert!(c.grids.iter().any(|g| g.grid_type == kind), "no {kind}");
    }
}

#[test]
fn all_codes_are_unique() {
    let c = city();
    let mut seen = HashSet::new();
    let all = std::iter::once(&c.city.code)
        .chain(c.townships.iter().map(|t| &t.code))
        .chain(c.villages.iter().map(|v| &v.code))
        .chain(c.grids.iter().map(|g| &g.code))
        .chain(c.departments.iter().map(|d| &d.code))
        .chain(c.stationed_units.iter().map(|s| &s.code));
    for code in all {
        assert!(seen.insert(code.clone()), "duplicate code {code}");
    }
    let mut cats = HashSet::new();
    assert!(
        c.categories.iter().all(|k| cats.insert(&k.code)),
        "duplicate category"
    );
    let mut users = HashSet::new();
    assert!(
        c.users.iter().all(|u| users.insert(&u.username)),
        "duplicate user"
    );
    let mut ids = HashSet::new();
    for e in &c.events {
        assert!(
            ids.insert((e.channel, &e.external_id)),
            "duplicate {}",
            e.external_id
        );
    }
    for t in &c.townships {
        let mut names = HashSet::new();
        for v in c.villages.iter().filter(|v| v.township_code == t.code) {
            assert!(names.insert(&v.name), "two {} in {}", v.name, t.name);
        }
    }
}

#[test]
fn departments_and_stationed_units() {
    let c = city();
    let dept = |code: &str| {
        c.departments
            .iter()
            .find(|d| d.code == code)
            .map(|d| d.name.as_str())
    };
    assert_eq!(dept("D-ZJ"), Some("余姚市住房和城乡建设局"));
    for (code, word) in [
        ("D-HB", "生态环境"),
        ("D-SJ", "市场监督管理"),
        ("D-ZF", "综合行政执法"),
        ("D-GA", "公安"),
        ("D-YJ", "应急管理"),
        ("D-WJ", "卫生健康"),
        ("D-JY", "教育"),
        ("D-RS", "人力资源和社会保障"),
        ("D-JT", "交通运输"),
        ("D-ZR", "自然资源和规划"),
        ("D-SL", "水利"),
        ("D-XF", "信访"),
        ("D-MZ", "民政"),
    ] {
        assert!(dept(code).is_some_and(|n| n.contains(word)), "{code}");
    }
    assert_eq!(c.stationed_units.len(), 4 * c.townships.len());
    for s in &c.stationed_units {
        assert!(dept(&s.department_code).is_some(), "{}", s.code);
        let t = c
            .townships
            .iter()
            .find(|t| t.code == s.township_code)
            .unwrap();
        assert!(s.name.starts_with(t.short_name()), "{}", s.name);
        assert!(s.code.starts_with(&format!("S-{}-", t.code)));
    }
    let unit = |code: &str| c.stationed_units.iter().find(|s| s.code == code).unwrap();
    assert_eq!(unit("S-330281002-PCS").name, "凤山派出所");
    assert_eq!(unit("S-330281002-PCS").department_code, "D-GA");
    assert_eq!(unit("S-330281002-SJS").name, "凤山市场监管所");
    assert_eq!(unit("S-330281110-ZFZD").name, "三七市综合行政执法中队");
}

#[test]
fn category_tree_is_well_formed() {
    let c = city();
    let platforms = [
        "comprehensive_governance",
        "market_supervision",
        "law_enforcement",
        "public_service",
    ];
    let roots: Vec<_> = c
        .categories
        .iter()
        .filter(|k| k.parent_code.is_none())
        .collect();
    let leaves: Vec<_> = c
        .categories
        .iter()
        .filter(|k| k.parent_code.is_some())
        .collect();
    assert!((10..=16).contains(&roots.len()), "{} 大类", roots.len());
    assert!(leaves.len() >= 45, "{} 小类", leaves.len());
    for r in &roots {
        assert_eq!(r.code.len(), 2);
        assert!(
            leaves
                .iter()
                .any(|l| l.parent_code.as_ref() == Some(&r.code)),
            "{} empty",
            r.name
        );
    }
    for l in &leaves {
        let parent = roots
            .iter()
            .find(|r| Some(&r.code) == l.parent_code.as_ref());
        let parent = parent.unwrap_or_else(|| panic!("{} has no 大类", l.code));
        assert_eq!(l.code.len(), 4);
        assert!(l.code.starts_with(&parent.code));
        assert_eq!(l.platform, parent.platform);
        assert!(platforms.contains(&l.platform));
        assert!((1..=30).contains(&l.limit_days), "{}", l.name);
        let d = l
            .department_code
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no department", l.name));
        assert!(
            c.departments.iter().any(|x| x.code == d),
            "{} → {d}",
            l.name
        );
    }
    for p in platforms {
        assert!(roots.iter().any(|r| r.platform == p), "no 大类 on {p}");
    }
    let focus: BTreeSet<&str> = leaves
        .iter()
        .filter(|l| l.focus)
        .map(|l| l.name.as_str())
        .collect();
    for name in [
        "噪音扰民",
        "群租房",
        "房屋装修纠纷",
        "P2P网贷",
        "涉军诉求",
        "邻避问题",
    ] {
        assert!(focus.contains(name), "{name} is not a focus issue");
    }
    assert_eq!(focus.len(), 6);
    for name in [
        "违章搭建",
        "占道经营",
        "食品安全",
        "垃圾清运",
        "道路破损",
        "路灯故障",
        "消防通道占用",
        "邻里纠纷",
        "劳资纠纷",
        "欠薪",
        "物业纠纷",
        "废气污染",
        "污水排放",
    ] {
        assert!(leaves.iter().any(|l| l.name == name), "no {name}");
    }
}

#[test]
fn demo_accounts_exist_with_their_organisations() {
    let c = city();
    let user = |name: &str| {
        c.users
            .iter()
            .find(|u| u.username == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let expected = [
        ("admin", "admin", None),
        ("city", "city_operator", None),
        ("leader", "city_leader", None),
        ("fengshan", "township_operator", Some(FENGSHAN)),
        ("lizhou", "township_operator", Some(LIZHOU)),
        ("zhujian", "unit_handler", Some("D-ZJ")),
        ("grid1", "grid_worker", Some("33028100200101")),
        ("oversight", "oversight", None),
        ("citizen1", "citizen", None),
        ("hotline12345", "integration", None),
    ];
    for (name, role, org) in expected {
        let u = user(name);
        assert_eq!(u.role, role, "{name}");
        assert_eq!(u.org_code.as_deref(), org, "{name}");
        assert!(
            u.display_name
                .chars()
                .any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)),
            "{name}"
        );
    }
    let roles = [
        "admin",
        "city_operator",
        "city_leader",
        "township_operator",
        "unit_handler",
        "grid_worker",
        "oversight",
        "citizen",
        "integration",
        "security_admin",
        "auditor",
    ];
    for u in &c.users {
        assert!(roles.contains(&u.role), "{}", u.role);
        let org = u.org_code.as_deref();
        let ok = match u.role {
            "township_operator" => c.townships.iter().any(|t| Some(t.code.as_str()) == org),
            "unit_handler" => {
                c.departments.iter().any(|d| Some(d.code.as_str()) == org)
                    || c.stationed_units
                        .iter()
                        .any(|s| Some(s.code.as_str()) == org)
            }
            "grid_worker" => c.grids.iter().any(|g| Some(g.code.as_str()) == org),
            _ => org.is_none(),
        };
        assert!(ok, "{} has org {:?}", u.username, org);
    }
}

#[test]
fn events_lie_in_their_grids() {
    let c = city();
    let grids: BTreeMap<&str, &Grid> = c.grids.iter().map(|g| (g.code.as_str(), g)).collect();
    let leaves: BTreeSet<&str> = c
        .categories
        .iter()
        .filter(|k| k.parent_code.is_some())
        .map(|k| k.code.as_str())
        .collect();
    for e in &c.events {
        let g = grids
            .get(e.grid_code.as_str())
            .unwrap_or_else(|| panic!("{} has no grid", e.external_id));
        assert!(
            inside(rect(g), e.lon, e.lat),
            "{} outside {}",
            e.external_id,
            g.code
        );
        assert!(
            leaves.contains(e.category_code.as_str()),
            "{} not a 小类",
            e.category_code
        );
        let t = c
            .townships
            .iter()
            .find(|t| t.code == g.township_code)
            .unwrap();
        let v = c
            .villages
            .iter()
            .find(|v| v.code == g.village_code)
            .unwrap();
        let prefix = format!("余姚市{}{}", t.name, v.name);
        assert!(e.address.starts_with(&prefix), "{} vs {prefix}", e.address);
    }
}

#[test]
fn about_three_thousand_events_more_in_the_centre() {
    let c = city();
    assert!(
        (2800..=3300).contains(&c.events.len()),
        "{}",
        c.events.len()
    );
    let count = |code: &str| c.events.iter().filter(|e| township_of(e) == code).count();
    assert!(count(FENGSHAN) >= 100, "凤山 {}", count(FENGSHAN));
    assert!(count(LIZHOU) >= 100, "梨洲 {}", count(LIZHOU));
    assert!(
        count(FENGSHAN) > 2 * count("330281116"),
        "centre busier than 四明山"
    );
    // More in recent months.
    let t0 = c.events[0].reported_at;
    let recent = c
        .events
        .iter()
        .filter(|e| e.reported_at - t0 > TimeDelta::days(300))
        .count();
    let oldest = c
        .events
        .iter()
        .filter(|e| e.reported_at - t0 <= TimeDelta::days(65))
        .count();
    assert!(recent > oldest, "{recent} recent vs {oldest} oldest");
}

#[test]
fn every_stage_occurs_everywhere_it_must() {
    let c = city();
    for stage in Stage::ALL {
        let n = c.events.iter().filter(|e| e.stage == stage).count();
        assert!(n >= 10, "{stage:?} occurs {n} times");
        assert!(
            c.events
                .iter()
                .any(|e| e.stage == stage && township_of(e) == FENGSHAN),
            "凤山 has no {stage:?}"
        );
    }
    let closed = c.events.iter().filter(|e| e.stage == Stage::Closed).count();
    assert!(closed * 2 > c.events.len(), "most events are closed");
    // Old events are finished: nothing older than a month is still waiting for intake.
    let cutoff = c.events.last().unwrap().reported_at - TimeDelta::days(35);
    for e in c.events.iter().filter(|e| e.reported_at < cutoff) {
        assert!(
            !matches!(
                e.stage,
                Stage::Reported | Stage::Accepted | Stage::Dispatched
            ),
            "{} is old and still {:?}",
            e.external_id,
            e.stage
        );
    }
}

#[test]
fn reported_within_the_year_before_today() {
    let c = city();
    // Midnight at the start of `today` in China (UTC+8).
    let day_start = today().and_hms_opt(0, 0, 0).unwrap().and_utc() - TimeDelta::hours(8);
    for e in &c.events {
        assert!(e.reported_at < day_start, "{} in the future", e.external_id);
        assert!(
            e.reported_at >= day_start - TimeDelta::days(365),
            "{} too old",
            e.external_id
        );
    }
    assert!(
        c.events
            .windows(2)
            .all(|w| w[0].reported_at <= w[1].reported_at)
    );
}

#[test]
fn lifecycle_flags_fit_the_stage() {
    let c = city();
    for e in &c.events {
        match e.satisfaction {
            Some(s) => {
                assert!((1..=5).contains(&s));
                assert!(
                    matches!(e.stage, Stage::Rated | Stage::Closed),
                    "{:?} rated",
                    e.stage
                );
            }
            None => assert_ne!(
                e.stage,
                Stage::Rated,
                "{} rated without a score",
                e.external_id
            ),
        }
        if e.returned_once {
            assert!(
                e.stage.has_reached(Stage::Handling),
                "{:?} returned",
                e.stage
            );
        }
        if e.reworked {
            assert!(
                e.stage.has_reached(Stage::Verified),
                "{:?} reworked",
                e.stage
            );
        }
    }
    let n = c.events.len() as f64;
    let share =
        |f: &dyn Fn(&EventSeed) -> bool| c.events.iter().filter(|e| f(e)).count() as f64 / n;
    let returned = share(&|e| e.returned_once);
    let reworked = share(&|e| e.reworked);
    assert!((0.05..=0.11).contains(&returned), "returned {returned}");
    assert!((0.04..=0.09).contains(&reworked), "reworked {reworked}");
    let rated: Vec<u8> = c.events.iter().filter_map(|e| e.satisfaction).collect();
    let pleased = rated.iter().filter(|&&s| s <= 2).count() as f64 / rated.len() as f64;
    let angry = rated.iter().filter(|&&s| s >= 4).count() as f64 / rated.len() as f64;
    assert!(
        pleased > 0.7 && angry < 0.12 && angry > 0.0,
        "{pleased} {angry}"
    );
    assert!(
        c.events
            .iter()
            .any(|e| e.stage == Stage::Closed && e.satisfaction.is_none())
    );
}

#[test]
fn texts_and_reporters_are_plausible() {
    let c = city();
    let channels = [
        "hotline_12345",
        "exchange_110",
        "petition",
        "chat_group",
        "online_platform",
        "patrol",
        "web_form",
        "open311",
    ];
    let kinds = [
        "citizen",
        "grid_worker",
        "cleaner",
        "courier",
        "delivery_rider",
        "deputy",
        "department",
        "notable_citizen",
        "social_org",
        "anonymous",
    ];
    let priorities = ["low", "normal", "high", "urgent"];
    let mut by_channel: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_priority: BTreeMap<&str, usize> = BTreeMap::new();
    let mut texts = HashSet::new();
    for e in &c.events {
        assert!(channels.contains(&e.channel), "{}", e.channel);
        assert!(kinds.contains(&e.reporter_kind), "{}", e.reporter_kind);
        assert!(priorities.contains(&e.priority), "{}", e.priority);
        *by_channel.entry(e.channel).or_default() += 1;
        *by_priority.entry(e.priority).or_default() += 1;
        let len = e.text.chars().count();
        assert!((20..=200).contains(&len), "{len} chars: {}", e.text);
        assert!(!e.text.contains('{') && !e.text.contains('}'), "{}", e.text);
        texts.insert(&e.text);
        if e.reporter_kind == "anonymous" {
            assert!(e.reporter_name.is_none() && e.reporter_phone.is_none());
        } else {
            assert!(e.reporter_name.is_some(), "{} has no name", e.external_id);
        }
        if let Some(p) = &e.reporter_phone {
            assert_eq!(p.len(), 11);
            assert!(p.chars().all(|ch| ch.is_ascii_digit()));
            assert!(["13", "15", "18"].contains(&&p[..2]), "{p}");
        }
    }
    assert!(
        texts.len() * 10 > c.events.len() * 9,
        "texts repeat too often: {}",
        texts.len()
    );
    let largest = by_channel.iter().max_by_key(|(_, n)| **n).unwrap();
    assert_eq!(*largest.0, "hotline_12345");
    assert!(by_channel.len() == channels.len(), "{by_channel:?}");
    let normal = by_priority["normal"] as f64 / c.events.len() as f64;
    assert!(normal > 0.6, "{normal}");
    let anonymous = c
        .events
        .iter()
        .filter(|e| e.reporter_kind == "anonymous")
        .count() as f64
        / c.events.len() as f64;
    assert!((0.03..=0.08).contains(&anonymous), "{anonymous}");
}

#[test]
fn demo_accounts_have_a_history() {
    let c = city();
    let mine = |u: &str| -> Vec<&EventSeed> {
        c.events
            .iter()
            .filter(|e| e.reporter_username.as_deref() == Some(u))
            .collect()
    };
    let citizen1 = mine("citizen1");
    assert!((20..=35).contains(&citizen1.len()), "{}", citizen1.len());
    for e in &citizen1 {
        assert_eq!((e.channel, e.reporter_kind), ("web_form", "citizen"));
        assert_eq!(e.reporter_name.as_deref(), Some("刘海波"));
    }
    let grid1 = mine("grid1");
    assert!((20..=35).contains(&grid1.len()), "{}", grid1.len());
    for e in &grid1 {
        assert_eq!(e.reporter_kind, "grid_worker");
        assert_eq!(e.grid_code, "33028100200101");
    }
    assert!(grid1.iter().filter(|e| e.channel == "patrol").count() >= 25);
    for list in [&citizen1, &grid1] {
        let stages: HashSet<Stage> = list.iter().map(|e| e.stage).collect();
        assert_eq!(
            stages.len(),
            Stage::ALL.len(),
            "not spread over every stage"
        );
    }
    assert!(c.events.iter().all(|e| e.reporter_username.is_none()
        || ["citizen1", "grid1"].contains(&e.reporter_username.as_deref().unwrap())));
}

#[test]
fn stage_path_order() {
    assert!(Stage::Closed.has_reached(Stage::Handling));
    assert!(Stage::Handling.has_reached(Stage::Handling));
    assert!(!Stage::Dispatched.has_reached(Stage::Handling));
    assert!(!Stage::Suspended.has_reached(Stage::Handling));
    assert!(!Stage::Rejected.has_reached(Stage::Accepted));
    assert_eq!(Stage::ALL.len(), 11);
}

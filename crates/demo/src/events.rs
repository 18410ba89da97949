//! About 3,000 events over the year before `today`: where, what, who reported them, and
//! how far along their life each has got.
//!
//! Most events are drawn at random (more recent ones, more in the city centre); a few
//! are placed on purpose so that the demo always shows what it must: every stage in
//! 凤山街道, and a history for the demo accounts `citizen1` and `grid1`.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use crate::categories::{self, LAW_ENFORCEMENT, Leaf, MARKET_SUPERVISION, Seen, Setting};
use crate::divisions::{
    Divisions, MOUNTAIN_VILLAGE, ORDINARY_VILLAGE, URBAN_COMMUNITY, URBAN_VILLAGE, round6,
};
use crate::rng::SplitMix64;
use crate::texts::{self, Scene};
use crate::units::department_name;
use crate::users::{self, CITIZEN1_NAME, CITIZEN1_PHONE, FENGSHAN, GRID1_NAME, GRID1_PHONE};
use crate::{EventSeed, Stage, TownshipKind};

const TOTAL_EVENTS: usize = 3000;
const CITIZEN1_EVENTS: usize = 25;
const GRID1_EVENTS: usize = 25;
/// Events reach back this many days before `today`.
const YEAR_DAYS: i64 = 365;
/// Above 1 this bends report dates towards the present, as a growing system would see.
const RECENCY: f64 = 1.4;
/// China Standard Time, in which `today` and reporting hours are meant.
const CST_OFFSET_HOURS: i64 = 8;

/// The four central streets, with real road names and the most reports.
const CENTRAL: [&str; 4] = ["330281001", "330281002", "330281003", "330281004"];
const MOUNTAIN_TOWNSHIPS: [&str; 4] = ["330281114", "330281115", "330281116", "330281201"];

/// `(channel, share of all reports)`: the 12345 hotline takes most (DOMAIN.md D2).
const CHANNELS: &[(&str, f64)] = &[
    ("hotline_12345", 42.0),
    ("patrol", 16.0),
    ("online_platform", 10.0),
    ("chat_group", 9.0),
    ("web_form", 8.0),
    ("exchange_110", 6.0),
    ("petition", 5.0),
    ("open311", 4.0),
];

/// Who reports through a channel. Anonymous reports come to about 5% overall.
fn reporter_kinds(channel: &str) -> &'static [(&'static str, f64)] {
    match channel {
        "hotline_12345" => &[
            ("citizen", 86.0),
            ("anonymous", 7.0),
            ("notable_citizen", 3.0),
            ("deputy", 2.0),
            ("courier", 1.0),
            ("delivery_rider", 1.0),
        ],
        "exchange_110" => &[("citizen", 88.0), ("anonymous", 12.0)],
        "petition" => &[
            ("citizen", 80.0),
            ("deputy", 10.0),
            ("social_org", 5.0),
            ("notable_citizen", 5.0),
        ],
        "chat_group" => &[
            ("citizen", 45.0),
            ("cleaner", 15.0),
            ("courier", 12.0),
            ("delivery_rider", 13.0),
            ("notable_citizen", 5.0),
            ("social_org", 5.0),
            ("grid_worker", 5.0),
        ],
        "online_platform" => &[("citizen", 88.0), ("anonymous", 8.0), ("deputy", 4.0)],
        "patrol" => &[("grid_worker", 85.0), ("department", 15.0)],
        // web_form, open311
        _ => &[("citizen", 92.0), ("anonymous", 8.0)],
    }
}

/// How far along an event of a given age is: the old ones are mostly closed, the recent
/// ones are spread over the whole life.
fn stage_table(days_ago: i64) -> &'static [(Stage, f64)] {
    use Stage::*;
    match days_ago {
        ..=2 => &[
            (Reported, 22.0),
            (Accepted, 18.0),
            (Rejected, 6.0),
            (Dispatched, 20.0),
            (Handling, 22.0),
            (Resolved, 6.0),
            (Verified, 2.0),
            (Informed, 1.0),
            (Closed, 1.0),
            (Suspended, 2.0),
        ],
        3..=7 => &[
            (Reported, 3.0),
            (Accepted, 6.0),
            (Rejected, 6.0),
            (Dispatched, 10.0),
            (Handling, 25.0),
            (Resolved, 16.0),
            (Verified, 12.0),
            (Informed, 9.0),
            (Rated, 6.0),
            (Closed, 4.0),
            (Suspended, 3.0),
        ],
        8..=30 => &[
            (Reported, 0.5),
            (Accepted, 1.0),
            (Rejected, 6.0),
            (Dispatched, 2.0),
            (Handling, 9.0),
            (Resolved, 6.0),
            (Verified, 6.0),
            (Informed, 8.0),
            (Rated, 20.0),
            (Closed, 37.0),
            (Suspended, 4.5),
        ],
        _ => &[
            (Rejected, 5.0),
            (Handling, 0.7),
            (Suspended, 1.5),
            (Informed, 0.5),
            (Rated, 1.5),
            (Closed, 90.8),
        ],
    }
}

/// An age that fits an event placed at a given stage on purpose.
fn days_ago_for(rng: &mut SplitMix64, stage: Stage) -> i64 {
    let (lo, hi) = match stage {
        Stage::Reported => (1, 2),
        Stage::Accepted => (1, 3),
        Stage::Dispatched => (1, 4),
        Stage::Handling => (2, 10),
        Stage::Resolved | Stage::Verified => (3, 12),
        Stage::Informed => (4, 20),
        Stage::Rated => (5, 30),
        Stage::Suspended => (5, 60),
        Stage::Rejected | Stage::Closed => (3, 300),
    };
    rng.between(lo, hi)
}

/// 1 非常满意 … 5 非常不满意; a returned or reworked event leaves people less pleased.
fn satisfaction(rng: &mut SplitMix64, troubled: bool) -> u8 {
    let table: &[(u8, f64)] = if troubled {
        &[(1, 35.0), (2, 30.0), (3, 20.0), (4, 10.0), (5, 5.0)]
    } else {
        &[(1, 56.0), (2, 27.0), (3, 11.0), (4, 4.0), (5, 2.0)]
    };
    rng.weighted_pick(table)
}

fn priority(rng: &mut SplitMix64, leaf: &Leaf) -> &'static str {
    let table: &[(&str, f64)] = if leaf.hazard {
        &[
            ("low", 2.0),
            ("normal", 55.0),
            ("high", 30.0),
            ("urgent", 13.0),
        ]
    } else if leaf.focus {
        &[
            ("low", 2.0),
            ("normal", 58.0),
            ("high", 35.0),
            ("urgent", 5.0),
        ]
    } else {
        &[
            ("low", 9.0),
            ("normal", 81.0),
            ("high", 8.0),
            ("urgent", 2.0),
        ]
    };
    rng.weighted_pick(table)
}

/// Seconds after midnight: reports come in office and evening hours, patrols by day.
fn time_of_day(rng: &mut SplitMix64, channel: &str) -> i64 {
    const HOURS: [f64; 24] = [
        0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 3.0, 3.2, 3.0, 2.6, 1.8, 2.0, 2.8, 3.0, 2.8, 2.4,
        2.0, 2.2, 2.0, 1.6, 0.9, 0.4,
    ];
    let hour = if channel == "patrol" {
        rng.between(8, 17)
    } else {
        rng.weighted(&HOURS) as i64
    };
    hour * 3600 + rng.between(0, 3599)
}

/// Whether a kind of reporter comes across a kind of problem. Departments report what
/// their inspections find, which is market, enforcement and safety matters.
fn can_report(kind: &str, platform: &str, seen: Seen) -> bool {
    match kind {
        "cleaner" | "courier" | "delivery_rider" => seen == Seen::FromTheStreet,
        "grid_worker" | "social_org" => seen != Seen::ByThoseAffected,
        "department" => {
            seen != Seen::ByThoseAffected
                && (platform == MARKET_SUPERVISION || platform == LAW_ENFORCEMENT)
        }
        _ => true,
    }
}

/// How often a kind of problem turns up in a kind of grid.
fn setting_factor(setting: Setting, grid_type: &str) -> f64 {
    match (setting, grid_type) {
        (Setting::Anywhere, _) => 1.0,
        (Setting::Urban, URBAN_COMMUNITY) => 1.6,
        (Setting::Urban, URBAN_VILLAGE) => 1.0,
        (Setting::Urban, ORDINARY_VILLAGE) => 0.35,
        (Setting::Urban, _) => 0.15,
        (Setting::Rural, URBAN_COMMUNITY) => 0.15,
        (Setting::Rural, URBAN_VILLAGE) => 0.7,
        (Setting::Rural, _) => 1.6,
    }
}

fn external_id_prefix(channel: &str) -> &'static str {
    match channel {
        "hotline_12345" => "12345",
        "exchange_110" => "110",
        "petition" => "XF",
        "chat_group" => "QZ",
        "online_platform" => "WZ",
        "patrol" => "XC",
        "web_form" => "WEB",
        _ => "O311",
    }
}

/// Who reported, when it is fixed in advance (a demo account).
struct KnownReporter {
    name: &'static str,
    phone: &'static str,
    username: &'static str,
}

struct Generator<'a> {
    d: &'a Divisions,
    rng: SplitMix64,
    /// Midnight at the start of `today`, China time, as a naive UTC instant.
    today_start_utc: NaiveDateTime,
    villages_of: Vec<Vec<usize>>,
    grids_of: Vec<Vec<usize>>,
    leaves: Vec<(&'static str, &'static Leaf)>,
    grid1: Option<usize>,
}

pub(crate) fn generate(today: NaiveDate, d: &Divisions) -> Vec<EventSeed> {
    let mut g = Generator::new(today, d);
    let mut events = Vec::with_capacity(TOTAL_EVENTS);

    // Placed on purpose first, so the random bulk below never has to make up for them.
    if let Some(fengshan) = d.townships.iter().position(|t| t.code == FENGSHAN) {
        for stage in Stage::ALL {
            let grid = g.grid_in(fengshan);
            let days_ago = days_ago_for(&mut g.rng, stage);
            let channel = g.rng.weighted_pick(CHANNELS);
            let kind = g.rng.weighted_pick(reporter_kinds(channel));
            events.push(g.event(grid, days_ago, stage, channel, kind, None));
        }
    }
    let citizen1 = KnownReporter {
        name: CITIZEN1_NAME,
        phone: CITIZEN1_PHONE,
        username: "citizen1",
    };
    for i in 0..CITIZEN1_EVENTS {
        let stage = Stage::ALL[i % Stage::ALL.len()];
        // citizen1 lives in 凤山 and mostly reports around home.
        let township = g.rng.weighted_pick(&[
            (FENGSHAN, 4.0),
            (CENTRAL[0], 1.0),
            (CENTRAL[2], 1.0),
            (CENTRAL[3], 1.0),
        ]);
        let Some(t) = d.townships.iter().position(|t| t.code == township) else {
            continue;
        };
        let grid = g.grid_in(t);
        let days_ago = days_ago_for(&mut g.rng, stage);
        let e = g.event(
            grid,
            days_ago,
            stage,
            "web_form",
            "citizen",
            Some(&citizen1),
        );
        events.push(e);
    }
    if let Some(grid) = g.grid1 {
        let grid1 = KnownReporter {
            name: GRID1_NAME,
            phone: GRID1_PHONE,
            username: "grid1",
        };
        for i in 0..GRID1_EVENTS {
            // Offset from citizen1's cycle so the two accounts differ in stage mix.
            let stage = Stage::ALL[(i + 5) % Stage::ALL.len()];
            let days_ago = days_ago_for(&mut g.rng, stage);
            let e = g.event(grid, days_ago, stage, "patrol", "grid_worker", Some(&grid1));
            events.push(e);
        }
    }

    let township_weights: Vec<f64> = d
        .townships
        .iter()
        .enumerate()
        .map(|(t, township)| {
            let factor = if CENTRAL.contains(&township.code.as_str()) {
                3.0
            } else if township.kind == TownshipKind::Street {
                1.5
            } else if MOUNTAIN_TOWNSHIPS.contains(&township.code.as_str()) {
                0.6
            } else {
                1.0
            };
            factor * g.villages_of[t].len() as f64
        })
        .collect();
    while events.len() < TOTAL_EVENTS {
        let t = g.rng.weighted(&township_weights);
        let grid = g.grid_in(t);
        let days_ago = 1 + (YEAR_DAYS as f64 * g.rng.unit().powf(RECENCY)) as i64;
        let stage = g.rng.weighted_pick(stage_table(days_ago));
        let channel = g.rng.weighted_pick(CHANNELS);
        let kind = g.rng.weighted_pick(reporter_kinds(channel));
        events.push(g.event(grid, days_ago, stage, channel, kind, None));
    }

    // Number each channel's reports per year in order of arrival, as the source
    // systems would have.
    events.sort_by_key(|e| e.reported_at);
    let mut counters: BTreeMap<(&str, i32), u32> = BTreeMap::new();
    for e in &mut events {
        let year = (e.reported_at + TimeDelta::hours(CST_OFFSET_HOURS)).year();
        let seq = counters.entry((e.channel, year)).or_insert(0);
        *seq += 1;
        e.external_id = format!("{}-{year}-{:06}", external_id_prefix(e.channel), seq);
    }
    events
}

impl<'a> Generator<'a> {
    fn new(today: NaiveDate, d: &'a Divisions) -> Self {
        let mut villages_of = vec![Vec::new(); d.townships.len()];
        for (v, &t) in d.village_township.iter().enumerate() {
            villages_of[t].push(v);
        }
        let mut grids_of = vec![Vec::new(); d.villages.len()];
        for (g, &v) in d.grid_village.iter().enumerate() {
            grids_of[v].push(g);
        }
        let grid1 =
            users::grid1_code(d).and_then(|code| d.grids.iter().position(|g| g.code == code));
        Generator {
            d,
            rng: SplitMix64::stream("events"),
            today_start_utc: today.and_time(NaiveTime::MIN) - TimeDelta::hours(CST_OFFSET_HOURS),
            villages_of,
            grids_of,
            leaves: categories::leaves().collect(),
            grid1,
        }
    }

    /// A grid of township `t`, communities weighted over villages as more people live
    /// there.
    fn grid_in(&mut self, t: usize) -> usize {
        let villages = &self.villages_of[t];
        let weights: Vec<f64> = villages
            .iter()
            .map(|&v| match self.grids_of[v].first() {
                // A village's grids all share its type.
                Some(&g) => match self.d.grids[g].grid_type {
                    URBAN_COMMUNITY => 2.0,
                    URBAN_VILLAGE => 1.2,
                    MOUNTAIN_VILLAGE => 0.7,
                    _ => 1.0,
                },
                None => 0.0,
            })
            .collect();
        let v = villages[self.rng.weighted(&weights)];
        self.rng.pick(&self.grids_of[v])
    }

    fn event(
        &mut self,
        grid: usize,
        days_ago: i64,
        stage: Stage,
        channel: &'static str,
        mut kind: &'static str,
        known: Option<&KnownReporter>,
    ) -> EventSeed {
        let rng = &mut self.rng;
        let d = self.d;
        let g = &d.grids[grid];
        let v_idx = d.grid_village[grid];
        let village = &d.villages[v_idx];
        let t_idx = d.village_township[v_idx];
        let township = &d.townships[t_idx];

        // A rating needs someone to call back.
        if kind == "anonymous" && stage == Stage::Rated {
            kind = "citizen";
        }

        let weights: Vec<f64> = self
            .leaves
            .iter()
            .map(|&(platform, l)| {
                let fits = can_report(kind, platform, l.seen);
                l.weight * setting_factor(l.setting, g.grid_type) * f64::from(u8::from(fits))
            })
            .collect();
        let leaf = self.leaves[rng.weighted(&weights)].1;

        let others: Vec<usize> = self.villages_of[t_idx]
            .iter()
            .copied()
            .filter(|&o| o != v_idx)
            .collect();
        let place2 = match others.len() {
            0 => &village.name,
            n => &d.villages[others[rng.below(n)]].name,
        };
        let scene = Scene::draw(
            rng,
            township,
            CENTRAL.contains(&township.code.as_str()),
            &village.name,
            place2,
            g.grid_type,
        );

        let department = department_name(leaf.department).unwrap_or("有关部门");
        let org = texts::social_org(rng, &scene);
        let text = match kind {
            "citizen" | "anonymous" | "notable_citizen" => {
                let template = scene.choose(rng, leaf.reports);
                let report = scene.fill(rng, template);
                match channel {
                    "petition" => format!("来信反映：{report}"),
                    "exchange_110" => format!("（110转12345）{report}"),
                    "chat_group" => format!("网格微信群群众反映：{report}"),
                    _ => report,
                }
            }
            _ => {
                let issue = scene.choose(rng, leaf.issues);
                texts::framed_issue(rng, &scene, kind, issue, department, &org)
            }
        };
        let address = scene.address(rng);

        let (reporter_name, reporter_phone, reporter_username) = match (known, kind) {
            (Some(k), _) => (
                Some(k.name.to_string()),
                Some(k.phone.to_string()),
                Some(k.username.to_string()),
            ),
            (None, "anonymous") => (None, None, None),
            (None, "department") => (Some(department.to_string()), None, None),
            (None, "social_org") => (Some(org), Some(texts::mobile(rng)), None),
            // A grid worker reporting from grid1's grid is the grid1 account.
            (None, "grid_worker") if Some(grid) == self.grid1 => (
                Some(GRID1_NAME.to_string()),
                Some(GRID1_PHONE.to_string()),
                Some("grid1".to_string()),
            ),
            (None, _) => (
                Some(texts::person_name(rng)),
                Some(texts::mobile(rng)),
                None,
            ),
        };

        let priority = priority(rng, leaf);
        let local_seconds = time_of_day(rng, channel);
        let reported_at = (self.today_start_utc - TimeDelta::days(days_ago)
            + TimeDelta::seconds(local_seconds))
        .and_utc();

        let returned_once = stage.has_reached(Stage::Handling) && rng.chance(0.095);
        let reworked = stage.has_reached(Stage::Verified) && rng.chance(0.07);
        let troubled = returned_once || reworked;
        let satisfaction = match stage {
            Stage::Rated => Some(satisfaction(rng, troubled)),
            Stage::Closed if reporter_phone.is_some() && rng.chance(0.9) => {
                Some(satisfaction(rng, troubled))
            }
            _ => None,
        };

        let [x0, y0, x1, y1] = d.grid_rect[grid];
        let lon = round6(x0 + (x1 - x0) * (0.1 + 0.8 * rng.unit()));
        let lat = round6(y0 + (y1 - y0) * (0.1 + 0.8 * rng.unit()));

        EventSeed {
            external_id: String::new(),
            channel,
            reporter_kind: kind,
            reporter_name,
            reporter_phone,
            reporter_username,
            text,
            address,
            lon,
            lat,
            category_code: leaf.code.to_string(),
            grid_code: g.code.clone(),
            priority,
            reported_at,
            stage,
            returned_once,
            reworked,
            satisfaction,
        }
    }
}

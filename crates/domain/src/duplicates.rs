//! Duplicate reports (issue #4, item 6): when is a new report the same problem as an
//! open one? Close in place, close in time and saying much the same thing. Pure
//! rules only; the storage finds the candidates and records the link.
//!
//! Text similarity is the cosine of character-bigram counts over the normalised
//! text: Chinese has no spaces to split words on, and two characters in a row are
//! close to a word ("噪音", "施工", "占道") without a segmenter. Digits, Latin
//! letters' case, whitespace and punctuation are dropped or folded, so "3号楼" and
//! "5号楼" or a phone number do not make two reports alike or different, and the
//! channels' stock phrases ("市民来电反映", "请相关部门处理") are removed first, so two
//! unrelated 12345 orders are not alike for their shared boilerplate.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::values::GeoPoint;

/// What makes a new report a duplicate of an open one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DuplicateRule {
    /// At most this far apart (metres, great-circle).
    pub radius_m: f64,
    /// Reported at most this many hours apart.
    pub window_hours: u32,
    /// At least this similar ([`text_similarity`], 0–1).
    pub min_similarity: f64,
}

/// The default similarity threshold, chosen by the tests below: rewordings of one
/// complaint as different reporters write it score about 0.5–0.65; different
/// problems at the same place score up to about 0.3 — short texts that share a
/// street name ("阳明西路路灯不亮" / "阳明西路井盖缺失") are the closest. 0.4 sits
/// between with a margin on both sides.
pub const DEFAULT_MIN_SIMILARITY: f64 = 0.4;

impl Default for DuplicateRule {
    fn default() -> Self {
        DuplicateRule {
            radius_m: 200.0,
            window_hours: 72,
            min_similarity: DEFAULT_MIN_SIMILARITY,
        }
    }
}

/// A value of a [`DuplicateRule`] out of range: which one, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleError {
    pub field: &'static str,
    pub message: &'static str,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl DuplicateRule {
    /// A rule with every value in range: a positive radius (up to 10 km), a window
    /// of 1 hour to 90 days and a threshold in (0, 1].
    pub fn checked(
        radius_m: f64,
        window_hours: u32,
        min_similarity: f64,
    ) -> Result<Self, RuleError> {
        let bad = |field, message| Err(RuleError { field, message });
        if !(radius_m.is_finite() && radius_m > 0.0 && radius_m <= 10_000.0) {
            return bad("radius_m", "半径须大于 0 米、不超过 10000 米");
        }
        if !(1..=90 * 24).contains(&window_hours) {
            return bad("window_hours", "时间窗须在 1–2160 小时之间");
        }
        if !(min_similarity.is_finite() && min_similarity > 0.0 && min_similarity <= 1.0) {
            return bad("min_similarity", "相似度阈值须大于 0、不超过 1");
        }
        Ok(DuplicateRule {
            radius_m,
            window_hours,
            min_similarity,
        })
    }
}

/// One report as the rule compares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report<'a> {
    pub id: i64,
    pub text: &'a str,
    pub at: GeoPoint,
    pub reported_at: DateTime<Utc>,
}

/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance between two WGS-84 points in metres (haversine): within a
/// few hundred metres the sphere is off from the ellipsoid by well under a metre.
pub fn distance_m(a: GeoPoint, b: GeoPoint) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dla = la2 - la1;
    let dlo = (b.lon - a.lon).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// (min lon, min lat, max lon, max lat) of a box holding every point within
/// `radius_m` of `c`: a cheap indexable pre-filter before [`distance_m`].
pub fn bounding_box(c: GeoPoint, radius_m: f64) -> (f64, f64, f64, f64) {
    let dlat = (radius_m / EARTH_RADIUS_M).to_degrees();
    // Longitude degrees shrink with latitude; the cosine stays far from 0 in China.
    let cos = c.lat.to_radians().cos().abs().max(0.01);
    let dlon = dlat / cos;
    (c.lon - dlon, c.lat - dlat, c.lon + dlon, c.lat + dlat)
}

/// Stock phrases of the channels and of complaint writing that say nothing about
/// the problem. Longest first, so a longer phrase is removed before its parts.
const STOCK_PHRASES: &[&str] = &[
    "请相关部门尽快处理",
    "请有关部门尽快处理",
    "请相关部门处理",
    "请有关部门处理",
    "希望尽快处理",
    "要求尽快处理",
    "市民来电反映",
    "群众来电反映",
    "来电人反映",
    "市民来电称",
    "来电反映",
    "市民反映",
    "群众反映",
    "网格员巡查发现",
    "巡查发现",
    "要求处理",
    "希望处理",
];

/// The text as compared: stock phrases removed, then only letters kept (Chinese
/// characters and Latin letters, the latter lower-cased).
pub fn normalise(text: &str) -> String {
    let mut t = text.to_string();
    for p in STOCK_PHRASES {
        t = t.replace(p, " ");
    }
    t.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect()
}

fn bigrams(text: &str) -> HashMap<(char, char), u32> {
    let chars: Vec<char> = normalise(text).chars().collect();
    let mut out = HashMap::new();
    if chars.len() == 1 {
        // A one-character text still equals itself.
        *out.entry((chars[0], chars[0])).or_insert(0) += 1;
    }
    for w in chars.windows(2) {
        *out.entry((w[0], w[1])).or_insert(0) += 1;
    }
    out
}

/// Cosine similarity of the two texts' character-bigram counts: 1 for the same
/// words, 0 for nothing in common (and for a text with no letters at all).
pub fn text_similarity(a: &str, b: &str) -> f64 {
    let (x, y) = (bigrams(a), bigrams(b));
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    let dot: f64 = x
        .iter()
        .filter_map(|(k, n)| y.get(k).map(|m| f64::from(*n) * f64::from(*m)))
        .sum();
    let norm = |v: &HashMap<(char, char), u32>| {
        v.values()
            .map(|n| f64::from(*n) * f64::from(*n))
            .sum::<f64>()
            .sqrt()
    };
    (dot / (norm(&x) * norm(&y))).clamp(0.0, 1.0)
}

/// The open report `new` duplicates, if any: among the candidates within the rule's
/// radius and window and at least its similarity, the most similar, then the
/// nearest, then the oldest (the first report of the problem leads its cluster).
pub fn best_master(
    new: &Report<'_>,
    candidates: &[Report<'_>],
    rule: &DuplicateRule,
) -> Option<i64> {
    let window = chrono::Duration::hours(i64::from(rule.window_hours));
    candidates
        .iter()
        .filter(|c| c.id != new.id)
        .filter(|c| (new.reported_at - c.reported_at).abs() <= window)
        .filter_map(|c| {
            let d = distance_m(new.at, c.at);
            if d > rule.radius_m {
                return None;
            }
            let s = text_similarity(new.text, c.text);
            (s >= rule.min_similarity).then_some((c, s, d))
        })
        .min_by(|(a, sa, da), (b, sb, db)| {
            sb.total_cmp(sa)
                .then(da.total_cmp(db))
                .then(a.reported_at.cmp(&b.reported_at))
                .then(a.id.cmp(&b.id))
        })
        .map(|(c, ..)| c.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// Rewordings of one complaint, as different reporters put it.
    const SAME: &[(&str, &str)] = &[
        (
            "小区门口工地夜间施工噪音很大，影响休息",
            "市民来电反映：小区门口的工地晚上施工，噪音太大影响休息，请相关部门尽快处理",
        ),
        (
            "舜北路菜场门口占道经营，摊贩把路堵了",
            "舜北路菜场门口有摊贩占道经营，道路被堵",
        ),
        (
            "3号楼楼下垃圾堆放多日无人清运，气味难闻",
            "5号楼旁边垃圾堆放好几天了没人清运，气味很难闻",
        ),
        (
            "阳明西路路灯不亮，晚上一片漆黑",
            "阳明西路一排路灯都不亮了，晚上漆黑一片",
        ),
    ];

    /// Different problems that one place and category may well have.
    const DIFFERENT: &[(&str, &str)] = &[
        (
            "小区门口工地夜间施工噪音很大，影响休息",
            "楼下酒吧每晚放音乐到凌晨两点",
        ),
        (
            "市民来电反映：舜北路菜场门口占道经营，请相关部门尽快处理",
            "市民来电反映：自来水管爆裂，马路积水，请相关部门尽快处理",
        ),
        ("3号楼楼下垃圾堆放多日无人清运", "3号楼有人私自搭建彩钢棚"),
        ("阳明西路路灯不亮", "阳明西路井盖缺失，存在安全隐患"),
    ];

    #[test]
    fn the_threshold_separates_rewordings_from_other_problems() {
        for (a, b) in SAME {
            let s = text_similarity(a, b);
            assert!(s >= DEFAULT_MIN_SIMILARITY, "{s:.3} {a} | {b}");
        }
        for (a, b) in DIFFERENT {
            let s = text_similarity(a, b);
            assert!(s < DEFAULT_MIN_SIMILARITY, "{s:.3} {a} | {b}");
        }
    }

    #[test]
    fn digits_punctuation_and_stock_phrases_do_not_count() {
        assert_eq!(
            normalise("市民来电反映：3号楼 Noise，电话13812345678！"),
            "号楼noise电话"
        );
        assert!((text_similarity("3号楼漏水", "5号楼漏水") - 1.0).abs() < 1e-9);
        assert_eq!(text_similarity("123", "123"), 0.0);
        assert_eq!(text_similarity("", "噪音"), 0.0);
        assert!((text_similarity("吵", "吵") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn distances_are_great_circle_metres() {
        let a = GeoPoint {
            lon: 121.15,
            lat: 30.05,
        };
        // 0.001° of latitude is about 111 m anywhere.
        let b = GeoPoint {
            lon: 121.15,
            lat: 30.051,
        };
        assert!((distance_m(a, b) - 111.2).abs() < 0.5);
        // 0.001° of longitude at 30° N is about 96 m.
        let c = GeoPoint {
            lon: 121.151,
            lat: 30.05,
        };
        assert!((distance_m(a, c) - 96.3).abs() < 0.5);
        assert_eq!(distance_m(a, a), 0.0);
    }

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap() + chrono::Duration::hours(h.into())
    }

    fn p(dlat_m: f64) -> GeoPoint {
        GeoPoint {
            lon: 121.15,
            lat: 30.05 + dlat_m / 111_195.0,
        }
    }

    #[test]
    fn the_best_master_is_most_similar_then_nearest_then_oldest() {
        let rule = DuplicateRule::default();
        let text = "小区门口工地夜间施工噪音很大，影响休息";
        let new = Report {
            id: 100,
            text,
            at: p(0.0),
            reported_at: at(48),
        };
        let c = |id, text, m, h| Report {
            id,
            text,
            at: p(m),
            reported_at: at(h),
        };
        // Too far, too old (73 h before), too different: nothing.
        let old = Report {
            reported_at: at(48) - chrono::Duration::hours(73),
            ..c(2, text, 10.0, 0)
        };
        let none = [
            c(1, text, 500.0, 40),
            old,
            c(3, "楼下酒吧每晚放音乐到凌晨两点", 10.0, 40),
        ];
        assert_eq!(best_master(&new, &none, &rule), None);
        // Same text wins over a closer rewording; among equals the nearest, then the
        // oldest.
        let reworded = c(4, "工地晚上施工，噪音太大影响休息", 5.0, 47);
        let far_same = c(5, text, 150.0, 30);
        let near_same_new = c(6, text, 50.0, 46);
        let near_same_old = c(7, text, 50.0, 10);
        assert_eq!(
            best_master(&new, &[reworded.clone(), far_same.clone()], &rule),
            Some(5)
        );
        assert_eq!(
            best_master(&new, &[far_same.clone(), near_same_new.clone()], &rule),
            Some(6)
        );
        assert_eq!(
            best_master(&new, &[near_same_new, near_same_old, far_same], &rule),
            Some(7)
        );
        assert_eq!(best_master(&new, &[reworded], &rule), Some(4));
        // Never itself.
        assert_eq!(best_master(&new, std::slice::from_ref(&new), &rule), None);
    }

    #[test]
    fn the_bounding_box_holds_the_circle() {
        let c = p(0.0);
        let (x0, y0, x1, y1) = bounding_box(c, 200.0);
        for (dx, dy) in [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)] {
            // A point just inside the radius in each direction lies in the box.
            let q = GeoPoint {
                lon: c.lon + dx * (x1 - c.lon) * 0.999,
                lat: c.lat + dy * (y1 - c.lat) * 0.999,
            };
            assert!(distance_m(c, q) <= 200.0 + 0.5);
            assert!(q.lon >= x0 && q.lon <= x1 && q.lat >= y0 && q.lat <= y1);
        }
        assert!(
            distance_m(
                c,
                GeoPoint {
                    lon: x1,
                    lat: c.lat
                }
            ) >= 199.0
        );
    }

    #[test]
    fn rules_out_of_range_are_refused() {
        assert!(DuplicateRule::checked(200.0, 72, 0.35).is_ok());
        assert!(DuplicateRule::checked(0.0, 72, 0.35).is_err());
        assert!(DuplicateRule::checked(f64::NAN, 72, 0.35).is_err());
        assert!(DuplicateRule::checked(200.0, 0, 0.35).is_err());
        assert!(DuplicateRule::checked(200.0, 72, 1.5).is_err());
    }

    proptest! {
        #[test]
        fn similarity_is_symmetric_and_bounded(a in "\\PC{0,40}", b in "\\PC{0,40}") {
            let s = text_similarity(&a, &b);
            prop_assert!((0.0..=1.0).contains(&s));
            prop_assert!((s - text_similarity(&b, &a)).abs() < 1e-12);
        }

        #[test]
        fn a_text_with_letters_is_fully_similar_to_itself(a in "[\\u4e00-\\u9fa5a-z0-9，。 ]{0,40}") {
            let s = text_similarity(&a, &a);
            if normalise(&a).is_empty() {
                prop_assert_eq!(s, 0.0);
            } else {
                prop_assert!((s - 1.0).abs() < 1e-9);
            }
        }

        #[test]
        fn texts_without_a_common_character_score_zero(
            a in "[\\u4e00-\\u4f00]{2,20}",
            b in "[\\u5000-\\u5100]{2,20}",
        ) {
            prop_assert_eq!(text_similarity(&a, &b), 0.0);
        }

        #[test]
        fn distance_is_symmetric_and_the_box_contains_the_circle(
            lon in 73.5f64..135.0, lat in 4.0f64..53.0,
            brg in 0.0f64..std::f64::consts::TAU, r in 1.0f64..5_000.0,
        ) {
            let c = GeoPoint { lon, lat };
            // A point at distance < r in direction brg (small-distance approximation).
            let dlat = (0.99 * r * brg.cos() / EARTH_RADIUS_M).to_degrees();
            let dlon = (0.99 * r * brg.sin() / EARTH_RADIUS_M).to_degrees() / lat.to_radians().cos();
            let q = GeoPoint { lon: lon + dlon, lat: lat + dlat };
            prop_assert!((distance_m(c, q) - distance_m(q, c)).abs() < 1e-6);
            let (x0, y0, x1, y1) = bounding_box(c, r);
            prop_assert!(q.lon >= x0 && q.lon <= x1 && q.lat >= y0 && q.lat <= y1);
        }
    }
}

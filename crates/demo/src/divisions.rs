//! The real divisions of 余姚市 and the synthetic map drawn over them: township boxes,
//! village rectangles tiling each box and grid rectangles tiling each village.

use serde::Deserialize;

use crate::rng::SplitMix64;
use crate::{Division, Grid, Township, TownshipKind, Village};

/// NBS 2023 codes and names, compacted from shared/data/divisions, plus a synthetic
/// box per township (see data/README.md).
const DIVISIONS_JSON: &str = include_str!("../data/yuyao_divisions_2023.json");

#[derive(Deserialize)]
struct RawData {
    county: RawDivision,
    townships: Vec<RawTownship>,
}

#[derive(Deserialize)]
struct RawDivision {
    code: String,
    name: String,
}

#[derive(Deserialize)]
struct RawTownship {
    code: String,
    name: String,
    bbox: [f64; 4],
    /// `[code, registered name]`.
    villages: Vec<(String, String)>,
}

/// Townships in the 四明山 hills: all their villages are mountain villages.
const MOUNTAIN_TOWNSHIPS: [&str; 4] = ["330281114", "330281115", "330281116", "330281201"];

/// Villages of 陆埠镇 and 大隐镇 that lie in the hills south of the 姚江 rather than on
/// the plain.
const HILL_VILLAGES: [&str; 8] = [
    "330281113212", // 杜徐岙
    "330281113213", // 洪山
    "330281113216", // 孔岙
    "330281113217", // 翁岙
    "330281113218", // 裘岙
    "330281113219", // 石笋
    "330281112201", // 章山
    "330281112202", // 云旱
];

pub(crate) const URBAN_COMMUNITY: &str = "urban_community";
pub(crate) const URBAN_VILLAGE: &str = "urban_village";
pub(crate) const ORDINARY_VILLAGE: &str = "ordinary_village";
pub(crate) const MOUNTAIN_VILLAGE: &str = "mountain_village";

/// The division part of the demo, with indexes the other generators need.
#[derive(Debug, Clone)]
pub(crate) struct Divisions {
    pub city: Division,
    pub townships: Vec<Township>,
    pub villages: Vec<Village>,
    pub grids: Vec<Grid>,
    /// For each village, the index of its township.
    pub village_township: Vec<usize>,
    /// For each grid, the index of its village.
    pub grid_village: Vec<usize>,
    /// For each grid, its rectangle `[min_lon, min_lat, max_lon, max_lat]`.
    pub grid_rect: Vec<[f64; 4]>,
}

pub(crate) fn build() -> Divisions {
    // The JSON is compiled in; a test parses it, so this cannot fail in a built binary.
    let raw: RawData =
        serde_json::from_str(DIVISIONS_JSON).expect("embedded division data is valid JSON");
    let mut rng = SplitMix64::stream("grids");
    let mut d = Divisions {
        city: Division {
            code: raw.county.code,
            name: raw.county.name,
        },
        townships: Vec::new(),
        villages: Vec::new(),
        grids: Vec::new(),
        village_township: Vec::new(),
        grid_village: Vec::new(),
        grid_rect: Vec::new(),
    };
    for rt in raw.townships {
        let township = Township {
            kind: township_kind(&rt.name),
            code: rt.code,
            name: rt.name,
            bbox: rt.bbox,
        };
        let t_idx = d.townships.len();
        let names: Vec<String> = rt.villages.iter().map(|(_, n)| n.clone()).collect();
        let rects = tile(township.bbox, rt.villages.len());
        for ((code, registered), rect) in rt.villages.iter().zip(rects) {
            let village = Village {
                name: everyday_name(registered, &names),
                is_community: is_community(code),
                code: code.clone(),
                township_code: township.code.clone(),
            };
            let grid_type = grid_type(&township, &village);
            let n_grids = match (grid_type, township.kind) {
                (URBAN_COMMUNITY, TownshipKind::Street) => rng.between(2, 3),
                (MOUNTAIN_VILLAGE, _) => 1,
                _ => rng.between(1, 2),
            } as usize;
            let v_idx = d.villages.len();
            for (k, g_rect) in strips(rect, n_grids).into_iter().enumerate() {
                d.grids.push(Grid {
                    code: format!("{}{:02}", village.code, k + 1),
                    name: format!("{}第{}网格", village.name, k + 1),
                    village_code: village.code.clone(),
                    township_code: township.code.clone(),
                    grid_type,
                    polygon: ring(g_rect),
                });
                d.grid_village.push(v_idx);
                d.grid_rect.push(g_rect);
            }
            d.villages.push(village);
            d.village_township.push(t_idx);
        }
        d.townships.push(township);
    }
    d
}

fn township_kind(name: &str) -> TownshipKind {
    if name.ends_with("街道") {
        TownshipKind::Street
    } else if name.ends_with('乡') {
        TownshipKind::Xiang
    } else {
        TownshipKind::Town
    }
}

/// NBS village codes end in a 3-digit 城乡分类 range: 001–199 居委会, 200–399 村委会,
/// 400–499 类似居委会, 500–599 类似村委会 (e.g. a farm's 生活区).
fn is_community(code: &str) -> bool {
    matches!(
        code.get(9..).and_then(|s| s.parse::<u16>().ok()),
        Some(n) if n < 200 || (400..500).contains(&n)
    )
}

/// The name people use: "最良村委会" is 最良村, "阳明东路居委会" is 阳明东路社区 — unless
/// the township already has a 社区 of that name (阳明街道 has both 富巷社区 and 富巷居委会).
fn everyday_name(registered: &str, siblings: &[String]) -> String {
    if let Some(stem) = registered.strip_suffix("村委会") {
        return format!("{stem}村");
    }
    if let Some(stem) = registered.strip_suffix("居委会") {
        let as_community = format!("{stem}社区");
        if !siblings.contains(&as_community) {
            return as_community;
        }
    }
    registered.to_string()
}

pub(crate) fn grid_type(township: &Township, village: &Village) -> &'static str {
    if village.is_community {
        URBAN_COMMUNITY
    } else if township.kind == TownshipKind::Street {
        URBAN_VILLAGE
    } else if MOUNTAIN_TOWNSHIPS.contains(&township.code.as_str())
        || HILL_VILLAGES.contains(&village.code.as_str())
    {
        MOUNTAIN_VILLAGE
    } else {
        ORDINARY_VILLAGE
    }
}

/// Kilometres per degree of longitude over degree of latitude at Yuyao's latitude,
/// so that rows and strips are cut by real shape rather than by degrees.
const LON_SCALE: f64 = 0.866;

/// The `i`-th of `n` equal cuts of `[lo, hi]`, exact at both ends so that neighbouring
/// rectangles share bit-identical edges and the outer edges stay on the box.
fn cut(lo: f64, hi: f64, i: usize, n: usize) -> f64 {
    if i == 0 {
        lo
    } else if i >= n {
        hi
    } else {
        round6(lo + (hi - lo) * i as f64 / n as f64)
    }
}

/// Coordinates are kept to 6 decimals (about 0.1 m), enough for a demo and tidy in JSON.
pub(crate) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Splits a box into `n` rectangles: rows from north to south, each row cut into equal
/// cells from west to east, with row lengths differing by at most one. Together they
/// cover the box exactly.
fn tile(bbox: [f64; 4], n: usize) -> Vec<[f64; 4]> {
    let [x0, y0, x1, y1] = bbox;
    if n == 0 {
        return Vec::new();
    }
    let aspect = (y1 - y0) / ((x1 - x0) * LON_SCALE);
    let rows = ((n as f64 * aspect).sqrt().round() as usize).clamp(1, n);
    let (base, extra) = (n / rows, n % rows);
    let mut out = Vec::with_capacity(n);
    for r in 0..rows {
        let top = cut(y1, y0, r, rows);
        let bottom = cut(y1, y0, r + 1, rows);
        let cols = base + usize::from(r < extra);
        for c in 0..cols {
            out.push([cut(x0, x1, c, cols), bottom, cut(x0, x1, c + 1, cols), top]);
        }
    }
    out
}

/// Splits a rectangle into `n` equal strips across its longer side.
fn strips(rect: [f64; 4], n: usize) -> Vec<[f64; 4]> {
    let [x0, y0, x1, y1] = rect;
    let wide = (x1 - x0) * LON_SCALE >= y1 - y0;
    (0..n)
        .map(|k| {
            if wide {
                [cut(x0, x1, k, n), y0, cut(x0, x1, k + 1, n), y1]
            } else {
                [x0, cut(y1, y0, k + 1, n), x1, cut(y1, y0, k, n)]
            }
        })
        .collect()
}

/// A closed counter-clockwise ring of `(lon, lat)`.
fn ring([x0, y0, x1, y1]: [f64; 4]) -> Vec<(f64, f64)> {
    vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_box_exactly() {
        for n in 1..40 {
            let bbox = [121.1, 29.97, 121.155, 30.01];
            let rects = tile(bbox, n);
            assert_eq!(rects.len(), n);
            let area: f64 = rects.iter().map(|r| (r[2] - r[0]) * (r[3] - r[1])).sum();
            let box_area = (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]);
            assert!((area - box_area).abs() < 1e-9, "n={n}");
            for r in &rects {
                assert!(r[0] >= bbox[0] && r[2] <= bbox[2] && r[1] >= bbox[1] && r[3] <= bbox[3]);
                assert!(r[0] < r[2] && r[1] < r[3]);
            }
        }
    }

    #[test]
    fn community_codes_follow_the_nbs_ranges() {
        assert!(is_community("330281002001"));
        assert!(!is_community("330281002200"));
        assert!(
            !is_community("330281005500"),
            "a farm's 生活区 is village-like"
        );
        assert!(is_community("330281005401"));
    }

    #[test]
    fn everyday_names() {
        let sib = vec!["富巷社区".to_string(), "富巷居委会".to_string()];
        assert_eq!(everyday_name("最良村委会", &sib), "最良村");
        assert_eq!(everyday_name("中村委会", &sib), "中村");
        assert_eq!(everyday_name("阳明东路居委会", &sib), "阳明东路社区");
        assert_eq!(everyday_name("富巷居委会", &sib), "富巷居委会");
        assert_eq!(everyday_name("和谐村", &sib), "和谐村");
    }
}

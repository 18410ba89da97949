//! Coordinate reference systems used for locations in China, and conversion between them.
//!
//! * **WGS-84** (`wgs84`): GPS receivers, GeoJSON (RFC 7946), this crate's grid index.
//! * **GCJ-02** (`gcj02`): the obfuscated "Mars" system required for maps published in
//!   China — Amap (高德), Tencent, WeChat locations, Apple Maps in China.
//! * **BD-09** (`bd09`): Baidu's longitude/latitude system (BD09LL), which adds a second
//!   offset on top of GCJ-02. Baidu's Mercator metres (BD09MC) are *not* supported.
//!
//! All points are `(longitude, latitude)` in decimal degrees.
//!
//! # Formulas
//!
//! * WGS-84 → GCJ-02: the widely published public offset formula (Krasovsky 1940 ellipsoid,
//!   `a = 6378245`, `e² = 0.00669342162296594323`). Outside China's rough bounding box
//!   (lon 72.004–137.8347, lat 0.8293–55.8271) there is no offset, like every public
//!   implementation.
//! * GCJ-02 → WGS-84: there is no closed form. The offset is inverted by fixed-point
//!   iteration `w ← w − (gcj(w) − g)` until the residual is below 1e-9° (≈ 0.1 mm; the
//!   correction applied in that last step leaves far less). The offset's Jacobian is
//!   within a few thousandths of the identity, so this takes 3–4 steps. The common
//!   one-step approximation (`w = 2g − gcj(g)`) is off by up to 4.8 m across China
//!   (measured on a 0.05° lattice) and is *not* used.
//! * GCJ-02 ↔ BD-09: Baidu's standard pair of formulas (`x_pi = π·3000/180`). Their
//!   round trip is not exact: the published inverse is itself an approximation (round-trip
//!   error about 6 cm on average and at most about 23 cm across China). They are kept
//!   as published, because every reference implementation compared in the tests
//!   uses them. BD-09 ↔ WGS-84 goes through GCJ-02.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::GeoError;

/// A coordinate reference system for a `(lon, lat)` point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// WGS-84 (EPSG:4326), what GPS devices and GeoJSON use. The canonical system in zhili.
    Wgs84,
    /// GCJ-02, used by Amap, Tencent maps and WeChat.
    Gcj02,
    /// BD-09 longitude/latitude, used by Baidu maps.
    Bd09,
}

impl Crs {
    /// All supported systems.
    pub const ALL: [Crs; 3] = [Crs::Wgs84, Crs::Gcj02, Crs::Bd09];

    /// The stable code stored in the database and used in the API: `wgs84`, `gcj02`, `bd09`.
    pub const fn code(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }

    /// Parses a code. Exact codes (`wgs84`, `gcj02`, `bd09`) are accepted in any letter case,
    /// with or without a `-`/`_` separator (`WGS-84`, `gcj_02`, `BD-09`).
    pub fn from_code(code: &str) -> Option<Crs> {
        let normalized: String = code
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match normalized.as_str() {
            "wgs84" => Some(Crs::Wgs84),
            "gcj02" => Some(Crs::Gcj02),
            "bd09" => Some(Crs::Bd09),
            _ => None,
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Crs {
    type Err = GeoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Crs::from_code(s).ok_or_else(|| GeoError::UnknownCrs(s.to_owned()))
    }
}

/// Converts a `(lon, lat)` point from one system to another.
///
/// Converting a system to itself returns the point unchanged. Non-finite input gives
/// non-finite output (it is not validated here).
pub fn convert(point: (f64, f64), from: Crs, to: Crs) -> (f64, f64) {
    use Crs::*;
    match (from, to) {
        (Wgs84, Wgs84) | (Gcj02, Gcj02) | (Bd09, Bd09) => point,
        (Wgs84, Gcj02) => wgs84_to_gcj02(point),
        (Gcj02, Wgs84) => gcj02_to_wgs84(point),
        (Gcj02, Bd09) => gcj02_to_bd09(point),
        (Bd09, Gcj02) => bd09_to_gcj02(point),
        (Wgs84, Bd09) => gcj02_to_bd09(wgs84_to_gcj02(point)),
        (Bd09, Wgs84) => gcj02_to_wgs84(bd09_to_gcj02(point)),
    }
}

/// Converts a `(lon, lat)` point in `from` to WGS-84 (shorthand for `convert(p, from, Wgs84)`).
pub fn to_wgs84(point: (f64, f64), from: Crs) -> (f64, f64) {
    convert(point, from, Crs::Wgs84)
}

/// Converts every vertex of a ring (or any list of points) in place.
pub fn convert_points(points: &mut [(f64, f64)], from: Crs, to: Crs) {
    if from != to {
        for p in points {
            *p = convert(*p, from, to);
        }
    }
}

/// Semi-major axis of the Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// Baidu's constant: π · 3000 / 180.
const X_PI: f64 = PI * 3000.0 / 180.0;

/// Whether GCJ-02 leaves this point alone: the rough bounding box every public
/// implementation uses (it includes some neighbouring countries; that is how the
/// published formula behaves).
pub fn out_of_china(lon: f64, lat: f64) -> bool {
    !((72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat))
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// The GCJ-02 offset `(dlon, dlat)` in degrees at a WGS-84 point, without the
/// out-of-China test.
fn gcj_offset(lon: f64, lat: f64) -> (f64, f64) {
    let dlat = transform_lat(lon - 105.0, lat - 35.0);
    let dlon = transform_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (dlon, dlat)
}

/// WGS-84 → GCJ-02 (the public offset formula; identity outside China).
pub fn wgs84_to_gcj02((lon, lat): (f64, f64)) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (dlon, dlat) = gcj_offset(lon, lat);
    (lon + dlon, lat + dlat)
}

/// Residual below which the GCJ-02 inversion stops, in degrees (≈ 0.1 mm); the
/// correction applied in the same step leaves far less.
const INVERSION_TOLERANCE_DEG: f64 = 1e-9;
/// Upper bound on inversion steps; convergence normally takes 3–4.
const INVERSION_MAX_STEPS: usize = 20;

/// GCJ-02 → WGS-84 by iterative inversion of the offset (identity outside China).
///
/// Accurate to far better than a millimetre inside China: the WGS-84 point returned maps
/// back onto the GCJ-02 input within 1e-9° (in practice ~1e-12°).
pub fn gcj02_to_wgs84((lon, lat): (f64, f64)) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    // Start from the one-step approximation, then refine: w ← w − (gcj(w) − g).
    let (dlon, dlat) = gcj_offset(lon, lat);
    let (mut wlon, mut wlat) = (lon - dlon, lat - dlat);
    for _ in 0..INVERSION_MAX_STEPS {
        let (dlon, dlat) = gcj_offset(wlon, wlat);
        let rlon = wlon + dlon - lon;
        let rlat = wlat + dlat - lat;
        wlon -= rlon;
        wlat -= rlat;
        if rlon.abs() < INVERSION_TOLERANCE_DEG && rlat.abs() < INVERSION_TOLERANCE_DEG {
            break;
        }
    }
    (wlon, wlat)
}

/// GCJ-02 → BD-09 (Baidu's standard formula).
pub fn gcj02_to_bd09((lon, lat): (f64, f64)) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// BD-09 → GCJ-02 (Baidu's standard inverse formula).
pub fn bd09_to_gcj02((lon, lat): (f64, f64)) -> (f64, f64) {
    let x = lon - 0.0065;
    let y = lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    (z * theta.cos(), z * theta.sin())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haversine_m;

    fn assert_close(got: (f64, f64), want: (f64, f64), tol_deg: f64, what: &str) {
        assert!(
            (got.0 - want.0).abs() <= tol_deg && (got.1 - want.1).abs() <= tol_deg,
            "{what}: got {got:?}, want {want:?} (±{tol_deg}°)"
        );
    }

    // Reference values from wandergis/coordtransform (JavaScript, MIT), test/app.js:
    // the documented results for the input (116.404, 39.915) — lon, lat order.
    #[test]
    fn coordtransform_reference_values() {
        let p = (116.404, 39.915);
        assert_close(
            convert(p, Crs::Bd09, Crs::Gcj02),
            (116.39762729119315, 39.90865673957631),
            1e-9,
            "bd09 -> gcj02",
        );
        assert_close(
            convert(p, Crs::Gcj02, Crs::Bd09),
            (116.41036949371029, 39.92133699351021),
            1e-9,
            "gcj02 -> bd09",
        );
        assert_close(
            convert(p, Crs::Wgs84, Crs::Gcj02),
            (116.41024449916938, 39.91640428150164),
            1e-9,
            "wgs84 -> gcj02",
        );
        // coordtransform's gcj02towgs84 is the one-step approximation
        // ((116.39775550083061, 39.91359571849836)); the exact inverse differs from it
        // by a little, but must stay within a few metres of it, and must map back exactly.
        let w = convert(p, Crs::Gcj02, Crs::Wgs84);
        let approx = (116.39775550083061, 39.91359571849836);
        let d = haversine_m(w, approx);
        assert!(d > 0.0 && d < 5.0, "exact vs one-step: {d} m");
        assert_close(wgs84_to_gcj02(w), p, 1e-9, "gcj(exact inverse) == input");
    }

    // Reference values from googollee/eviltransform, python/test.py and
    // go/transform_test.go (same table in every language binding), given there as
    // (wgsLat, wgsLng, gcjLat, gcjLng); eviltransform asserts wgs2gcj to 6 decimals and
    // gcj2wgs_exact within 0.5 m. Written here as (lon, lat).
    type Pair = ((f64, f64), (f64, f64), &'static str);
    const EVILTRANSFORM_WGS_GCJ: [Pair; 3] = [
        (
            (121.5272106, 31.1774276),
            (121.531541859215, 31.17530398364597),
            "shanghai",
        ),
        (
            (113.912316, 22.543847),
            (113.9171764808363, 22.540796131694766),
            "shenzhen",
        ),
        (
            (116.377817, 39.911954),
            (116.38404722455657, 39.91334545536069),
            "beijing",
        ),
    ];

    #[test]
    fn eviltransform_wgs84_to_gcj02() {
        for (wgs, gcj, city) in EVILTRANSFORM_WGS_GCJ {
            assert_close(convert(wgs, Crs::Wgs84, Crs::Gcj02), gcj, 1e-9, city);
        }
    }

    #[test]
    fn eviltransform_gcj02_to_wgs84_within_half_a_metre() {
        for (wgs, gcj, city) in EVILTRANSFORM_WGS_GCJ {
            let got = convert(gcj, Crs::Gcj02, Crs::Wgs84);
            let d = haversine_m(got, wgs);
            // The table's GCJ values are rounded, so a few millimetres are expected.
            assert!(d < 0.01, "{city}: {d} m from the reference");
        }
    }

    // eviltransform's BD table (TESTS_bd in python/test.py) is deliberately not used: its
    // values are 10 m and 41 m away from what Baidu's public formulas (which eviltransform
    // itself implements) give, so they cannot serve as a reference for those formulas.

    // hujiulong/gcoord (JavaScript, MIT), test/unit/crs/{GCJ02,BD09,WGS84}.spec: every
    // conversion of [123, 45] (lon, lat), asserted there with toBeCloseTo(…, 5), i.e. to
    // within 5e-6°; [183, 45] is not in China.
    #[test]
    fn gcoord_reference_values() {
        let p = (123.0, 45.0);
        for (from, to, want) in [
            (Crs::Wgs84, Crs::Gcj02, (123.00607541, 45.00197815)),
            (Crs::Wgs84, Crs::Bd09, (123.0124491, 45.0083293)),
            (Crs::Bd09, Crs::Gcj02, (122.99363304, 44.99365430)),
            (Crs::Bd09, Crs::Wgs84, (122.98762210, 44.99171540)),
        ] {
            assert_close(convert(p, from, to), want, 5e-6, &format!("{from} -> {to}"));
        }
        assert_close(
            convert((123.0, 45.0), Crs::Gcj02, Crs::Wgs84),
            (122.99395597, 44.99804071),
            5e-6,
            "gcj02 -> wgs84",
        );
        assert_close(
            convert((123.0, 45.0), Crs::Gcj02, Crs::Bd09),
            (123.00636499, 45.00636899),
            5e-6,
            "gcj02 -> bd09",
        );
        assert_eq!(
            convert((183.0, 45.0), Crs::Gcj02, Crs::Wgs84),
            (183.0, 45.0)
        );
    }

    #[test]
    fn outside_china_is_unchanged_by_gcj() {
        for p in [(2.3522, 48.8566), (-74.006, 40.7128), (151.2093, -33.8688)] {
            assert_eq!(convert(p, Crs::Wgs84, Crs::Gcj02), p);
            assert_eq!(convert(p, Crs::Gcj02, Crs::Wgs84), p);
        }
    }

    #[test]
    fn identity_and_composition() {
        let p = (113.26, 23.13);
        for crs in Crs::ALL {
            assert_eq!(convert(p, crs, crs), p);
        }
        assert_eq!(
            convert(p, Crs::Wgs84, Crs::Bd09),
            gcj02_to_bd09(wgs84_to_gcj02(p))
        );
        assert_eq!(
            convert(p, Crs::Bd09, Crs::Wgs84),
            gcj02_to_wgs84(bd09_to_gcj02(p))
        );
    }

    #[test]
    fn codes_round_trip() {
        for crs in Crs::ALL {
            assert_eq!(Crs::from_code(crs.code()), Some(crs));
            assert_eq!(crs.to_string().parse::<Crs>().unwrap(), crs);
            let json = serde_json::to_string(&crs).unwrap();
            assert_eq!(json, format!("\"{}\"", crs.code()));
            assert_eq!(serde_json::from_str::<Crs>(&json).unwrap(), crs);
        }
        assert_eq!(Crs::from_code("WGS-84"), Some(Crs::Wgs84));
        assert_eq!(Crs::from_code("GCJ_02"), Some(Crs::Gcj02));
        assert_eq!(Crs::from_code(" BD-09 "), Some(Crs::Bd09));
        assert_eq!(Crs::from_code("bd09mc"), None);
        assert!(matches!(
            "epsg:3857".parse::<Crs>(),
            Err(GeoError::UnknownCrs(_))
        ));
    }

    #[test]
    fn convert_points_in_place() {
        let mut ring = vec![(116.404, 39.915), (116.41, 39.92)];
        convert_points(&mut ring, Crs::Gcj02, Crs::Wgs84);
        assert_eq!(ring[0], gcj02_to_wgs84((116.404, 39.915)));
        assert_eq!(ring[1], gcj02_to_wgs84((116.41, 39.92)));
    }
}

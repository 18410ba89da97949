//! Geometry for zhili: coordinate systems (WGS-84, GCJ-02, BD-09) and point-in-grid lookup
//! over an R-tree. No IO.
//!
//! * [`crs`]: [`Crs`] and [`convert`] between WGS-84, GCJ-02 and BD-09.
//! * [`grid`]: [`GridIndex`], which assigns a WGS-84 point to the grid (网格) polygon it
//!   lies in, with a documented rule for boundaries and near misses ([`Lookup`]).
//! * [`geojson`]: import of grid polygons from a GeoJSON `FeatureCollection`.
//!
//! Points are `(longitude, latitude)` tuples in decimal degrees throughout.
//!
//! ```
//! use zhili_geo::{Crs, GridIndex, Lookup, convert};
//!
//! let cell = |x: f64, y: f64| {
//!     vec![(x, y), (x + 0.01, y), (x + 0.01, y + 0.01), (x, y + 0.01), (x, y)]
//! };
//! let index = GridIndex::build(vec![(2, cell(120.00, 30.0)), (1, cell(120.01, 30.0))])?;
//!
//! assert_eq!(index.lookup(120.005, 30.005), Lookup::Inside(2));
//! // On the shared edge: the lowest id is chosen, and every touching grid is listed.
//! assert_eq!(index.lookup(120.01, 30.005), Lookup::OnBoundary(1, vec![1, 2]));
//! // ~96 m west of grid 2: within the default 200 m.
//! assert!(matches!(index.lookup(119.999, 30.005), Lookup::Nearest { id: 2, .. }));
//! assert_eq!(index.lookup(119.99, 30.005), Lookup::Outside);
//!
//! // A location reported by WeChat (GCJ-02) is converted first.
//! let gcj = convert((120.005, 30.005), Crs::Wgs84, Crs::Gcj02);
//! assert_eq!(index.lookup_in(gcj, Crs::Gcj02), Lookup::Inside(2));
//! # Ok::<(), zhili_geo::GeoError>(())
//! ```

pub mod crs;
mod error;
pub mod geojson;
pub mod grid;
pub mod recurrence;

pub use crs::{Crs, convert, convert_points, to_wgs84};
pub use error::{GeoError, RingProblem};
pub use geojson::{GridFeature, PolygonRings, parse_grid_geojson};
pub use grid::{DEFAULT_NEAREST_M, GridIndex, GridPolygon, Lookup, Ring};
pub use recurrence::{RecurrenceRule, Sighting, clusters};

use geo::{Distance, Haversine, Point};

/// Great-circle (haversine) distance in metres between two `(lon, lat)` points, on the
/// sphere of mean Earth radius 6,371,008.8 m (geo's [`Haversine`]).
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    Haversine.distance(Point::new(a.0, a.1), Point::new(b.0, b.1))
}

/// A point guaranteed to lie inside the polygon of `ring` (not merely its centroid,
/// which a concave grid may not contain): where a map puts the grid's label, and
/// where a test or load generator can place an event that must land in that grid.
pub fn interior_point(ring: &[(f64, f64)]) -> Option<(f64, f64)> {
    use geo::InteriorPoint;
    let poly = geo::Polygon::new(geo::LineString::from(ring.to_vec()), vec![]);
    poly.interior_point().map(|p| (p.x(), p.y()))
}

/// The outer boundary of an area made of polygons (a township drawn from its grids):
/// the exterior rings of their union, one per connected piece. Holes are left out:
/// a map draws the area's outline over its grids, not the gaps between them.
pub fn outline(rings: &[Ring]) -> Vec<Ring> {
    use geo::orient::{Direction, Orient};
    let polygons: Vec<geo::Polygon<f64>> = rings
        .iter()
        .filter(|r| r.len() >= 4)
        .map(|r| {
            geo::Polygon::new(geo::LineString::from(r.clone()), vec![]).orient(Direction::Default)
        })
        .collect();
    geo::unary_union(&polygons)
        .0
        .into_iter()
        .map(|p| p.exterior().0.iter().map(|c| (c.x, c.y)).collect())
        .collect()
}

#[cfg(test)]
mod outline_tests {
    #[test]
    fn two_touching_cells_have_one_outline_and_a_far_one_its_own() {
        let cell = |x: f64, y: f64| {
            vec![
                (x, y),
                (x + 1.0, y),
                (x + 1.0, y + 1.0),
                (x, y + 1.0),
                (x, y),
            ]
        };
        let out = super::outline(&[cell(0.0, 0.0), cell(1.0, 0.0), cell(5.0, 5.0)]);
        assert_eq!(out.len(), 2);
        let xs: Vec<f64> = out.iter().flatten().map(|p| p.0).collect();
        assert!(xs.contains(&2.0) && xs.contains(&6.0));
        assert!(super::outline(&[]).is_empty());
    }
}

#[cfg(test)]
mod interior_tests {
    #[test]
    fn the_interior_point_of_an_l_shape_lies_inside_it() {
        // An L whose centroid (about 0.0125, 0.0125) is in the notch, outside the L.
        let l = vec![
            (0.0, 0.0),
            (0.03, 0.0),
            (0.03, 0.01),
            (0.01, 0.01),
            (0.01, 0.03),
            (0.0, 0.03),
            (0.0, 0.0),
        ];
        let (x, y) = super::interior_point(&l).unwrap();
        let inside_bottom = (0.0..=0.03).contains(&x) && (0.0..=0.01).contains(&y);
        let inside_left = (0.0..=0.01).contains(&x) && (0.0..=0.03).contains(&y);
        assert!(inside_bottom || inside_left, "({x}, {y})");
    }
}

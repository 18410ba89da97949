//! Assigning a WGS-84 point to its grid (网格) polygon.
//!
//! [`GridIndex`] keeps the grids' bounding boxes in an R-tree ([`rstar`]) and decides
//! containment exactly with a crossing-number test whose orientation predicate is geo's
//! robust (adaptive-precision) `orient2d`, so "on the boundary" means exactly on it.
//!
//! # The lookup rule
//!
//! For a WGS-84 point `(lon, lat)`, [`GridIndex::lookup`] answers, in this order:
//!
//! 1. [`Lookup::Inside`]`(id)` — the point is in the interior of a grid. If grids overlap
//!    (bad data) and the point is inside several, the lowest id wins.
//! 2. [`Lookup::OnBoundary`]`(chosen, all)` — the point is not inside any grid but lies
//!    exactly on the boundary (an edge or a vertex) of one or more. `all` lists every
//!    grid whose boundary it touches, ascending and without repeats; `chosen` is the
//!    **lowest** of them (deterministic, independent of input order).
//! 3. [`Lookup::Nearest`]` { id, distance_m }` — the point is outside every grid, but a
//!    grid lies within the configured distance ([`DEFAULT_NEAREST_M`] = 200 m unless set
//!    with [`GridIndex::with_nearest_within_m`]). `distance_m` is the haversine distance from
//!    the point to the closest point of that grid's boundary; ties go to the lowest id.
//! 4. [`Lookup::Outside`] — nothing within that distance, or the input is not a finite
//!    lon/lat in range. The caller falls back to the township from the address, or to the
//!    triage queue.
//!
//! A grid may be given as several parts with the same id (a MultiPolygon); holes are
//! supported ([`GridPolygon`]); a point in a hole is outside that grid.

use geo::Coord;
use geo::kernels::{Kernel, Orientation, RobustKernel};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::Serialize;

use crate::{Crs, GeoError, RingProblem, convert, haversine_m};

/// A closed ring of `(lon, lat)` positions: the last position equals the first.
pub type Ring = Vec<(f64, f64)>;

/// How far (in metres) a point outside every grid may be from a grid and still be
/// assigned to it, unless configured otherwise.
pub const DEFAULT_NEAREST_M: f64 = 200.0;

/// Metres per degree of latitude on geo's haversine sphere (R = 6,371,008.8 m).
const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// One polygon of a grid: an exterior ring and optional holes, WGS-84 `(lon, lat)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GridPolygon {
    pub id: i64,
    pub exterior: Ring,
    pub holes: Vec<Ring>,
}

impl GridPolygon {
    /// A polygon without holes.
    pub fn new(id: i64, exterior: Ring) -> Self {
        GridPolygon {
            id,
            exterior,
            holes: Vec::new(),
        }
    }
}

/// The result of [`GridIndex::lookup`]; see the [module documentation](self) for the rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    /// Strictly inside this grid.
    Inside(i64),
    /// Exactly on a boundary: the chosen (lowest) id, and every touching id (ascending).
    OnBoundary(i64, Vec<i64>),
    /// Outside every grid, but within the configured distance of this one.
    Nearest { id: i64, distance_m: f64 },
    /// No grid found.
    Outside,
}

impl Lookup {
    /// The grid the point is assigned to, if any.
    pub fn grid_id(&self) -> Option<i64> {
        match self {
            Lookup::Inside(id) | Lookup::OnBoundary(id, _) | Lookup::Nearest { id, .. } => {
                Some(*id)
            }
            Lookup::Outside => None,
        }
    }

    /// Whether the point lies in or on the assigned grid (not merely near it).
    pub fn is_exact(&self) -> bool {
        matches!(self, Lookup::Inside(_) | Lookup::OnBoundary(..))
    }
}

/// Where a point is relative to one polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Inside,
    Boundary,
    Outside,
}

/// One polygon, kept in the R-tree leaf itself so a lookup goes from the leaf straight to
/// the vertices. Rings are closed (last == first) ranges of [`GridIndex::coords`].
#[derive(Debug, Clone, Copy)]
struct Part {
    id: i64,
    /// `start..end` of the exterior ring in `coords`.
    exterior: (u32, u32),
    /// `start..end` in `GridIndex::holes` (ring ranges of the holes; usually empty).
    holes: (u32, u32),
}

type TreeItem = GeomWithData<Rectangle<[f64; 2]>, Part>;

/// An immutable spatial index of grid polygons (WGS-84). Cheap to share (`Send + Sync`);
/// build once, look up from many threads.
#[derive(Debug, Clone)]
pub struct GridIndex {
    tree: RTree<TreeItem>,
    coords: Vec<[f64; 2]>,
    holes: Vec<(u32, u32)>,
    nearest_m: f64,
    grid_count: usize,
}

impl GridIndex {
    /// Builds the index from `(grid id, closed exterior ring)` pairs in WGS-84 `(lon, lat)`.
    ///
    /// Every ring is validated: at least 4 positions, closed, finite and in range, non-zero
    /// area, and not self-intersecting (edges crossing or touching, checked with a sweep
    /// over the edges sorted by longitude). The first invalid ring fails the build with
    /// [`GeoError::InvalidRing`] naming its grid id. Repeated consecutive positions are
    /// dropped. The same id may appear more than once: its polygons form one grid.
    /// Overlaps *between* grids are not detected (see the lookup rule for how they resolve).
    pub fn build(grids: Vec<(i64, Ring)>) -> Result<GridIndex, GeoError> {
        Self::build_polygons(
            grids
                .into_iter()
                .map(|(id, ring)| GridPolygon::new(id, ring))
                .collect(),
        )
    }

    /// Like [`GridIndex::build`], for polygons that may have holes.
    pub fn build_polygons(polygons: Vec<GridPolygon>) -> Result<GridIndex, GeoError> {
        let total: usize = polygons
            .iter()
            .map(|p| p.exterior.len() + p.holes.iter().map(Vec::len).sum::<usize>())
            .sum();
        let mut coords: Vec<[f64; 2]> = Vec::with_capacity(total);
        let mut holes: Vec<(u32, u32)> = Vec::new();
        let mut items = Vec::with_capacity(polygons.len());
        let mut ids: Vec<i64> = Vec::with_capacity(polygons.len());
        let too_many = || GeoError::InvalidSetting("more than 4 billion vertices or rings".into());
        for polygon in polygons {
            let mut exterior = (0, 0);
            let holes_start = u32::try_from(holes.len()).map_err(|_| too_many())?;
            let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
            for (ring_no, ring) in std::iter::once(&polygon.exterior)
                .chain(polygon.holes.iter())
                .enumerate()
            {
                let clean = validate_ring(ring).map_err(|problem| GeoError::InvalidRing {
                    grid_id: polygon.id,
                    ring: ring_no,
                    problem,
                })?;
                if ring_no == 0 {
                    for p in &clean {
                        min = [min[0].min(p[0]), min[1].min(p[1])];
                        max = [max[0].max(p[0]), max[1].max(p[1])];
                    }
                }
                let start = coords.len();
                coords.extend_from_slice(&clean);
                let end = coords.len();
                let range = u32::try_from(start)
                    .ok()
                    .zip(u32::try_from(end).ok())
                    .ok_or_else(too_many)?;
                if ring_no == 0 {
                    exterior = range;
                } else {
                    holes.push(range);
                }
            }
            let holes_end = u32::try_from(holes.len()).map_err(|_| too_many())?;
            let part = Part {
                id: polygon.id,
                exterior,
                holes: (holes_start, holes_end),
            };
            items.push(GeomWithData::new(Rectangle::from_corners(min, max), part));
            ids.push(polygon.id);
        }
        ids.sort_unstable();
        ids.dedup();
        coords.shrink_to_fit();
        Ok(GridIndex {
            tree: RTree::bulk_load(items),
            coords,
            holes,
            nearest_m: DEFAULT_NEAREST_M,
            grid_count: ids.len(),
        })
    }

    /// Sets the distance within which a point outside every grid is assigned to the
    /// nearest grid ([`Lookup::Nearest`]). `0` disables it. Errors for a negative or
    /// non-finite distance.
    pub fn with_nearest_within_m(mut self, metres: f64) -> Result<GridIndex, GeoError> {
        if !(metres.is_finite() && metres >= 0.0) {
            return Err(GeoError::InvalidSetting(format!(
                "nearest-grid distance must be a finite number of metres ≥ 0, got {metres}"
            )));
        }
        self.nearest_m = metres;
        Ok(self)
    }

    /// The configured nearest-grid distance in metres.
    pub fn nearest_within_m(&self) -> f64 {
        self.nearest_m
    }

    /// Number of distinct grid ids.
    pub fn len(&self) -> usize {
        self.grid_count
    }

    /// Whether the index has no grids.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Number of polygons (parts) indexed; ≥ [`GridIndex::len`].
    pub fn polygon_count(&self) -> usize {
        self.tree.size()
    }

    /// Looks up the grid of a WGS-84 point, by the rule in the [module documentation](self).
    pub fn lookup(&self, lon: f64, lat: f64) -> Lookup {
        if !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0) {
            return Lookup::Outside;
        }
        let p = [lon, lat];
        let mut inside: Option<i64> = None;
        let mut boundary: Option<Vec<i64>> = None;
        let _ = self
            .tree
            .locate_all_at_point_int(&p, |item| -> std::ops::ControlFlow<()> {
                let part = &item.data;
                match self.position(part, p) {
                    Position::Inside => {
                        inside = Some(inside.map_or(part.id, |id| id.min(part.id)));
                    }
                    Position::Boundary => boundary.get_or_insert_with(Vec::new).push(part.id),
                    Position::Outside => {}
                }
                std::ops::ControlFlow::Continue(())
            });
        if let Some(id) = inside {
            return Lookup::Inside(id);
        }
        if let Some(mut ids) = boundary {
            ids.sort_unstable();
            ids.dedup();
            return Lookup::OnBoundary(ids[0], ids);
        }
        match self.nearest(lon, lat, self.nearest_m) {
            Some((id, distance_m)) => Lookup::Nearest { id, distance_m },
            None => Lookup::Outside,
        }
    }

    /// Converts a point from `crs` to WGS-84, then looks it up.
    pub fn lookup_in(&self, point: (f64, f64), crs: Crs) -> Lookup {
        let (lon, lat) = convert(point, crs, Crs::Wgs84);
        self.lookup(lon, lat)
    }

    /// Exact position of `p` relative to one polygon (all its rings, even-odd).
    fn position(&self, part: &Part, p: [f64; 2]) -> Position {
        let exterior = ring_position(self.ring(part.exterior), p);
        if exterior != Position::Inside {
            return exterior;
        }
        for &hole in self.part_holes(part) {
            match ring_position(self.ring(hole), p) {
                Position::Inside => return Position::Outside,
                Position::Boundary => return Position::Boundary,
                Position::Outside => {}
            }
        }
        Position::Inside
    }

    fn ring(&self, (start, end): (u32, u32)) -> &[[f64; 2]] {
        &self.coords[start as usize..end as usize]
    }

    fn part_holes(&self, part: &Part) -> &[(u32, u32)] {
        &self.holes[part.holes.0 as usize..part.holes.1 as usize]
    }

    /// The grid whose boundary is closest to `(lon, lat)` within `max_m` metres, with the
    /// haversine distance to it (ties: lowest id). Meant for points outside every grid.
    fn nearest(&self, lon: f64, lat: f64, max_m: f64) -> Option<(i64, f64)> {
        if max_m <= 0.0 || self.is_empty() {
            return None;
        }
        // Search box: generous by 1 % plus a metre, so the exact check below decides.
        let reach = max_m * 1.01 + 1.0;
        let dlat = reach / M_PER_DEG;
        let cos_far = ((lat.abs() + dlat).min(89.999)).to_radians().cos();
        let dlon = (reach / (M_PER_DEG * cos_far)).min(360.0);
        let envelope = AABB::from_corners([lon - dlon, lat - dlat], [lon + dlon, lat + dlat]);
        // Local equirectangular frame around the point: metres east / north.
        let kx = M_PER_DEG * lat.to_radians().cos();
        let ky = M_PER_DEG;
        let mut best: Option<(i64, f64)> = None;
        for item in self.tree.locate_in_envelope_intersecting(&envelope) {
            let part = &item.data;
            let mut closest: Option<(f64, [f64; 2])> = None;
            for &range in std::iter::once(&part.exterior).chain(self.part_holes(part)) {
                for edge in self.ring(range).windows(2) {
                    let (ax, ay) = ((edge[0][0] - lon) * kx, (edge[0][1] - lat) * ky);
                    let (bx, by) = ((edge[1][0] - lon) * kx, (edge[1][1] - lat) * ky);
                    let (ex, ey) = (bx - ax, by - ay);
                    let len2 = ex * ex + ey * ey;
                    let t = if len2 > 0.0 {
                        (-(ax * ex + ay * ey) / len2).clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    let (cx, cy) = (ax + t * ex, ay + t * ey);
                    let d2 = cx * cx + cy * cy;
                    if closest.is_none_or(|(best_d2, _)| d2 < best_d2) {
                        let at = [
                            edge[0][0] + t * (edge[1][0] - edge[0][0]),
                            edge[0][1] + t * (edge[1][1] - edge[0][1]),
                        ];
                        closest = Some((d2, at));
                    }
                }
            }
            let Some((_, at)) = closest else { continue };
            let d = haversine_m((lon, lat), (at[0], at[1]));
            if d > max_m {
                continue;
            }
            let better = match best {
                None => true,
                Some((best_id, best_d)) => d < best_d || (d == best_d && part.id < best_id),
            };
            if better {
                best = Some((part.id, d));
            }
        }
        best
    }
}

fn coord(p: [f64; 2]) -> Coord<f64> {
    Coord { x: p[0], y: p[1] }
}

fn orient(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> Orientation {
    RobustKernel::orient2d(coord(a), coord(b), coord(c))
}

/// Exact position of `p` relative to one closed ring: crossing number along the ray
/// towards +lon with the half-open rule, plus exact on-edge / on-vertex detection.
fn ring_position(ring: &[[f64; 2]], p: [f64; 2]) -> Position {
    let [x, y] = p;
    let mut inside = false;
    for edge in ring.windows(2) {
        let (a, b) = (edge[0], edge[1]);
        let a_above = a[1] > y;
        let b_above = b[1] > y;
        if a_above != b_above {
            // The edge spans y (half-open: one end strictly above, the other at or below).
            match orient(a, b, p) {
                // Collinear with a non-horizontal edge spanning y: p is on the edge.
                Orientation::Collinear => return Position::Boundary,
                Orientation::CounterClockwise => {
                    // p left of a→b: the crossing is to the right of p iff the edge goes up.
                    if b_above {
                        inside = !inside;
                    }
                }
                Orientation::Clockwise => {
                    if a_above {
                        inside = !inside;
                    }
                }
            }
        } else if a[1] == y {
            // The start vertex is at p's latitude: p may be that vertex, or on a
            // horizontal edge through it.
            if a[0] == x || (b[1] == y && (a[0].min(b[0])..=a[0].max(b[0])).contains(&x)) {
                return Position::Boundary;
            }
        }
    }
    if inside {
        Position::Inside
    } else {
        Position::Outside
    }
}

/// Validates one ring and returns it without repeated consecutive positions.
pub(crate) fn validate_ring(ring: &[(f64, f64)]) -> Result<Vec<[f64; 2]>, RingProblem> {
    if ring.len() < 4 {
        return Err(RingProblem::TooFewPoints { points: ring.len() });
    }
    for (index, &(lon, lat)) in ring.iter().enumerate() {
        if !(lon.is_finite() && lat.is_finite()) {
            return Err(RingProblem::NonFinite { index });
        }
        if lon.abs() > 180.0 || lat.abs() > 90.0 {
            return Err(RingProblem::OutOfRange { index });
        }
    }
    if ring[0] != ring[ring.len() - 1] {
        return Err(RingProblem::NotClosed);
    }
    let mut clean: Vec<[f64; 2]> = Vec::with_capacity(ring.len());
    for &(lon, lat) in ring {
        if clean.last() != Some(&[lon, lat]) {
            clean.push([lon, lat]);
        }
    }
    if clean.len() < 4 {
        return Err(RingProblem::Degenerate);
    }
    // Shoelace area, relative to the first vertex for precision.
    let o = clean[0];
    let twice_area: f64 = clean
        .windows(2)
        .map(|e| (e[0][0] - o[0]) * (e[1][1] - o[1]) - (e[1][0] - o[0]) * (e[0][1] - o[1]))
        .sum();
    if twice_area == 0.0 {
        return Err(RingProblem::Degenerate);
    }
    if let Some((i, j)) = find_self_intersection(&clean) {
        return Err(RingProblem::SelfIntersecting {
            edges: (i, j),
            at: (clean[i][0], clean[i][1]),
        });
    }
    Ok(clean)
}

/// Finds two edges of a closed ring (no repeated consecutive positions) that cross,
/// touch, or overlap — other than neighbours sharing their common vertex. Sweep over the
/// edges sorted by their lowest longitude; only edges whose longitude ranges overlap are
/// compared, so ordinary rings cost about O(n log n).
fn find_self_intersection(ring: &[[f64; 2]]) -> Option<(usize, usize)> {
    let n = ring.len() - 1; // number of edges
    let seg = |i: usize| (ring[i], ring[i + 1]);
    let mut order: Vec<usize> = (0..n).collect();
    let min_x = |i: usize| ring[i][0].min(ring[i + 1][0]);
    order.sort_unstable_by(|&i, &j| min_x(i).total_cmp(&min_x(j)));
    for (k, &i) in order.iter().enumerate() {
        let (a, b) = seg(i);
        let max_x = a[0].max(b[0]);
        let (min_y, max_y) = (a[1].min(b[1]), a[1].max(b[1]));
        for &j in &order[k + 1..] {
            if min_x(j) > max_x {
                break;
            }
            let (c, d) = seg(j);
            if c[1].max(d[1]) < min_y || c[1].min(d[1]) > max_y {
                continue;
            }
            let (lo, hi) = (i.min(j), i.max(j));
            let adjacent = hi - lo == 1 || (lo == 0 && hi == n - 1);
            if adjacent {
                // Neighbours share one vertex; they are invalid only if they fold back
                // onto each other (a spike), or (for a triangle-like 3-edge ring) are
                // both neighbours on each side, which the area check already covers.
                let (first, second) = if hi - lo == 1 { (lo, hi) } else { (hi, lo) };
                let (p, q) = seg(first);
                let (_, r) = seg(second);
                if orient(p, q, r) == Orientation::Collinear {
                    let dot = (q[0] - p[0]) * (r[0] - q[0]) + (q[1] - p[1]) * (r[1] - q[1]);
                    if dot < 0.0 {
                        return Some((lo, hi));
                    }
                }
            } else if segments_touch(a, b, c, d) {
                return Some((lo, hi));
            }
        }
    }
    None
}

/// Whether closed segments `ab` and `cd` share at least one point (exact predicates).
fn segments_touch(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
    let o1 = orient(a, b, c);
    let o2 = orient(a, b, d);
    let o3 = orient(c, d, a);
    let o4 = orient(c, d, b);
    if o1 != o2 && o3 != o4 {
        return true;
    }
    let within = |p: [f64; 2], q: [f64; 2], r: [f64; 2]| {
        // r collinear with pq: is it inside pq's bounding box?
        r[0] >= p[0].min(q[0])
            && r[0] <= p[0].max(q[0])
            && r[1] >= p[1].min(q[1])
            && r[1] <= p[1].max(q[1])
    };
    (o1 == Orientation::Collinear && within(a, b, c))
        || (o2 == Orientation::Collinear && within(a, b, d))
        || (o3 == Orientation::Collinear && within(c, d, a))
        || (o4 == Orientation::Collinear && within(c, d, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Ring {
        vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    }

    /// An L-shaped (concave) polygon: the unit square [0,2]² minus the [1,2]×[1,2] corner.
    fn ell() -> Ring {
        vec![
            (0.0, 0.0),
            (2.0, 0.0),
            (2.0, 1.0),
            (1.0, 1.0),
            (1.0, 2.0),
            (0.0, 2.0),
            (0.0, 0.0),
        ]
    }

    #[test]
    fn inside_outside_boundary_vertex_of_a_rectangle() {
        let idx = GridIndex::build(vec![(7, rect(100.0, 30.0, 100.01, 30.01))])
            .unwrap()
            .with_nearest_within_m(0.0)
            .unwrap();
        assert_eq!(idx.lookup(100.005, 30.005), Lookup::Inside(7));
        assert_eq!(idx.lookup(100.02, 30.005), Lookup::Outside);
        assert_eq!(idx.lookup(100.0, 30.005), Lookup::OnBoundary(7, vec![7]));
        assert_eq!(idx.lookup(100.005, 30.01), Lookup::OnBoundary(7, vec![7]));
        assert_eq!(idx.lookup(100.01, 30.01), Lookup::OnBoundary(7, vec![7]));
        assert_eq!(idx.lookup(100.0, 30.0), Lookup::OnBoundary(7, vec![7]));
        // On the line of an edge but beyond its end: outside.
        assert_eq!(idx.lookup(100.02, 30.01), Lookup::Outside);
        assert_eq!(idx.lookup(100.0, 30.02), Lookup::Outside);
    }

    #[test]
    fn concave_polygon() {
        let idx = GridIndex::build(vec![(1, ell())])
            .unwrap()
            .with_nearest_within_m(0.0)
            .unwrap();
        assert_eq!(idx.lookup(0.5, 0.5), Lookup::Inside(1));
        assert_eq!(idx.lookup(1.5, 0.5), Lookup::Inside(1));
        assert_eq!(idx.lookup(0.5, 1.5), Lookup::Inside(1));
        // In the notch: inside the bounding box, outside the polygon.
        assert_eq!(idx.lookup(1.5, 1.5), Lookup::Outside);
        // The reflex vertex and the notch's edges.
        assert_eq!(idx.lookup(1.0, 1.0), Lookup::OnBoundary(1, vec![1]));
        assert_eq!(idx.lookup(1.5, 1.0), Lookup::OnBoundary(1, vec![1]));
        assert_eq!(idx.lookup(1.0, 1.5), Lookup::OnBoundary(1, vec![1]));
        // Rays through vertices (y = 1 passes the reflex vertex and (2,1)).
        assert_eq!(idx.lookup(0.5, 1.0), Lookup::Inside(1));
        assert_eq!(idx.lookup(-0.5, 1.0), Lookup::Outside);
        assert_eq!(idx.lookup(0.5, 2.0), Lookup::OnBoundary(1, vec![1]));
        assert_eq!(idx.lookup(0.5, 0.0), Lookup::OnBoundary(1, vec![1]));
        assert_eq!(idx.lookup(2.5, 1.0), Lookup::Outside);
    }

    #[test]
    fn concave_polygon_notch_uses_nearest_edge() {
        // The L shape scaled to 0.001° at lat 30: the notch is ~ 100 m wide.
        let small: Ring = ell()
            .into_iter()
            .map(|(x, y)| (120.0 + x * 0.001, 30.0 + y * 0.001))
            .collect();
        let idx = GridIndex::build(vec![(1, small)]).unwrap();
        let p = (120.0 + 0.0017, 30.0 + 0.0012);
        match idx.lookup(p.0, p.1) {
            Lookup::Nearest { id: 1, distance_m } => {
                // Closest boundary: the notch's horizontal edge at y = 1 (0.0002° south).
                let want = haversine_m(p, (p.0, 30.001));
                assert!((distance_m - want).abs() < 1e-6, "{distance_m} vs {want}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn orientation_does_not_matter() {
        let mut cw = ell();
        cw.reverse();
        let idx = GridIndex::build(vec![(1, cw)]).unwrap();
        assert_eq!(idx.lookup(0.5, 1.5), Lookup::Inside(1));
        assert_eq!(idx.lookup(1.0, 1.5), Lookup::OnBoundary(1, vec![1]));
    }

    #[test]
    fn shared_edge_and_shared_corner_go_to_the_lowest_id() {
        // 2×2 block of unit cells at a small scale, ids deliberately out of order.
        let d = 0.001;
        let idx = GridIndex::build(vec![
            (
                40,
                rect(120.0 + d, 30.0 + d, 120.0 + 2.0 * d, 30.0 + 2.0 * d),
            ),
            (10, rect(120.0, 30.0, 120.0 + d, 30.0 + d)),
            (30, rect(120.0, 30.0 + d, 120.0 + d, 30.0 + 2.0 * d)),
            (20, rect(120.0 + d, 30.0, 120.0 + 2.0 * d, 30.0 + d)),
        ])
        .unwrap();
        assert_eq!(idx.len(), 4);
        // Shared edge between 10 and 20.
        assert_eq!(
            idx.lookup(120.0 + d, 30.0 + d / 2.0),
            Lookup::OnBoundary(10, vec![10, 20])
        );
        // Shared edge between 20 and 40.
        assert_eq!(
            idx.lookup(120.0 + 1.5 * d, 30.0 + d),
            Lookup::OnBoundary(20, vec![20, 40])
        );
        // The common corner of all four.
        assert_eq!(
            idx.lookup(120.0 + d, 30.0 + d),
            Lookup::OnBoundary(10, vec![10, 20, 30, 40])
        );
        assert_eq!(
            idx.lookup(120.0 + 1.5 * d, 30.0 + 1.5 * d),
            Lookup::Inside(40)
        );
    }

    #[test]
    fn overlap_resolves_to_lowest_interior_id() {
        let idx = GridIndex::build(vec![
            (5, rect(0.0, 0.0, 2.0, 2.0)),
            (3, rect(1.0, 1.0, 3.0, 3.0)),
        ])
        .unwrap();
        assert_eq!(idx.lookup(1.5, 1.5), Lookup::Inside(3));
        // Inside 5, on 3's boundary: interior wins.
        assert_eq!(idx.lookup(1.5, 1.0), Lookup::Inside(5));
    }

    #[test]
    fn hole_and_multipart() {
        let idx = GridIndex::build_polygons(vec![
            GridPolygon {
                id: 1,
                exterior: rect(0.0, 0.0, 3.0, 3.0),
                holes: vec![rect(1.0, 1.0, 2.0, 2.0)],
            },
            GridPolygon::new(2, rect(1.0, 1.0, 2.0, 2.0)),
            GridPolygon::new(1, rect(5.0, 5.0, 6.0, 6.0)),
        ])
        .unwrap()
        .with_nearest_within_m(0.0)
        .unwrap();
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.polygon_count(), 3);
        assert_eq!(idx.lookup(0.5, 0.5), Lookup::Inside(1));
        assert_eq!(idx.lookup(1.5, 1.5), Lookup::Inside(2));
        assert_eq!(idx.lookup(1.0, 1.5), Lookup::OnBoundary(1, vec![1, 2]));
        assert_eq!(idx.lookup(5.5, 5.5), Lookup::Inside(1));
    }

    #[test]
    fn nearest_within_distance() {
        // A 0.01° cell at lat 30; 0.001° of longitude there is ≈ 96.3 m.
        let idx = GridIndex::build(vec![
            (2, rect(120.0, 30.0, 120.01, 30.01)),
            (1, rect(120.03, 30.0, 120.04, 30.01)),
        ])
        .unwrap();
        assert_eq!(idx.nearest_within_m(), DEFAULT_NEAREST_M);
        match idx.lookup(120.011, 30.005) {
            Lookup::Nearest { id: 2, distance_m } => {
                let want = haversine_m((120.011, 30.005), (120.01, 30.005));
                assert!((distance_m - want).abs() < 1e-6, "{distance_m} vs {want}");
                assert!((distance_m - 96.3).abs() < 0.5, "{distance_m}");
            }
            other => panic!("{other:?}"),
        }
        // Closer to 1 than to 2.
        assert!(matches!(
            idx.lookup(120.0295, 30.005),
            Lookup::Nearest { id: 1, .. }
        ));
        // ≈ 289 m away: beyond 200 m.
        assert_eq!(idx.lookup(120.013, 30.005), Lookup::Outside);
        // Diagonal from a corner: distance to the corner vertex.
        match idx.lookup(120.0105, 30.0105) {
            Lookup::Nearest { id: 2, distance_m } => {
                let want = haversine_m((120.0105, 30.0105), (120.01, 30.01));
                assert!((distance_m - want).abs() < 1e-6);
            }
            other => panic!("{other:?}"),
        }
        // ≈ 963 m from both cells.
        assert_eq!(idx.lookup(120.02, 30.005), Lookup::Outside);
        let wide = idx.clone().with_nearest_within_m(1_000.0).unwrap();
        assert!(matches!(
            wide.lookup(120.02, 30.005),
            Lookup::Nearest { .. }
        ));
        assert!(matches!(
            wide.lookup(120.013, 30.005),
            Lookup::Nearest { id: 2, .. }
        ));
        let off = idx.with_nearest_within_m(0.0).unwrap();
        assert_eq!(off.lookup(120.011, 30.005), Lookup::Outside);
    }

    #[test]
    fn nearest_tie_goes_to_the_lowest_id() {
        // Two grids with the same geometry: exactly equal distances.
        let idx = GridIndex::build(vec![
            (5, rect(120.0, 30.0, 120.01, 30.01)),
            (3, rect(120.0, 30.0, 120.01, 30.01)),
        ])
        .unwrap();
        assert!(matches!(
            idx.lookup(119.999, 30.005),
            Lookup::Nearest { id: 3, .. }
        ));
        assert_eq!(idx.lookup(120.0, 30.005), Lookup::OnBoundary(3, vec![3, 5]));
    }

    #[test]
    fn nearest_setting_is_validated() {
        let idx = GridIndex::build(vec![]).unwrap();
        assert!(idx.is_empty());
        assert_eq!(idx.lookup(120.0, 30.0), Lookup::Outside);
        assert!(idx.clone().with_nearest_within_m(-1.0).is_err());
        assert!(idx.with_nearest_within_m(f64::NAN).is_err());
    }

    #[test]
    fn bad_input_points_are_outside() {
        let idx = GridIndex::build(vec![(1, rect(0.0, 0.0, 1.0, 1.0))]).unwrap();
        assert_eq!(idx.lookup(f64::NAN, 0.5), Lookup::Outside);
        assert_eq!(idx.lookup(0.5, f64::INFINITY), Lookup::Outside);
        assert_eq!(idx.lookup(181.0, 0.5), Lookup::Outside);
    }

    fn ring_error(ring: Ring) -> RingProblem {
        match GridIndex::build(vec![(1, rect(0.0, 0.0, 1.0, 1.0)), (42, ring)]) {
            Err(GeoError::InvalidRing {
                grid_id: 42,
                ring: 0,
                problem,
            }) => problem,
            other => panic!("expected an error for grid 42, got {other:?}"),
        }
    }

    #[test]
    fn bad_rings_are_rejected_with_the_grid_id() {
        assert_eq!(
            ring_error(vec![(0.0, 0.0), (1.0, 0.0), (0.0, 0.0)]),
            RingProblem::TooFewPoints { points: 3 }
        );
        assert_eq!(
            ring_error(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]),
            RingProblem::NotClosed
        );
        assert_eq!(
            ring_error(vec![(0.0, 0.0), (f64::NAN, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            RingProblem::NonFinite { index: 1 }
        );
        assert_eq!(
            ring_error(vec![
                (0.0, 0.0),
                (1.0, f64::INFINITY),
                (1.0, 1.0),
                (0.0, 0.0)
            ]),
            RingProblem::NonFinite { index: 1 }
        );
        assert_eq!(
            ring_error(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 91.0), (0.0, 0.0)]),
            RingProblem::OutOfRange { index: 2 }
        );
        // Collinear "polygon" and one with only repeated points.
        assert_eq!(
            ring_error(vec![(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (0.0, 0.0)]),
            RingProblem::Degenerate
        );
        assert_eq!(
            ring_error(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 0.0), (0.0, 0.0)]),
            RingProblem::Degenerate
        );
        // Bow tie: edges 0 and 2 cross.
        assert!(matches!(
            ring_error(vec![
                (0.0, 0.0),
                (2.0, 2.0),
                (2.0, 0.0),
                (0.0, 1.0),
                (0.0, 0.0)
            ]),
            RingProblem::SelfIntersecting { edges: (0, 2), .. }
        ));
        // A ring touching itself at a vertex (two squares joined at a corner).
        assert!(matches!(
            ring_error(vec![
                (0.0, 0.0),
                (1.0, 0.0),
                (1.0, 1.0),
                (2.0, 1.0),
                (2.0, 2.0),
                (1.0, 2.0),
                (1.0, 1.0),
                (0.0, 1.0),
                (0.0, 0.0)
            ]),
            RingProblem::SelfIntersecting { .. }
        ));
        // A spike folding back along its own edge.
        assert!(matches!(
            ring_error(vec![
                (0.0, 0.0),
                (2.0, 0.0),
                (1.0, 0.0),
                (1.0, 1.0),
                (0.0, 0.0)
            ]),
            RingProblem::SelfIntersecting { .. }
        ));
        let err =
            GridIndex::build(vec![(42, vec![(0.0, 0.0), (1.0, 0.0), (0.0, 0.0)])]).unwrap_err();
        assert_eq!(err.grid_id(), Some(42));
        assert_eq!(
            err.to_string(),
            "grid 42: ring 0 has 3 positions; a closed ring needs at least 4"
        );
    }

    #[test]
    fn bad_hole_names_its_ring() {
        let err = GridIndex::build_polygons(vec![GridPolygon {
            id: 9,
            exterior: rect(0.0, 0.0, 3.0, 3.0),
            holes: vec![vec![(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0)]],
        }])
        .unwrap_err();
        assert_eq!(
            err,
            GeoError::InvalidRing {
                grid_id: 9,
                ring: 1,
                problem: RingProblem::NotClosed
            }
        );
    }

    #[test]
    fn repeated_points_are_tolerated() {
        let ring = vec![
            (0.0, 0.0),
            (0.0, 0.0),
            (1.0, 0.0),
            (1.0, 1.0),
            (1.0, 1.0),
            (0.0, 1.0),
            (0.0, 0.0),
        ];
        let idx = GridIndex::build(vec![(3, ring)]).unwrap();
        assert_eq!(idx.lookup(0.5, 0.5), Lookup::Inside(3));
        assert_eq!(idx.lookup(1.0, 0.5), Lookup::OnBoundary(3, vec![3]));
    }

    #[test]
    fn lookup_in_other_crs() {
        let idx = GridIndex::build(vec![(1, rect(116.39, 39.90, 116.40, 39.92))]).unwrap();
        let wgs = (116.395, 39.91);
        let gcj = convert(wgs, Crs::Wgs84, Crs::Gcj02);
        let bd = convert(wgs, Crs::Wgs84, Crs::Bd09);
        assert_eq!(idx.lookup_in(gcj, Crs::Gcj02), Lookup::Inside(1));
        assert_eq!(idx.lookup_in(bd, Crs::Bd09), Lookup::Inside(1));
        // The raw GCJ-02 point is ~ 600 m off to the east: not inside.
        assert_ne!(idx.lookup(gcj.0, gcj.1), Lookup::Inside(1));
    }

    #[test]
    fn lookup_helpers_and_json() {
        assert_eq!(Lookup::Inside(3).grid_id(), Some(3));
        assert!(Lookup::OnBoundary(3, vec![3, 4]).is_exact());
        assert!(
            !Lookup::Nearest {
                id: 3,
                distance_m: 1.0
            }
            .is_exact()
        );
        assert_eq!(Lookup::Outside.grid_id(), None);
        assert_eq!(
            serde_json::to_string(&Lookup::OnBoundary(3, vec![3, 4])).unwrap(),
            r#"{"on_boundary":[3,[3,4]]}"#
        );
        assert_eq!(
            serde_json::to_string(&Lookup::Nearest {
                id: 3,
                distance_m: 1.5
            })
            .unwrap(),
            r#"{"nearest":{"id":3,"distance_m":1.5}}"#
        );
        assert_eq!(
            serde_json::to_string(&Lookup::Outside).unwrap(),
            r#""outside""#
        );
    }
}

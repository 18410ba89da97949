//! Errors of the geometry crate.

use std::fmt;

use thiserror::Error;

/// What is wrong with one ring of a grid polygon.
#[derive(Debug, Clone, PartialEq)]
pub enum RingProblem {
    /// Fewer than 4 positions (a closed ring needs at least a triangle plus the closing point).
    TooFewPoints { points: usize },
    /// The last position differs from the first.
    NotClosed,
    /// A coordinate is NaN or infinite (`index` of the position in the ring).
    NonFinite { index: usize },
    /// A coordinate is outside lon −180…180 / lat −90…90 (`index` of the position).
    OutOfRange { index: usize },
    /// After dropping repeated consecutive positions, the ring has no area.
    Degenerate,
    /// Two edges cross or touch (edges are numbered from 0: edge `i` runs from position
    /// `i` to `i + 1`, counted after dropping repeated consecutive positions); `at` is a
    /// position of the first edge, to find the spot on a map.
    SelfIntersecting {
        edges: (usize, usize),
        at: (f64, f64),
    },
}

impl fmt::Display for RingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RingProblem::TooFewPoints { points } => {
                write!(f, "has {points} positions; a closed ring needs at least 4")
            }
            RingProblem::NotClosed => {
                f.write_str("is not closed (last position differs from the first)")
            }
            RingProblem::NonFinite { index } => {
                write!(f, "has a non-finite coordinate at position {index}")
            }
            RingProblem::OutOfRange { index } => write!(
                f,
                "has a coordinate outside lon -180..180 / lat -90..90 at position {index}"
            ),
            RingProblem::Degenerate => f.write_str("has zero area"),
            RingProblem::SelfIntersecting { edges, at } => write!(
                f,
                "intersects itself: edges {} and {} cross or touch (near lon {}, lat {})",
                edges.0, edges.1, at.0, at.1
            ),
        }
    }
}

/// Errors of the geometry crate.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GeoError {
    /// A grid polygon has an invalid ring. `ring` 0 is the exterior, `k ≥ 1` the k-th hole.
    #[error("grid {grid_id}: ring {ring} {problem}")]
    InvalidRing {
        grid_id: i64,
        ring: usize,
        problem: RingProblem,
    },
    /// GeoJSON that cannot be imported. `feature` is the 0-based index in `features`
    /// (`None` for a problem with the document itself).
    #[error("GeoJSON{}: {message}", feature.map(|i| format!(" feature #{i}")).unwrap_or_default())]
    GeoJson {
        feature: Option<usize>,
        message: String,
    },
    /// An unknown coordinate-system code.
    #[error("unknown coordinate system {0:?} (expected wgs84, gcj02 or bd09)")]
    UnknownCrs(String),
    /// An invalid lookup setting.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
}

impl GeoError {
    /// The grid id an error is about, if any.
    pub fn grid_id(&self) -> Option<i64> {
        match self {
            GeoError::InvalidRing { grid_id, .. } => Some(*grid_id),
            _ => None,
        }
    }
}

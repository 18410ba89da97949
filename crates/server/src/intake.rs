//! The one intake every channel ends in: parse and check the values, bring the
//! location into WGS-84, and find the grid it lies in. Storage then resolves the
//! codes, numbers and stores the event. A new channel only adds an adapter that
//! builds a `RawNewEvent`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use zhili_domain::{CoordSystem, GeoPoint, NewEvent, RawNewEvent};
use zhili_geo::{Crs, GridIndex, Lookup};
use zhili_storage::{Store, StoreError};

use crate::AppState;
use crate::error::ApiError;

/// The grid outlines, indexed for point lookups. A cache of what the database
/// holds, rebuilt by [`Grids::reload`] at start and whenever grids change.
#[derive(Default)]
pub struct Grids {
    current: RwLock<Option<Arc<Loaded>>>,
}

struct Loaded {
    index: GridIndex,
    codes: HashMap<i64, String>,
}

impl Grids {
    pub async fn reload(&self, store: &Store) -> Result<usize, StoreError> {
        let polygons = store.grid_polygons().await?;
        let codes = store
            .orgs_of_kind(&[zhili_domain::OrgKind::Grid])
            .await?
            .into_iter()
            .map(|o| (o.id.0, o.code))
            .collect::<HashMap<_, _>>();
        let rings = polygons
            .into_iter()
            .map(|(id, ring)| (id.0, ring))
            .collect();
        let index = GridIndex::build(rings)
            .map_err(|e| StoreError::Corrupt(format!("grid polygons: {e}")))?;
        let n = index.len();
        let loaded = Arc::new(Loaded { index, codes });
        if let Ok(mut slot) = self.current.write() {
            *slot = Some(loaded);
        }
        Ok(n)
    }

    /// The grid a WGS-84 point belongs to, by the index's rule (inside; on a shared
    /// boundary the lowest id; outside but within 200 m the nearest grid).
    pub fn grid_code(&self, point: GeoPoint) -> Option<String> {
        let loaded = self.current.read().ok()?.clone()?;
        match loaded.index.lookup(point.lon, point.lat) {
            Lookup::Outside => None,
            found => found
                .grid_id()
                .and_then(|id| loaded.codes.get(&id).cloned()),
        }
    }
}

fn crs(c: CoordSystem) -> Crs {
    match c {
        CoordSystem::Wgs84 => Crs::Wgs84,
        CoordSystem::Gcj02 => Crs::Gcj02,
        CoordSystem::Bd09 => Crs::Bd09,
    }
}

/// Turns what a channel received into a checked event located in WGS-84 and, when
/// the sender named no area, in its grid, then classified.
pub fn prepare(state: &AppState, raw: RawNewEvent) -> Result<NewEvent, ApiError> {
    let mut new = NewEvent::parse(raw).map_err(|e| ApiError::invalid(e.field, e.message))?;
    complete(state, &mut new);
    Ok(new)
}

/// The arrows after parsing, for adapters that parse in their own terms: locate,
/// then classify.
pub fn complete(state: &AppState, new: &mut NewEvent) {
    locate(&state.grids, new);
    classify(state, new);
}

/// Fills in the category the classifier is sure of (when the sender named none) and
/// keeps what it said; an unsure event waits in the triage queue.
fn classify(state: &AppState, new: &mut NewEvent) {
    let d = state.classifier.decide(
        &state.store,
        new.text.as_str(),
        new.category_code.as_deref(),
    );
    if new.category_code.is_none() {
        new.category_code = d.category;
    }
    new.needs_triage = d.needs_triage;
    new.classification = Some(d.classification);
}

/// Converts the location once (for storage and lookup) and fills in the grid.
pub fn locate(grids: &Grids, new: &mut NewEvent) {
    if let Some(p) = new.location {
        let (lon, lat) = zhili_geo::to_wgs84((p.lon, p.lat), crs(new.location_crs));
        let wgs = GeoPoint { lon, lat };
        new.location = Some(wgs);
        new.location_crs = CoordSystem::Wgs84;
        if new.grid_code.is_none() && new.township_code.is_none() {
            new.grid_code = grids.grid_code(wgs);
        }
    }
}

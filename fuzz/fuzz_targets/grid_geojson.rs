//! Grid outlines from GeoJSON (the map platforms' exports): parsed, every ring
//! validated; on success converted between the coordinate systems, indexed like the
//! server's grid cache and looked up at each polygon's own vertices.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_geo::{Crs, GridIndex, parse_grid_geojson};

fuzz_target!(|data: &[u8]| {
    let Some(text) = zhili_fuzz::utf8(data) else {
        return;
    };
    let Ok(mut features) = parse_grid_geojson(text) else {
        return;
    };
    let mut polygons = Vec::new();
    for (id, f) in features.iter_mut().enumerate() {
        assert!(!f.code.trim().is_empty() && !f.polygons.is_empty());
        let id = i64::try_from(id).unwrap();
        polygons.extend(f.to_grid_polygons(id));
        // Map-platform data is GCJ-02 or BD-09; the import converts it.
        f.convert(Crs::Bd09, Crs::Gcj02);
        f.convert(Crs::Gcj02, Crs::Wgs84);
    }
    let probes: Vec<(f64, f64)> = polygons
        .iter()
        .flat_map(|p| p.exterior.iter().take(4).copied())
        .collect();
    // Every ring passed validation, so indexing the grids as parsed must succeed.
    let index = GridIndex::build_polygons(polygons).expect("validated rings index");
    for (lon, lat) in probes {
        let _ = index.lookup(lon, lat);
        let _ = index.lookup_in((lon, lat), Crs::Gcj02);
    }
});

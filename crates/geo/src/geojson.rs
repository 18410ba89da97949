//! Import of grid polygons from GeoJSON (RFC 7946).
//!
//! The input is a `FeatureCollection` whose features each have a `Polygon` or
//! `MultiPolygon` geometry and a `code` property (a string, or an integer which is
//! turned into its decimal string) naming the grid. Positions are `[lon, lat]` (a third
//! value, altitude, is ignored). RFC 7946 says GeoJSON is WGS-84; data exported from a
//! Chinese map platform is often GCJ-02 or BD-09 instead: convert it with
//! [`GridFeature::convert`] before indexing.
//!
//! Every ring is validated like [`GridIndex::build`](crate::GridIndex::build) does, so an
//! import error names the feature (by 0-based index in `features`, and its code when
//! known), the polygon and the ring. Codes must be unique.
//!
//! Parsing uses `serde_json` directly (no `geojson` crate dependency).

use std::collections::HashMap;

use serde_json::Value;

use crate::grid::validate_ring;
use crate::{Crs, GeoError, GridPolygon, Ring, convert_points};

/// One polygon of a feature: exterior ring and holes, `(lon, lat)`, closed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolygonRings {
    pub exterior: Ring,
    pub holes: Vec<Ring>,
}

/// A grid read from GeoJSON: its `code` property and its polygons (one for a `Polygon`,
/// one or more for a `MultiPolygon`).
#[derive(Debug, Clone, PartialEq)]
pub struct GridFeature {
    pub code: String,
    pub polygons: Vec<PolygonRings>,
}

impl GridFeature {
    /// Converts every position from `from` to `to` (e.g. GCJ-02 data to WGS-84).
    pub fn convert(&mut self, from: Crs, to: Crs) {
        for polygon in &mut self.polygons {
            convert_points(&mut polygon.exterior, from, to);
            for hole in &mut polygon.holes {
                convert_points(hole, from, to);
            }
        }
    }

    /// The polygons as [`GridPolygon`]s for
    /// [`GridIndex::build_polygons`](crate::GridIndex::build_polygons),
    /// under the grid id the caller assigned to this code.
    pub fn to_grid_polygons(&self, id: i64) -> Vec<GridPolygon> {
        self.polygons
            .iter()
            .map(|p| GridPolygon {
                id,
                exterior: p.exterior.clone(),
                holes: p.holes.clone(),
            })
            .collect()
    }
}

/// Parses a GeoJSON `FeatureCollection` of grid polygons. See the [module documentation](self).
pub fn parse_grid_geojson(text: &str) -> Result<Vec<GridFeature>, GeoError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| doc_error(format!("not JSON: {e}")))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| doc_error("the document is not a JSON object".into()))?;
    match obj.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {}
        Some(other) => {
            return Err(doc_error(format!(
                "type is {other:?}, expected \"FeatureCollection\""
            )));
        }
        None => return Err(doc_error("missing \"type\": \"FeatureCollection\"".into())),
    }
    let features = obj
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| doc_error("missing \"features\" array".into()))?;
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(features.len());
    let mut out = Vec::with_capacity(features.len());
    for (index, feature) in features.iter().enumerate() {
        let grid = parse_feature(feature).map_err(|message| GeoError::GeoJson {
            feature: Some(index),
            message,
        })?;
        if let Some(first) = seen.insert(grid.code.clone(), index) {
            return Err(GeoError::GeoJson {
                feature: Some(index),
                message: format!(
                    "code {:?} is used again (first by feature #{first})",
                    grid.code
                ),
            });
        }
        out.push(grid);
    }
    Ok(out)
}

fn doc_error(message: String) -> GeoError {
    GeoError::GeoJson {
        feature: None,
        message,
    }
}

fn parse_feature(feature: &Value) -> Result<GridFeature, String> {
    let obj = feature.as_object().ok_or("not a JSON object")?;
    if obj.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err("\"type\" is not \"Feature\"".into());
    }
    let code = match obj.get("properties").and_then(|p| p.get("code")) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        Some(Value::String(_)) => return Err("property \"code\" is empty".into()),
        Some(other) => {
            return Err(format!(
                "property \"code\" must be a string or an integer, got {other}"
            ));
        }
        None => return Err("missing property \"code\"".into()),
    };
    let in_code = |msg: String| format!("(code {code:?}) {msg}");
    let geometry = match obj.get("geometry") {
        Some(Value::Object(g)) => g,
        Some(Value::Null) | None => return Err(in_code("has no geometry".into())),
        Some(_) => return Err(in_code("\"geometry\" is not an object".into())),
    };
    let coordinates = geometry
        .get("coordinates")
        .ok_or_else(|| in_code("geometry has no \"coordinates\"".into()))?;
    let polygons = match geometry.get("type").and_then(Value::as_str) {
        Some("Polygon") => vec![parse_polygon(coordinates).map_err(&in_code)?],
        Some("MultiPolygon") => {
            let parts = coordinates
                .as_array()
                .ok_or_else(|| in_code("MultiPolygon coordinates are not an array".into()))?;
            if parts.is_empty() {
                return Err(in_code("MultiPolygon has no polygons".into()));
            }
            parts
                .iter()
                .enumerate()
                .map(|(i, p)| parse_polygon(p).map_err(|m| in_code(format!("polygon {i}: {m}"))))
                .collect::<Result<Vec<_>, _>>()?
        }
        Some(other) => {
            return Err(in_code(format!(
                "geometry type {other:?} is not Polygon or MultiPolygon"
            )));
        }
        None => return Err(in_code("geometry has no \"type\"".into())),
    };
    Ok(GridFeature { code, polygons })
}

fn parse_polygon(value: &Value) -> Result<PolygonRings, String> {
    let rings = value
        .as_array()
        .ok_or("polygon coordinates are not an array")?;
    if rings.is_empty() {
        return Err("polygon has no rings".into());
    }
    let mut parsed = Vec::with_capacity(rings.len());
    for (ring_no, ring) in rings.iter().enumerate() {
        let ring = parse_ring(ring).map_err(|m| format!("ring {ring_no} {m}"))?;
        validate_ring(&ring).map_err(|problem| format!("ring {ring_no} {problem}"))?;
        parsed.push(ring);
    }
    let exterior = parsed.remove(0);
    Ok(PolygonRings {
        exterior,
        holes: parsed,
    })
}

fn parse_ring(value: &Value) -> Result<Ring, String> {
    let positions = value.as_array().ok_or("is not an array of positions")?;
    positions
        .iter()
        .enumerate()
        .map(|(i, pos)| {
            let nums = pos.as_array();
            let lon = nums.and_then(|a| a.first()).and_then(Value::as_f64);
            let lat = nums.and_then(|a| a.get(1)).and_then(Value::as_f64);
            match (lon, lat) {
                (Some(lon), Some(lat)) => Ok((lon, lat)),
                _ => Err(format!("position {i} is not [lon, lat]: {pos}")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GridIndex, Lookup};

    const SAMPLE: &str = r#"{
      "type": "FeatureCollection",
      "features": [
        {"type": "Feature", "properties": {"code": "330102001001", "name": "一网格"},
         "geometry": {"type": "Polygon", "coordinates": [
           [[120.0, 30.0], [120.01, 30.0], [120.01, 30.01], [120.0, 30.01], [120.0, 30.0]]]}},
        {"type": "Feature", "properties": {"code": 330102001002},
         "geometry": {"type": "MultiPolygon", "coordinates": [
           [[[120.01, 30.0, 5.0], [120.02, 30.0, 5.0], [120.02, 30.01, 5.0], [120.01, 30.01, 5.0], [120.01, 30.0, 5.0]],
            [[120.012, 30.002], [120.014, 30.002], [120.014, 30.004], [120.012, 30.004], [120.012, 30.002]]],
           [[[120.05, 30.0], [120.06, 30.0], [120.06, 30.01], [120.05, 30.0]]]
         ]}}
      ]
    }"#;

    #[test]
    fn parses_polygon_and_multipolygon() {
        let grids = parse_grid_geojson(SAMPLE).unwrap();
        assert_eq!(grids.len(), 2);
        assert_eq!(grids[0].code, "330102001001");
        assert_eq!(grids[0].polygons.len(), 1);
        assert_eq!(grids[0].polygons[0].exterior.len(), 5);
        assert_eq!(grids[1].code, "330102001002");
        assert_eq!(grids[1].polygons.len(), 2);
        assert_eq!(grids[1].polygons[0].holes.len(), 1);
        assert_eq!(grids[1].polygons[0].exterior[1], (120.02, 30.0));

        let polygons: Vec<_> = grids
            .iter()
            .enumerate()
            .flat_map(|(i, g)| g.to_grid_polygons(i as i64 + 1))
            .collect();
        let idx = GridIndex::build_polygons(polygons).unwrap();
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.lookup(120.005, 30.005), Lookup::Inside(1));
        assert_eq!(idx.lookup(120.015, 30.007), Lookup::Inside(2));
        // In the hole of grid 2 and not in any other grid: nearest is 2's hole edge.
        assert!(matches!(
            idx.lookup(120.013, 30.003),
            Lookup::Nearest { id: 2, .. }
        ));
        assert_eq!(idx.lookup(120.058, 30.002), Lookup::Inside(2));
    }

    #[test]
    fn convert_features() {
        let mut grids = parse_grid_geojson(SAMPLE).unwrap();
        let before = grids[1].polygons[0].holes[0][0];
        grids[1].convert(Crs::Gcj02, Crs::Wgs84);
        assert_eq!(
            grids[1].polygons[0].holes[0][0],
            crate::convert(before, Crs::Gcj02, Crs::Wgs84)
        );
    }

    fn err_of(text: &str) -> (Option<usize>, String) {
        match parse_grid_geojson(text) {
            Err(GeoError::GeoJson { feature, message }) => (feature, message),
            other => panic!("expected a GeoJSON error, got {other:?}"),
        }
    }

    fn collection(features: &[&str]) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        )
    }

    const GOOD: &str = r#"{"type":"Feature","properties":{"code":"A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}"#;

    #[test]
    fn errors_name_the_feature() {
        assert_eq!(err_of("[]").0, None);
        assert_eq!(err_of(r#"{"type":"Feature"}"#).0, None);
        assert!(err_of("{").1.contains("not JSON"));

        let (f, m) = err_of(&collection(&[
            GOOD,
            r#"{"type":"Feature","properties":{},"geometry":null}"#,
        ]));
        assert_eq!(f, Some(1));
        assert!(m.contains("missing property \"code\""), "{m}");

        let (f, m) = err_of(&collection(&[
            GOOD,
            r#"{"type":"Feature","properties":{"code":"B"},"geometry":{"type":"Point","coordinates":[0,0]}}"#,
        ]));
        assert_eq!(f, Some(1));
        assert!(m.contains("\"Point\" is not Polygon"), "{m}");

        let (f, m) = err_of(&collection(&[
            r#"{"type":"Feature","properties":{"code":"B"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}"#,
        ]));
        assert_eq!(f, Some(0));
        assert!(m.contains("(code \"B\") ring 0 is not closed"), "{m}");

        let (f, m) = err_of(&collection(&[
            r#"{"type":"Feature","properties":{"code":"C"},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[0,0],["x",0],[1,1],[0,0]]]]}}"#,
        ]));
        assert_eq!(f, Some(0));
        assert!(
            m.contains("polygon 1: ring 0 position 1 is not [lon, lat]"),
            "{m}"
        );

        let (f, m) = err_of(&collection(&[GOOD, GOOD]));
        assert_eq!(f, Some(1));
        assert!(m.contains("first by feature #0"), "{m}");

        let err = parse_grid_geojson(&collection(&[GOOD, GOOD])).unwrap_err();
        assert!(err.to_string().starts_with("GeoJSON feature #1: "), "{err}");
    }
}

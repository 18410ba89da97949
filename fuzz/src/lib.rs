//! What every fuzz target does with a parser's success: the checks that must hold of
//! any value a parser accepts, so that a wrong "Ok" is a finding too, not only a panic.

use zhili_domain::{CoordSystem, NewEvent};
use zhili_geo::Crs;

/// The one intake's next steps on a parsed event, as `zhili_server::intake::locate`
/// takes them: the location goes to WGS-84 and must stay a finite point near where it
/// was (the offsets are a few hundred metres; anything more is a broken conversion).
pub fn exercise_event(ev: &NewEvent) {
    assert!(
        ev.text.as_str().chars().count() > 0,
        "an accepted event has text"
    );
    if let Some(p) = ev.location {
        let from = match ev.location_crs {
            CoordSystem::Wgs84 => Crs::Wgs84,
            CoordSystem::Gcj02 => Crs::Gcj02,
            CoordSystem::Bd09 => Crs::Bd09,
        };
        let (lon, lat) = zhili_geo::to_wgs84((p.lon, p.lat), from);
        assert!(
            lon.is_finite() && lat.is_finite(),
            "{p:?} {from:?} → ({lon}, {lat})"
        );
        assert!(
            (lon - p.lon).abs() < 0.1 && (lat - p.lat).abs() < 0.1,
            "{p:?} {from:?} moved to ({lon}, {lat})"
        );
    }
}

/// Bytes as text the way the HTTP layer and the CLI take a text body: UTF-8 only.
pub fn utf8(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// What the API answers for a body it refuses: 400 for what is not JSON, otherwise a
/// 422 that names the field to fix.
#[cfg(feature = "server")]
pub fn check_api_error(e: &zhili_server::error::ApiError) {
    let status = e.status.as_u16();
    assert!(status == 400 || status == 422, "{status} {}", e.message);
    if status == 422 {
        assert!(e.field.is_some(), "a 422 names its field: {}", e.message);
    }
}

//! The browser libraries embedded by `build.rs` (Leaflet, Leaflet.markercluster,
//! ECharts), served under `/static/vendor/{package}@{version}/…`. The version is in
//! the path, so a file never changes under its URL and may be cached for a year.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use zhili_domain::Permission;

include!(concat!(env!("OUT_DIR"), "/vendor.rs"));

pub fn routes() -> crate::Routes {
    crate::Routes::new().get("/static/vendor/{*path}", Permission::Public, file)
}

/// The embedded file at `path` under `/static/vendor/`.
pub fn lookup(path: &str) -> Option<(&'static str, &'static [u8])> {
    FILES.iter().find_map(|(p, ct, bytes)| {
        (p.strip_prefix("/static/vendor/") == Some(path)).then_some((*ct, *bytes))
    })
}

async fn file(Path(path): Path<String>) -> Response {
    match lookup(&path) {
        Some((content_type, bytes)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        None => crate::pages::not_found_page(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_library_is_embedded_under_its_version() {
        for base in [LEAFLET, LEAFLET_MARKERCLUSTER, ECHARTS] {
            assert!(base.contains('@'), "{base}");
            assert!(FILES.iter().any(|(p, ..)| p.starts_with(base)));
        }
        let js = lookup(&format!(
            "{}/leaflet.js",
            &LEAFLET["/static/vendor/".len()..]
        ));
        let (ct, bytes) = js.expect("leaflet.js");
        assert_eq!(ct, "text/javascript; charset=utf-8");
        assert!(bytes.len() > 100_000);
        assert!(lookup("leaflet@0.0.0/leaflet.js").is_none());
    }
}

//! The 12345 hotline (D2): the call centre's system pushes each work order (工单) as
//! JSON over HTTP, and the same order format, one per line or as a JSON array, is
//! what a batch file for back-loading history holds. The order number is the
//! idempotency key: a push retried after a timeout finds the first event.

use serde::{Deserialize, Serialize};
use zhili_domain::event::RawLocation;
use zhili_domain::{Channel, RawNewEvent, RawReporter};

/// One work order as the call centre sends it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Order12345 {
    /// The call centre's order number (工单编号).
    pub order_no: String,
    /// What the caller asked for (诉求内容).
    pub content: String,
    /// The call taker's one-line summary (标题), put before the content.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub caller_name: Option<String>,
    #[serde(default)]
    pub caller_phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
    /// The coordinate system of lon/lat; the channel's configured default when absent
    /// (the hotline's map is usually GCJ-02).
    #[serde(default)]
    pub crs: Option<String>,
    /// zhili category code, when the call centre already mapped the order.
    #[serde(default)]
    pub category: Option<String>,
    /// Township code, when the call centre knows it; otherwise the location or
    /// the address decides.
    #[serde(default)]
    pub township: Option<String>,
    /// 紧急工单.
    #[serde(default)]
    pub urgent: bool,
}

impl Order12345 {
    /// The order as the one intake's wire form. `default_crs` applies when the
    /// order has coordinates without naming their system.
    pub fn into_raw(self, default_crs: &str) -> RawNewEvent {
        let text = match self.title.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() && !self.content.contains(t) => {
                format!("【{t}】{}", self.content)
            }
            _ => self.content,
        };
        let location = match (self.lon, self.lat) {
            (Some(lon), Some(lat)) => Some(RawLocation {
                lon,
                lat,
                crs: Some(self.crs.unwrap_or_else(|| default_crs.to_string())),
            }),
            // One without the other is a mistake the sender must hear about.
            (Some(lon), None) => Some(RawLocation {
                lon,
                lat: f64::NAN,
                crs: None,
            }),
            (None, Some(lat)) => Some(RawLocation {
                lon: f64::NAN,
                lat,
                crs: None,
            }),
            (None, None) => None,
        };
        let reporter = (self.caller_name.is_some() || self.caller_phone.is_some()).then(|| {
            RawReporter {
                kind: "citizen".into(),
                name: self.caller_name,
                phone: self.caller_phone,
            }
        });
        RawNewEvent {
            channel: Channel::Hotline12345.code().into(),
            external_id: Some(self.order_no),
            reporter,
            text,
            address: self.address,
            location,
            category: self.category,
            township: self.township,
            priority: self.urgent.then(|| "urgent".to_string()),
            ..Default::default()
        }
    }
}

/// The order's own name for a field the intake complained about, so the call
/// centre is told what to fix in its terms.
pub fn field_name(intake_field: &str) -> String {
    match intake_field {
        "external_id" => "order_no".into(),
        "text" => "content".into(),
        "reporter.name" => "caller_name".into(),
        "reporter.phone" => "caller_phone".into(),
        "location.lon" => "lon".into(),
        "location.lat" => "lat".into(),
        "location" => "lon".into(),
        "location.crs" => "crs".into(),
        "priority" => "urgent".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhili_domain::NewEvent;

    fn order() -> Order12345 {
        Order12345 {
            order_no: "12345-20261128-0001".into(),
            content: "小区门口夜间施工噪音很大".into(),
            title: Some("施工扰民".into()),
            caller_name: Some("王小明".into()),
            caller_phone: Some("13812345678".into()),
            lon: Some(121.16),
            lat: Some(30.04),
            ..Default::default()
        }
    }

    #[test]
    fn an_order_becomes_a_hotline_event_keyed_by_its_number() {
        let new = NewEvent::parse(order().into_raw("gcj02")).unwrap();
        assert_eq!(new.channel, Channel::Hotline12345);
        assert_eq!(new.external_id.as_deref(), Some("12345-20261128-0001"));
        assert_eq!(new.text.as_str(), "【施工扰民】小区门口夜间施工噪音很大");
        assert_eq!(new.location_crs, zhili_domain::CoordSystem::Gcj02);
        assert_eq!(
            new.reporter_phone.as_ref().map(|p| p.as_str()),
            Some("13812345678")
        );
    }

    #[test]
    fn half_a_coordinate_is_refused_under_the_orders_field_name() {
        let mut o = order();
        o.lat = None;
        let err = NewEvent::parse(o.into_raw("gcj02")).unwrap_err();
        assert_eq!(field_name(&err.field), "lon");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<Order12345, _> =
            serde_json::from_str(r#"{"order_no":"1","content":"x","colour":"red"}"#);
        assert!(r.is_err());
    }
}

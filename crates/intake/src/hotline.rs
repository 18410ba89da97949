//! The 12345 hotline (D2): the call centre's system pushes each work order (工单) as
//! JSON over HTTP, and the same order format, one per line or as a JSON array, is
//! what a batch file for back-loading history holds. The order number is the
//! idempotency key: a push retried after a timeout finds the first event.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use zhili_domain::event::RawLocation;
use zhili_domain::{Channel, NewEvent, RawNewEvent, RawReporter};

use crate::{FileError, Numbered, RowError, decode_text};

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
        let reporter =
            (self.caller_name.is_some() || self.caller_phone.is_some()).then(|| RawReporter {
                kind: "citizen".into(),
                name: self.caller_name,
                phone: self.caller_phone,
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

/// Reads a batch file of orders for back-loading history: JSON Lines (one order per
/// line, blank lines ignored) or one JSON array. Each order comes with the line it
/// starts on, or the reason it is refused; a file that is not JSON at all (a broken
/// array) is refused whole.
pub fn read_batch(bytes: &[u8]) -> Result<Vec<Numbered<Order12345>>, FileError> {
    let text = decode_text(bytes)?;
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    if text.trim_start().starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(&text).map_err(|e| FileError::Json {
            line: e.line(),
            message: e.to_string(),
        })?;
        let base = text.as_ptr() as usize;
        Ok(items
            .into_iter()
            .map(|item| {
                // A borrowed RawValue is a slice of `text`: its offset gives its line.
                let offset = (item.get().as_ptr() as usize).saturating_sub(base);
                let line = 1 + text
                    .get(..offset)
                    .map_or(0, |before| before.matches('\n').count());
                order(line, item.get())
            })
            .collect())
    } else {
        Ok(text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| order(i + 1, l))
            .collect())
    }
}

/// A batch file's orders as checked events of the hotline channel, each with its
/// line; field names in errors are the order's own.
pub fn batch_events(bytes: &[u8], default_crs: &str) -> Result<Vec<Numbered<NewEvent>>, FileError> {
    Ok(read_batch(bytes)?
        .into_iter()
        .map(|r| {
            let (line, o) = r?;
            NewEvent::parse(o.into_raw(default_crs))
                .map(|e| (line, e))
                .map_err(|e| RowError::new(line, field_name(&e.field), e.message))
        })
        .collect())
}

fn order(line: usize, json: &str) -> Result<(usize, Order12345), RowError> {
    let de = &mut serde_json::Deserializer::from_str(json);
    let o: Order12345 = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return RowError::new(line, "JSON", format!("不是有效的 JSON：{message}"));
        }
        // serde names the offending key in backticks for unknown and missing fields.
        let named = message.split('`').nth(1).unwrap_or("").to_string();
        if message.starts_with("unknown field") {
            RowError::new(line, named, "未知字段")
        } else if message.starts_with("missing field") {
            RowError::new(line, named, "缺少必填字段")
        } else if path == "." {
            RowError::new(line, "JSON", "每一行须是一个工单对象 {…}")
        } else {
            RowError::new(line, path, format!("取值类型不正确：{message}"))
        }
    })?;
    if o.order_no.trim().is_empty() {
        // Without its number a back-loaded order could not be recognised when the
        // same file is imported again.
        return Err(RowError::new(line, "order_no", "工单编号不能为空"));
    }
    Ok((line, o))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_json_lines_batch_gives_each_order_its_line() {
        let file = concat!(
            r#"{"order_no":"H-1","content":"路灯不亮","township":"330281002"}"#,
            "\n\n",
            r#"{"order_no":"H-2","content":"噪音","colour":"red"}"#,
            "\n",
            r#"{"order_no":"H-3"}"#,
            "\n",
            "not json\n",
            r#"{"order_no":"H-5","content":"x","lon":"east"}"#,
            "\n",
            r#"{"order_no":"H-6","content":"井盖缺失","caller_phone":"123"}"#,
            "\n",
            r#"{"order_no":" ","content":"x"}"#,
        );
        let r = batch_events(file.as_bytes(), "gcj02").unwrap();
        assert_eq!(r.len(), 7);
        let (line, ev) = r[0].as_ref().unwrap();
        assert_eq!(*line, 1);
        assert_eq!(ev.township_code.as_deref(), Some("330281002"));
        let errs: Vec<(usize, String)> = r[1..]
            .iter()
            .map(|x| {
                let e = x.as_ref().unwrap_err();
                (e.row, e.field.clone())
            })
            .collect();
        assert_eq!(
            errs,
            [
                (3, "colour".to_string()),
                (4, "content".to_string()),
                (5, "JSON".to_string()),
                (6, "lon".to_string()),
                (7, "caller_phone".to_string()),
                (8, "order_no".to_string()),
            ]
        );
    }

    #[test]
    fn a_json_array_batch_gives_each_order_the_line_it_starts_on() {
        let file = "[\n  {\"order_no\": \"A-1\", \"content\": \"路灯不亮\"},\n  {\n    \"order_no\": \"A-2\"\n  }\n]\n";
        let r = read_batch(file.as_bytes()).unwrap();
        assert_eq!(r[0].as_ref().unwrap().0, 2);
        let e = r[1].as_ref().unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (3, "content"));
        let broken = read_batch(b"[{\"order_no\": \"A-1\",\n").unwrap_err();
        assert!(
            matches!(broken, FileError::Json { line: 2, .. }),
            "{broken}"
        );
        assert_eq!(read_batch(b"  \n").unwrap_err(), FileError::Empty);
    }
}

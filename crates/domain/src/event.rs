//! A new event as it arrives from any channel, and its parsing into checked values.
//! Codes that need the database (category, grid, township) stay strings here and are
//! resolved by storage, which reports unknown ones against the same field names.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codes::{Channel, CoordSystem, Priority, ReporterKind};
use crate::values::{EventText, GeoPoint, PersonName, Phone};

/// The wire form of a new event. Unknown fields are refused, so a misspelt field
/// name is an error instead of silently lost data.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawNewEvent {
    pub channel: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub reporter: Option<RawReporter>,
    pub text: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub location: Option<RawLocation>,
    /// Category code (小类), e.g. "0101".
    #[serde(default)]
    pub category: Option<String>,
    /// Grid code; the event's village and township follow from it.
    #[serde(default)]
    pub grid: Option<String>,
    /// Township code, when the grid is not known.
    #[serde(default)]
    pub township: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawReporter {
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocation {
    pub lon: f64,
    pub lat: f64,
    /// "wgs84" (default), "gcj02" or "bd09".
    #[serde(default)]
    pub crs: Option<String>,
}

/// A new event whose every value has been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub channel: Channel,
    pub external_id: Option<String>,
    pub reporter_kind: ReporterKind,
    pub reporter_name: Option<PersonName>,
    pub reporter_phone: Option<Phone>,
    pub text: EventText,
    pub address: Option<String>,
    pub location: Option<GeoPoint>,
    /// The system `location` is in; the intake converts it to WGS-84.
    pub location_crs: CoordSystem,
    pub category_code: Option<String>,
    pub grid_code: Option<String>,
    pub township_code: Option<String>,
    pub priority: Priority,
    /// What the classifier said, filled in by the intake after parsing; the category
    /// it was sure of is already in `category_code`.
    pub classification: Option<crate::classification::Classification>,
    /// No certain category: the event waits in its township's triage queue.
    pub needs_triage: bool,
}

/// A bad value, named by its JSON path so the client knows what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct NewEventError {
    pub field: String,
    pub message: String,
}

fn bad(field: &str, message: impl Into<String>) -> NewEventError {
    NewEventError {
        field: field.to_string(),
        message: message.into(),
    }
}

const EXTERNAL_ID_MAX: usize = 100;
const ADDRESS_MAX: usize = 200;
const CODE_MAX: usize = 32;

impl NewEvent {
    pub fn parse(raw: RawNewEvent) -> Result<Self, NewEventError> {
        let channel = Channel::parse(&raw.channel).ok_or_else(|| {
            bad(
                "channel",
                format!("未知渠道，可选：{}", Channel::codes().join(", ")),
            )
        })?;
        let external_id = match raw.external_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) if id.chars().count() > EXTERNAL_ID_MAX => {
                return Err(bad(
                    "external_id",
                    format!("不能超过 {EXTERNAL_ID_MAX} 个字符"),
                ));
            }
            Some(id) => Some(id.to_string()),
        };
        let (reporter_kind, reporter_name, reporter_phone) = match raw.reporter {
            None => (ReporterKind::Anonymous, None, None),
            Some(r) => {
                let kind = ReporterKind::parse(&r.kind).ok_or_else(|| {
                    bad(
                        "reporter.kind",
                        format!("未知上报人类型，可选：{}", ReporterKind::codes().join(", ")),
                    )
                })?;
                let name = match r.name.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(n) => Some(
                        PersonName::parse(n).map_err(|e| bad("reporter.name", e.to_string()))?,
                    ),
                };
                let phone = match r.phone.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(p) => {
                        Some(Phone::parse(p).map_err(|e| bad("reporter.phone", e.to_string()))?)
                    }
                };
                (kind, name, phone)
            }
        };
        let text = EventText::parse(&raw.text).map_err(|e| bad("text", e.to_string()))?;
        let address = match raw.address.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(a) if a.chars().count() > ADDRESS_MAX => {
                return Err(bad("address", format!("不能超过 {ADDRESS_MAX} 个字符")));
            }
            Some(a) => Some(a.to_string()),
        };
        let location_crs = match raw.location.as_ref().and_then(|l| l.crs.as_deref()) {
            None | Some("") => CoordSystem::Wgs84,
            Some(c) => CoordSystem::parse(c).ok_or_else(|| {
                bad(
                    "location.crs",
                    format!("未知坐标系，可选：{}", CoordSystem::codes().join(", ")),
                )
            })?,
        };
        let location = raw
            .location
            .map(|l| GeoPoint::parse(l.lon, l.lat).map_err(|e| bad("location", e.to_string())))
            .transpose()?;
        let code = |field: &str, v: Option<String>| -> Result<Option<String>, NewEventError> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(c)
                    if c.len() > CODE_MAX
                        || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') =>
                {
                    Err(bad(field, "编码格式不正确"))
                }
                Some(c) => Ok(Some(c.to_string())),
            }
        };
        let category_code = code("category", raw.category)?;
        let grid_code = code("grid", raw.grid)?;
        let township_code = code("township", raw.township)?;
        let priority = match raw.priority.as_deref() {
            None | Some("") => Priority::Normal,
            Some(p) => Priority::parse(p).ok_or_else(|| {
                bad(
                    "priority",
                    format!("未知优先级，可选：{}", Priority::codes().join(", ")),
                )
            })?,
        };
        Ok(NewEvent {
            channel,
            external_id,
            reporter_kind,
            reporter_name,
            reporter_phone,
            text,
            address,
            location,
            location_crs,
            category_code,
            grid_code,
            township_code,
            priority,
            classification: None,
            needs_triage: false,
        })
    }
}

/// The human-readable event number: prefix, date of receipt, daily sequence,
/// e.g. `YY2026112800042`. Operators read these out on the phone, so digits only
/// after a short prefix.
pub fn event_number(prefix: &str, date: NaiveDate, seq: i64) -> String {
    format!("{prefix}{}{seq:05}", date.format("%Y%m%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawNewEvent {
        RawNewEvent {
            channel: "hotline_12345".into(),
            external_id: Some(" A-1 ".into()),
            reporter: Some(RawReporter {
                kind: "citizen".into(),
                name: Some("张三".into()),
                phone: Some("13812345678".into()),
            }),
            text: "小区门口夜间施工噪音扰民".into(),
            location: Some(RawLocation {
                lon: 121.15,
                lat: 30.04,
                crs: None,
            }),
            category: Some("0101".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_event_parses() {
        let e = NewEvent::parse(raw()).unwrap();
        assert_eq!(e.channel, Channel::Hotline12345);
        assert_eq!(e.external_id.as_deref(), Some("A-1"));
        assert_eq!(e.priority, Priority::Normal);
        assert_eq!(e.reporter_phone.unwrap().as_str(), "13812345678");
    }

    #[test]
    fn each_bad_value_names_its_field() {
        type Mutation = Box<dyn Fn(&mut RawNewEvent)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|r| r.channel = "fax".into()), "channel"),
            (Box::new(|r| r.text = "x".repeat(10_001)), "text"),
            (Box::new(|r| r.text = " ".into()), "text"),
            (
                Box::new(|r| {
                    r.location = Some(RawLocation {
                        lon: 2.35,
                        lat: 48.85,
                        crs: None,
                    })
                }),
                "location",
            ),
            (
                Box::new(|r| r.reporter.as_mut().unwrap().phone = Some("123".into())),
                "reporter.phone",
            ),
            (
                Box::new(|r| r.reporter.as_mut().unwrap().kind = "alien".into()),
                "reporter.kind",
            ),
            (
                Box::new(|r| r.category = Some("01;drop".into())),
                "category",
            ),
            (Box::new(|r| r.priority = Some("asap".into())), "priority"),
        ];
        for (mutate, field) in cases {
            let mut r = raw();
            mutate(&mut r);
            assert_eq!(NewEvent::parse(r).unwrap_err().field, field);
        }
    }

    #[test]
    fn unknown_json_fields_are_refused() {
        let err = serde_json::from_str::<RawNewEvent>(
            r#"{"channel":"web_form","text":"路灯坏了","colour":"red"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("colour"));
    }

    #[test]
    fn event_numbers_read_well() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert_eq!(event_number("YY", d, 42), "YY2026112800042");
    }
}

//! The POST Service Request form (application/x-www-form-urlencoded) as an adapter
//! to the one intake: its fields become a `RawNewEvent`, and the form itself, as the
//! client sent it, yields the idempotency key that makes a retried POST find the
//! first request instead of making a second one.

use sha2::{Digest, Sha256};
use zhili_domain::event::RawLocation;
use zhili_domain::{Channel, PersonName, Phone, RawNewEvent, RawReporter};

use super::format::Open311Error;

/// Lines zhili adds after the description; the public view recognises them.
pub const MEDIA_PREFIX: &str = "图片：";
pub const EMAIL_PREFIX: &str = "联系邮箱：";
pub const PHONE_PREFIX: &str = "联系电话：";
pub const ATTRIBUTES_PREFIX: &str = "附加信息：";
pub const ADDRESS_ID_PREFIX: &str = "地址编号：";

/// Attribute values and extra lines are cut to this many characters, and at most
/// this many attributes are kept: extras must not crowd out the description.
const EXTRA_MAX: usize = 500;
const ATTRIBUTES_MAX: usize = 50;

/// The fields of one POST, each trimmed; an empty field counts as absent, as the
/// spec's "Optional Arguments" rule says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestForm {
    pub service_code: Option<String>,
    pub lat: Option<String>,
    pub long: Option<String>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub email: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// `attribute[code]=v` and `attribute[code][]=v1&attribute[code][]=v2`, by code
    /// in order of first appearance.
    pub attributes: Vec<(String, Vec<String>)>,
}

/// The first non-empty value of `key`.
pub fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .find(|v| !v.is_empty())
}

fn attribute_code(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("attribute[")?;
    let (code, tail) = rest.split_once(']')?;
    (!code.trim().is_empty() && (tail.is_empty() || tail == "[]")).then(|| code.trim())
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl RequestForm {
    /// Reads the fields the spec defines. Anything else (a client's own extras) is
    /// ignored, never an error.
    pub fn from_pairs(pairs: &[(String, String)]) -> RequestForm {
        let get = |k: &str| param(pairs, k).map(str::to_string);
        let mut attributes: Vec<(String, Vec<String>)> = Vec::new();
        for (k, v) in pairs {
            let (Some(code), v) = (attribute_code(k), v.trim()) else {
                continue;
            };
            if v.is_empty() {
                continue;
            }
            let full = attributes.len() >= ATTRIBUTES_MAX;
            match attributes.iter_mut().find(|(c, _)| c == code) {
                Some((_, values)) => values.push(cut(v, EXTRA_MAX)),
                None if !full => attributes.push((cut(code, 64), vec![cut(v, EXTRA_MAX)])),
                None => {}
            }
        }
        RequestForm {
            service_code: get("service_code"),
            lat: get("lat"),
            long: get("long"),
            address_string: get("address_string"),
            address_id: get("address_id"),
            email: get("email"),
            device_id: get("device_id"),
            account_id: get("account_id"),
            first_name: get("first_name"),
            last_name: get("last_name"),
            phone: get("phone"),
            description: get("description"),
            media_url: get("media_url"),
            attributes,
        }
    }

    /// The location as the spec requires it: lat and long together, or an address.
    pub fn location(&self) -> Result<Option<RawLocation>, Open311Error> {
        let number = |field: &str, v: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| Open311Error::bad_request(format!("{field}：不是有效的数字")))
        };
        match (self.lat.as_deref(), self.long.as_deref()) {
            (Some(lat), Some(long)) => Ok(Some(RawLocation {
                lon: number("long", long)?,
                lat: number("lat", lat)?,
                crs: Some("wgs84".into()),
            })),
            (Some(_), None) | (None, Some(_)) => Err(Open311Error::bad_request(
                "lat/long：lat 和 long 须同时提供（WGS-84）",
            )),
            (None, None) if self.address_string.is_none() && self.address_id.is_none() => {
                Err(Open311Error::bad_request(
                    "location：须提供 lat 和 long，或 address_string，或 address_id",
                ))
            }
            (None, None) => Ok(None),
        }
    }

    /// The reporter's name: `first last`, or `姓名` without a space when both parts
    /// are Chinese (family name first). Cut to the longest name zhili keeps.
    pub fn reporter_name(&self) -> Option<String> {
        let name = match (self.first_name.as_deref(), self.last_name.as_deref()) {
            (Some(f), Some(l)) if is_han(f) && is_han(l) => format!("{l}{f}"),
            (Some(f), Some(l)) => format!("{f} {l}"),
            (Some(n), None) | (None, Some(n)) => n.to_string(),
            (None, None) => return None,
        };
        Some(cut(&name, PersonName::MAX_CHARS))
    }

    /// The event text: the description, then what zhili has no field for, one line
    /// each, so the handlers see everything the reporter gave.
    pub fn text(&self, service_name: &str) -> String {
        let mut text = match &self.description {
            Some(d) => d.clone(),
            None => format!("{service_name}（未填写描述）"),
        };
        let mut line = |prefix: &str, v: &str| {
            text.push('\n');
            text.push_str(prefix);
            text.push_str(&cut(v, EXTRA_MAX));
        };
        if !self.attributes.is_empty() {
            let joined = self
                .attributes
                .iter()
                .map(|(c, vs)| format!("{c}={}", vs.join(",")))
                .collect::<Vec<_>>()
                .join("；");
            line(ATTRIBUTES_PREFIX, &joined);
        }
        if let Some(m) = &self.media_url {
            line(MEDIA_PREFIX, m);
        }
        if let Some(a) = &self.address_id {
            line(ADDRESS_ID_PREFIX, a);
        }
        if let Some(e) = &self.email {
            line(EMAIL_PREFIX, e);
        }
        // A phone zhili cannot parse (a foreign format, a typo) is kept for the
        // handlers instead of refusing the whole request.
        if let Some(p) = &self.phone
            && Phone::parse(p).is_err()
        {
            line(PHONE_PREFIX, p);
        }
        text
    }

    /// The request as the one intake's wire form.
    pub fn to_raw(
        &self,
        service_name: &str,
        external_id: String,
    ) -> Result<RawNewEvent, Open311Error> {
        let location = self.location()?;
        Ok(RawNewEvent {
            channel: Channel::Open311.code().into(),
            external_id: Some(external_id),
            reporter: Some(RawReporter {
                kind: "citizen".into(),
                name: self.reporter_name(),
                phone: self
                    .phone
                    .as_deref()
                    .filter(|p| Phone::parse(p).is_ok())
                    .map(str::to_string),
            }),
            text: self.text(service_name),
            address: self.address_string.clone(),
            location,
            category: self.service_code.clone(),
            ..Default::default()
        })
    }
}

fn is_han(s: &str) -> bool {
    s.chars()
        .all(|c| matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '·'))
}

/// The idempotency key of a POST, as the event's external id: per client, from an
/// `Idempotency-Key` header when the client sends one, otherwise from the form
/// itself (every field but the api_key, values trimmed, empty ones dropped, in
/// sorted order). A client that retries sends the same form — FixMyStreet does, and
/// its description carries the report's own URL — so the retry finds the first
/// request. Two identical forms from one client are one request by design.
pub fn idempotency_key(client_id: i64, pairs: &[(String, String)], header: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(format!("open311 client {client_id}\n"));
    match header.map(str::trim).filter(|k| !k.is_empty()) {
        Some(key) => {
            h.update("idempotency-key\n");
            h.update(key);
        }
        None => {
            let mut fields: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.trim()))
                .filter(|(k, v)| *k != "api_key" && !v.is_empty())
                .collect();
            fields.sort_unstable();
            for (k, v) in fields {
                // Length-prefixed, so no two different forms hash the same text.
                h.update(format!("{}:{k}{}:{v}\n", k.len(), v.len()));
            }
        }
    }
    format!("{client_id}-{}", hex::encode(h.finalize()))
}

/// The form's name for a field the intake complained about.
pub fn field_name(intake_field: &str) -> &'static str {
    match intake_field {
        "text" => "description",
        "reporter.name" => "first_name/last_name",
        "reporter.phone" => "phone",
        "address" => "address_string",
        "category" => "service_code",
        "location" | "location.lon" | "location.lat" | "location.crs" => "lat/long",
        "grid" | "township" => "location",
        _ => "request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &[(&str, &str)]) -> Vec<(String, String)> {
        s.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn attributes_keep_their_values_and_unknown_fields_are_ignored() {
        let f = RequestForm::from_pairs(&pairs(&[
            ("service_code", "0101"),
            ("attribute[WHISPAWN]", "123456"),
            ("attribute[colour][]", "red"),
            ("attribute[colour][]", "blue"),
            ("attribute[]", "nameless"),
            ("attribute[x]junk", "odd"),
            ("colour", "green"),
            ("lat", " 30.005 "),
            ("long", ""),
        ]));
        assert_eq!(f.service_code.as_deref(), Some("0101"));
        assert_eq!(
            f.attributes,
            vec![
                ("WHISPAWN".to_string(), vec!["123456".to_string()]),
                (
                    "colour".to_string(),
                    vec!["red".to_string(), "blue".to_string()]
                ),
            ]
        );
        assert_eq!(f.lat.as_deref(), Some("30.005"));
        assert_eq!(f.long, None, "an empty value is an absent one");
        assert!(f.location().is_err(), "lat without long");
        assert!(
            f.text("噪音扰民")
                .contains("附加信息：WHISPAWN=123456；colour=red,blue")
        );
    }

    #[test]
    fn names_follow_the_language() {
        let mut f = RequestForm {
            first_name: Some("john".into()),
            last_name: Some("smith".into()),
            ..Default::default()
        };
        assert_eq!(f.reporter_name().as_deref(), Some("john smith"));
        f.first_name = Some("小明".into());
        f.last_name = Some("王".into());
        assert_eq!(f.reporter_name().as_deref(), Some("王小明"));
        f.last_name = None;
        assert_eq!(f.reporter_name().as_deref(), Some("小明"));
        f.first_name = Some("x".repeat(80));
        assert_eq!(f.reporter_name().map(|n| n.len()), Some(50));
    }

    #[test]
    fn a_phone_zhili_cannot_parse_goes_into_the_text() {
        let f = RequestForm {
            phone: Some("111111111".into()),
            email: Some("smit333@sfgov.edu".into()),
            description: Some("A large sinkhole".into()),
            lat: Some("30.005".into()),
            long: Some("121.155".into()),
            ..Default::default()
        };
        let raw = f.to_raw("噪音扰民", "k".into()).unwrap();
        assert_eq!(raw.reporter.as_ref().and_then(|r| r.phone.clone()), None);
        assert!(raw.text.contains("联系电话：111111111"));
        assert!(raw.text.contains("联系邮箱：smit333@sfgov.edu"));
        let good = RequestForm {
            phone: Some("138 1234 5678".into()),
            ..f
        };
        let raw = good.to_raw("噪音扰民", "k".into()).unwrap();
        assert!(raw.reporter.and_then(|r| r.phone).is_some());
        assert!(!raw.text.contains(PHONE_PREFIX));
    }

    #[test]
    fn the_key_ignores_order_blanks_and_the_api_key_but_not_content() {
        let a = pairs(&[("api_key", "one"), ("description", "x"), ("lat", "1")]);
        let b = pairs(&[
            ("lat", "1 "),
            ("description", "x"),
            ("api_key", "two"),
            ("email", ""),
        ]);
        assert_eq!(idempotency_key(1, &a, None), idempotency_key(1, &b, None));
        assert_ne!(idempotency_key(1, &a, None), idempotency_key(2, &a, None));
        let c = pairs(&[("description", "y"), ("lat", "1")]);
        assert_ne!(idempotency_key(1, &a, None), idempotency_key(1, &c, None));
        // A header decides alone.
        assert_eq!(
            idempotency_key(1, &a, Some("abc")),
            idempotency_key(1, &c, Some("abc"))
        );
        assert!(idempotency_key(12345, &a, None).len() <= 100);
    }
}

//! One document model rendered as the two formats GeoReport v2 speaks: XML (required
//! by the spec) and JSON after the Spark convention (a list becomes an array, an
//! element a key). Building each response once and rendering it twice keeps the two
//! formats from drifting apart. Ids are strings in JSON whatever they look like: the
//! spec's own JSON examples write `001`, which is not JSON.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The format a client asked for with the suffix of the resource (`services.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// Splits `services.json` into (`services`, Json). No suffix means XML, the
    /// format every GeoReport server must speak; an unknown suffix is `None`.
    pub fn split(resource: &str) -> Option<(&str, Format)> {
        match resource.rsplit_once('.') {
            None => Some((resource, Format::Xml)),
            Some((name, "xml")) => Some((name, Format::Xml)),
            Some((name, "json")) => Some((name, Format::Json)),
            Some(_) => None,
        }
    }

    /// The format for an error about a path that may not even parse: JSON when it
    /// ends in `.json`, XML otherwise.
    pub fn guess(path: &str) -> Format {
        if path.ends_with(".json") {
            Format::Json
        } else {
            Format::Xml
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
        }
    }
}

/// A value in a response document.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Text; `None` is an empty element in XML and `null` in JSON.
    Str(Option<String>),
    Num(f64),
    Int(i64),
    Bool(bool),
    /// A list of objects: `<tag><item>…</item></tag>` / `[{…}]`.
    Objs(&'static str, Vec<Obj>),
    /// A list of texts: `<tag><item>a</item></tag>` / `["a"]`.
    Strs(&'static str, Vec<String>),
}

impl Val {
    pub fn text(s: impl Into<String>) -> Val {
        Val::Str(Some(s.into()))
    }

    pub fn opt(s: Option<impl Into<String>>) -> Val {
        Val::Str(s.map(Into::into))
    }
}

/// An element with child elements in order, or a JSON object with keys in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Obj(pub Vec<(&'static str, Val)>);

impl Obj {
    pub fn with(mut self, key: &'static str, v: Val) -> Self {
        self.0.push((key, v));
        self
    }
}

/// A whole response: a list of `item`s under `root`, or a single object named `root`.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    List {
        root: &'static str,
        item: &'static str,
        items: Vec<Obj>,
    },
    One {
        root: &'static str,
        obj: Obj,
    },
}

impl Doc {
    pub fn render(&self, fmt: Format) -> String {
        match fmt {
            Format::Xml => {
                let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
                match self {
                    Doc::List { root, item, items } => {
                        xml_list(&mut out, root, item, items);
                    }
                    Doc::One { root, obj } => xml_obj(&mut out, root, obj),
                }
                out.push('\n');
                out
            }
            Format::Json => {
                let v = match self {
                    Doc::List { items, .. } => {
                        serde_json::Value::Array(items.iter().map(json_obj).collect())
                    }
                    Doc::One { obj, .. } => json_obj(obj),
                };
                v.to_string()
            }
        }
    }

    pub fn respond(&self, status: StatusCode, fmt: Format) -> Response {
        let mut res = (status, self.render(fmt)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(fmt.content_type()),
        );
        res
    }
}

/// Text content safe inside an XML 1.0 element: the five markup characters escaped,
/// and characters XML 1.0 cannot carry at all (most C0 controls, U+FFFE/U+FFFF)
/// dropped, since no escape makes them legal.
pub fn xml_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

fn xml_text(out: &mut String, tag: &str, text: Option<&str>) {
    match text {
        Some(t) if !t.is_empty() => {
            out.push('<');
            out.push_str(tag);
            out.push('>');
            xml_escape(t, out);
            out.push_str("</");
            out.push_str(tag);
            out.push('>');
        }
        _ => {
            out.push('<');
            out.push_str(tag);
            out.push_str("/>");
        }
    }
}

fn xml_obj(out: &mut String, tag: &str, obj: &Obj) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    for (key, v) in &obj.0 {
        match v {
            Val::Str(s) => xml_text(out, key, s.as_deref()),
            Val::Num(n) => xml_text(out, key, Some(&n.to_string())),
            Val::Int(n) => xml_text(out, key, Some(&n.to_string())),
            Val::Bool(b) => xml_text(out, key, Some(if *b { "true" } else { "false" })),
            Val::Objs(item, objs) => xml_list(out, key, item, objs),
            Val::Strs(item, strs) => {
                out.push('<');
                out.push_str(key);
                out.push('>');
                for s in strs {
                    xml_text(out, item, Some(s));
                }
                out.push_str("</");
                out.push_str(key);
                out.push('>');
            }
        }
    }
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

fn xml_list(out: &mut String, root: &str, item: &str, items: &[Obj]) {
    out.push('<');
    out.push_str(root);
    out.push('>');
    for o in items {
        xml_obj(out, item, o);
    }
    out.push_str("</");
    out.push_str(root);
    out.push('>');
}

fn json_obj(obj: &Obj) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (key, v) in &obj.0 {
        let j = match v {
            Val::Str(s) => s.as_ref().map_or(serde_json::Value::Null, |s| {
                serde_json::Value::String(s.clone())
            }),
            // Stored coordinates are finite; a non-finite one would become null.
            Val::Num(n) => serde_json::Number::from_f64(*n)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Val::Int(n) => serde_json::Value::from(*n),
            Val::Bool(b) => serde_json::Value::Bool(*b),
            Val::Objs(_, objs) => serde_json::Value::Array(objs.iter().map(json_obj).collect()),
            Val::Strs(_, strs) => serde_json::Value::Array(
                strs.iter()
                    .map(|s| serde_json::Value::String(s.clone()))
                    .collect(),
            ),
        };
        m.insert((*key).to_string(), j);
    }
    serde_json::Value::Object(m)
}

/// A GeoReport error response: an HTTP status and a list of {code, description}.
/// The spec wants 404 for what does not exist, 403 for a wrong or missing api_key
/// and 400 for everything else, including failures on our side.
#[derive(Debug, Clone, PartialEq)]
pub struct Open311Error {
    pub status: StatusCode,
    pub errors: Vec<(u16, String)>,
}

impl Open311Error {
    pub fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Open311Error {
            status,
            errors: vec![(status.as_u16(), description.into())],
        }
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, description)
    }

    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, description)
    }

    /// Something failed on our side. The spec asks for 400 here; the body says 500
    /// so a client can tell it apart from its own mistake. The cause is logged.
    pub fn internal() -> Self {
        Open311Error {
            status: StatusCode::BAD_REQUEST,
            errors: vec![(500, "服务暂时无法处理该请求，请稍后重试".into())],
        }
    }

    pub fn doc(&self) -> Doc {
        Doc::List {
            root: "errors",
            item: "error",
            items: self
                .errors
                .iter()
                .map(|(code, d)| {
                    Obj::default()
                        .with("code", Val::Int(i64::from(*code)))
                        .with("description", Val::text(d.clone()))
                })
                .collect(),
        }
    }

    pub fn respond(&self, fmt: Format) -> Response {
        self.doc().respond(self.status, fmt)
    }
}

impl From<zhili_storage::StoreError> for Open311Error {
    fn from(e: zhili_storage::StoreError) -> Self {
        tracing::error!(error = ?e, "open311: storage failure");
        Open311Error::internal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_choose_the_format() {
        assert_eq!(
            Format::split("services.json"),
            Some(("services", Format::Json))
        );
        assert_eq!(
            Format::split("services.xml"),
            Some(("services", Format::Xml))
        );
        assert_eq!(Format::split("services"), Some(("services", Format::Xml)));
        assert_eq!(Format::split("services.html"), None);
    }

    #[test]
    fn markup_and_illegal_characters_never_reach_the_xml() {
        let mut out = String::new();
        xml_escape("<a href=\"x\">&'\u{1}\u{FFFF}ok\n", &mut out);
        assert_eq!(out, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;ok\n");
    }

    #[test]
    fn both_formats_come_from_one_document() {
        let doc = Doc::List {
            root: "services",
            item: "service",
            items: vec![
                Obj::default()
                    .with("service_code", Val::text("001"))
                    .with("metadata", Val::Bool(false))
                    .with("group", Val::Str(None)),
            ],
        };
        assert_eq!(
            doc.render(Format::Xml),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services><service>\
             <service_code>001</service_code><metadata>false</metadata><group/>\
             </service></services>\n"
        );
        let json: serde_json::Value = serde_json::from_str(&doc.render(Format::Json)).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{"service_code": "001", "metadata": false, "group": null}])
        );
    }
}

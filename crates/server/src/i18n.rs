//! The pages' languages: Chinese first, English second (gettext style).
//!
//! The Chinese text is the key. Templates and page code write `lang.t("事件列表")`;
//! in Chinese that is the text itself, in English it is looked up in the catalog,
//! `crates/server/i18n/*.toml` (one file per area, `"中文" = "English"`), which the
//! build embeds. Text with values in it uses positional `{}`:
//! `lang.f("共 {} 条", &[&n])`, and the English entry has the same number of `{}`.
//! A missing entry falls back to the Chinese (and the catalog test fails), so a page
//! never shows a key. Data — names, addresses, what citizens wrote, category and
//! organisation names — stays as it was entered; pages mark it `lang="zh-CN"`.
//!
//! The choice comes from the `zhili_lang` cookie (set by `/lang/{code}`), else from
//! the browser's Accept-Language, else Chinese. It is a cookie, not a session field,
//! so the login page and the public pages switch too.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Display;
use std::sync::LazyLock;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// The cookie that keeps the reader's language.
pub const LANG_COOKIE: &str = "zhili_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

include!(concat!(env!("OUT_DIR"), "/i18n_files.rs"));

/// Chinese → English, from every catalog file.
static EN: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    let mut all = HashMap::new();
    for (file, text) in CATALOG_FILES {
        match parse_catalog(text) {
            Ok(entries) => all.extend(entries),
            // The catalog test reads every file, so this is only reached by a build
            // that skipped the tests; the pages then stay Chinese.
            Err(e) => tracing::error!(file, error = %e, "i18n catalog does not parse"),
        }
    }
    all
});

fn parse_catalog(text: &str) -> Result<HashMap<String, String>, toml::de::Error> {
    toml::from_str(text)
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "zh" | "zh-CN" | "zh-cn" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The page's `<html lang>`.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn is_en(self) -> bool {
        self == Lang::En
    }

    /// The language to switch to, for the header's switch link.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The switch link's text, in the language it switches to.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Zh => "中文",
            Lang::En => "English",
        }
    }

    /// `zh` in this language.
    pub fn t(self, zh: &str) -> &str {
        match self {
            Lang::Zh => zh,
            Lang::En => match EN.get(zh) {
                Some(en) => en.as_str(),
                None => {
                    tracing::debug!(text = zh, "no English for this text");
                    zh
                }
            },
        }
    }

    /// `zh` in this language with each `{}` replaced by the next value.
    pub fn f(self, zh: &str, values: &[&dyn Display]) -> String {
        fill(self.t(zh), values)
    }
}

/// Replaces each `{}` in `pattern` by the next value; extra `{}` stay empty.
fn fill(pattern: &str, values: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut values = values.iter();
    let mut rest = pattern;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        if let Some(v) = values.next() {
            out.push_str(&v.to_string());
        }
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

/// The language the request asks for: the cookie, then Accept-Language, then Chinese.
pub fn lang_of(parts: &Parts) -> Lang {
    let cookie = crate::auth::cookie(parts, LANG_COOKIE).and_then(|v| Lang::parse(v.trim()));
    if let Some(lang) = cookie {
        return lang;
    }
    parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(from_accept_language)
        .unwrap_or_default()
}

/// The first of Chinese or English the browser lists with a non-zero weight; Chinese
/// when it lists neither (the city's language).
fn from_accept_language(value: &str) -> Lang {
    let mut best: Option<(f32, usize, Lang)> = None;
    for (i, item) in value.split(',').enumerate() {
        let mut parts = item.trim().split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let lang = if tag == "zh" || tag.starts_with("zh-") {
            Lang::Zh
        } else if tag == "en" || tag.starts_with("en-") {
            Lang::En
        } else {
            continue;
        };
        if q <= 0.0 {
            continue;
        }
        // Higher weight wins; on equal weight the earlier one.
        if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
            best = Some((q, i, lang));
        }
    }
    best.map(|(_, _, l)| l).unwrap_or_default()
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(lang_of(parts))
    }
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// `GET /lang/{zh|en}`: keeps the choice in a cookie for a year and goes back to the
/// page the link was on (`?back=/path`, else the Referer's path). Only a path on this
/// server is followed, so the link can't be used to send people elsewhere.
pub async fn switch(
    Path(code): Path<String>,
    Query(q): Query<Back>,
    headers: axum::http::HeaderMap,
) -> Response {
    let referer = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(path_of_url);
    let back = q
        .back
        .or(referer)
        .filter(|b| local_path(b))
        .unwrap_or_else(|| "/".to_string());
    let Some(lang) = Lang::parse(&code) else {
        return Redirect::to(&back).into_response();
    };
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        lang.code()
    );
    let mut resp = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// `/a?b` of `http://host/a?b` (the fragment dropped).
fn path_of_url(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r)?;
    let at = rest.find('/')?;
    let path = &rest[at..];
    Some(path.split('#').next().unwrap_or(path).to_string())
}

fn local_path(p: &str) -> bool {
    p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && !p.starts_with("/lang/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_the_key_and_english_is_looked_up() {
        assert_eq!(Lang::Zh.t("事件列表"), "事件列表");
        assert_eq!(Lang::En.t("事件列表"), "Events");
        // No entry: the Chinese stays, never an empty string or a key.
        assert_eq!(Lang::En.t("没有这条译文"), "没有这条译文");
    }

    #[test]
    fn the_switch_goes_back_only_to_a_path_here() {
        assert_eq!(
            path_of_url("http://127.0.0.1:8080/events?page=2#x").as_deref(),
            Some("/events?page=2")
        );
        assert_eq!(path_of_url("https://h").as_deref(), None);
        assert!(local_path("/events"));
        assert!(!local_path("//evil.example/"));
        assert!(!local_path("https://evil.example/"));
        assert!(!local_path("/\\evil.example"));
        assert!(!local_path("/lang/en"));
    }

    #[test]
    fn values_fill_the_placeholders_in_order() {
        assert_eq!(
            fill("共 {} 条，第 {} 页", &[&12, &"2"]),
            "共 12 条，第 2 页"
        );
        assert_eq!(fill("{} of {}", &[&1]), "1 of ");
        assert_eq!(fill("no values", &[&1]), "no values");
    }

    #[test]
    fn accept_language_picks_the_preferred_of_chinese_and_english() {
        assert_eq!(from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(from_accept_language("de-DE,en;q=0.5"), Lang::En);
        assert_eq!(from_accept_language("fr"), Lang::Zh);
        assert_eq!(from_accept_language("en;q=0,zh;q=0.1"), Lang::Zh);
        assert_eq!(from_accept_language(""), Lang::Zh);
    }

    /// Every catalog file parses, no Chinese text is translated twice, and no
    /// translation loses or adds a `{}`.
    #[test]
    fn catalog_files_are_consistent() {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for (file, text) in CATALOG_FILES {
            let entries = parse_catalog(text).unwrap_or_else(|e| panic!("{file}: {e}"));
            for (zh, en) in entries {
                assert!(
                    !en.trim().is_empty(),
                    "{file}: 「{zh}」 has an empty translation"
                );
                assert_eq!(
                    zh.matches("{}").count(),
                    en.matches("{}").count(),
                    "{file}: 「{zh}」 and \"{en}\" have different placeholders"
                );
                if let Some(other) = seen.insert(zh.clone(), file) {
                    panic!("「{zh}」 is in both {other} and {file}");
                }
            }
        }
    }

    fn is_han(c: char) -> bool {
        matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
    }

    /// The string literals passed to `.t("…")` / `.f("…", …)` in `text`, with the
    /// byte ranges of the whole calls' literals, so the lint can cut them out.
    fn catalog_calls(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
        let mut out = Vec::new();
        for pat in [".t(\"", ".f(\""] {
            let mut from = 0;
            while let Some(at) = text[from..].find(pat) {
                let start = from + at + pat.len();
                let mut end = start;
                let bytes = text.as_bytes();
                while end < bytes.len() && bytes[end] != b'"' {
                    if bytes[end] == b'\\' {
                        end += 1;
                    }
                    end += 1;
                }
                let end = end.min(text.len());
                out.push((start..end, text[start..end].replace("\\\"", "\"")));
                from = end;
            }
        }
        out
    }

    fn without_comments(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find("{#") {
            out.push_str(&rest[..at]);
            match rest[at..].find("#}") {
                Some(end) => {
                    // Keep the line count, for line numbers in the report.
                    out.extend(rest[at..at + end].chars().filter(|c| *c == '\n'));
                    rest = &rest[at + end + 2..];
                }
                None => rest = "",
            }
        }
        out.push_str(rest);
        out
    }

    fn dir(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
    }

    fn files(dir: &std::path::Path, ext: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
            .expect("read dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .map(|p| {
                let name = p.file_name().expect("name").to_string_lossy().to_string();
                (name, std::fs::read_to_string(&p).expect("read"))
            })
            .collect();
        v.sort();
        v
    }

    /// Every text a template or page module asks the catalog for has an English
    /// entry, and a translated template has no Chinese outside those calls: what a
    /// template shows in Chinese as data comes from its fields, never its source.
    #[test]
    fn every_page_text_has_english() {
        let mut problems = Vec::new();
        for (name, text) in files(&dir("templates"), "html") {
            let text = without_comments(&text);
            let calls = catalog_calls(&text);
            for (_, zh) in &calls {
                if !EN.contains_key(zh.as_str()) {
                    problems.push(format!("{name}: no English for 「{zh}」"));
                }
            }
            let mut bytes = text.clone().into_bytes();
            for (range, _) in &calls {
                for b in &mut bytes[range.clone()] {
                    *b = b' ';
                }
            }
            let cut = String::from_utf8_lossy(&bytes);
            for (i, line) in cut.lines().enumerate() {
                if line.chars().any(is_han) {
                    problems.push(format!(
                        "{name}:{}: Chinese outside lang.t: {}",
                        i + 1,
                        line.trim()
                    ));
                }
            }
        }
        for (name, text) in files(&dir("src/pages"), "rs") {
            for (_, zh) in catalog_calls(&text) {
                if zh.chars().any(is_han) && !EN.contains_key(zh.as_str()) {
                    problems.push(format!("src/pages/{name}: no English for 「{zh}」"));
                }
            }
        }
        assert!(
            problems.is_empty(),
            "{} problems:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
}

//! Form bodies (`application/x-www-form-urlencoded`) as a list of pairs, so that a
//! multi-select (the same name repeated) survives, and a malformed body gets an HTML
//! error page instead of axum's plain-text rejection.

use axum::Form;
use axum::extract::{FromRequest, Request};
use axum::response::Response;

use super::view::error_page;

pub struct FormData(pub(super) Vec<(String, String)>);

/// A form may carry a password or a code: its values are zeroed when it is dropped
/// (RI-01), whatever the handler did with it.
impl Drop for FormData {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for (_, v) in &mut self.0 {
            v.zeroize();
        }
    }
}

impl FormData {
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        FormData(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The first value under `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value under `name` as typed, or "" when absent.
    pub fn value(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    /// The value trimmed, `None` when absent or blank.
    pub fn opt(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// Every value under `name`, blanks left out.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
            .collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        match Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(Form(pairs)) => Ok(FormData(pairs)),
            Err(e) => Err(error_page(
                None,
                e.status(),
                "表单提交的格式不正确，请返回上一页后重试。",
            )),
        }
    }
}

/// A message shown on a page: the catalog's English when it is one of the catalog's
/// texts, else the Chinese as written (a storage or domain message with values in
/// it), which the page then marks `lang="zh-CN"`.
#[derive(Clone)]
pub struct Msg {
    pub text: String,
    /// Left in Chinese on an English page.
    pub zh: bool,
}

impl Msg {
    pub fn new(lang: crate::i18n::Lang, message: &str) -> Self {
        let text = lang.t(message).to_string();
        Msg {
            zh: lang.is_en() && text.chars().any(|c| ('\u{3400}'..='\u{9fff}').contains(&c)),
            text,
        }
    }

    /// Text the page built in this language already (`lang.f`).
    pub fn built(text: String) -> Self {
        Msg { text, zh: false }
    }
}

impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

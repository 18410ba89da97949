//! The event-list query string, parsed once for the API and the pages alike. The
//! API refuses the first bad value with a 422 naming it; the list page shows every
//! problem as a notice and ignores that value, so a half-filled form still works.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use zhili_domain::{Channel, Status};
use zhili_storage::{DuplicateFilter, EventFilter, SortKey};

use crate::error::ApiError;

/// Every field is text so that parsing, not deserialising, decides what is wrong.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<String>,
    pub township: Option<String>,
    pub grid: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub channel: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub q: Option<String>,
    /// `hide` linked duplicates, or `only` them.
    pub duplicates: Option<String>,
    /// `1`: only events past their handling deadline now (超期).
    pub overdue: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// The sort orders offered: code, label, key, descending.
pub const SORTS: &[(&str, &str, SortKey, bool)] = &[
    (
        "-reported_at",
        "上报时间（新→旧）",
        SortKey::ReportedAt,
        true,
    ),
    (
        "reported_at",
        "上报时间（旧→新）",
        SortKey::ReportedAt,
        false,
    ),
    ("-updated_at", "最近更新", SortKey::UpdatedAt, true),
    ("updated_at", "最早更新", SortKey::UpdatedAt, false),
    ("number", "事件编号（升序）", SortKey::Number, false),
    ("-number", "事件编号（降序）", SortKey::Number, true),
    ("status", "状态", SortKey::Status, false),
    ("-status", "状态（倒序）", SortKey::Status, true),
];

pub const DEFAULT_PER_PAGE: u32 = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub message: String,
}

pub fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `YYYY-MM-DD` as midnight China time (the next midnight for an inclusive end),
/// or an RFC 3339 instant as given.
pub(crate) fn parse_time(v: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
    let d = if end_of_day { d.succ_opt()? } else { d };
    let china = chrono::FixedOffset::east_opt(8 * 3600)?;
    d.and_hms_opt(0, 0, 0)?
        .and_local_timezone(china)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

impl ListQuery {
    /// The filter, with every value that could not be used named in `problems`.
    pub fn parse(&self) -> (EventFilter, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut bad =
            |field: &'static str, message: String| problems.push(Problem { field, message });
        let mut f = EventFilter {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            sort: SortKey::ReportedAt,
            descending: true,
            ..Default::default()
        };
        if let Some(s) = nonempty(&self.status) {
            for code in s.split(',').map(str::trim) {
                match Status::parse(code) {
                    Some(st) => f.statuses.push(st),
                    None => bad(
                        "status",
                        format!(
                            "未知状态「{code}」，可选：{}",
                            Status::ALL
                                .iter()
                                .map(|s| s.code())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                }
            }
        }
        if let Some(c) = nonempty(&self.channel) {
            match Channel::parse(c) {
                Some(ch) => f.channel = Some(ch),
                None => bad("channel", format!("未知渠道「{c}」")),
            }
        }
        f.township = nonempty(&self.township).map(str::to_string);
        f.grid = nonempty(&self.grid).map(str::to_string);
        f.category = nonempty(&self.category).map(str::to_string);
        f.unit = nonempty(&self.unit).map(str::to_string);
        f.text = nonempty(&self.q).map(|t| t.chars().take(100).collect());
        match nonempty(&self.duplicates) {
            None => {}
            Some("hide") => f.duplicates = Some(DuplicateFilter::Hide),
            Some("only") => f.duplicates = Some(DuplicateFilter::Only),
            Some(_) => bad(
                "duplicates",
                "可选：hide（不含重复件）、only（只看重复件）".into(),
            ),
        }
        match nonempty(&self.overdue) {
            None | Some("0") => {}
            Some("1") => f.overdue_at = Some(Utc::now()),
            Some(_) => bad("overdue", "可选：1（只看超期未办结）".into()),
        }
        for (field, value, end) in [("from", &self.from, false), ("to", &self.to, true)] {
            if let Some(v) = nonempty(value) {
                match parse_time(v, end) {
                    Some(t) if end => f.to = Some(t),
                    Some(t) => f.from = Some(t),
                    None => bad(field, "日期格式应为 YYYY-MM-DD".into()),
                }
            }
        }
        if let Some(s) = nonempty(&self.sort) {
            match SORTS.iter().find(|(code, ..)| *code == s) {
                Some((_, _, key, desc)) => {
                    f.sort = *key;
                    f.descending = *desc;
                }
                None => bad(
                    "sort",
                    format!(
                        "未知排序方式，可选：{}",
                        SORTS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
                    ),
                ),
            }
        }
        if let Some(p) = nonempty(&self.page) {
            match p.parse::<u32>() {
                Ok(n) if n >= 1 => f.page = n,
                _ => bad("page", "页码应为正整数".into()),
            }
        }
        if let Some(p) = nonempty(&self.per_page) {
            match p.parse::<u32>() {
                Ok(n) if (1..=200).contains(&n) => f.per_page = n,
                _ => bad("per_page", "每页 1–200 条".into()),
            }
        }
        (f, problems)
    }

    /// The strict form for the API: the first problem is the answer.
    pub fn to_filter(&self) -> Result<EventFilter, ApiError> {
        let (f, problems) = self.parse();
        match problems.into_iter().next() {
            Some(p) => Err(ApiError::invalid(p.field, p.message)),
            None => Ok(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_value_is_named_and_the_rest_still_applies() {
        let q = ListQuery {
            status: Some("accepted,flying".into()),
            from: Some("2026-13-01".into()),
            to: Some("2026-11-28".into()),
            sort: Some("-number".into()),
            page: Some("0".into()),
            ..Default::default()
        };
        let (f, problems) = q.parse();
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, vec!["status", "from", "page"]);
        assert_eq!(f.statuses, vec![Status::Accepted]);
        assert!(f.from.is_none());
        // 2026-11-28 inclusive ends at midnight China time, 16:00 UTC that day.
        assert_eq!(f.to.unwrap().to_rfc3339(), "2026-11-28T16:00:00+00:00");
        assert_eq!((f.sort, f.descending, f.page), (SortKey::Number, true, 1));
        assert_eq!(q.to_filter().unwrap_err().field.as_deref(), Some("status"));
    }
}

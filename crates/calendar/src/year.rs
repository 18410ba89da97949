//! One year's holiday arrangement as published by the State Council General Office, parsed
//! and checked before it can reach a calendar: a truncated or wrong file must be refused
//! with every problem named, not turn into silently wrong deadlines.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Fewest holiday dates a year may list. The statutory holidays alone were 10 days
/// (2000–2007), 11 (2008–2024) and 13 (since 2025), and every published arrangement since
/// 2004 lists at least 16 weekday holidays (22 dates with the weekends inside the breaks);
/// fewer than 10 means a truncated file.
pub const MIN_HOLIDAY_DATES: usize = 10;
/// Most holiday dates a year may list: 2020, with the Spring Festival break extended for
/// COVID-19, listed 30. More than 60 means a wrong file (e.g. every weekend listed).
pub const MAX_HOLIDAY_DATES: usize = 60;
/// The years a year file may describe: anything else is a typo.
pub const YEAR_RANGE: std::ops::RangeInclusive<i32> = 2000..=2200;

/// One listed date: a holiday, or a make-up working day (调休上班).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayEntry {
    pub date: NaiveDate,
    /// The festival the date belongs to, e.g. `春节`; for a make-up working day, the
    /// festival whose break it pays for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A holiday that is 调休: a weekday off, paid for by a make-up working day. Informative only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_lieu: bool,
}

impl DayEntry {
    pub fn new(date: NaiveDate, name: impl Into<String>) -> Self {
        Self {
            date,
            name: Some(name.into()),
            in_lieu: false,
        }
    }
}

/// A checked year: every date inside the year, sorted, no duplicates, no date both a holiday
/// and a make-up working day, make-up days on weekends, a plausible number of holidays and,
/// when every holiday is named, every statutory festival present. It cannot hold anything
/// else: build it with [`YearData::new`] or parse it with [`YearData::from_json`] /
/// [`parse_year_file`]; it deserialises (validating) and serialises in the year-file format
/// `{"year": 2027, "holidays": [{"date": "2027-01-01", "name": "元旦"}, …], "workdays": […]}`.
///
/// A date is filed under its own year, as in the shipped table: when a notice for year Y
/// names a date in December of Y-1 (e.g. 2008's 元旦 break from 2007-12-30, 2007-12-29
/// 上班), that date belongs to Y-1's data, which is then reloaded amended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "YearFile", into = "YearFile")]
pub struct YearData {
    year: i32,
    holidays: Vec<DayEntry>,
    workdays: Vec<DayEntry>,
}

/// Something wrong in a year file, with the date (or year) it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    UnparsableDate {
        value: String,
    },
    OutsideYear {
        date: NaiveDate,
        year: i32,
    },
    /// A date of the shipped format outside its `years_covered`.
    OutsideCoveredYears {
        date: NaiveDate,
        first: i32,
        last: i32,
    },
    HolidayAndWorkday {
        date: NaiveDate,
    },
    WorkdayNotOnWeekend {
        date: NaiveDate,
    },
    DuplicateHoliday {
        date: NaiveDate,
    },
    DuplicateWorkday {
        date: NaiveDate,
    },
    /// The shipped format's `type` was neither `holiday` nor `workday`.
    UnknownDayType {
        date: String,
        value: String,
    },
    YearOutOfRange {
        year: i32,
    },
    NoHolidays {
        year: i32,
    },
    TooFewHolidays {
        year: i32,
        count: usize,
    },
    TooManyHolidays {
        year: i32,
        count: usize,
    },
    MissingFestival {
        year: i32,
        festival: &'static str,
    },
}

impl Problem {
    /// The date the problem is about, as written in the file, if it is about one date.
    pub fn date(&self) -> Option<String> {
        match self {
            Problem::UnparsableDate { value } => Some(value.clone()),
            Problem::UnknownDayType { date, .. } => Some(date.clone()),
            Problem::OutsideYear { date, .. }
            | Problem::OutsideCoveredYears { date, .. }
            | Problem::HolidayAndWorkday { date }
            | Problem::WorkdayNotOnWeekend { date }
            | Problem::DuplicateHoliday { date }
            | Problem::DuplicateWorkday { date } => Some(date.to_string()),
            _ => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnparsableDate { value } => {
                write!(f, "{value:?}: not a date (expected YYYY-MM-DD)")
            }
            Problem::OutsideYear { date, year } => write!(f, "{date}: not in {year}"),
            Problem::OutsideCoveredYears { date, first, last } => {
                write!(f, "{date}: outside years_covered {first}–{last}")
            }
            Problem::HolidayAndWorkday { date } => {
                write!(
                    f,
                    "{date}: listed both as a holiday and as a make-up working day"
                )
            }
            Problem::WorkdayNotOnWeekend { date } => write!(
                f,
                "{date}: make-up working day (调休上班) on a {}; it must be a Saturday or Sunday",
                weekday_name(date.weekday())
            ),
            Problem::DuplicateHoliday { date } => write!(f, "{date}: holiday listed twice"),
            Problem::DuplicateWorkday { date } => {
                write!(f, "{date}: make-up working day listed twice")
            }
            Problem::UnknownDayType { date, value } => write!(
                f,
                "{date}: type {value:?} is neither \"holiday\" nor \"workday\""
            ),
            Problem::YearOutOfRange { year } => write!(
                f,
                "{year}: not a plausible year ({}–{})",
                YEAR_RANGE.start(),
                YEAR_RANGE.end()
            ),
            Problem::NoHolidays { year } => write!(f, "{year}: no holidays listed"),
            Problem::TooFewHolidays { year, count } => write!(
                f,
                "{year}: only {count} holiday date(s) listed, at least {MIN_HOLIDAY_DATES} expected (truncated file?)"
            ),
            Problem::TooManyHolidays { year, count } => write!(
                f,
                "{year}: {count} holiday dates listed, at most {MAX_HOLIDAY_DATES} expected (wrong file?)"
            ),
            Problem::MissingFestival { year, festival } => {
                write!(f, "{year}: no holiday named for {festival}")
            }
        }
    }
}

impl Problem {
    /// The problem in Chinese, for the administrator's page.
    pub fn message_zh(&self) -> String {
        match self {
            Problem::UnparsableDate { value } => format!("{value:?}：不是日期（应为 YYYY-MM-DD）"),
            Problem::OutsideYear { date, year } => format!("{date}：不在 {year} 年内"),
            Problem::OutsideCoveredYears { date, first, last } => {
                format!("{date}：超出文件所列年份 {first}–{last}")
            }
            Problem::HolidayAndWorkday { date } => {
                format!("{date}：同时列为节假日和调休上班日")
            }
            Problem::WorkdayNotOnWeekend { date } => format!(
                "{date}：调休上班日须为周六或周日，此日为{}",
                match date.weekday() {
                    Weekday::Mon => "周一",
                    Weekday::Tue => "周二",
                    Weekday::Wed => "周三",
                    Weekday::Thu => "周四",
                    Weekday::Fri => "周五",
                    Weekday::Sat => "周六",
                    Weekday::Sun => "周日",
                }
            ),
            Problem::DuplicateHoliday { date } => format!("{date}：节假日重复列出"),
            Problem::DuplicateWorkday { date } => format!("{date}：调休上班日重复列出"),
            Problem::UnknownDayType { date, value } => {
                format!("{date}：类型 {value:?} 既不是 holiday 也不是 workday")
            }
            Problem::YearOutOfRange { year } => format!(
                "{year}：年份不合理（{}–{}）",
                YEAR_RANGE.start(),
                YEAR_RANGE.end()
            ),
            Problem::NoHolidays { year } => format!("{year}：没有列出节假日"),
            Problem::TooFewHolidays { year, count } => format!(
                "{year}：只列出 {count} 个节假日，至少应有 {MIN_HOLIDAY_DATES} 个（文件不完整？）"
            ),
            Problem::TooManyHolidays { year, count } => format!(
                "{year}：列出 {count} 个节假日，最多应有 {MAX_HOLIDAY_DATES} 个（文件有误？）"
            ),
            Problem::MissingFestival { year, festival } => {
                format!("{year}：缺少{festival}假期")
            }
        }
    }
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// All the problems found in a year file (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Why a year file was refused.
#[derive(Debug, thiserror::Error)]
pub enum YearDataError {
    #[error("cannot read the year file: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unrecognised year file: {0}")]
    Format(String),
    #[error("{n} problem(s): {0}", n = .0.0.len())]
    Invalid(Problems),
}

impl YearData {
    /// Checks and builds a year. Entries may come in any order; they are stored sorted.
    pub fn new(
        year: i32,
        mut holidays: Vec<DayEntry>,
        mut workdays: Vec<DayEntry>,
    ) -> Result<Self, Problems> {
        let mut problems = Vec::new();
        if !YEAR_RANGE.contains(&year) {
            problems.push(Problem::YearOutOfRange { year });
        }
        holidays.sort_by_key(|e| e.date);
        workdays.sort_by_key(|e| e.date);
        for e in holidays.iter().chain(&workdays) {
            if e.date.year() != year {
                problems.push(Problem::OutsideYear { date: e.date, year });
            }
        }
        for w in holidays.windows(2) {
            if w[0].date == w[1].date {
                problems.push(Problem::DuplicateHoliday { date: w[0].date });
            }
        }
        for w in workdays.windows(2) {
            if w[0].date == w[1].date {
                problems.push(Problem::DuplicateWorkday { date: w[0].date });
            }
        }
        let holiday_dates: BTreeSet<NaiveDate> = holidays.iter().map(|e| e.date).collect();
        let mut both = BTreeSet::new();
        for e in &workdays {
            if holiday_dates.contains(&e.date) && both.insert(e.date) {
                problems.push(Problem::HolidayAndWorkday { date: e.date });
            }
            if !matches!(e.date.weekday(), Weekday::Sat | Weekday::Sun) {
                problems.push(Problem::WorkdayNotOnWeekend { date: e.date });
            }
        }
        let count = holiday_dates.len();
        if count == 0 {
            problems.push(Problem::NoHolidays { year });
        } else if count < MIN_HOLIDAY_DATES {
            problems.push(Problem::TooFewHolidays { year, count });
        } else if count > MAX_HOLIDAY_DATES {
            problems.push(Problem::TooManyHolidays { year, count });
        }
        if count > 0 && holidays.iter().all(|e| e.name.is_some()) {
            for festival in missing_festivals(year, &holidays) {
                problems.push(Problem::MissingFestival { year, festival });
            }
        }
        if problems.is_empty() {
            Ok(Self {
                year,
                holidays,
                workdays,
            })
        } else {
            Err(Problems(problems))
        }
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    /// Holidays, sorted by date.
    pub fn holidays(&self) -> &[DayEntry] {
        &self.holidays
    }

    /// Make-up working days (调休上班), sorted by date.
    pub fn workdays(&self) -> &[DayEntry] {
        &self.workdays
    }

    /// Parses a file holding exactly one year, in either format (see [`parse_year_file`]).
    pub fn from_json(json: &str) -> Result<Self, YearDataError> {
        let mut years = parse_year_file(json)?;
        if years.len() != 1 {
            return Err(YearDataError::Format(format!(
                "expected one year, found {}",
                years.len()
            )));
        }
        Ok(years.remove(0))
    }

    /// The year-file format, pretty-printed; [`YearData::from_json`] reads it back.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a year serialises")
    }
}

/// The statutory festivals (全国年节及纪念日放假办法) a year's arrangement must name, and
/// words that identify each in a holiday's name (Chinese or English).
const FESTIVALS: [(&str, &[&str], i32); 7] = [
    ("元旦", &["元旦", "new year"], 2000),
    ("春节", &["春节", "spring festival"], 2000),
    ("清明", &["清明", "tomb", "ching ming", "qingming"], 2008),
    (
        "劳动节",
        &["劳动", "五一", "labour", "labor", "workers"],
        2000,
    ),
    ("端午", &["端午", "dragon boat"], 2008),
    ("中秋", &["中秋", "mid-autumn", "mid autumn"], 2008),
    ("国庆节", &["国庆", "national day"], 2000),
];

/// Festivals missing from a year whose holidays are all named. 清明, 端午 and 中秋 became
/// statutory holidays in 2008. When 中秋 falls inside the National Day break the notice
/// announces one combined break ("国庆节、中秋节：10月1日至8日", as in 2020) whose days a
/// file may name 国庆节 only: a National Day break of 8 or more days counts for 中秋.
fn missing_festivals(year: i32, holidays: &[DayEntry]) -> Vec<&'static str> {
    let names: Vec<String> = holidays
        .iter()
        .filter_map(|e| e.name.as_deref())
        .map(str::to_lowercase)
        .collect();
    let days_named = |words: &[&str]| {
        names
            .iter()
            .filter(|n| words.iter().any(|w| n.contains(w)))
            .count()
    };
    let national_day_days = days_named(FESTIVALS[6].1);
    FESTIVALS
        .iter()
        .filter(|(_, _, since)| year >= *since)
        .filter(|(festival, words, _)| {
            days_named(words) == 0 && !(*festival == "中秋" && national_day_days >= 8)
        })
        .map(|(festival, _, _)| *festival)
        .collect()
}

/// The year-file format as written, before checking: dates stay text so that a bad one is
/// reported with the others instead of failing the whole parse.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    #[serde(default)]
    holidays: Vec<RawEntry>,
    #[serde(default)]
    workdays: Vec<RawEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    in_lieu: bool,
}

impl From<YearData> for YearFile {
    fn from(y: YearData) -> Self {
        let raw = |e: DayEntry| RawEntry {
            date: e.date.to_string(),
            name: e.name,
            in_lieu: e.in_lieu,
        };
        YearFile {
            year: y.year,
            holidays: y.holidays.into_iter().map(raw).collect(),
            workdays: y.workdays.into_iter().map(raw).collect(),
        }
    }
}

impl TryFrom<YearFile> for YearData {
    type Error = Problems;

    fn try_from(file: YearFile) -> Result<Self, Problems> {
        let mut problems = Vec::new();
        let mut parse = |entries: Vec<RawEntry>| -> Vec<DayEntry> {
            entries
                .into_iter()
                .filter_map(|r| match parse_date(&r.date) {
                    Some(date) => Some(DayEntry {
                        date,
                        name: r.name,
                        in_lieu: r.in_lieu,
                    }),
                    None => {
                        problems.push(Problem::UnparsableDate { value: r.date });
                        None
                    }
                })
                .collect()
        };
        let holidays = parse(file.holidays);
        let workdays = parse(file.workdays);
        match YearData::new(file.year, holidays, workdays) {
            Ok(y) if problems.is_empty() => Ok(y),
            Ok(_) => Err(Problems(problems)),
            Err(Problems(more)) => {
                problems.extend(more);
                Err(Problems(problems))
            }
        }
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// The format of the shipped `cn_holidays_2004_2026.json`: a map from date to
/// `{"type": "holiday"|"workday", "name_zh": …, "name": …, "in_lieu": …}`, any number of years.
#[derive(Debug, Deserialize)]
struct ShippedFile {
    #[serde(default)]
    years_covered: Option<(i32, i32)>,
    days: BTreeMap<String, ShippedDay>,
}

#[derive(Debug, Deserialize)]
struct ShippedDay {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    name_zh: Option<String>,
    #[serde(default)]
    in_lieu: bool,
}

/// Parses a year file and checks every year in it, reporting all problems of all years.
///
/// Accepted: one year-file object `{"year": 2027, "holidays": […], "workdays": […]}`, an
/// array of them, or the shipped format (an object with `"days"`, optionally
/// `"years_covered": [first, last]`; every year in that range must then have holidays).
pub fn parse_year_file(json: &str) -> Result<Vec<YearData>, YearDataError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    let mut shipped_problems = Vec::new();
    let files: Vec<YearFile> = match &value {
        serde_json::Value::Array(_) => serde_json::from_value(value)?,
        serde_json::Value::Object(o) if o.contains_key("days") => {
            let (files, problems) = shipped_to_year_files(serde_json::from_value(value)?)?;
            shipped_problems = problems;
            files
        }
        serde_json::Value::Object(o) if o.contains_key("year") => {
            vec![serde_json::from_value(value)?]
        }
        _ => {
            return Err(YearDataError::Format(
                "expected {\"year\": 2027, \"holidays\": [{\"date\": \"2027-01-01\", \"name\": \"元旦\"}, …], \
                 \"workdays\": […]}, an array of such objects, or the shipped {\"days\": {…}} format"
                    .into(),
            ));
        }
    };
    if files.is_empty() && shipped_problems.is_empty() {
        return Err(YearDataError::Format("no year in the file".into()));
    }
    let mut years = Vec::new();
    let mut problems = shipped_problems;
    let mut seen = BTreeSet::new();
    for file in files {
        if !seen.insert(file.year) {
            return Err(YearDataError::Format(format!(
                "year {} appears twice",
                file.year
            )));
        }
        match YearData::try_from(file) {
            Ok(y) => years.push(y),
            Err(Problems(p)) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        Ok(years)
    } else {
        Err(YearDataError::Invalid(Problems(problems)))
    }
}

/// The years of a shipped-format file, and the problems only that format can have.
fn shipped_to_year_files(
    file: ShippedFile,
) -> Result<(Vec<YearFile>, Vec<Problem>), YearDataError> {
    let mut problems = Vec::new();
    let mut by_year: BTreeMap<i32, YearFile> = BTreeMap::new();
    let empty = |year| YearFile {
        year,
        holidays: Vec::new(),
        workdays: Vec::new(),
    };
    if let Some((first, last)) = file.years_covered {
        if first > last || !YEAR_RANGE.contains(&first) || !YEAR_RANGE.contains(&last) {
            return Err(YearDataError::Format(format!(
                "years_covered [{first}, {last}] is not a plausible range"
            )));
        }
        for y in first..=last {
            by_year.insert(y, empty(y));
        }
    }
    for (date, day) in file.days {
        let Some(parsed) = parse_date(&date) else {
            problems.push(Problem::UnparsableDate { value: date });
            continue;
        };
        let year = match file.years_covered {
            Some((first, last)) if !(first..=last).contains(&parsed.year()) => {
                problems.push(Problem::OutsideCoveredYears {
                    date: parsed,
                    first,
                    last,
                });
                continue;
            }
            _ => parsed.year(),
        };
        let entry = RawEntry {
            date,
            name: day.name_zh.or(day.name),
            in_lieu: day.in_lieu,
        };
        let year_file = by_year.entry(year).or_insert_with(|| empty(year));
        match day.kind.as_str() {
            "holiday" => year_file.holidays.push(entry),
            "workday" => year_file.workdays.push(entry),
            _ => problems.push(Problem::UnknownDayType {
                date: entry.date,
                value: day.kind,
            }),
        }
    }
    Ok((by_year.into_values().collect(), problems))
}

//! The mainland China working-day calendar: statutory holidays and make-up working days as
//! data, working-day and working-hour arithmetic. No IO.
//!
//! A date is a working day if it is a make-up working day (调休上班), or Monday–Friday and
//! not a holiday. Deadlines follow Chinese administrative practice: the day of receipt is
//! not counted (期间开始之日不计算在内), so "within 5 working days" of a report received
//! on any day, at any hour, ends at the close of the 5th working day after that day.
//!
//! The calendar knows only the years it was given: [`Calendar::shipped`] has 2004–2026, a new
//! year is added with [`Calendar::with_year`] from a checked [`YearData`]. A date in any other
//! year is an error ([`CalendarError::YearNotCovered`]), never a guess: a deadline computed
//! on a guessed calendar would be silently wrong around the next Spring Festival.
//!
//! ```
//! use chrono::{DateTime, NaiveDate, Utc};
//! use zhili_calendar::Calendar;
//!
//! let cal = Calendar::shipped();
//! let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
//! // 02-09 is a working day, 02-10..17 the Spring Festival break, Sunday 02-18 调休上班.
//! assert_eq!(cal.add_working_days(d("2024-02-08"), 2)?, d("2024-02-18"));
//! // Received 2024-02-08 10:00 China time, answer within 2 working days: 02-18 17:30.
//! let received: DateTime<Utc> = "2024-02-08T02:00:00Z".parse().unwrap();
//! let deadline: DateTime<Utc> = "2024-02-18T09:30:00Z".parse().unwrap();
//! assert_eq!(cal.deadline_days(received, 2)?, deadline);
//! assert!(!cal.covers(2027));
//! # Ok::<(), zhili_calendar::CalendarError>(())
//! ```

mod hours;
mod year;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc, Weekday};

pub use hours::{WorkingHours, WorkingHoursError, china_time};
pub use year::{
    DayEntry, MAX_HOLIDAY_DATES, MIN_HOLIDAY_DATES, Problem, Problems, YEAR_RANGE, YearData,
    YearDataError, parse_year_file,
};

/// The shipped holiday table, 2004–2026, as published in the shared data folder
/// (see `data/` and the data README): parsed from the `chinesecalendar` package 1.11.0.
pub const SHIPPED_JSON: &str = include_str!("../data/cn_holidays_2004_2026.json");

/// Corrections applied to [`SHIPPED_JSON`], each checked against the State Council notice:
/// (date, festival, source). The file stays as published so it can be compared with a newer
/// one; a correction lives here, where it is seen and tested.
const SHIPPED_ERRATA_WORKDAYS: &[(&str, &str, &str)] = &[(
    "2005-12-31",
    "元旦",
    "国办发明电〔2005〕35号: 元旦 1月1日—3日放假 … 12月31日(星期六)上班; \
     missing from chinesecalendar 1.11.0 (upstream issue #125)",
)];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The date falls in a year whose holiday arrangement has not been loaded.
    #[error(
        "the working-day calendar does not cover {0}: load the {0} holiday arrangement \
         (国务院办公厅关于{0}年部分节假日安排的通知) first"
    )]
    YearNotCovered(i32),
    /// Beyond the dates chrono can represent.
    #[error("date out of range")]
    OutOfRange,
}

/// What kind of day a date is, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind<'a> {
    /// Monday–Friday, no holiday.
    Weekday,
    /// Saturday or Sunday, neither holiday nor make-up working day.
    Weekend,
    /// A listed holiday (on a weekday or inside a break on a weekend).
    Holiday { name: Option<&'a str> },
    /// A make-up working day (调休上班), always a Saturday or Sunday.
    MakeupWorkday { name: Option<&'a str> },
}

impl DayKind<'_> {
    pub fn is_working_day(&self) -> bool {
        matches!(self, DayKind::Weekday | DayKind::MakeupWorkday { .. })
    }
}

impl fmt::Display for DayKind<'_> {
    /// `weekday`, `weekend`, the holiday's name (`春节`) or `holiday`, `调休上班 (春节)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DayKind::Weekday => f.write_str("weekday"),
            DayKind::Weekend => f.write_str("weekend"),
            DayKind::Holiday { name: Some(n) } => f.write_str(n),
            DayKind::Holiday { name: None } => f.write_str("holiday"),
            DayKind::MakeupWorkday { name: Some(n) } => write!(f, "调休上班 ({n})"),
            DayKind::MakeupWorkday { name: None } => f.write_str("调休上班"),
        }
    }
}

/// A year and, per day of the year, whether it is a working day.
#[derive(Debug, Clone)]
struct Year {
    data: YearData,
    working: Vec<bool>,
}

impl Year {
    fn new(data: YearData) -> Self {
        let y = data.year();
        let mut working = Vec::with_capacity(366);
        let mut d = NaiveDate::from_yo_opt(y, 1);
        while let Some(date) = d.filter(|d| d.year() == y) {
            working.push(!matches!(date.weekday(), Weekday::Sat | Weekday::Sun));
            d = date.succ_opt();
        }
        for e in data.holidays() {
            working[e.date.ordinal0() as usize] = false;
        }
        for e in data.workdays() {
            working[e.date.ordinal0() as usize] = true;
        }
        Self { data, working }
    }
}

/// The working-day calendar: the years it covers, and the office hours of a working day.
/// `Calendar::default()` covers no year; start from [`Calendar::shipped`].
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    years: BTreeMap<i32, Year>,
    hours: WorkingHours,
}

impl Calendar {
    /// A calendar of the given years (a later one with the same year replaces an earlier
    /// one), with the default office hours.
    pub fn from_years(years: impl IntoIterator<Item = YearData>) -> Self {
        years
            .into_iter()
            .fold(Calendar::default(), Calendar::with_year)
    }

    /// 2004–2026 from the embedded table (parsed once), with the default office hours.
    /// Clone it to add a year: `Calendar::shipped().clone().with_year(y2027)`.
    pub fn shipped() -> &'static Calendar {
        static SHIPPED: OnceLock<Calendar> = OnceLock::new();
        SHIPPED.get_or_init(|| {
            let years = parse_year_file(SHIPPED_JSON)
                .unwrap_or_else(|e| panic!("the shipped holiday table is invalid: {e}"));
            Calendar::from_years(years.into_iter().map(apply_errata))
        })
    }

    /// Adds a year, or replaces it if already covered.
    pub fn with_year(mut self, year: YearData) -> Self {
        self.years.insert(year.year(), Year::new(year));
        self
    }

    pub fn with_working_hours(mut self, hours: WorkingHours) -> Self {
        self.hours = hours;
        self
    }

    pub fn working_hours(&self) -> &WorkingHours {
        &self.hours
    }

    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The covered years, in order.
    pub fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// The data of a covered year.
    pub fn year(&self, year: i32) -> Option<&YearData> {
        self.years.get(&year).map(|y| &y.data)
    }

    fn covered(&self, year: i32) -> Result<&Year, CalendarError> {
        self.years
            .get(&year)
            .ok_or(CalendarError::YearNotCovered(year))
    }

    /// What kind of day `date` is, with the holiday's name.
    pub fn day_kind(&self, date: NaiveDate) -> Result<DayKind<'_>, CalendarError> {
        let data = &self.covered(date.year())?.data;
        Ok(if let Some(name) = find_name(data.holidays(), date) {
            DayKind::Holiday { name }
        } else if let Some(name) = find_name(data.workdays(), date) {
            DayKind::MakeupWorkday { name }
        } else if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            DayKind::Weekend
        } else {
            DayKind::Weekday
        })
    }

    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        Ok(self.covered(date.year())?.working[date.ordinal0() as usize])
    }

    /// The `n`-th working day after `date`; `date` itself is never counted (the day of
    /// receipt), whether or not it is a working day. `n = 0` returns `date` unchanged.
    /// Example: `add_working_days(2024-02-08, 2) = 2024-02-18`: 02-09 is a working day,
    /// 02-10..17 the Spring Festival break, and Sunday 02-18 a make-up working day.
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        self.covered(date.year())?;
        let mut d = date;
        let mut left = n;
        while left > 0 {
            d = d.succ_opt().ok_or(CalendarError::OutOfRange)?;
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// The first working day after `date` (= `add_working_days(date, 1)`).
    pub fn next_working_day(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        self.add_working_days(date, 1)
    }

    /// `date` if it is a working day, else the next working day.
    pub fn working_day_on_or_after(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        if self.is_working_day(date)? {
            Ok(date)
        } else {
            self.next_working_day(date)
        }
    }

    /// The last working day before `date`.
    pub fn previous_working_day(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        self.covered(date.year())?;
        let mut d = date;
        loop {
            d = d.pred_opt().ok_or(CalendarError::OutOfRange)?;
            if self.is_working_day(d)? {
                return Ok(d);
            }
        }
    }

    /// The working days after `a` up to and including `b`; negative (minus the count after
    /// `b` up to and including `a`) when `b` is before `a`. For `n ≥ 0`,
    /// `working_days_between(d, add_working_days(d, n)) == n`.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> Result<i64, CalendarError> {
        self.covered(a.year())?;
        self.covered(b.year())?;
        let (from, to, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
        let mut count = 0;
        let mut d = from;
        while d < to {
            d = d.succ_opt().ok_or(CalendarError::OutOfRange)?;
            if self.is_working_day(d)? {
                count += 1;
            }
        }
        Ok(sign * count)
    }

    /// The instant at which `minutes` of working time have passed since `start`. Working
    /// time is the office hours of working days, in China time; a start outside them counts
    /// from the next working period. A result at the end of a period stays there (12:00,
    /// not 13:30). `minutes = 0` returns `start` unchanged.
    pub fn add_working_minutes<Tz: TimeZone>(
        &self,
        start: &DateTime<Tz>,
        minutes: u32,
    ) -> Result<DateTime<Tz>, CalendarError> {
        let local = to_china(start);
        self.covered(local.date().year())?;
        let mut remaining = TimeDelta::minutes(i64::from(minutes));
        if remaining.is_zero() {
            return Ok(start.clone());
        }
        let mut day = local.date();
        let mut cursor = local;
        loop {
            if self.is_working_day(day)? {
                for &(s, e) in self.hours.periods() {
                    let begin = cursor.max(day.and_time(s));
                    let end = day.and_time(e);
                    if begin >= end {
                        continue;
                    }
                    let available = end - begin;
                    if remaining <= available {
                        return Ok(from_china(begin + remaining, &start.timezone()));
                    }
                    remaining -= available;
                }
            }
            day = day.succ_opt().ok_or(CalendarError::OutOfRange)?;
            cursor = day.and_time(chrono::NaiveTime::MIN);
        }
    }

    /// [`Calendar::add_working_minutes`] with `hours` × 60 minutes.
    pub fn add_working_hours<Tz: TimeZone>(
        &self,
        start: &DateTime<Tz>,
        hours: u32,
    ) -> Result<DateTime<Tz>, CalendarError> {
        self.add_working_minutes(start, hours.saturating_mul(60))
    }

    /// Working time between two instants: negative when `b` is before `a`.
    pub fn working_time_between<Tz1: TimeZone, Tz2: TimeZone>(
        &self,
        a: &DateTime<Tz1>,
        b: &DateTime<Tz2>,
    ) -> Result<TimeDelta, CalendarError> {
        let (a, b) = (to_china(a), to_china(b));
        let (from, to, negate) = if a <= b { (a, b, false) } else { (b, a, true) };
        self.covered(from.date().year())?;
        self.covered(to.date().year())?;
        let mut total = TimeDelta::zero();
        let mut day = from.date();
        while day <= to.date() {
            if self.is_working_day(day)? {
                for &(s, e) in self.hours.periods() {
                    let lo = from.max(day.and_time(s));
                    let hi = to.min(day.and_time(e));
                    if lo < hi {
                        total += hi - lo;
                    }
                }
            }
            day = day.succ_opt().ok_or(CalendarError::OutOfRange)?;
        }
        Ok(if negate { -total } else { total })
    }

    /// Whole working minutes between two instants (rounded towards zero); negative when `b`
    /// is before `a`. `working_minutes_between(a, add_working_minutes(a, m)) == m`.
    pub fn working_minutes_between<Tz1: TimeZone, Tz2: TimeZone>(
        &self,
        a: &DateTime<Tz1>,
        b: &DateTime<Tz2>,
    ) -> Result<i64, CalendarError> {
        Ok(self.working_time_between(a, b)?.num_minutes())
    }

    /// The deadline "within `days` working days" of something received at `received_at`:
    /// the close of business (17:30 China time by default) of the `days`-th working day
    /// after the day of receipt in China time, whatever the hour of receipt. `days = 0`
    /// means "the same working day": the close of the day of receipt if it is a working
    /// day and received before the close, else the close of the next working day.
    pub fn deadline_days(
        &self,
        received_at: DateTime<Utc>,
        days: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let local = to_china(&received_at);
        let close = self.hours.close();
        let day = if days > 0 {
            self.add_working_days(local.date(), days)?
        } else if self.is_working_day(local.date())? && local.time() < close {
            local.date()
        } else {
            self.next_working_day(local.date())?
        };
        Ok(from_china(day.and_time(close), &Utc))
    }

    /// The deadline "within `hours` working hours" of something received at `received_at`:
    /// counted in office hours from the receipt, or from the next working period if it
    /// came outside them (see [`Calendar::add_working_minutes`]).
    pub fn deadline_hours(
        &self,
        received_at: DateTime<Utc>,
        hours: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        self.add_working_hours(&received_at, hours)
    }
}

/// `Some(name)` if `date` is listed in the sorted `entries`.
fn find_name(entries: &[DayEntry], date: NaiveDate) -> Option<Option<&str>> {
    entries
        .binary_search_by_key(&date, |e| e.date)
        .ok()
        .map(|i| entries[i].name.as_deref())
}

fn to_china<Tz: TimeZone>(t: &DateTime<Tz>) -> NaiveDateTime {
    t.with_timezone(&china_time()).naive_local()
}

fn from_china<Tz: TimeZone>(local: NaiveDateTime, tz: &Tz) -> DateTime<Tz> {
    china_time()
        .from_local_datetime(&local)
        .single()
        .expect("a fixed offset maps every local time to one instant")
        .with_timezone(tz)
}

fn apply_errata(year: YearData) -> YearData {
    let extra: Vec<DayEntry> = SHIPPED_ERRATA_WORKDAYS
        .iter()
        .filter_map(|&(date, name, _source)| {
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("valid erratum date");
            (date.year() == year.year() && !year.workdays().iter().any(|e| e.date == date))
                .then(|| DayEntry::new(date, name))
        })
        .collect();
    if extra.is_empty() {
        return year;
    }
    let mut workdays = year.workdays().to_vec();
    workdays.extend(extra);
    YearData::new(year.year(), year.holidays().to_vec(), workdays)
        .unwrap_or_else(|e| panic!("an erratum breaks {}: {e}", year.year()))
}

#[cfg(test)]
mod tests;

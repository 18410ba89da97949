//! The shipped calendar against an independent transcription of the State Council notices:
//! the `chinese_holiday` crate (2004-01-01 to 2026-12-25; it panics after).

use chinese_holiday::{Ymd, chinese_holiday};
use chrono::{Datelike, NaiveDate};
use zhili_calendar::Calendar;

/// Days where the oracle is wrong, each checked against the notice (quoted in the oracle's
/// own source comments too).
const ORACLE_ERRORS: &[(&str, &str)] = &[
    (
        "2016-10-09",
        "2016 国庆: 10月8日（星期六）、10月9日（星期日）上班 — the oracle lists only 10-08",
    ),
    (
        "2016-12-30",
        "2017 元旦: 1月1日放假，1月2日（星期一）补休 — the oracle marks Friday 2016-12-30 a holiday",
    ),
];

#[test]
fn the_shipped_calendar_agrees_with_an_independent_oracle() {
    let cal = Calendar::shipped();
    let last = NaiveDate::from_ymd_opt(2026, 12, 25).unwrap();
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for date in NaiveDate::from_ymd_opt(2004, 1, 1)
        .unwrap()
        .iter_days()
        .take_while(|d| *d <= last)
    {
        let ymd = Ymd::new(date.year() as u16, date.month() as u8, date.day() as u8);
        let theirs = chinese_holiday(ymd).is_workday();
        let ours = cal.is_working_day(date).unwrap();
        if ours != theirs {
            disagreements.push(date.to_string());
        }
        checked += 1;
    }
    assert_eq!(checked, 8395);
    let expected: Vec<String> = ORACLE_ERRORS.iter().map(|(d, _)| d.to_string()).collect();
    assert_eq!(disagreements, expected);
}

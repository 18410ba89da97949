//! Holiday year files (`zhili calendar load`, `POST /api/v1/calendar/years`): one
//! year, an array of years or the shipped `days` format, every year checked. On success
//! the years become a calendar whose working-day arithmetic must hold up, and each year
//! must survive its own JSON form.
#![no_main]

use chrono::{Datelike, NaiveDate};
use libfuzzer_sys::fuzz_target;
use zhili_calendar::{Calendar, YearData, parse_year_file};

fuzz_target!(|data: &[u8]| {
    let Some(text) = zhili_fuzz::utf8(data) else {
        return;
    };
    let Ok(years) = parse_year_file(text) else {
        return;
    };
    for y in &years {
        let back = YearData::from_json(&y.to_json()).expect("a checked year reads back");
        assert_eq!(&back, y);
    }
    let calendar = Calendar::from_years(years.clone());
    for y in &years {
        let jan1 = NaiveDate::from_ymd_opt(y.year(), 1, 1).unwrap();
        let dec31 = NaiveDate::from_ymd_opt(y.year(), 12, 31).unwrap();
        let days = calendar
            .working_days_between(jan1, dec31)
            .expect("the year is covered");
        assert!((0..=366).contains(&days));
        for d in y.holidays() {
            assert_eq!(calendar.is_working_day(d.date), Ok(false), "{}", d.date);
        }
        for d in y.workdays() {
            assert_eq!(calendar.is_working_day(d.date), Ok(true), "{}", d.date);
        }
        if let Ok(next) = calendar.add_working_days(jan1, 5) {
            assert!(next > jan1 && next.year() >= y.year());
        }
    }
});

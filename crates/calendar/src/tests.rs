//! Hand-checked cases against the State Council notices, year-file validation, working hours.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// An instant written in China time, e.g. `cn("2024-02-09 16:00")`.
fn cn(s: &str) -> DateTime<FixedOffset> {
    let local = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    china_time().from_local_datetime(&local).unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn cal() -> &'static Calendar {
    Calendar::shipped()
}

fn working(s: &str) -> bool {
    cal().is_working_day(d(s)).unwrap()
}

fn add(s: &str, n: u32) -> NaiveDate {
    cal().add_working_days(d(s), n).unwrap()
}

/// A made-up 2027 arrangement for tests (the real one is published around November 2026):
/// plausible in shape, make-up days on weekends.
pub(crate) const FICTIONAL_2027: &str = r#"{
  "year": 2027,
  "holidays": [
    {"date": "2027-01-01", "name": "元旦"}, {"date": "2027-01-02", "name": "元旦"},
    {"date": "2027-01-03", "name": "元旦"},
    {"date": "2027-02-06", "name": "春节"}, {"date": "2027-02-07", "name": "春节"},
    {"date": "2027-02-08", "name": "春节"}, {"date": "2027-02-09", "name": "春节"},
    {"date": "2027-02-10", "name": "春节"}, {"date": "2027-02-11", "name": "春节", "in_lieu": true},
    {"date": "2027-02-12", "name": "春节", "in_lieu": true}, {"date": "2027-02-13", "name": "春节"},
    {"date": "2027-04-03", "name": "清明"}, {"date": "2027-04-04", "name": "清明"},
    {"date": "2027-04-05", "name": "清明"},
    {"date": "2027-05-01", "name": "劳动节"}, {"date": "2027-05-02", "name": "劳动节"},
    {"date": "2027-05-03", "name": "劳动节"}, {"date": "2027-05-04", "name": "劳动节"},
    {"date": "2027-05-05", "name": "劳动节"},
    {"date": "2027-06-09", "name": "端午"},
    {"date": "2027-09-15", "name": "中秋"},
    {"date": "2027-10-01", "name": "国庆节"}, {"date": "2027-10-02", "name": "国庆节"},
    {"date": "2027-10-03", "name": "国庆节"}, {"date": "2027-10-04", "name": "国庆节"},
    {"date": "2027-10-05", "name": "国庆节"}, {"date": "2027-10-06", "name": "国庆节"},
    {"date": "2027-10-07", "name": "国庆节"}
  ],
  "workdays": [
    {"date": "2027-02-20", "name": "春节"},
    {"date": "2027-04-25", "name": "劳动节"}, {"date": "2027-05-08", "name": "劳动节"},
    {"date": "2027-09-26", "name": "国庆节"}, {"date": "2027-10-09", "name": "国庆节"}
  ]
}"#;

// ---- the shipped calendar, hand-checked against the notices ----

#[test]
fn shipped_covers_2004_to_2026_and_nothing_else() {
    let years: Vec<i32> = cal().covered_years().collect();
    assert_eq!(years, (2004..=2026).collect::<Vec<_>>());
    assert!(cal().covers(2024));
    assert!(!cal().covers(2003));
    assert!(!cal().covers(2027));
}

#[test]
fn spring_festival_2024() {
    // 2024 notice: 春节 2月10日至17日放假调休，共8天。2月4日（星期日）、2月18日（星期日）上班。
    assert!(working("2024-02-04")); // Sunday, make-up working day
    assert!(working("2024-02-09")); // Friday before the break (除夕 is not a holiday in 2024)
    assert!(!working("2024-02-10")); // Saturday, inside the break
    assert!(!working("2024-02-15")); // Thursday, 调休 holiday
    assert!(!working("2024-02-16")); // Friday, 调休 holiday
    assert!(working("2024-02-18")); // Sunday, make-up working day
    // The example of the issue: 02-09 is the 1st working day after 02-08, 02-18 the 2nd.
    assert_eq!(add("2024-02-08", 2), d("2024-02-18"));
    // Received on a day of the break: that day is not counted, 02-18 is the 1st.
    assert_eq!(add("2024-02-10", 1), d("2024-02-18"));
    assert_eq!(
        cal().previous_working_day(d("2024-02-18")).unwrap(),
        d("2024-02-09")
    );
}

#[test]
fn spring_festival_2020_extended_for_covid() {
    // 2020: 1月24日至30日放假, 1月19日（星期日）上班; the break was extended to 2月2日
    // (国办发明电〔2020〕1号), so work resumed on Monday 02-03.
    assert!(working("2020-01-19")); // Sunday, make-up working day
    assert!(working("2020-01-23")); // Thursday, last working day before
    assert!(!working("2020-01-31")); // Friday, extension
    assert_eq!(add("2020-01-23", 1), d("2020-02-03"));
}

#[test]
fn spring_festival_2025_and_2026() {
    // 2025: 1月28日至2月4日放假调休，共8天。1月26日（周日）、2月8日（周六）上班。
    assert!(working("2025-01-26"));
    assert!(working("2025-02-08"));
    assert!(!working("2025-02-04")); // Tuesday, 调休 holiday
    // Friday 01-24 + 5: 01-26 (Sun), 01-27, then 02-05, 02-06, 02-07.
    assert_eq!(add("2025-01-24", 5), d("2025-02-07"));
    // 2026: 2月15日至23日放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
    assert!(working("2026-02-14"));
    assert!(!working("2026-02-23")); // Monday, last day of the break
    assert!(working("2026-02-28"));
    assert_eq!(add("2026-02-13", 1), d("2026-02-14"));
    assert_eq!(add("2026-02-14", 1), d("2026-02-24"));
}

#[test]
fn national_day_and_mid_autumn() {
    // 2021: 中秋 9月19日至21日, 9月18日（星期六）上班; 国庆 10月1日至7日,
    // 9月26日（星期日）、10月9日（星期六）上班.
    assert!(working("2021-09-18"));
    assert!(working("2021-09-26"));
    assert!(working("2021-10-09"));
    // 2022: 国庆 10月1日至7日, 10月8日（星期六）、10月9日（星期日）上班.
    assert!(working("2022-10-08"));
    assert!(working("2022-10-09"));
    // 2023: 中秋、国庆 9月29日至10月6日, 10月7日（星期六）、10月8日（星期日）上班.
    assert!(!working("2023-09-29")); // Friday, 中秋
    assert!(working("2023-10-07"));
    assert!(working("2023-10-08"));
    // 2024: 国庆 10月1日至7日, 9月29日（星期日）、10月12日（星期六）上班.
    // Friday 09-27 + 5: 09-29 (Sun), 09-30, then 10-08, 10-09, 10-10.
    assert_eq!(add("2024-09-27", 5), d("2024-10-10"));
    // October 2024: 23 weekdays, 5 of them holidays (10-01..04, 10-07), plus Saturday 10-12.
    assert_eq!(
        cal()
            .working_days_between(d("2024-09-30"), d("2024-10-31"))
            .unwrap(),
        19
    );
    // 2025: 国庆、中秋 10月1日至8日, 9月28日（周日）、10月11日（周六）上班.
    assert!(working("2025-09-28"));
    assert!(!working("2025-10-06")); // Monday, 中秋 inside the break
    assert!(!working("2025-10-08")); // Wednesday, 调休 holiday
    assert!(working("2025-10-11"));
    assert_eq!(add("2025-09-30", 1), d("2025-10-09"));
    assert_eq!(
        cal()
            .working_days_between(d("2025-09-30"), d("2025-10-12"))
            .unwrap(),
        3 // 10-09 (Thu), 10-10 (Fri), 10-11 (Sat, make-up); 10-12 is a Sunday
    );
    // 2026: 国庆 10月1日至7日, 9月20日（周日）、10月10日（周六）上班.
    assert!(working("2026-09-20"));
    assert!(working("2026-10-10"));
    // Wednesday 09-30 + 5: 10-08, 10-09, 10-10 (Sat), 10-12, 10-13.
    assert_eq!(add("2026-09-30", 5), d("2026-10-13"));
}

#[test]
fn new_year_across_the_year_end() {
    // 2024 元旦: 12月30日至1月1日放假, so Friday 2023-12-29 + 1 is Tuesday 2024-01-02.
    assert!(!working("2023-12-31")); // Sunday, listed as 元旦
    assert_eq!(add("2023-12-29", 1), d("2024-01-02"));
    // 2026 元旦: 1月1日至3日放假调休, 1月4日（周日）上班.
    assert!(!working("2026-01-02")); // Friday, 调休 holiday
    assert!(working("2026-01-04"));
    assert!(working("2024-12-31")); // an ordinary Tuesday
}

#[test]
fn the_2006_new_year_erratum_is_applied() {
    // 国办发明电〔2005〕35号: 元旦 1月1日—3日放假 … 12月31日(星期六)上班. The shipped table
    // (chinesecalendar 1.11.0) misses that Saturday.
    assert!(working("2005-12-31"));
    assert_eq!(
        cal().day_kind(d("2005-12-31")).unwrap(),
        DayKind::MakeupWorkday {
            name: Some("元旦")
        }
    );
    assert!(!working("2006-01-03"));
}

#[test]
fn day_kinds_give_the_reason() {
    let k = |s| cal().day_kind(d(s)).unwrap().to_string();
    assert_eq!(k("2024-02-12"), "春节");
    assert_eq!(k("2024-02-18"), "调休上班 (春节)");
    assert_eq!(k("2024-03-02"), "weekend");
    assert_eq!(k("2024-03-04"), "weekday");
    assert_eq!(k("2025-10-06"), "中秋");
}

#[test]
fn zero_days_is_the_date_itself() {
    assert_eq!(add("2024-02-10", 0), d("2024-02-10"));
    assert_eq!(
        cal()
            .working_days_between(d("2024-02-10"), d("2024-02-10"))
            .unwrap(),
        0
    );
}

#[test]
fn between_is_signed() {
    let c = cal();
    assert_eq!(
        c.working_days_between(d("2024-02-18"), d("2024-02-08"))
            .unwrap(),
        -2
    );
}

#[test]
fn uncovered_years_are_errors_not_guesses() {
    let c = cal();
    assert_eq!(
        c.is_working_day(d("2003-06-02")),
        Err(CalendarError::YearNotCovered(2003))
    );
    assert_eq!(add("2026-12-30", 1), d("2026-12-31"));
    // The 2nd working day after 2026-12-30 would be in 2027, not yet published.
    assert_eq!(
        c.add_working_days(d("2026-12-30"), 2),
        Err(CalendarError::YearNotCovered(2027))
    );
    assert_eq!(
        c.add_working_days(d("2027-03-01"), 0),
        Err(CalendarError::YearNotCovered(2027))
    );
    assert_eq!(
        c.working_days_between(d("2026-12-01"), d("2027-01-05")),
        Err(CalendarError::YearNotCovered(2027))
    );
    assert_eq!(
        c.deadline_days(utc("2026-12-30T02:00:00Z"), 5),
        Err(CalendarError::YearNotCovered(2027))
    );
    assert!(
        CalendarError::YearNotCovered(2027)
            .to_string()
            .contains("2027")
    );
}

#[test]
fn a_loaded_year_extends_the_calendar() {
    let y2027 = YearData::from_json(FICTIONAL_2027).unwrap();
    assert_eq!(y2027.holidays().len(), 28);
    assert_eq!(y2027.workdays().len(), 5);
    let c = Calendar::shipped().clone().with_year(y2027);
    assert!(c.covers(2027));
    // 2026-12-30 (Wed) + 2: 12-31, then 2027-01-04 (01-01..03 元旦).
    assert_eq!(
        c.add_working_days(d("2026-12-30"), 2).unwrap(),
        d("2027-01-04")
    );
    assert!(c.is_working_day(d("2027-02-20")).unwrap());
    assert!(!c.is_working_day(d("2027-02-11")).unwrap());
    // The shipped calendar is untouched.
    assert!(!Calendar::shipped().covers(2027));
}

#[test]
fn with_year_replaces_a_covered_year() {
    let mut y = YearData::from_json(FICTIONAL_2027).unwrap();
    let c = Calendar::from_years([y.clone()]);
    assert!(!c.is_working_day(d("2027-06-09")).unwrap());
    // A corrected arrangement: 端午 moved to 06-10.
    let mut holidays = y.holidays().to_vec();
    holidays.retain(|e| e.date != d("2027-06-09"));
    holidays.push(DayEntry::new(d("2027-06-10"), "端午"));
    y = YearData::new(2027, holidays, y.workdays().to_vec()).unwrap();
    let c = c.with_year(y);
    assert!(c.is_working_day(d("2027-06-09")).unwrap());
    assert!(!c.is_working_day(d("2027-06-10")).unwrap());
}

// ---- year files ----

#[test]
fn the_shipped_file_parses_and_every_year_is_valid() {
    let years = parse_year_file(SHIPPED_JSON).unwrap();
    assert_eq!(years.len(), 23);
    let total_holidays: usize = years.iter().map(|y| y.holidays().len()).sum();
    let total_workdays: usize = years.iter().map(|y| y.workdays().len()).sum();
    // The counts the file states about itself.
    assert_eq!(total_holidays, 621);
    assert_eq!(total_workdays, 150);
    let y2024 = years.iter().find(|y| y.year() == 2024).unwrap();
    assert_eq!(y2024.holidays()[0].name.as_deref(), Some("元旦"));
}

#[test]
fn year_data_round_trips_through_json() {
    let y = YearData::from_json(FICTIONAL_2027).unwrap();
    let json = y.to_json();
    assert_eq!(YearData::from_json(&json).unwrap(), y);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["year"], 2027);
    assert_eq!(v["holidays"][0]["date"], "2027-01-01");
    assert_eq!(v["holidays"][0]["name"], "元旦");
    // serde directly, as storage would use it.
    let back: YearData = serde_json::from_value(v).unwrap();
    assert_eq!(back, y);
    // A shipped-format year reads the same way.
    let y2024 = Calendar::shipped().year(2024).unwrap();
    assert_eq!(&YearData::from_json(&y2024.to_json()).unwrap(), y2024);
}

#[test]
fn the_shipped_format_is_accepted_for_a_new_year() {
    let json = r#"{"years_covered": [2027, 2027], "days": {
        "2027-01-01": {"type": "holiday", "name_zh": "元旦"},
        "2027-02-20": {"type": "workday", "name_zh": "春节"}
    }}"#;
    // Well-formed, but far too few holidays for a real year.
    let Err(YearDataError::Invalid(Problems(p))) = parse_year_file(json) else {
        panic!("accepted a truncated year")
    };
    assert!(p.contains(&Problem::TooFewHolidays {
        year: 2027,
        count: 1
    }));
}

fn problems(json: &str) -> Vec<Problem> {
    match parse_year_file(json) {
        Err(YearDataError::Invalid(Problems(p))) => p,
        other => panic!("expected problems, got {other:?}"),
    }
}

/// FICTIONAL_2027 with text replaced.
fn fictional_with(from: &str, to: &str) -> String {
    assert!(FICTIONAL_2027.contains(from), "{from}");
    FICTIONAL_2027.replacen(from, to, 1)
}

#[test]
fn a_date_both_holiday_and_workday_is_refused() {
    let json = fictional_with(
        r#"{"date": "2027-02-20", "name": "春节"}"#,
        r#"{"date": "2027-02-13", "name": "春节"}"#,
    );
    assert_eq!(
        problems(&json),
        vec![Problem::HolidayAndWorkday {
            date: d("2027-02-13")
        }]
    );
}

#[test]
fn a_weekday_make_up_day_is_refused() {
    let json = fictional_with(
        r#"{"date": "2027-02-20", "name": "春节"}"#,
        r#"{"date": "2027-02-17", "name": "春节"}"#,
    );
    let p = problems(&json);
    assert_eq!(
        p,
        vec![Problem::WorkdayNotOnWeekend {
            date: d("2027-02-17")
        }]
    );
    assert_eq!(
        p[0].to_string(),
        "2027-02-17: make-up working day (调休上班) on a Wednesday; it must be a Saturday or Sunday"
    );
}

#[test]
fn a_date_outside_the_year_is_refused() {
    let json = fictional_with(r#""2027-01-03""#, r#""2026-12-31""#);
    assert_eq!(
        problems(&json),
        vec![Problem::OutsideYear {
            date: d("2026-12-31"),
            year: 2027
        }]
    );
}

#[test]
fn an_empty_year_is_refused() {
    assert_eq!(
        problems(r#"{"year": 2027, "holidays": [], "workdays": []}"#),
        vec![Problem::NoHolidays { year: 2027 }]
    );
    assert_eq!(
        problems(r#"{"year": 2027}"#),
        vec![Problem::NoHolidays { year: 2027 }]
    );
    assert!(matches!(
        parse_year_file("[]"),
        Err(YearDataError::Format(_))
    ));
    assert!(matches!(parse_year_file(""), Err(YearDataError::Json(_))));
    assert!(matches!(
        parse_year_file("{}"),
        Err(YearDataError::Format(_))
    ));
}

#[test]
fn duplicates_are_refused() {
    let json = fictional_with(r#""2027-01-03""#, r#""2027-01-02""#);
    assert_eq!(
        problems(&json),
        vec![Problem::DuplicateHoliday {
            date: d("2027-01-02")
        }]
    );
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let json = fictional_with(r#""2027-01-03""#, r#""2027-13-03""#);
    let json = json.replacen(r#""2027-02-20""#, r#""2027-02-17""#, 1);
    let json = json.replacen(r#""2027-04-25""#, r#""2027-05-01""#, 1);
    let json = json.replacen(r#""2027-10-07""#, r#""2028-10-07""#, 1);
    let p = problems(&json);
    assert_eq!(
        p,
        vec![
            Problem::UnparsableDate {
                value: "2027-13-03".into()
            },
            Problem::OutsideYear {
                date: d("2028-10-07"),
                year: 2027
            },
            Problem::WorkdayNotOnWeekend {
                date: d("2027-02-17")
            },
            Problem::HolidayAndWorkday {
                date: d("2027-05-01")
            },
        ]
    );
    let Err(e) = parse_year_file(&json) else {
        unreachable!()
    };
    assert!(e.to_string().starts_with("4 problem(s): "), "{e}");
}

#[test]
fn a_missing_festival_is_refused_when_holidays_are_named() {
    let json = fictional_with(
        r#"{"date": "2027-09-15", "name": "中秋"}"#,
        r#"{"date": "2027-09-15", "name": "秋分"}"#,
    );
    assert_eq!(
        problems(&json),
        vec![Problem::MissingFestival {
            year: 2027,
            festival: "中秋"
        }]
    );
    // Unnamed holidays are not checked for festivals.
    let unnamed = regex_free_strip_names(FICTIONAL_2027);
    assert!(parse_year_file(&unnamed).is_ok(), "{unnamed}");
}

/// Removes every `, "name": "…"` from a year file.
fn regex_free_strip_names(json: &str) -> String {
    let mut out = String::new();
    let mut rest = json;
    while let Some(i) = rest.find(r#", "name": ""#) {
        out.push_str(&rest[..i]);
        let after = &rest[i + r#", "name": ""#.len()..];
        let end = after.find('"').unwrap();
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn a_truncated_year_is_refused() {
    let json = r#"{"year": 2027, "holidays": [
        {"date": "2027-01-01", "name": "元旦"}, {"date": "2027-02-08", "name": "春节"}]}"#;
    let p = problems(json);
    assert!(p.contains(&Problem::TooFewHolidays {
        year: 2027,
        count: 2
    }));
    assert!(p.contains(&Problem::MissingFestival {
        year: 2027,
        festival: "国庆节"
    }));
}

#[test]
fn a_misspelt_field_is_refused_not_ignored() {
    let json = FICTIONAL_2027.replace(r#""workdays""#, r#""workday""#);
    assert!(matches!(
        parse_year_file(&json),
        Err(YearDataError::Json(_))
    ));
}

#[test]
fn a_file_of_several_years_reports_each_year() {
    let json = format!(
        "[{FICTIONAL_2027}, {}]",
        FICTIONAL_2027
            .replace("\"year\": 2027", "\"year\": 2028")
            .replace("\"2027-", "\"2028-")
    );
    // 2028 is not 2027 shifted: most make-up days land on weekdays.
    let p = problems(&json);
    assert!(
        p.iter()
            .all(|p| p.date().is_some_and(|d| d.starts_with("2028")))
    );
    assert!(p.contains(&Problem::WorkdayNotOnWeekend {
        date: d("2028-04-25")
    }));
}

// ---- working hours ----

#[test]
fn default_working_hours_are_seven_and_a_half_hours() {
    let h = WorkingHours::default();
    assert_eq!(h.to_string(), "08:30-12:00,13:30-17:30");
    assert_eq!(h.per_day(), TimeDelta::minutes(450));
    assert_eq!(
        h.close(),
        chrono::NaiveTime::from_hms_opt(17, 30, 0).unwrap()
    );
    assert_eq!(
        "08:30-12:00,13:30-17:30".parse::<WorkingHours>().unwrap(),
        h
    );
    let json = serde_json::to_string(&h).unwrap();
    assert_eq!(json, r#""08:30-12:00,13:30-17:30""#);
    assert_eq!(serde_json::from_str::<WorkingHours>(&json).unwrap(), h);
}

#[test]
fn bad_working_hours_are_refused() {
    for s in [
        "",
        "12:00-08:30",
        "08:30-08:30",
        "08:30-12:00,11:00-17:30",
        "13:30-17:30,08:30-12:00",
        "8-12",
        "08:30",
    ] {
        assert!(s.parse::<WorkingHours>().is_err(), "{s:?}");
    }
}

#[test]
fn working_hours_arithmetic() {
    let c = cal();
    let plus = |s: &str, m: u32| c.add_working_minutes(&cn(s), m).unwrap();
    // Inside a period.
    assert_eq!(plus("2024-03-04 09:00", 60), cn("2024-03-04 10:00"));
    // Ending exactly at the end of a period stays there.
    assert_eq!(plus("2024-03-04 11:00", 60), cn("2024-03-04 12:00"));
    // Across lunch.
    assert_eq!(plus("2024-03-04 11:30", 60), cn("2024-03-04 14:00"));
    // Received during lunch / before office hours / on a weekend: counting starts at the
    // next working period.
    assert_eq!(plus("2024-03-04 12:30", 60), cn("2024-03-04 14:30"));
    assert_eq!(plus("2024-03-04 07:00", 60), cn("2024-03-04 09:30"));
    assert_eq!(plus("2024-03-02 10:00", 450), cn("2024-03-04 17:30"));
    // Friday before the Spring Festival 2024: 1.5 h left that day, then Sunday 02-18.
    assert_eq!(plus("2024-02-09 16:00", 120), cn("2024-02-18 09:00"));
    // Zero minutes: the start itself, even outside office hours.
    assert_eq!(plus("2024-03-02 10:00", 0), cn("2024-03-02 10:00"));
    // UTC in, UTC out.
    assert_eq!(
        c.add_working_hours(&utc("2024-03-04T01:00:00Z"), 1)
            .unwrap(),
        utc("2024-03-04T02:00:00Z")
    );
}

#[test]
fn working_minutes_between() {
    let c = cal();
    let between = |a: &str, b: &str| c.working_minutes_between(&cn(a), &cn(b)).unwrap();
    // A whole day (450) plus 30 minutes of the next.
    assert_eq!(between("2024-03-04 08:00", "2024-03-05 09:00"), 480);
    assert_eq!(between("2024-03-05 09:00", "2024-03-04 08:00"), -480);
    assert_eq!(between("2024-03-04 12:10", "2024-03-04 13:20"), 0);
    // The whole Spring Festival break 2024: Friday 02-09 afternoon and Sunday 02-18 morning.
    assert_eq!(between("2024-02-09 16:00", "2024-02-18 09:00"), 120);
    // Instants in different zones.
    assert_eq!(
        c.working_minutes_between(&utc("2024-03-04T01:00:00Z"), &cn("2024-03-04 10:00"))
            .unwrap(),
        60
    );
}

#[test]
fn custom_working_hours() {
    let c = Calendar::shipped()
        .clone()
        .with_working_hours("09:00-17:00".parse().unwrap());
    assert_eq!(
        c.add_working_hours(&cn("2024-03-08 09:00"), 8).unwrap(),
        cn("2024-03-08 17:00")
    );
    assert_eq!(
        c.deadline_days(utc("2024-03-08T01:00:00Z"), 1).unwrap(),
        utc("2024-03-11T09:00:00Z") // Monday 17:00 China time
    );
}

// ---- deadlines ----

#[test]
fn deadline_in_working_days() {
    let c = cal();
    // Received 2024-02-08 10:00 China time, 2 working days: close of 2024-02-18.
    assert_eq!(
        c.deadline_days(utc("2024-02-08T02:00:00Z"), 2).unwrap(),
        utc("2024-02-18T09:30:00Z")
    );
    // 20:00 UTC on 02-08 is 04:00 on 02-09 in China: the day of receipt is 02-09.
    assert_eq!(
        c.deadline_days(utc("2024-02-08T20:00:00Z"), 2).unwrap(),
        utc("2024-02-19T09:30:00Z")
    );
    // "Reporters must hear back within 5 working days": received Friday 2025-09-26 15:00,
    // 09-28 (Sun, make-up), 09-29, 09-30, 10-09, 10-10.
    assert_eq!(
        c.deadline_days(utc("2025-09-26T07:00:00Z"), 5).unwrap(),
        utc("2025-10-10T09:30:00Z")
    );
}

#[test]
fn deadline_zero_days_is_the_same_working_day() {
    let c = cal();
    // Monday 10:00: that day's close.
    assert_eq!(
        c.deadline_days(utc("2024-03-04T02:00:00Z"), 0).unwrap(),
        utc("2024-03-04T09:30:00Z")
    );
    // Monday 18:00 China time: after the close, so Tuesday's.
    assert_eq!(
        c.deadline_days(utc("2024-03-04T10:00:00Z"), 0).unwrap(),
        utc("2024-03-05T09:30:00Z")
    );
    // Saturday: Monday's.
    assert_eq!(
        c.deadline_days(utc("2024-03-02T02:00:00Z"), 0).unwrap(),
        utc("2024-03-04T09:30:00Z")
    );
}

#[test]
fn deadline_in_working_hours() {
    let c = cal();
    // Friday 2024-02-09 16:00 China time + 2 working hours: Sunday 02-18 09:00.
    assert_eq!(
        c.deadline_hours(utc("2024-02-09T08:00:00Z"), 2).unwrap(),
        utc("2024-02-18T01:00:00Z")
    );
    // Received at night: counted from 08:30 the next working day.
    assert_eq!(
        c.deadline_hours(utc("2024-03-04T14:00:00Z"), 24).unwrap(), // 22:00 Monday
        // Tue 7.5 + Wed 7.5 + Thu 7.5 = 22.5 h, then 1.5 h on Friday: 10:00.
        utc("2024-03-08T02:00:00Z")
    );
}

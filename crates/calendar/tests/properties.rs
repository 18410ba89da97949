//! Properties of working-day and working-hour arithmetic over the whole shipped calendar.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc};
use proptest::prelude::*;
use zhili_calendar::{Calendar, china_time};

fn cal() -> &'static Calendar {
    Calendar::shipped()
}

fn first() -> NaiveDate {
    NaiveDate::from_ymd_opt(2004, 1, 1).unwrap()
}

/// A date from 2004-01-01 to 2026-08-31, leaving room for 60 working days in 2026.
fn date() -> impl Strategy<Value = NaiveDate> {
    let span = (NaiveDate::from_ymd_opt(2026, 8, 31).unwrap() - first()).num_days();
    (0..=span).prop_map(|days| first() + TimeDelta::days(days))
}

/// An instant (to the second) in the same range, in China time.
fn instant() -> impl Strategy<Value = DateTime<FixedOffset>> {
    let start = first()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(china_time())
        .unwrap();
    let span = (NaiveDate::from_ymd_opt(2026, 8, 31).unwrap() - first()).num_seconds();
    (0..=span).prop_map(move |s| start + TimeDelta::seconds(s))
}

proptest! {
    #[test]
    fn add_working_days_is_strictly_monotone_in_n(d in date(), n in 0u32..60) {
        prop_assert!(cal().add_working_days(d, n)? < cal().add_working_days(d, n + 1)?);
    }

    #[test]
    fn add_working_days_is_monotone_in_the_start(a in date(), b in date(), n in 0u32..=60) {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(cal().add_working_days(a, n)? <= cal().add_working_days(b, n)?);
    }

    #[test]
    fn between_counts_what_add_added(d in date(), n in 0u32..=60) {
        let end = cal().add_working_days(d, n)?;
        prop_assert_eq!(cal().working_days_between(d, end)?, i64::from(n));
        prop_assert_eq!(cal().working_days_between(end, d)?, -i64::from(n));
    }

    #[test]
    fn the_result_is_a_working_day(d in date(), n in 1u32..=60) {
        let end = cal().add_working_days(d, n)?;
        prop_assert!(cal().is_working_day(end)?);
        prop_assert!(end > d);
        // …and the (n-1)-th working day is strictly before it.
        prop_assert!(cal().add_working_days(d, n - 1)? < end);
    }

    #[test]
    fn between_is_additive(a in date(), b in date(), c in date()) {
        let between = |x, y| cal().working_days_between(x, y).unwrap();
        prop_assert_eq!(between(a, b) + between(b, c), between(a, c));
    }

    #[test]
    fn next_and_previous_working_day(d in date()) {
        // 2004-01-01 is a holiday: the working day before the next one lies in 2003,
        // which the calendar does not cover (and says so, as an error).
        prop_assume!(d > first());
        let next = cal().next_working_day(d)?;
        prop_assert_eq!(next, cal().add_working_days(d, 1)?);
        let back = cal().previous_working_day(next)?;
        prop_assert!(back <= d);
        if cal().is_working_day(d)? {
            prop_assert_eq!(back, d);
            prop_assert_eq!(cal().working_day_on_or_after(d)?, d);
        } else {
            prop_assert_eq!(cal().working_day_on_or_after(d)?, next);
        }
    }

    #[test]
    fn working_minutes_round_trip(a in instant(), m in 0u32..=5_000) {
        let end = cal().add_working_minutes(&a, m)?;
        prop_assert!(end >= a);
        prop_assert_eq!(cal().working_minutes_between(&a, &end)?, i64::from(m));
        prop_assert_eq!(cal().working_minutes_between(&end, &a)?, -i64::from(m));
        // The same in UTC.
        let a_utc = a.with_timezone(&Utc);
        prop_assert_eq!(cal().add_working_minutes(&a_utc, m)?, end.with_timezone(&Utc));
    }

    #[test]
    fn adding_working_minutes_composes(a in instant(), m1 in 0u32..=3_000, m2 in 0u32..=3_000) {
        let once = cal().add_working_minutes(&a, m1 + m2)?;
        let twice = cal().add_working_minutes(&cal().add_working_minutes(&a, m1)?, m2)?;
        prop_assert_eq!(once, twice);
        prop_assert!(cal().add_working_minutes(&a, m1)? <= once);
    }

    #[test]
    fn added_minutes_end_inside_office_hours(a in instant(), m in 1u32..=5_000) {
        let end = cal().add_working_minutes(&a, m)?;
        prop_assert!(cal().is_working_day(end.date_naive())?);
        let t = end.time();
        prop_assert!(
            cal().working_hours().periods().iter().any(|&(s, e)| s < t && t <= e),
            "{} is outside office hours", end
        );
    }

    #[test]
    fn deadlines_close_a_working_day(a in instant(), n in 0u32..=30) {
        let received = a.with_timezone(&Utc);
        let deadline = cal().deadline_days(received, n)?;
        let local = deadline.with_timezone(&china_time());
        prop_assert!(deadline > received);
        prop_assert!(cal().is_working_day(local.date_naive())?);
        prop_assert_eq!(local.time(), cal().working_hours().close());
        if n >= 1 {
            prop_assert_eq!(
                local.date_naive(),
                cal().add_working_days(a.date_naive(), n)?
            );
            prop_assert!(cal().deadline_days(received, n + 1)? > deadline);
        }
    }
}

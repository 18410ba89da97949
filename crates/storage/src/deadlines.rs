//! When an event is due, in Chinese working days: handling within its category's
//! limit (plus approved extensions), and the reporter hears back within
//! [`FEEDBACK_WORKING_DAYS`] (O3). The day of receipt is not counted; a deadline is
//! the close of office hours on its last day.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use zhili_calendar::{Calendar, china_time};

/// O3: the parties and the reporter hear back within 5 working days.
pub const FEEDBACK_WORKING_DAYS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub handle_by: Option<DateTime<Utc>>,
    pub feedback_by: DateTime<Utc>,
    /// Some deadline fell in a year whose holidays are not loaded, and was counted
    /// Monday–Friday: correct once the year is loaded, shown as an estimate until then.
    pub estimated: bool,
}

pub fn compute(
    cal: &Calendar,
    received_at: DateTime<Utc>,
    limit_days: Option<u32>,
    extension_days: u32,
) -> Deadlines {
    let (feedback_by, e1) = due(cal, received_at, FEEDBACK_WORKING_DAYS);
    let handle = limit_days.map(|d| due(cal, received_at, d + extension_days));
    Deadlines {
        handle_by: handle.map(|(t, _)| t),
        feedback_by,
        estimated: e1 || handle.is_some_and(|(_, e)| e),
    }
}

fn due(cal: &Calendar, received_at: DateTime<Utc>, days: u32) -> (DateTime<Utc>, bool) {
    match cal.deadline_days(received_at, days) {
        Ok(t) => (t, false),
        Err(_) => (weekdays_only(cal, received_at, days), true),
    }
}

/// The estimate for an uncovered year: Monday–Friday count, same closing time.
fn weekdays_only(cal: &Calendar, received_at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let tz = china_time();
    let mut d = received_at.with_timezone(&tz).date_naive();
    let mut left = days.max(1);
    while left > 0 {
        d += Duration::days(1);
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    let close: NaiveTime = cal.working_hours().close();
    d.and_time(close)
        .and_local_timezone(tz)
        .single()
        .map_or(received_at, |t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn feedback_is_five_working_days_across_a_holiday() {
        // Received Thursday 2024-02-08 10:00 China time; 02-09 works, 02-10..17 is
        // the Spring Festival, Sunday 02-18 a make-up day: 02-09, 18, 19, 20, 21.
        let at = china_time()
            .with_ymd_and_hms(2024, 2, 8, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let d = compute(Calendar::shipped(), at, Some(2), 0);
        let local = |t: DateTime<Utc>| {
            t.with_timezone(&china_time())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        };
        assert_eq!(local(d.feedback_by), "2024-02-21 17:30");
        assert_eq!(local(d.handle_by.unwrap()), "2024-02-18 17:30");
        assert!(!d.estimated);
        let extended = compute(Calendar::shipped(), at, Some(2), 1);
        assert_eq!(local(extended.handle_by.unwrap()), "2024-02-19 17:30");
    }

    #[test]
    fn an_unloaded_year_gives_a_marked_estimate() {
        // 2026-12-30 + 5 working days runs into 2027, not shipped.
        let at = china_time()
            .with_ymd_and_hms(2026, 12, 30, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let d = compute(Calendar::shipped(), at, None, 0);
        assert!(d.estimated);
        let local = d.feedback_by.with_timezone(&china_time());
        assert_eq!(
            local.format("%Y-%m-%d %H:%M").to_string(),
            "2027-01-06 17:30"
        );
    }
}

//! When an event is due, in Chinese working days and hours, and when it is warned.
//!
//! Four clocks run on an event, each with a deadline and a yellow-warning time:
//! - 受理 (accept): within [`accept_hours`] working hours of receipt, by priority;
//! - 办理 (handle): within [`handle_days`] working days of receipt — the category's
//!   limit, shortened for urgent events — plus approved extensions and the working
//!   days spent suspended;
//! - 反馈 (feedback): the reporter hears back within [`FEEDBACK_WORKING_DAYS`] (O3);
//! - 回访 (follow-up): satisfaction is asked within [`FOLLOWUP_WORKING_DAYS`] after
//!   the reporter was informed.
//!
//! The day of receipt is not counted; a deadline in days is the close of office
//! hours on its last day. Yellow comes when the given share of the clock's working
//! time is used (80% by default), red at the deadline. Both are computed when the
//! deadline is set and stored, so the sweep is one indexed comparison and a changed
//! share applies to deadlines set from then on.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use zhili_calendar::{Calendar, china_time};
use zhili_domain::{Priority, Status};

/// O3: the parties and the reporter hear back within 5 working days.
pub const FEEDBACK_WORKING_DAYS: u32 = 5;
/// The follow-up call (回访) that asks the reporter's satisfaction.
pub const FOLLOWUP_WORKING_DAYS: u32 = 3;
/// Yellow when this share of a clock's working time is used, unless configured.
pub const DEFAULT_WARN_PERCENT: u8 = 80;

/// Working hours allowed to accept (受理) an event, by priority.
pub fn accept_hours(priority: Priority) -> u32 {
    match priority {
        Priority::Urgent => 1,
        Priority::High => 2,
        Priority::Normal => 4,
        Priority::Low => 8,
    }
}

/// Working days allowed to handle an event of a category with `limit` days: the limit
/// itself, half of it (rounded up) when 紧急, one day when 特急.
pub fn handle_days(priority: Priority, limit: u32) -> u32 {
    match priority {
        Priority::Urgent => 1,
        Priority::High => limit.div_ceil(2).max(1),
        Priority::Normal | Priority::Low => limit.max(1),
    }
}

/// One of the clocks that run on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Clock {
    Accept,
    Handle,
    Feedback,
    Followup,
}

impl Clock {
    pub const ALL: [Clock; 4] = [
        Clock::Accept,
        Clock::Handle,
        Clock::Feedback,
        Clock::Followup,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Clock::Accept => "accept",
            Clock::Handle => "handle",
            Clock::Feedback => "feedback",
            Clock::Followup => "followup",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Clock::Accept => "受理时限",
            Clock::Handle => "办理时限",
            Clock::Feedback => "反馈时限",
            Clock::Followup => "回访时限",
        }
    }

    pub fn parse(code: &str) -> Option<Clock> {
        Clock::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Whether the clock is running for an event in `status`. A suspended event's
    /// clocks stand still (its handling deadline moves on resume); a reworked event's
    /// handling clock runs again against the deadline it had.
    pub fn runs_in(self, status: Status) -> bool {
        use Status as S;
        match self {
            Clock::Accept => status == S::Reported,
            Clock::Handle => matches!(status, S::Accepted | S::Dispatched | S::Handling),
            Clock::Feedback => matches!(
                status,
                S::Reported | S::Accepted | S::Dispatched | S::Handling | S::Resolved | S::Verified
            ),
            Clock::Followup => status == S::Informed,
        }
    }

    /// The statuses in which the clock runs, for the sweep's query.
    pub fn running_statuses(self) -> Vec<Status> {
        Status::ALL
            .iter()
            .copied()
            .filter(|s| self.runs_in(*s))
            .collect()
    }
}

/// A deadline and the time its yellow warning comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub at: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
}

/// Every deadline of an event; `None` where a clock has not started (follow-up before
/// the reporter was informed) or has no limit (handling of an uncategorised event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadlines {
    pub accept: Option<Due>,
    pub handle: Option<Due>,
    pub feedback: Option<Due>,
    pub followup: Option<Due>,
    /// Some deadline fell in a year whose holidays are not loaded, and was counted
    /// Monday–Friday: correct once the year is loaded, shown as an estimate until then.
    pub estimated: bool,
}

impl Deadlines {
    pub fn get(&self, clock: Clock) -> Option<Due> {
        match clock {
            Clock::Accept => self.accept,
            Clock::Handle => self.handle,
            Clock::Feedback => self.feedback,
            Clock::Followup => self.followup,
        }
    }
}

/// The rules with their settings: the calendar (a snapshot: a year loaded later
/// applies to the next snapshot) and the yellow share.
#[derive(Debug, Clone)]
pub struct Rules {
    pub cal: std::sync::Arc<Calendar>,
    pub warn_percent: u8,
}

impl Rules {
    /// The deadlines set when an event comes in.
    pub fn on_receipt(
        &self,
        received_at: DateTime<Utc>,
        priority: Priority,
        limit_days: Option<u32>,
    ) -> Deadlines {
        let (accept, e1) = self.within_hours(received_at, accept_hours(priority));
        let (feedback, e2) = self.within_days(received_at, FEEDBACK_WORKING_DAYS);
        let handle = self.handle(received_at, priority, limit_days, 0);
        Deadlines {
            accept: Some(accept),
            handle: handle.map(|(d, _)| d),
            feedback: Some(feedback),
            followup: None,
            estimated: e1 || e2 || handle.is_some_and(|(_, e)| e),
        }
    }

    /// The handling deadline with `added_days` (extensions and suspension) on top.
    pub fn handle(
        &self,
        received_at: DateTime<Utc>,
        priority: Priority,
        limit_days: Option<u32>,
        added_days: u32,
    ) -> Option<(Due, bool)> {
        limit_days.map(|d| self.within_days(received_at, handle_days(priority, d) + added_days))
    }

    /// The follow-up deadline, counted from the moment the reporter was informed.
    pub fn followup(&self, informed_at: DateTime<Utc>) -> (Due, bool) {
        self.within_days(informed_at, FOLLOWUP_WORKING_DAYS)
    }

    /// Whole working days from `from` to `to` that a suspension took: each working day
    /// after the day of suspension up to and including the day of resumption.
    pub fn suspended_days(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
        let tz = china_time();
        let (a, b) = (
            from.with_timezone(&tz).date_naive(),
            to.with_timezone(&tz).date_naive(),
        );
        let n = self.cal.working_days_between(a, b).unwrap_or_else(|_| {
            // Outside the loaded years: count Monday–Friday.
            let mut n = 0;
            let mut d = a;
            while d < b {
                d += Duration::days(1);
                if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                    n += 1;
                }
            }
            n
        });
        u32::try_from(n.max(0)).unwrap_or(u32::MAX)
    }

    fn within_days(&self, start: DateTime<Utc>, days: u32) -> (Due, bool) {
        let (at, estimated) = match self.cal.deadline_days(start, days) {
            Ok(t) => (t, false),
            Err(_) => (weekdays_only(&self.cal, start, days), true),
        };
        (self.due(start, at), estimated)
    }

    fn within_hours(&self, start: DateTime<Utc>, hours: u32) -> (Due, bool) {
        match self.cal.deadline_hours(start, hours) {
            Ok(at) => (self.due(start, at), false),
            // An unloaded year: the hours as wall-clock time, marked as an estimate.
            Err(_) => (
                self.due(start, start + Duration::hours(i64::from(hours))),
                true,
            ),
        }
    }

    /// The yellow time: when `warn_percent` of the working time from `start` to `at`
    /// has passed (wall-clock time where the calendar does not reach).
    fn due(&self, start: DateTime<Utc>, at: DateTime<Utc>) -> Due {
        let pct = i64::from(self.warn_percent.min(100));
        let warn_at = match self.cal.working_minutes_between(&start, &at) {
            Ok(total) if total > 0 => self
                .cal
                .add_working_minutes(&start, u32::try_from(total * pct / 100).unwrap_or(0))
                .ok(),
            _ => None,
        }
        .unwrap_or_else(|| start + (at - start) * i32::from(self.warn_percent.min(100)) / 100);
        Due {
            at,
            warn_at: warn_at.min(at),
        }
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

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        china_time()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn local(t: DateTime<Utc>) -> String {
        t.with_timezone(&china_time())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    fn rules() -> Rules {
        Rules {
            cal: std::sync::Arc::new(Calendar::shipped().clone()),
            warn_percent: DEFAULT_WARN_PERCENT,
        }
    }

    #[test]
    fn feedback_is_five_working_days_across_a_holiday() {
        // Received Thursday 2024-02-08 10:00 China time; 02-09 works, 02-10..17 is
        // the Spring Festival, Sunday 02-18 a make-up day: 02-09, 18, 19, 20, 21.
        let d = rules().on_receipt(at(2024, 2, 8, 10, 0), Priority::Normal, Some(2));
        assert_eq!(local(d.feedback.unwrap().at), "2024-02-21 17:30");
        assert_eq!(local(d.handle.unwrap().at), "2024-02-18 17:30");
        assert!(!d.estimated);
        let extended = rules()
            .handle(at(2024, 2, 8, 10, 0), Priority::Normal, Some(2), 1)
            .unwrap();
        assert_eq!(local(extended.0.at), "2024-02-19 17:30");
    }

    #[test]
    fn acceptance_is_counted_in_working_hours_by_priority() {
        // Monday 2024-03-04 09:00: four working hours are 09:00–12:00 and 13:30–14:30.
        let d = rules().on_receipt(at(2024, 3, 4, 9, 0), Priority::Normal, Some(5));
        let accept = d.accept.unwrap();
        assert_eq!(local(accept.at), "2024-03-04 14:30");
        // 80% of 240 working minutes is 192: 180 before lunch, 12 after.
        assert_eq!(local(accept.warn_at), "2024-03-04 13:42");
        let urgent = rules().on_receipt(at(2024, 3, 4, 9, 0), Priority::Urgent, Some(5));
        assert_eq!(local(urgent.accept.unwrap().at), "2024-03-04 10:00");
        assert_eq!(local(urgent.handle.unwrap().at), "2024-03-05 17:30");
        // Friday evening: the hours start on Monday morning, not over the weekend.
        let late = rules().on_receipt(at(2024, 3, 8, 18, 0), Priority::High, Some(5));
        assert_eq!(local(late.accept.unwrap().at), "2024-03-11 10:30");
    }

    #[test]
    fn the_yellow_time_counts_working_time_not_nights() {
        // Handling within 5 working days from Monday 09:00: due Monday 03-11 17:30.
        // The working time is 5 × 7 h = 2100 min (the day of receipt from 09:00 is
        // not a counted day, but its remaining hours are working time: 7 h 30 min).
        let d = rules().on_receipt(at(2024, 3, 4, 9, 0), Priority::Normal, Some(5));
        let h = d.handle.unwrap();
        assert_eq!(local(h.at), "2024-03-11 17:30");
        let cal = Calendar::shipped();
        let total = cal
            .working_minutes_between(&at(2024, 3, 4, 9, 0), &h.at)
            .unwrap();
        let used = cal
            .working_minutes_between(&at(2024, 3, 4, 9, 0), &h.warn_at)
            .unwrap();
        assert_eq!(used, total * 80 / 100);
        let t = h.warn_at.with_timezone(&china_time()).time();
        assert!(
            (NaiveTime::from_hms_opt(8, 30, 0).unwrap()
                ..=NaiveTime::from_hms_opt(17, 30, 0).unwrap())
                .contains(&t),
            "yellow comes in office hours: {}",
            local(h.warn_at)
        );
    }

    #[test]
    fn urgency_shortens_handling() {
        assert_eq!(handle_days(Priority::Normal, 5), 5);
        assert_eq!(handle_days(Priority::Low, 5), 5);
        assert_eq!(handle_days(Priority::High, 5), 3);
        assert_eq!(handle_days(Priority::High, 1), 1);
        assert_eq!(handle_days(Priority::Urgent, 15), 1);
        assert_eq!(handle_days(Priority::Normal, 0), 1);
    }

    #[test]
    fn suspension_counts_the_working_days_it_took() {
        // Suspended Thursday 2024-02-08, resumed Monday 02-19: 02-09, 02-18
        // (make-up Sunday) and 02-19 are working days; the Spring Festival is not.
        let n = rules().suspended_days(at(2024, 2, 8, 10, 0), at(2024, 2, 19, 9, 0));
        assert_eq!(n, 3);
        assert_eq!(
            rules().suspended_days(at(2024, 3, 4, 9, 0), at(2024, 3, 4, 16, 0)),
            0
        );
    }

    #[test]
    fn clocks_run_in_their_statuses_only() {
        assert!(Clock::Accept.runs_in(Status::Reported));
        assert!(!Clock::Accept.runs_in(Status::Accepted));
        assert!(Clock::Handle.runs_in(Status::Handling));
        assert!(!Clock::Handle.runs_in(Status::Suspended));
        assert!(!Clock::Handle.runs_in(Status::Resolved));
        assert!(Clock::Feedback.runs_in(Status::Verified));
        assert!(!Clock::Feedback.runs_in(Status::Informed));
        assert!(Clock::Followup.runs_in(Status::Informed));
        assert!(!Clock::Followup.runs_in(Status::Rated));
    }

    #[test]
    fn an_unloaded_year_gives_a_marked_estimate() {
        // 2026-12-30 + 5 working days runs into 2027, not shipped.
        let d = rules().on_receipt(at(2026, 12, 30, 9, 0), Priority::Normal, None);
        assert!(d.estimated);
        assert_eq!(local(d.feedback.unwrap().at), "2027-01-06 17:30");
        let f = d.feedback.unwrap();
        assert!(f.warn_at < f.at && f.warn_at > at(2026, 12, 30, 9, 0));
    }
}

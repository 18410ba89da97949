//! Office hours of a working day, in China time.

use std::fmt;
use std::str::FromStr;

use chrono::{FixedOffset, NaiveTime, TimeDelta, Timelike};
use serde::{Deserialize, Serialize};

/// China Standard Time, UTC+8 all year: China has had no daylight saving time since 1991.
pub fn china_time() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The working periods of every working day, in China time, e.g. the default
/// `08:30-12:00,13:30-17:30` (7.5 hours). Non-empty, each period non-empty, in order, not
/// overlapping. Serialises as that text, so it can sit in a settings file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkingHours {
    periods: Vec<(NaiveTime, NaiveTime)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid working hours {input:?}: {reason}")]
pub struct WorkingHoursError {
    pub input: String,
    pub reason: String,
}

impl WorkingHours {
    pub fn new(
        periods: impl IntoIterator<Item = (NaiveTime, NaiveTime)>,
    ) -> Result<Self, WorkingHoursError> {
        let periods: Vec<_> = periods.into_iter().collect();
        let bad = |reason: String| WorkingHoursError {
            input: format_periods(&periods),
            reason,
        };
        if periods.is_empty() {
            return Err(bad("no working period".into()));
        }
        for &(start, end) in &periods {
            if start >= end {
                return Err(bad(format!("{start} is not before {end}")));
            }
        }
        for w in periods.windows(2) {
            if w[0].1 > w[1].0 {
                return Err(bad(format!(
                    "periods out of order or overlapping at {}",
                    w[1].0
                )));
            }
        }
        Ok(Self { periods })
    }

    /// The working periods of a day, in order.
    pub fn periods(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.periods
    }

    /// The close of business: the end of the last period (17:30 by default).
    pub fn close(&self) -> NaiveTime {
        self.periods[self.periods.len() - 1].1
    }

    /// Working time in one working day (7.5 hours by default).
    pub fn per_day(&self) -> TimeDelta {
        self.periods.iter().map(|&(s, e)| e - s).sum()
    }
}

impl Default for WorkingHours {
    /// 08:30–12:00 and 13:30–17:30.
    fn default() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid time");
        Self::new([(t(8, 30), t(12, 0)), (t(13, 30), t(17, 30))]).expect("valid default")
    }
}

fn format_periods(periods: &[(NaiveTime, NaiveTime)]) -> String {
    let t = |t: &NaiveTime| {
        if t.second() == 0 {
            t.format("%H:%M").to_string()
        } else {
            t.format("%H:%M:%S").to_string()
        }
    };
    periods
        .iter()
        .map(|(s, e)| format!("{}-{}", t(s), t(e)))
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_periods(&self.periods))
    }
}

impl FromStr for WorkingHours {
    type Err = WorkingHoursError;

    /// `HH:MM-HH:MM[,HH:MM-HH:MM…]`, e.g. `08:30-12:00,13:30-17:30`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| WorkingHoursError {
            input: s.to_string(),
            reason,
        };
        let time = |t: &str| {
            let t = t.trim();
            NaiveTime::parse_from_str(t, "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S"))
                .map_err(|_| bad(format!("{t:?} is not a time (HH:MM)")))
        };
        let mut periods = Vec::new();
        for part in s.split(',') {
            let (start, end) = part
                .split_once('-')
                .ok_or_else(|| bad(format!("{:?} is not START-END", part.trim())))?;
            periods.push((time(start)?, time(end)?));
        }
        Self::new(periods).map_err(|e| bad(e.reason))
    }
}

impl TryFrom<String> for WorkingHours {
    type Error = WorkingHoursError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<WorkingHours> for String {
    fn from(h: WorkingHours) -> Self {
        h.to_string()
    }
}

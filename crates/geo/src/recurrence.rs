//! Recurring problems in space and time (D4): reports of one kind that come back to
//! the same place again and again. Pure: the caller passes the reports of one
//! category; storage turns the clusters into alerts for the command room.

use crate::haversine_m;

/// When reports make a recurring problem: at least `min_reports` within `window_secs`
/// of each other and within `radius_m` of the newest of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecurrenceRule {
    pub min_reports: usize,
    pub window_secs: i64,
    pub radius_m: f64,
}

impl Default for RecurrenceRule {
    /// Three reports within 30 days within 300 m.
    fn default() -> Self {
        RecurrenceRule {
            min_reports: 3,
            window_secs: 30 * 24 * 3600,
            radius_m: 300.0,
        }
    }
}

/// One report: an id, where (`(lon, lat)`, WGS-84) and when (seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sighting {
    pub id: i64,
    pub at: (f64, f64),
    pub time: i64,
}

/// The clusters among `sightings` (one category), each a list of ids in time order.
/// A report joins the cluster of any report it recurs with, so one place gives one
/// cluster however long it keeps coming back; far or old reports stay out.
pub fn clusters(rule: &RecurrenceRule, sightings: &[Sighting]) -> Vec<Vec<i64>> {
    let mut s: Vec<Sighting> = sightings.to_vec();
    s.sort_by_key(|x| (x.time, x.id));
    // cluster index of each sighting, by position in `s`
    let mut member: Vec<Option<usize>> = vec![None; s.len()];
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in 0..s.len() {
        let near: Vec<usize> = (0..i)
            .filter(|&j| {
                s[i].time - s[j].time <= rule.window_secs
                    && haversine_m(s[i].at, s[j].at) <= rule.radius_m
            })
            .collect();
        if let Some(c) = near.iter().find_map(|&j| member[j]) {
            // Recurs with a known cluster: it (and its recent neighbours) join it.
            for &j in near.iter().chain(std::iter::once(&i)) {
                if member[j].is_none() {
                    member[j] = Some(c);
                    out[c].push(j);
                }
            }
        } else if near.len() + 1 >= rule.min_reports.max(2) {
            let c = out.len();
            let mut members = near.clone();
            members.push(i);
            for &j in &members {
                member[j] = Some(c);
            }
            out.push(members);
        }
    }
    out.into_iter()
        .map(|mut m| {
            m.sort_unstable();
            m.into_iter().map(|j| s[j].id).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 3600;
    /// ~0.0009° of latitude is ~100 m.
    fn at(id: i64, dy_100m: f64, day: i64) -> Sighting {
        Sighting {
            id,
            at: (121.15, 30.04 + 0.0009 * dy_100m),
            time: day * DAY,
        }
    }

    #[test]
    fn three_reports_at_one_place_within_a_month_recur() {
        let r = RecurrenceRule::default();
        assert_eq!(
            clusters(&r, &[at(1, 0.0, 0), at(2, 1.0, 10), at(3, 2.0, 20)]),
            vec![vec![1, 2, 3]]
        );
        // Two are not enough.
        assert!(clusters(&r, &[at(1, 0.0, 0), at(2, 1.0, 10)]).is_empty());
    }

    #[test]
    fn far_or_old_reports_stay_out() {
        let r = RecurrenceRule::default();
        // 500 m away, and 45 days earlier.
        let s = [
            at(1, 0.0, 0),
            at(2, 1.0, 50),
            at(3, 0.5, 55),
            at(4, 5.5, 56),
            at(5, 0.0, 60),
        ];
        assert_eq!(clusters(&r, &s), vec![vec![2, 3, 5]]);
    }

    #[test]
    fn a_place_that_keeps_coming_back_stays_one_cluster() {
        let r = RecurrenceRule::default();
        let s: Vec<Sighting> = (0..8).map(|k| at(k, 0.0, k * 10)).collect();
        // Seventy days of reports every ten days: they chain into one.
        let c = clusters(&r, &s);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].len(), 8);
    }

    #[test]
    fn two_places_give_two_clusters() {
        let r = RecurrenceRule::default();
        let mut s = vec![at(1, 0.0, 0), at(2, 0.0, 1), at(3, 0.0, 2)];
        s.extend([at(11, 30.0, 0), at(12, 30.0, 1), at(13, 30.0, 2)]);
        assert_eq!(clusters(&r, &s), vec![vec![1, 2, 3], vec![11, 12, 13]]);
    }
}

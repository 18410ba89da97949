//! Key performance indicators (O5) and assessment schemes (O4): the closed list of
//! KPIs with their definitions, the value of one KPI (never NaN: "无数据" when there
//! is nothing to divide by), and schemes of weighted indicators with their checks,
//! scoring and ranking (红黑榜). Pure: the numbers come from storage.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codes::{Channel, OrgKind, ReporterKind, coded_enum};

coded_enum!(
    /// The KPIs zhili computes. The exact definitions are in docs/kpis.md; each has a
    /// one-line summary in [`KpiKind::definition`].
    KpiKind {
        Accepted = "accepted" / "受理量",
        CloseRate = "close_rate" / "结案率",
        OnTimeCloseRate = "on_time_close_rate" / "按期结案率",
        ReworkRate = "rework_rate" / "返工率",
        ReturnRate = "return_rate" / "退回率",
        AvgHandlingHours = "avg_handling_hours" / "平均办理时长",
        MedianHandlingHours = "median_handling_hours" / "办理时长中位数",
        SatisfactionRate = "satisfaction_rate" / "满意率",
        DiscoveryRate = "discovery_rate" / "主动发现率",
        Participation = "participation" / "群众参与度",
        AwarenessRate = "awareness_rate" / "知晓率",
        SurveyParticipationRate = "survey_participation_rate" / "参与率",
        DeepProblemsFound = "deep_problems_found" / "深层次问题发现数",
        DeepProblemsSolvedRate = "deep_problems_solved_rate" / "深层次问题化解率",
    }
);

/// What a KPI's value measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KpiUnit {
    /// A number of events.
    Count,
    /// numerator ÷ denominator, shown as a percentage.
    Ratio,
    /// Working hours.
    Hours,
    /// Per 10,000 residents.
    PerTenThousand,
}

/// Where a KPI's numbers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KpiSource {
    Events,
    Survey,
}

impl KpiKind {
    /// The definition in one line (Chinese), as shown next to the number.
    pub fn definition(self) -> &'static str {
        use KpiKind::*;
        match self {
            Accepted => "统计期内上报并已受理的事件数",
            CloseRate => "处置期限在统计期内的已受理事件中，统计期结束前已归档的比例",
            OnTimeCloseRate => "处置期限在统计期内的已受理事件中，在期限内归档的比例",
            ReworkRate => "统计期内上报、已办结的事件中，曾核查不通过或重新办理（返工）的比例",
            ReturnRate => "统计期内上报、已分派的事件中，曾被承办单位退回（错派）的比例",
            AvgHandlingHours => {
                "统计期内上报、已办结的事件，自受理至最后一次办结的工作小时数的平均值"
            }
            MedianHandlingHours => {
                "统计期内上报、已办结的事件，自受理至最后一次办结的工作小时数的中位数"
            }
            SatisfactionRate => {
                "统计期内上报、已回访评价的事件中，最后一次评价为非常满意、满意或基本满意的比例"
            }
            DiscoveryRate => {
                "统计期内受理的事件中，由走访巡查、网格员、社会力量（环卫工人、快递员、外卖骑手）或职能部门主动发现的比例"
            }
            Participation => "统计期内上报事件的不同群众人数，每万名常住人口",
            AwarenessRate => "问卷调查中知晓四平台的受访者比例（按月导入）",
            SurveyParticipationRate => "问卷调查中参与过基层治理的受访者比例（按月导入）",
            DeepProblemsFound => {
                "统计期内由反复发生的问题立为治理专题的个数（同一地点同类问题反复出现，经研判立项）"
            }
            DeepProblemsSolvedRate => "统计期内立项的治理专题中，已查明根源并化解（办结）的比例",
        }
    }

    pub fn unit(self) -> KpiUnit {
        use KpiKind::*;
        match self {
            Accepted | DeepProblemsFound => KpiUnit::Count,
            AvgHandlingHours | MedianHandlingHours => KpiUnit::Hours,
            Participation => KpiUnit::PerTenThousand,
            _ => KpiUnit::Ratio,
        }
    }

    pub fn source(self) -> KpiSource {
        match self {
            KpiKind::AwarenessRate | KpiKind::SurveyParticipationRate => KpiSource::Survey,
            _ => KpiSource::Events,
        }
    }

    /// Whether a larger value is better (for scoring).
    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            KpiKind::ReworkRate
                | KpiKind::ReturnRate
                | KpiKind::AvgHandlingHours
                | KpiKind::MedianHandlingHours
        )
    }

    /// KPIs of an area's people (residents, surveys, discovery in the area): a unit
    /// has none of them.
    pub fn for_areas_only(self) -> bool {
        matches!(
            self,
            KpiKind::DiscoveryRate
                | KpiKind::Participation
                | KpiKind::AwarenessRate
                | KpiKind::SurveyParticipationRate
                | KpiKind::DeepProblemsFound
                | KpiKind::DeepProblemsSolvedRate
        )
    }
}

/// Events found actively (发现率): patrols, grid workers, the registered social
/// reporters (D1) and departments, as against waiting for citizens to call.
pub fn found_actively(channel: Channel, reporter: ReporterKind) -> bool {
    channel == Channel::Patrol || ACTIVE_REPORTERS.contains(&reporter)
}

pub const ACTIVE_REPORTERS: &[ReporterKind] = &[
    ReporterKind::GridWorker,
    ReporterKind::Cleaner,
    ReporterKind::Courier,
    ReporterKind::DeliveryRider,
    ReporterKind::Department,
];

/// Reporters who count as residents taking part (参与度): not staff, not anonymous.
pub const RESIDENT_REPORTERS: &[ReporterKind] = &[
    ReporterKind::Citizen,
    ReporterKind::Cleaner,
    ReporterKind::Courier,
    ReporterKind::DeliveryRider,
    ReporterKind::Deputy,
    ReporterKind::NotableCitizen,
    ReporterKind::SocialOrg,
];

/// One KPI's numbers. `value` is `None` ("无数据") when the denominator is 0 or
/// the KPI does not apply; it is never NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KpiValue {
    pub kind: KpiKind,
    /// Events counted, or for hours the total (average) or the median hours.
    pub numerator: f64,
    /// `None` for a plain count.
    pub denominator: Option<f64>,
    pub value: Option<f64>,
}

impl KpiValue {
    pub fn count(kind: KpiKind, n: i64) -> Self {
        KpiValue {
            kind,
            numerator: n as f64,
            denominator: None,
            value: Some(n as f64),
        }
    }

    /// numerator ÷ denominator (× `scale`), `None` when the denominator is 0.
    pub fn ratio(kind: KpiKind, numerator: f64, denominator: f64, scale: f64) -> Self {
        KpiValue {
            kind,
            numerator,
            denominator: Some(denominator),
            value: (denominator > 0.0).then(|| numerator / denominator * scale),
        }
    }

    /// A KPI that does not apply (a unit's population, say).
    pub fn none(kind: KpiKind) -> Self {
        KpiValue {
            kind,
            numerator: 0.0,
            denominator: Some(0.0),
            value: None,
        }
    }

    /// Average of `hours` (numerator = total, denominator = how many).
    pub fn average_hours(kind: KpiKind, hours: &[f64]) -> Self {
        let total: f64 = hours.iter().sum();
        KpiValue::ratio(kind, total, hours.len() as f64, 1.0)
    }

    /// Median of `hours` (numerator = the median, denominator = how many).
    pub fn median_hours(kind: KpiKind, hours: &[f64]) -> Self {
        let mut v: Vec<f64> = hours.iter().copied().filter(|h| h.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match n {
            0 => None,
            _ if n % 2 == 1 => Some(v[n / 2]),
            _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        };
        KpiValue {
            kind,
            numerator: median.unwrap_or(0.0),
            denominator: Some(n as f64),
            value: median,
        }
    }

    /// The value as people read it: "75.0%", "12.5 小时", "无数据".
    pub fn display(&self) -> String {
        let Some(v) = self.value else {
            return "无数据".into();
        };
        match self.kind.unit() {
            KpiUnit::Count => format!("{v:.0} 件"),
            KpiUnit::Ratio => format!("{:.1}%", v * 100.0),
            KpiUnit::Hours => format!("{v:.1} 小时"),
            KpiUnit::PerTenThousand => format!("{v:.2} 人/万人"),
        }
    }
}

coded_enum!(
    /// Who an assessment scheme assesses (O4, H5).
    AssessedKind {
        Township = "township" / "乡镇（街道）",
        Department = "department" / "市级部门",
        StationedUnit = "stationed_unit" / "派驻机构",
        GridTeam = "grid_team" / "网格团队",
    }
);

impl AssessedKind {
    /// The orgs assessed under a scheme of this kind.
    pub fn org_kind(self) -> OrgKind {
        match self {
            AssessedKind::Township => OrgKind::Township,
            AssessedKind::Department => OrgKind::Department,
            AssessedKind::StationedUnit => OrgKind::StationedUnit,
            AssessedKind::GridTeam => OrgKind::Grid,
        }
    }

    /// Units are measured as lead units, areas by where events happen.
    pub fn is_unit(self) -> bool {
        matches!(self, AssessedKind::Department | AssessedKind::StationedUnit)
    }
}

/// One weighted indicator of a scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub kpi: KpiKind,
    /// Percent of the total; the weights of a scheme add up to 100.
    pub weight: u32,
    /// For counts, hours and per-10,000 values: the value worth full marks (the
    /// most hours allowed for hours). Ratios score their percentage and need none.
    #[serde(default)]
    pub target: Option<f64>,
}

/// An assessment scheme as submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    pub name: String,
    pub assessed: AssessedKind,
    pub indicators: Vec<Indicator>,
}

/// O5: satisfaction is at least 30% of a township's assessment weight.
pub const MIN_TOWNSHIP_SATISFACTION_WEIGHT: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SchemeError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl SchemeError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        SchemeError::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn field(&self) -> &'static str {
        match self {
            SchemeError::Invalid { field, .. } => field,
        }
    }
}

impl Scheme {
    /// Checks the scheme; the first problem found is named with its field.
    pub fn validate(&self) -> Result<(), SchemeError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(SchemeError::new("name", "方案名称不能为空"));
        }
        if name.chars().count() > 100 {
            return Err(SchemeError::new("name", "方案名称不能超过 100 个字符"));
        }
        if self.indicators.is_empty() {
            return Err(SchemeError::new("indicators", "至少需要一项指标"));
        }
        for (i, ind) in self.indicators.iter().enumerate() {
            if self.indicators[..i].iter().any(|x| x.kpi == ind.kpi) {
                return Err(SchemeError::new(
                    "indicators",
                    format!("指标「{}」重复", ind.kpi.label_zh()),
                ));
            }
            if ind.weight == 0 || ind.weight > 100 {
                return Err(SchemeError::new(
                    "weight",
                    format!("指标「{}」的权重须在 1–100 之间", ind.kpi.label_zh()),
                ));
            }
            if self.assessed.is_unit() && ind.kpi.for_areas_only() {
                return Err(SchemeError::new(
                    "indicators",
                    format!(
                        "指标「{}」只适用于区域，不能用于考核{}",
                        ind.kpi.label_zh(),
                        self.assessed.label_zh()
                    ),
                ));
            }
            match (ind.kpi.unit(), ind.target) {
                (KpiUnit::Ratio, _) => {}
                (_, Some(t)) if t.is_finite() && t > 0.0 => {}
                _ => {
                    return Err(SchemeError::new(
                        "target",
                        format!("指标「{}」须给出大于 0 的目标值", ind.kpi.label_zh()),
                    ));
                }
            }
        }
        let total: u32 = self.indicators.iter().map(|i| i.weight).sum();
        if total != 100 {
            return Err(SchemeError::new(
                "indicators",
                format!("各指标权重合计须为 100，现为 {total}"),
            ));
        }
        if self.assessed == AssessedKind::Township {
            let sat: u32 = self
                .indicators
                .iter()
                .filter(|i| i.kpi == KpiKind::SatisfactionRate)
                .map(|i| i.weight)
                .sum();
            if sat < MIN_TOWNSHIP_SATISFACTION_WEIGHT {
                return Err(SchemeError::new(
                    "indicators",
                    "满意率权重不得低于 30%（O5）",
                ));
            }
        }
        Ok(())
    }

    /// The score of one assessed body from its KPI values. Indicators without data
    /// are left out and the others' weights scaled up to 100; `None` when no
    /// indicator has data.
    pub fn score(&self, values: &[KpiValue]) -> Score {
        let parts: Vec<IndicatorScore> = self
            .indicators
            .iter()
            .map(|ind| {
                let value = values
                    .iter()
                    .find(|v| v.kind == ind.kpi)
                    .and_then(|v| v.value);
                IndicatorScore {
                    kpi: ind.kpi,
                    weight: ind.weight,
                    value,
                    score: value.map(|v| normalise(ind, v)),
                }
            })
            .collect();
        let weight: u32 = parts
            .iter()
            .filter(|p| p.score.is_some())
            .map(|p| p.weight)
            .sum();
        let total = (weight > 0).then(|| {
            let sum: f64 = parts
                .iter()
                .filter_map(|p| Some(p.score? * f64::from(p.weight)))
                .sum();
            round2(sum / f64::from(weight))
        });
        Score { total, parts }
    }
}

/// One indicator's value scaled to 0–100.
pub fn normalise(ind: &Indicator, value: f64) -> f64 {
    let higher = ind.kpi.higher_is_better();
    let s = match (ind.kpi.unit(), ind.target) {
        (KpiUnit::Ratio, _) if higher => value * 100.0,
        (KpiUnit::Ratio, _) => (1.0 - value) * 100.0,
        (_, Some(t)) if higher => value / t * 100.0,
        (_, Some(t)) if value <= t => 100.0,
        (_, Some(t)) => t / value * 100.0,
        (_, None) => 0.0,
    };
    round2(s.clamp(0.0, 100.0))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorScore {
    pub kpi: KpiKind,
    pub weight: u32,
    pub value: Option<f64>,
    /// 0–100, `None` without data.
    pub score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// 0–100, two decimals; `None` when no indicator has data.
    pub total: Option<f64>,
    pub parts: Vec<IndicatorScore>,
}

/// Competition ranks ("1224") by score, highest first; equal scores share a rank,
/// those without a score get none. Returns one rank per input, in input order.
pub fn rank(scores: &[Option<f64>]) -> Vec<Option<usize>> {
    scores
        .iter()
        .map(|s| {
            let s = (*s)?;
            Some(1 + scores.iter().flatten().filter(|o| **o > s).count())
        })
        .collect()
}

/// Which list (红黑榜) a ranked body is on: the red list is the top `n` ranks, the
/// black list the bottom `n` counted from the end (ties stay together). A body on
/// both (fewer than 2n ranked) is put on the red list only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Board {
    Red,
    Black,
}

impl Board {
    pub fn label_zh(self) -> &'static str {
        match self {
            Board::Red => "红榜",
            Board::Black => "黑榜",
        }
    }
}

pub fn boards(scores: &[Option<f64>], n: usize) -> Vec<Option<Board>> {
    let ranks = rank(scores);
    scores
        .iter()
        .zip(&ranks)
        .map(|(s, r)| {
            let (s, r) = (s.as_ref()?, (*r)?);
            if n == 0 {
                return None;
            }
            if r <= n {
                return Some(Board::Red);
            }
            // Rank from the bottom: 1 + how many score lower.
            let from_bottom = 1 + scores.iter().flatten().filter(|o| *o < s).count();
            (from_bottom <= n).then_some(Board::Black)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(kpi: KpiKind, weight: u32, target: Option<f64>) -> Indicator {
        Indicator {
            kpi,
            weight,
            target,
        }
    }

    fn township(indicators: Vec<Indicator>) -> Scheme {
        Scheme {
            name: "乡镇考核".into(),
            assessed: AssessedKind::Township,
            indicators,
        }
    }

    #[test]
    fn no_data_is_not_nan() {
        let v = KpiValue::ratio(KpiKind::CloseRate, 0.0, 0.0, 1.0);
        assert_eq!(v.value, None);
        assert_eq!(v.display(), "无数据");
        let v = KpiValue::ratio(KpiKind::CloseRate, 3.0, 4.0, 1.0);
        assert_eq!(v.display(), "75.0%");
        assert_eq!(
            KpiValue::median_hours(KpiKind::MedianHandlingHours, &[]).value,
            None
        );
        let m = KpiValue::median_hours(KpiKind::MedianHandlingHours, &[5.0, 1.0, 3.0, 10.0]);
        assert_eq!(m.value, Some(4.0));
    }

    #[test]
    fn a_township_scheme_needs_30_percent_satisfaction() {
        let low = township(vec![
            ind(KpiKind::SatisfactionRate, 20, None),
            ind(KpiKind::CloseRate, 80, None),
        ]);
        let e = low.validate().unwrap_err();
        assert_eq!(e.to_string(), "满意率权重不得低于 30%（O5）");
        let ok = township(vec![
            ind(KpiKind::SatisfactionRate, 30, None),
            ind(KpiKind::CloseRate, 70, None),
        ]);
        assert_eq!(ok.validate(), Ok(()));
        // A grid team scheme has no such floor.
        let grid = Scheme {
            assessed: AssessedKind::GridTeam,
            ..low
        };
        assert_eq!(grid.validate(), Ok(()));
    }

    #[test]
    fn weights_add_up_and_targets_are_given() {
        let s = township(vec![
            ind(KpiKind::SatisfactionRate, 40, None),
            ind(KpiKind::CloseRate, 50, None),
        ]);
        assert_eq!(s.validate().unwrap_err().field(), "indicators");
        let s = township(vec![
            ind(KpiKind::SatisfactionRate, 40, None),
            ind(KpiKind::AvgHandlingHours, 60, None),
        ]);
        assert_eq!(s.validate().unwrap_err().field(), "target");
        let unit = Scheme {
            name: "部门".into(),
            assessed: AssessedKind::Department,
            indicators: vec![ind(KpiKind::AwarenessRate, 100, None)],
        };
        assert_eq!(unit.validate().unwrap_err().field(), "indicators");
    }

    #[test]
    fn scores_are_weighted_and_missing_data_left_out() {
        let s = township(vec![
            ind(KpiKind::SatisfactionRate, 50, None),
            ind(KpiKind::ReworkRate, 25, None),
            ind(KpiKind::AvgHandlingHours, 25, Some(8.0)),
        ]);
        let v = [
            KpiValue::ratio(KpiKind::SatisfactionRate, 4.0, 5.0, 1.0), // 80
            KpiValue::ratio(KpiKind::ReworkRate, 1.0, 4.0, 1.0),       // 75
            KpiValue::average_hours(KpiKind::AvgHandlingHours, &[16.0]), // 50
        ];
        assert_eq!(s.score(&v).total, Some(71.25));
        let v = [KpiValue::ratio(KpiKind::SatisfactionRate, 4.0, 5.0, 1.0)];
        assert_eq!(s.score(&v).total, Some(80.0));
        assert_eq!(s.score(&[]).total, None);
    }

    #[test]
    fn ties_share_a_rank_and_boards_keep_them_together() {
        let scores = [
            Some(90.0),
            Some(80.0),
            Some(90.0),
            None,
            Some(70.0),
            Some(60.0),
        ];
        assert_eq!(
            rank(&scores),
            vec![Some(1), Some(3), Some(1), None, Some(4), Some(5)]
        );
        let b = boards(&scores, 1);
        assert_eq!(
            b,
            vec![
                Some(Board::Red),
                None,
                Some(Board::Red),
                None,
                None,
                Some(Board::Black)
            ]
        );
    }

    #[test]
    fn active_discovery() {
        assert!(found_actively(Channel::Patrol, ReporterKind::Citizen));
        assert!(found_actively(Channel::WebForm, ReporterKind::Courier));
        assert!(!found_actively(
            Channel::Hotline12345,
            ReporterKind::Citizen
        ));
    }
}

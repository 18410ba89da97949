//! Sensitivity labels (AC-08, PI-09). An event whose text touches sensitive personal
//! information in the sense of PIPL Art. 28 — minors, health, whereabouts, religion,
//! financial accounts — or that reports misconduct or violence, where naming the
//! reporter could put them at risk, is labelled 敏感. A labelled event is hidden
//! from the roles without clearance (the grid worker, who lives next door to those
//! involved, and the system administrator, who runs the machine and not the cases),
//! is never listed in public, and its reporter's contact may be revealed only by the
//! command room, not by the units handling it: a 举报 is often about that unit.
//!
//! Labels start from keywords in the text and are then set by hand by a command
//! room, both ways, always with a reason. Keywords over-label rather than miss: an
//! operator lowering a label costs a minute, a whistleblower's name in the wrong
//! hands costs much more.

use serde::{Deserialize, Serialize};

use crate::codes::{Role, coded_enum};

coded_enum!(
    /// How carefully an event must be kept. The order is the order of the variants.
    Sensitivity {
        Normal = "normal" / "普通",
        Sensitive = "sensitive" / "敏感",
    }
);

coded_enum!(
    /// Why an event is sensitive: the kinds of PIPL Art. 28 that reach a governance
    /// hotline, and two of its own.
    SensitiveKind {
        Minor = "minor" / "涉及未成年人",
        Health = "health" / "健康医疗信息",
        Whereabouts = "whereabouts" / "行踪轨迹",
        Religion = "religion" / "宗教信仰",
        Finance = "finance" / "金融账户",
        Misconduct = "misconduct" / "举报违纪违法",
        Violence = "violence" / "家暴与性侵害",
        Manual = "manual" / "人工标注",
    }
);

/// The phrases each kind is found by. Chosen to name the sensitive matter itself,
/// not things that merely sit near it: "幼儿园门口乱停车" is about parking.
const KEYWORDS: &[(SensitiveKind, &[&str])] = &[
    (
        SensitiveKind::Minor,
        &[
            "未成年",
            "未满十四",
            "未满14",
            "不满十四",
            "不满14",
            "留守儿童",
            "孤儿",
            "辍学",
            "童工",
        ],
    ),
    (
        SensitiveKind::Health,
        &[
            "病历",
            "病情",
            "艾滋",
            "HIV",
            "精神病",
            "精神疾病",
            "抑郁症",
            "传染病",
            "确诊",
            "残疾证",
            "诊断书",
        ],
    ),
    (
        SensitiveKind::Whereabouts,
        &["行踪", "轨迹", "被跟踪", "跟踪我", "定位器"],
    ),
    (
        SensitiveKind::Religion,
        &["宗教", "信教", "教会", "礼拜", "清真寺"],
    ),
    (
        SensitiveKind::Finance,
        &["银行卡号", "银行账户", "银行账号", "存款", "征信"],
    ),
    (
        SensitiveKind::Misconduct,
        &[
            "实名举报",
            "举报人",
            "贪污",
            "受贿",
            "行贿",
            "索贿",
            "腐败",
            "违纪",
            "吃拿卡要",
            "打击报复",
        ],
    ),
    (
        SensitiveKind::Violence,
        &["家暴", "家庭暴力", "性侵", "猥亵", "虐待", "拐卖"],
    ),
];

/// What the keywords found: the kind and the phrase, so that the timeline can say
/// why an event was labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    pub kind: SensitiveKind,
    pub phrase: &'static str,
}

impl Detected {
    /// "涉及未成年人（“未成年”）", stored as the label's reason.
    pub fn reason(&self) -> String {
        format!("{}（“{}”）", self.kind.label_zh(), self.phrase)
    }
}

/// The first sensitive matter the text names, if any. HIV is matched in any case.
pub fn detect(text: &str) -> Option<Detected> {
    let upper = text.to_uppercase();
    KEYWORDS.iter().find_map(|(kind, phrases)| {
        phrases
            .iter()
            .find(|p| upper.contains(*p))
            .map(|phrase| Detected {
                kind: *kind,
                phrase,
            })
    })
}

impl Sensitivity {
    fn rank(self) -> u8 {
        match self {
            Sensitivity::Normal => 0,
            Sensitivity::Sensitive => 1,
        }
    }

    /// Whether someone cleared up to `clearance` may see an event with this label.
    pub fn visible_to(self, clearance: Sensitivity) -> bool {
        self.rank() <= clearance.rank()
    }
}

impl Role {
    /// The highest label this role may see (AC-08). Those who handle, supervise or
    /// reported an event are cleared; the grid worker is not, since a sensitive
    /// matter goes to the township and not to a neighbour (see `lift_level`), nor is
    /// the system administrator. Roles that see no events at all (the security and
    /// audit administrators) are not cleared either.
    pub fn clearance(self) -> Sensitivity {
        match self {
            Role::CityOperator
            | Role::CityLeader
            | Role::TownshipOperator
            | Role::UnitHandler
            | Role::Oversight
            | Role::Citizen
            | Role::Integration => Sensitivity::Sensitive,
            Role::Admin | Role::GridWorker | Role::SecurityAdmin | Role::Auditor => {
                Sensitivity::Normal
            }
        }
    }
}

/// Why a label change is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRefusal {
    pub field: &'static str,
    pub reason: &'static str,
}

/// Checks a hand-set label change: a different label and a reason of 4–200
/// characters, since both raising and lowering change who may see the event.
pub fn check_label_change(
    current: Sensitivity,
    new: Sensitivity,
    reason: &str,
) -> Result<(), LabelRefusal> {
    if current == new {
        return Err(LabelRefusal {
            field: "sensitivity",
            reason: "事件已是该密级",
        });
    }
    let n = reason.trim().chars().count();
    if !(4..=200).contains(&n) {
        return Err(LabelRefusal {
            field: "reason",
            reason: "请说明调整密级的理由（4–200 字）",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_find_the_sensitive_matter_and_leave_the_ordinary_alone() {
        let d = detect("邻居家未成年孩子长期无人照看").unwrap();
        assert_eq!(d.kind, SensitiveKind::Minor);
        assert_eq!(d.reason(), "涉及未成年人（“未成年”）");
        assert_eq!(
            detect("我实名举报村干部收受好处").unwrap().kind,
            SensitiveKind::Misconduct
        );
        assert_eq!(
            detect("楼上住户疑似hiv感染者").unwrap().kind,
            SensitiveKind::Health
        );
        assert_eq!(
            detect("她长期遭受家暴").unwrap().kind,
            SensitiveKind::Violence
        );
        for ordinary in [
            "幼儿园门口乱停车",
            "小区垃圾桶满了没人清运",
            "举报楼下烧烤店油烟扰民",
            "",
        ] {
            assert_eq!(detect(ordinary), None, "{ordinary}");
        }
    }

    #[test]
    fn only_cleared_roles_see_sensitive_events() {
        for role in Role::ALL {
            assert!(Sensitivity::Normal.visible_to(role.clearance()));
        }
        let hidden: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| !Sensitivity::Sensitive.visible_to(r.clearance()))
            .collect();
        assert_eq!(
            hidden,
            [
                Role::Admin,
                Role::GridWorker,
                Role::SecurityAdmin,
                Role::Auditor
            ]
        );
    }

    #[test]
    fn a_label_change_needs_a_change_and_a_reason() {
        use Sensitivity::*;
        assert!(check_label_change(Normal, Sensitive, "涉及举报人安全").is_ok());
        assert_eq!(
            check_label_change(Normal, Normal, "理由充分的说明")
                .unwrap_err()
                .field,
            "sensitivity"
        );
        assert_eq!(
            check_label_change(Sensitive, Normal, "无")
                .unwrap_err()
                .field,
            "reason"
        );
    }
}

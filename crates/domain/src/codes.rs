//! The closed vocabularies of the domain. Each value has a stable code (stored in the
//! database and used in the API) and a Chinese label (shown to people).

use serde::{Deserialize, Serialize};

/// Defines an enum whose variants carry a stable snake_case code and a Chinese label.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal / $zh:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $code)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            /// The codes, for error messages that list what is accepted.
            pub fn codes() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.code()).collect()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

pub(crate) use coded_enum;

coded_enum!(
    /// What a user is in the system; together with the user's org it decides scope.
    Role {
        Admin = "admin" / "系统管理员",
        CityOperator = "city_operator" / "市综合指挥中心",
        CityLeader = "city_leader" / "市领导",
        TownshipOperator = "township_operator" / "乡镇（街道）综合指挥室",
        UnitHandler = "unit_handler" / "部门/派驻机构承办人",
        GridWorker = "grid_worker" / "网格员",
        Oversight = "oversight" / "监督机构",
        Citizen = "citizen" / "群众",
        Integration = "integration" / "接口账号",
        // Separation of duties (三员分立, AC-07): accounts are the security
        // administrator's, the audit log the audit administrator's; neither sees
        // events, and the system administrator manages neither.
        SecurityAdmin = "security_admin" / "安全管理员",
        Auditor = "auditor" / "审计管理员",
    }
);

coded_enum!(
    /// Where an event came in (D1, D2).
    Channel {
        Hotline12345 = "hotline_12345" / "12345热线",
        Exchange110 = "exchange_110" / "110联动",
        Petition = "petition" / "信访投诉",
        ChatGroup = "chat_group" / "圈群",
        OnlinePlatform = "online_platform" / "网络平台",
        Patrol = "patrol" / "走访巡查",
        WebForm = "web_form" / "群众自主上报",
        Open311 = "open311" / "Open311",
    }
);

coded_enum!(
    /// Who reported (D1): counted separately so social reporters' share is visible.
    ReporterKind {
        Citizen = "citizen" / "群众",
        GridWorker = "grid_worker" / "网格员",
        Cleaner = "cleaner" / "环卫工人",
        Courier = "courier" / "快递员",
        DeliveryRider = "delivery_rider" / "外卖骑手",
        Deputy = "deputy" / "两代表一委员",
        Department = "department" / "职能部门",
        NotableCitizen = "notable_citizen" / "乡贤能人",
        SocialOrg = "social_org" / "社会组织",
        Anonymous = "anonymous" / "匿名",
    }
);

coded_enum!(
    /// The four platforms (四平台) a category belongs to.
    Platform {
        ComprehensiveGovernance = "comprehensive_governance" / "综治工作",
        MarketSupervision = "market_supervision" / "市场监管",
        LawEnforcement = "law_enforcement" / "综合执法",
        PublicService = "public_service" / "便民服务",
    }
);

coded_enum!(
    /// The four grid types of D5, each with its own task list and patrol rules.
    GridType {
        UrbanCommunity = "urban_community" / "城市社区",
        UrbanVillage = "urban_village" / "城中村城郊接合部",
        OrdinaryVillage = "ordinary_village" / "一般村",
        MountainVillage = "mountain_village" / "山区村",
    }
);

coded_enum!(
    Priority {
        Low = "low" / "一般",
        Normal = "normal" / "普通",
        High = "high" / "紧急",
        Urgent = "urgent" / "特急",
    }
);

coded_enum!(
    /// Areas (city → township → village → grid) and units (departments, stationed
    /// units, township offices) share one tree of orgs.
    OrgKind {
        City = "city" / "市",
        Township = "township" / "乡镇（街道）",
        Village = "village" / "村（社区）",
        Grid = "grid" / "网格",
        Department = "department" / "市级部门",
        StationedUnit = "stationed_unit" / "派驻机构",
        TownshipOffice = "township_office" / "乡镇科室",
    }
);

impl OrgKind {
    /// Units are the orgs events are dispatched to.
    pub fn is_unit(self) -> bool {
        matches!(
            self,
            OrgKind::Department | OrgKind::StationedUnit | OrgKind::TownshipOffice
        )
    }
}

coded_enum!(
    /// The five levels of China's government-service 好差评 system.
    Satisfaction {
        VerySatisfied = "very_satisfied" / "非常满意",
        Satisfied = "satisfied" / "满意",
        Basic = "basic" / "基本满意",
        Dissatisfied = "dissatisfied" / "不满意",
        VeryDissatisfied = "very_dissatisfied" / "非常不满意",
    }
);

impl Satisfaction {
    /// 1 = 非常满意 … 5 = 非常不满意, the order of the 好差评 scale.
    pub fn from_level(level: u8) -> Option<Self> {
        Self::ALL.get(usize::from(level).checked_sub(1)?).copied()
    }

    pub fn level(self) -> u8 {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) as u8 + 1
    }

    /// Only a dissatisfied reporter can have the event reopened (返工).
    pub fn is_dissatisfied(self) -> bool {
        matches!(
            self,
            Satisfaction::Dissatisfied | Satisfaction::VeryDissatisfied
        )
    }
}

coded_enum!(
    /// The coordinate system a location arrives in. zhili stores WGS-84 only; the
    /// intake converts GCJ-02 (Amap, Tencent, WeChat) and BD-09 (Baidu) once.
    CoordSystem {
        Wgs84 = "wgs84" / "WGS-84（GPS）",
        Gcj02 = "gcj02" / "GCJ-02（高德/腾讯/微信）",
        Bd09 = "bd09" / "BD-09（百度）",
    }
);

coded_enum!(
    /// Why an event is not accepted (不予受理).
    RejectReason {
        Invalid = "invalid" / "无效信息",
        Duplicate = "duplicate" / "重复件",
        NotOurBusiness = "not_our_business" / "非受理范围",
    }
);

coded_enum!(
    /// How the reporter was told the result (反馈).
    InformChannel {
        Phone = "phone" / "电话",
        Sms = "sms" / "短信",
        App = "app" / "平台消息",
        Visit = "visit" / "上门",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code()), Some(*r));
        }
        let mut codes = Channel::codes();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Channel::ALL.len());
        assert_eq!(Channel::parse("fax"), None);
    }

    #[test]
    fn satisfaction_levels_follow_the_scale() {
        assert_eq!(
            Satisfaction::from_level(1),
            Some(Satisfaction::VerySatisfied)
        );
        assert_eq!(
            Satisfaction::from_level(5),
            Some(Satisfaction::VeryDissatisfied)
        );
        assert_eq!(Satisfaction::from_level(0), None);
        assert_eq!(Satisfaction::from_level(6), None);
        assert_eq!(Satisfaction::Basic.level(), 3);
        assert!(Satisfaction::Dissatisfied.is_dissatisfied());
        assert!(!Satisfaction::Basic.is_dissatisfied());
    }

    #[test]
    fn serde_uses_the_codes() {
        let json = serde_json::to_string(&Channel::Hotline12345).unwrap();
        assert_eq!(json, "\"hotline_12345\"");
    }
}

//! The demo accounts, one or more per role, with the organisations they belong to.

use crate::DemoUser;
use crate::divisions::Divisions;
use crate::units::stationed_code;

pub(crate) const FENGSHAN: &str = "330281002";
pub(crate) const LIZHOU: &str = "330281001";

/// The grid of the demo grid worker `grid1`: the first grid of the first village of
/// 凤山街道. None only if the embedded data had no village there (a test rules it out).
pub(crate) fn grid1_code(d: &Divisions) -> Option<String> {
    let village = d.villages.iter().find(|v| v.township_code == FENGSHAN)?;
    d.grids
        .iter()
        .find(|g| g.village_code == village.code)
        .map(|g| g.code.clone())
}

pub(crate) fn accounts(d: &Divisions) -> Vec<DemoUser> {
    let user = |username: &str, display_name: &str, role, org_code: Option<String>| DemoUser {
        username: username.to_string(),
        display_name: display_name.to_string(),
        role,
        org_code,
    };
    vec![
        user("admin", "系统管理员", "admin", None),
        user("security", "安全管理员", "security_admin", None),
        user("auditor", "审计管理员", "auditor", None),
        user("city", "陈晓燕", "city_operator", None),
        user("leader", "张副主任", "city_leader", None),
        user(
            "lizhou",
            "周建国",
            "township_operator",
            Some(LIZHOU.to_string()),
        ),
        user(
            "fengshan",
            "李敏",
            "township_operator",
            Some(FENGSHAN.to_string()),
        ),
        user(
            "zhujian",
            "王立新",
            "unit_handler",
            Some("D-ZJ".to_string()),
        ),
        user("shichang", "吴静", "unit_handler", Some("D-SJ".to_string())),
        user(
            "zhifa",
            "黄伟",
            "unit_handler",
            Some(stationed_code(FENGSHAN, "ZFZD")),
        ),
        user("grid1", GRID1_NAME, "grid_worker", grid1_code(d)),
        user("oversight", "赵志刚", "oversight", None),
        user("citizen1", CITIZEN1_NAME, "citizen", None),
        // The 12345 call centre's system account: it pushes work orders.
        user("hotline12345", "12345热线接口", "integration", None),
    ]
}

pub(crate) const GRID1_NAME: &str = "孙丽萍";
pub(crate) const GRID1_PHONE: &str = "13857410231";
pub(crate) const CITIZEN1_NAME: &str = "刘海波";
pub(crate) const CITIZEN1_PHONE: &str = "15968420517";

//! City departments and the units they station in every township (派驻机构).

use crate::{StationedUnit, Township, Unit};

/// `(code, full name)`. The code's letters are the pinyin initials of the usual short
/// name (住建 → ZJ), which is how operators refer to them.
pub(crate) const DEPARTMENTS: &[(&str, &str)] = &[
    ("D-ZFW", "中共余姚市委政法委员会"),
    ("D-ZJ", "余姚市住房和城乡建设局"),
    ("D-HB", "宁波市生态环境局余姚分局"),
    ("D-SJ", "余姚市市场监督管理局"),
    ("D-ZF", "余姚市综合行政执法局"),
    ("D-GA", "余姚市公安局"),
    ("D-YJ", "余姚市应急管理局"),
    ("D-WJ", "余姚市卫生健康局"),
    ("D-JY", "余姚市教育局"),
    ("D-RS", "余姚市人力资源和社会保障局"),
    ("D-JT", "余姚市交通运输局"),
    ("D-ZR", "宁波市自然资源和规划局余姚分局"),
    ("D-SL", "余姚市水利局"),
    ("D-XF", "余姚市信访局"),
    ("D-MZ", "余姚市民政局"),
    ("D-SF", "余姚市司法局"),
    ("D-NY", "余姚市农业农村局"),
    ("D-SW", "余姚市商务局"),
    ("D-WG", "余姚市文化和广电旅游体育局"),
    ("D-TY", "余姚市退役军人事务局"),
    ("D-JR", "余姚市人民政府金融工作办公室"),
    ("D-XFJY", "余姚市消防救援大队"),
];

/// `(code suffix, name suffix, department)` of the units stationed in every township.
const STATIONED: &[(&str, &str, &str)] = &[
    ("PCS", "派出所", "D-GA"),
    ("SJS", "市场监管所", "D-SJ"),
    ("ZFZD", "综合行政执法中队", "D-ZF"),
    ("ZRS", "自然资源和规划所", "D-ZR"),
];

pub(crate) fn departments() -> Vec<Unit> {
    DEPARTMENTS
        .iter()
        .map(|(code, name)| Unit {
            code: (*code).to_string(),
            name: (*name).to_string(),
        })
        .collect()
}

/// The code of the unit of kind `suffix` ("PCS", "ZFZD", …) stationed in a township.
pub(crate) fn stationed_code(township_code: &str, suffix: &str) -> String {
    format!("S-{township_code}-{suffix}")
}

pub(crate) fn stationed_units(townships: &[Township]) -> Vec<StationedUnit> {
    townships
        .iter()
        .flat_map(|t| {
            STATIONED
                .iter()
                .map(move |(suffix, name, dept)| StationedUnit {
                    code: stationed_code(&t.code, suffix),
                    name: format!("{}{}", t.short_name(), name),
                    department_code: (*dept).to_string(),
                    township_code: t.code.clone(),
                })
        })
        .collect()
}

/// The full name of a department, for texts that quote it.
pub(crate) fn department_name(code: &str) -> Option<&'static str> {
    DEPARTMENTS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

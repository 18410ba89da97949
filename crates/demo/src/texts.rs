//! Synthetic people, places and report texts.
//!
//! Names, phone numbers, compounds and shops are invented from small tables; roads of
//! the city centre are real street names, as an address without them would look fake.

use crate::divisions::{URBAN_COMMUNITY, URBAN_VILLAGE};
use crate::rng::SplitMix64;
use crate::{Township, TownshipKind};

/// Common surnames, weighted towards those frequent in 余姚 (孙, 沈, 胡, 徐, 邵, 诸…).
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "沈", "沈",
    "孙", "胡", "徐", "邵", "诸", "俞", "施", "姚", "鲁", "蒋", "叶", "严", "岑", "劳", "邹", "潘",
    "戚", "童", "楼", "黄", "陈", "王", "毛", "方", "卢", "魏", "袁", "金",
];

const GIVEN_CHARS: &[&str] = &[
    "建", "国", "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "萍", "红", "志", "海",
    "波", "辉", "燕", "飞", "鹏", "晓", "林", "琴", "云", "峰", "雪", "梅", "亮", "斌", "宇", "浩",
    "婷", "佳", "欣", "涵", "雨", "文", "博", "晨", "嘉", "怡", "俊", "凯", "慧", "颖", "庆", "民",
    "德", "荣", "春", "立", "新", "永", "美", "琳", "卫", "东", "利",
];

pub(crate) fn person_name(rng: &mut SplitMix64) -> String {
    let mut name = rng.pick(SURNAMES).to_string();
    let given = if rng.chance(0.2) { 1 } else { 2 };
    for _ in 0..given {
        name.push_str(rng.pick(GIVEN_CHARS));
    }
    name
}

/// Mobile prefixes of the three carriers (13x, 15x, 18x).
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "180", "181", "182", "183", "185", "186", "187",
    "188", "189",
];

pub(crate) fn mobile(rng: &mut SplitMix64) -> String {
    format!("{}{:08}", rng.pick(MOBILE_PREFIXES), rng.below(100_000_000))
}

/// Real streets of the central districts (梨洲、凤山、兰江、阳明).
const CITY_ROADS: &[&str] = &[
    "阳明西路",
    "阳明东路",
    "新建北路",
    "南雷南路",
    "舜水南路",
    "舜水北路",
    "北滨江路",
    "南滨江路",
    "谭家岭西路",
    "谭家岭东路",
    "世南西路",
    "世南东路",
    "四明西路",
    "四明东路",
    "梨洲路",
    "体育场路",
    "长安路",
    "玉皇山路",
    "环城北路",
    "环城南路",
    "凤山路",
    "丰山路",
    "北环西路",
    "城东路",
    "子陵路",
    "武胜门路",
    "候青江路",
    "东旱门路",
    "兵马司路",
    "桐江路",
];

/// Street names found in almost every town of the county.
const TOWN_ROADS: &[&str] = &[
    "人民路",
    "中山路",
    "建设路",
    "解放路",
    "新华路",
    "工业路",
    "东大街",
    "西大街",
    "镇中路",
    "环镇北路",
    "环镇南路",
    "文化路",
    "兴业路",
    "振兴路",
    "健康路",
    "商业街",
    "滨江路",
    "育才路",
];

const CITY_COMPOUNDS: &[&str] = &[
    "阳光花园",
    "舜江花园",
    "江南名府",
    "金色家园",
    "阳明花园",
    "城东新村",
    "锦凤小区",
    "丰乐花苑",
    "世南小区",
    "四明小区",
    "兰墅花园",
    "凤山小区",
    "府前小区",
    "北门新村",
    "南雷新村",
    "玉皇山小区",
    "谭家岭小区",
    "竹山公寓",
    "翠苑小区",
    "桂花园",
    "江景华庭",
    "龙泉山庄",
    "新城市花园",
    "舜水家园",
    "蓝湾名邸",
    "天瑞花园",
    "学府名苑",
    "姚江公寓",
];

const COMPOUND_SUFFIXES: &[&str] = &["新村", "花园", "小区", "家园", "公寓", "花苑"];

const CITY_MARKETS: &[&str] = &[
    "城东菜场",
    "南门菜场",
    "北门菜场",
    "江南菜场",
    "阳明菜场",
    "梨洲菜场",
    "新建路菜场",
    "兰江农贸市场",
    "丰山菜场",
];

const SHOP_PREFIXES: &[&str] = &[
    "老王",
    "阿强",
    "鑫鑫",
    "好又多",
    "兴旺",
    "聚福",
    "小李",
    "红红",
    "美佳",
    "大众",
    "金鼎",
    "顺发",
    "宏达",
    "乐购",
    "好邻居",
    "阿芬",
    "永和",
    "百家",
    "佳佳",
    "东方",
];

const FIRM_STEMS: &[&str] = &[
    "宏达", "永兴", "金龙", "华丰", "鑫源", "东升", "天宇", "恒通", "中泰", "新亚", "兴隆", "凯瑞",
    "博远", "明辉", "盛达",
];

const FIRM_KINDS: &[&str] = &[
    "电器有限公司",
    "塑料制品厂",
    "模具有限公司",
    "五金厂",
    "化工有限公司",
    "轴承厂",
    "印染有限公司",
    "灯具厂",
    "汽配有限公司",
];

const SITES: &[&str] = &[
    "城东安置房",
    "江南新城二期",
    "学府名苑三期",
    "滨江商业综合体",
    "人民医院扩建",
    "舜江大桥拓宽",
    "实验学校新校区",
    "姚江北岸商住楼",
];

/// Recurring or recent times, phrased to read before a verb ("楼上邻居" + "每天晚上十点以后"
/// + "在家里拖拉桌椅").
const WHEN: &[&str] = &[
    "每天晚上十点以后",
    "这几天晚上",
    "最近一个星期",
    "每天早上五点多",
    "周末",
    "这两天夜里",
    "最近一段时间",
    "每天半夜",
];

/// The places an event's text can name, drawn once per event so that one text speaks
/// of one compound, one road and one shop.
#[derive(Debug, Clone)]
pub(crate) struct Scene {
    pub township: String,
    pub short: String,
    pub place: String,
    pub place2: String,
    /// A village group (村民小组) of the village, "东溪村3组", and its number.
    pub group: String,
    pub group_no: i64,
    pub road: String,
    pub road2: String,
    pub xiaoqu: String,
    pub market: String,
    pub pfx: String,
    pub company: String,
    pub site: String,
    pub when: String,
    pub clinic: String,
    /// Town-like surroundings (a community, or a village of the streets): roads and
    /// compounds rather than village groups.
    pub urban: bool,
    kind: Surroundings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surroundings {
    /// A community (社区).
    Town,
    /// A village of a street (城中村): half town, half village.
    Fringe,
    /// A village in a town or the hills.
    Country,
}

/// Words that only make sense in a town compound, and in the countryside.
const TOWN_WORDS: &[&str] = &["幢", "小区", "物业", "楼道", "电梯", "业主", "楼上", "楼下"];
const COUNTRY_WORDS: &[&str] = &["组", "村里", "村民", "村口", "田", "山林", "酒席", "喜酒"];

impl Scene {
    pub(crate) fn draw(
        rng: &mut SplitMix64,
        township: &Township,
        central: bool,
        place: &str,
        place2: &str,
        grid_type: &str,
    ) -> Scene {
        let kind = match grid_type {
            URBAN_COMMUNITY => Surroundings::Town,
            URBAN_VILLAGE => Surroundings::Fringe,
            _ => Surroundings::Country,
        };
        let urban = kind != Surroundings::Country;
        let short = township.short_name();
        let roads = if central { CITY_ROADS } else { TOWN_ROADS };
        let road = rng.pick(roads).to_string();
        let mut road2 = rng.pick(roads).to_string();
        if road2 == road {
            road2 = rng.pick(roads).to_string();
        }
        let group_no = rng.between(1, 12);
        let group = format!("{place}{group_no}组");
        let xiaoqu = if !urban {
            group.clone()
        } else if central {
            rng.pick(CITY_COMPOUNDS).to_string()
        } else {
            format!("{short}{}", rng.pick(COMPOUND_SUFFIXES))
        };
        let market = if central {
            rng.pick(CITY_MARKETS).to_string()
        } else {
            format!("{short}农贸市场")
        };
        let company = format!("余姚市{}{}", rng.pick(FIRM_STEMS), rng.pick(FIRM_KINDS));
        let site = if central || rng.chance(0.5) {
            format!("{}项目工地", rng.pick(SITES))
        } else {
            format!("{short}安置小区工地")
        };
        let clinic = if township.kind == TownshipKind::Street {
            format!("{}社区卫生服务中心", township.name)
        } else {
            format!("{}卫生院", township.name)
        };
        Scene {
            township: township.name.clone(),
            short: short.to_string(),
            place: place.to_string(),
            place2: place2.to_string(),
            group,
            group_no,
            road,
            road2,
            xiaoqu,
            market,
            pfx: rng.pick(SHOP_PREFIXES).to_string(),
            company,
            site,
            when: rng.pick(WHEN).to_string(),
            clinic,
            urban,
            kind,
        }
    }

    /// Whether a text suits this place: no 物业 or 幢 in a mountain village, no 村民 or
    /// 3组 in a town compound. Villages of the streets (城中村) take both.
    fn suits(&self, text: &str) -> bool {
        let clashes: &[&str] = match self.kind {
            Surroundings::Town => COUNTRY_WORDS,
            Surroundings::Country => TOWN_WORDS,
            Surroundings::Fringe => &[],
        };
        !clashes.iter().any(|w| text.contains(w))
    }

    /// One of `texts` that suits this place, or any of them if none does.
    pub(crate) fn choose(&self, rng: &mut SplitMix64, texts: &[&'static str]) -> &'static str {
        let suitable: Vec<&'static str> = texts.iter().copied().filter(|t| self.suits(t)).collect();
        if suitable.is_empty() {
            rng.pick(texts)
        } else {
            rng.pick(&suitable)
        }
    }

    /// Where exactly, as it reads after the village name ("梦麟社区" + "舜江花园3幢附近").
    fn spot(&self, rng: &mut SplitMix64) -> String {
        if self.urban {
            match rng.below(4) {
                0 => format!("{}{}幢附近", self.xiaoqu, rng.between(1, 30)),
                1 => format!("{}{}号附近", self.road, rng.between(1, 400)),
                2 => format!("{}门口", self.xiaoqu),
                _ => format!("{}与{}交叉口", self.road, self.road2),
            }
        } else {
            match rng.below(4) {
                0 => format!("{}组", self.group_no),
                1 => "村口".to_string(),
                2 => "文化礼堂附近".to_string(),
                _ => format!("{}组河边", self.group_no),
            }
        }
    }

    /// Replaces every `{key}` of a template. Numbers are drawn afresh at each use.
    pub(crate) fn fill(&self, rng: &mut SplitMix64, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return out;
            };
            let key = &after[..close];
            match key {
                "place" => out.push_str(&self.place),
                "place2" => out.push_str(&self.place2),
                "group" => out.push_str(&self.group),
                "township" => out.push_str(&self.township),
                "short" => out.push_str(&self.short),
                "road" => out.push_str(&self.road),
                "road2" => out.push_str(&self.road2),
                "xiaoqu" => out.push_str(&self.xiaoqu),
                "market" => out.push_str(&self.market),
                "pfx" => out.push_str(&self.pfx),
                "company" => out.push_str(&self.company),
                "site" => out.push_str(&self.site),
                "when" => out.push_str(&self.when),
                "clinic" => out.push_str(&self.clinic),
                "spot" => out.push_str(&self.spot(rng)),
                "n" => out.push_str(&rng.between(2, 30).to_string()),
                "months" => out.push_str(&rng.between(2, 6).to_string()),
                "money" => out.push_str(&format!("{}元", rng.between(8, 300) * 100)),
                "wan" => out.push_str(&format!("{}万元", rng.between(2, 40))),
                // Unknown keys stay visible, and a test rejects any '{' left in a text.
                _ => {
                    out.push('{');
                    out.push_str(key);
                    out.push('}');
                }
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A house-number address: a road in town, a village group in the countryside.
    pub(crate) fn address(&self, rng: &mut SplitMix64) -> String {
        if self.urban {
            format!(
                "余姚市{}{}{}{}号附近",
                self.township,
                self.place,
                self.road,
                rng.between(1, 400)
            )
        } else {
            format!(
                "余姚市{}{}{}号附近",
                self.township,
                self.group,
                rng.between(1, 120)
            )
        }
    }
}

const GRID_FOLLOW_UPS: &[&str] = &[
    "已拍照留存，请相关部门处理。",
    "现场已劝导，但当事人不配合，需要职能部门介入。",
    "已告知当事人，请派单给有关部门尽快核查。",
    "涉及群众较多，建议尽快处置。",
];

/// How someone other than an ordinary citizen puts a problem into words.
pub(crate) fn framed_issue(
    rng: &mut SplitMix64,
    scene: &Scene,
    reporter_kind: &str,
    issue: &str,
    department: &str,
    org: &str,
) -> String {
    let template = match reporter_kind {
        "grid_worker" => match rng.below(3) {
            0 => "网格巡查发现：{place}{spot}{issue}。{follow}",
            1 => "今天走访时发现{place}{spot}{issue}，{follow}",
            _ => "【网格员上报】{place}{spot}{issue}，{follow}",
        },
        "cleaner" => "环卫工人反映：{road}附近{issue}，每天打扫时都看到，希望有关部门管一管。",
        "courier" => {
            "快递员反映：送件时发现{place}{spot}{issue}，已经有一段时间了，请有关部门处理。"
        }
        "delivery_rider" => "外卖骑手随手拍：{place}{spot}{issue}，请尽快处理。",
        "department" => "{dept}日常检查中发现{place}{spot}{issue}，需属地{township}配合处置。",
        "deputy" => match rng.below(2) {
            0 => {
                "市人大代表走访{place}时，群众反映{issue}，已持续较长时间，建议有关部门尽快研究解决。"
            }
            _ => "市政协委员反映：{place}一带{issue}，群众意见较大，建议纳入督办。",
        },
        "social_org" => "{org}志愿者在{place}服务时发现{spot}{issue}，请相关部门跟进。",
        _ => "{place}{spot}{issue}，请有关部门处理。",
    };
    let follow = rng.pick(GRID_FOLLOW_UPS);
    let template = template
        .replace("{issue}", issue)
        .replace("{follow}", follow)
        .replace("{dept}", department)
        .replace("{org}", org);
    scene.fill(rng, &template)
}

/// A volunteer organisation of the township, for reports by social organisations.
pub(crate) fn social_org(rng: &mut SplitMix64, scene: &Scene) -> String {
    match rng.below(3) {
        0 => format!("{}平安志愿者协会", scene.short),
        1 => format!("{}巾帼志愿服务队", scene.place),
        _ => format!("{}红十字志愿服务队", scene.short),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_known_keys_and_keeps_unknown_ones() {
        let mut rng = SplitMix64::stream("fill");
        let fengshan = Township {
            code: "330281002".into(),
            name: "凤山街道".into(),
            kind: TownshipKind::Street,
            bbox: [121.12, 30.01, 121.155, 30.05],
        };
        let scene = Scene::draw(
            &mut rng,
            &fengshan,
            true,
            "梦麟社区",
            "望湖社区",
            URBAN_COMMUNITY,
        );
        let s = scene.fill(&mut rng, "{place}在{road}，{n}号，{nope}，{");
        assert!(s.starts_with("梦麟社区在"));
        assert!(s.contains("{nope}"));
        assert!(s.ends_with('{'));
        let addr = scene.address(&mut rng);
        assert!(addr.starts_with("余姚市凤山街道梦麟社区"), "{addr}");
        assert!(addr.ends_with("号附近"));
    }

    #[test]
    fn texts_are_chosen_to_suit_the_place() {
        let mut rng = SplitMix64::stream("suits");
        let dalan = Township {
            code: "330281115".into(),
            name: "大岚镇".into(),
            kind: TownshipKind::Town,
            bbox: [121.08, 29.8, 121.14, 29.87],
        };
        let village = Scene::draw(
            &mut rng,
            &dalan,
            false,
            "柿林村",
            "大俞村",
            "mountain_village",
        );
        let texts = ["{xiaoqu}{n}幢楼道里很吵", "{place}{n}组田里在烧稻草"];
        for _ in 0..50 {
            assert_eq!(village.choose(&mut rng, &texts), texts[1]);
        }
        assert_eq!(
            village.choose(&mut rng, &texts[..1]),
            texts[0],
            "falls back"
        );
    }

    #[test]
    fn mobiles_have_eleven_digits() {
        let mut rng = SplitMix64::stream("phones");
        for _ in 0..1000 {
            let m = mobile(&mut rng);
            assert_eq!(m.len(), 11);
            assert!(m.chars().all(|c| c.is_ascii_digit()));
            assert!(m.starts_with("13") || m.starts_with("15") || m.starts_with("18"));
        }
    }
}

//! The demo city in the database: `zhili_demo::generate` mapped to a reference import
//! (areas, units, categories, accounts) and to historical events whose steps take each
//! event through the real lifecycle to the stage the demo gave it.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use zhili_demo::{DemoCity, EventSeed, Stage};
use zhili_domain::event::RawLocation;
use zhili_domain::{
    Action, GridType, InformChannel, NewEvent, OrgId, OrgKind, Platform, RawNewEvent, RawReporter,
    RejectReason, Role, Satisfaction,
};
use zhili_storage::{
    Acting, CategoryImport, HistoricalEvent, HistoricalStep, OrgImport, ReferenceImport, Store,
    UserImport,
};

/// The department whose matters go to 110 rather than being refused.
const POLICE: &str = "D-GA";

/// Every demo account signs in with this password.
pub const DEMO_PASSWORD: &str = "zhili-demo";
const CITY_CENTRE: &str = "余姚市综合指挥中心";
const BATCH: usize = 200;

/// Today's date in China (UTC+8), which is the demo's "today".
pub fn china_today(now: DateTime<Utc>) -> NaiveDate {
    let china = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    now.with_timezone(&china).date_naive()
}

/// The demo's areas, units, categories and accounts, parents before children.
pub fn reference_import(city: &DemoCity, password_hash: &str) -> anyhow::Result<ReferenceImport> {
    let mut orgs = Vec::new();
    let org = |code: &str, name: &str, kind, parent: Option<&str>| OrgImport {
        code: code.to_string(),
        name: name.to_string(),
        kind,
        parent_code: parent.map(str::to_string),
        department_code: None,
        grid_type: None,
        polygon: None,
    };
    orgs.push(org(&city.city.code, &city.city.name, OrgKind::City, None));
    for t in &city.townships {
        orgs.push(org(
            &t.code,
            &t.name,
            OrgKind::Township,
            Some(&city.city.code),
        ));
    }
    for v in &city.villages {
        orgs.push(org(
            &v.code,
            &v.name,
            OrgKind::Village,
            Some(&v.township_code),
        ));
    }
    for g in &city.grids {
        let grid_type = GridType::parse(g.grid_type)
            .ok_or_else(|| anyhow!("网格 {} 的类型 {} 未知", g.code, g.grid_type))?;
        orgs.push(OrgImport {
            grid_type: Some(grid_type),
            polygon: Some(g.polygon.clone()),
            ..org(&g.code, &g.name, OrgKind::Grid, Some(&g.village_code))
        });
    }
    for d in &city.departments {
        orgs.push(org(
            &d.code,
            &d.name,
            OrgKind::Department,
            Some(&city.city.code),
        ));
    }
    for s in &city.stationed_units {
        orgs.push(OrgImport {
            department_code: Some(s.department_code.clone()),
            ..org(
                &s.code,
                &s.name,
                OrgKind::StationedUnit,
                Some(&s.township_code),
            )
        });
    }
    let categories = city
        .categories
        .iter()
        .map(|c| {
            Ok(CategoryImport {
                code: c.code.clone(),
                name: c.name.clone(),
                parent_code: c.parent_code.clone(),
                platform: Platform::parse(c.platform)
                    .ok_or_else(|| anyhow!("类别 {} 的平台 {} 未知", c.code, c.platform))?,
                focus: c.focus,
                limit_days: c.limit_days,
                department_code: c.department_code.clone(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let users = city
        .users
        .iter()
        .map(|u| {
            Ok(UserImport {
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                password_hash: password_hash.to_string(),
                role: Role::parse(u.role)
                    .ok_or_else(|| anyhow!("账号 {} 的角色 {} 未知", u.username, u.role))?,
                org_code: u.org_code.clone(),
                // The demo's shared password is known to everyone anyway (--demo only).
                must_change_password: false,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(ReferenceImport {
        orgs,
        categories,
        users,
    })
}

/// A small deterministic generator (splitmix64) seeded from an event's external id, so
/// the same demo gives the same history on every load.
struct Rng(u64);

impl Rng {
    fn for_key(key: &str) -> Self {
        // FNV-1a of the key.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Minutes, uniform in [lo, hi).
    fn minutes(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// Looks up what the steps of an event need: areas, categories, units and their ids.
pub struct Planner<'a> {
    city: &'a DemoCity,
    /// Grid code → township code.
    grid_township: HashMap<&'a str, &'a str>,
    township_name: HashMap<&'a str, &'a str>,
    /// 小类 code → (department code, limit in working days).
    category: HashMap<&'a str, (&'a str, u32)>,
    /// (department code, township code) → stationed unit code.
    stationed: HashMap<(&'a str, &'a str), &'a str>,
    unit_name: HashMap<&'a str, &'a str>,
    unit_id: HashMap<String, OrgId>,
}

impl<'a> Planner<'a> {
    /// `unit_ids` maps the code of every department and stationed unit to its org id.
    pub fn new(city: &'a DemoCity, unit_ids: HashMap<String, OrgId>) -> Self {
        Planner {
            city,
            grid_township: city
                .grids
                .iter()
                .map(|g| (g.code.as_str(), g.township_code.as_str()))
                .collect(),
            township_name: city
                .townships
                .iter()
                .map(|t| (t.code.as_str(), t.name.as_str()))
                .collect(),
            category: city
                .categories
                .iter()
                .filter_map(|c| {
                    Some((
                        c.code.as_str(),
                        (c.department_code.as_deref()?, c.limit_days),
                    ))
                })
                .collect(),
            stationed: city
                .stationed_units
                .iter()
                .map(|s| {
                    (
                        (s.department_code.as_str(), s.township_code.as_str()),
                        s.code.as_str(),
                    )
                })
                .collect(),
            unit_name: city
                .departments
                .iter()
                .map(|d| (d.code.as_str(), d.name.as_str()))
                .chain(
                    city.stationed_units
                        .iter()
                        .map(|s| (s.code.as_str(), s.name.as_str())),
                )
                .collect(),
            unit_id: unit_ids,
        }
    }

    /// Made-up but distinct ids for every unit, for tests that need no database.
    #[cfg(test)]
    pub fn with_fake_ids(city: &'a DemoCity) -> Self {
        let ids = city
            .departments
            .iter()
            .map(|d| d.code.clone())
            .chain(city.stationed_units.iter().map(|s| s.code.clone()))
            .enumerate()
            .map(|(i, code)| (code, OrgId(i as i64 + 1)))
            .collect();
        Self::new(city, ids)
    }

    pub fn all(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<HistoricalEvent>> {
        self.city
            .events
            .iter()
            .map(|s| self.history(s, now))
            .collect()
    }

    fn unit(&self, code: &str) -> anyhow::Result<(OrgId, &'a str)> {
        let id = *self
            .unit_id
            .get(code)
            .ok_or_else(|| anyhow!("单位 {code} 不在数据库中"))?;
        let name = self
            .unit_name
            .get(code)
            .copied()
            .ok_or_else(|| anyhow!("单位 {code} 不在演示数据中"))?;
        Ok((id, name))
    }

    /// The seed as a new event plus the steps that take it to its stage.
    pub fn history(&self, seed: &EventSeed, now: DateTime<Utc>) -> anyhow::Result<HistoricalEvent> {
        let event = new_event(seed)?;
        let steps = self.steps(seed, now)?;
        Ok(HistoricalEvent {
            event,
            reporter_username: seed.reporter_username.clone(),
            reported_at: seed.reported_at,
            steps,
        })
    }

    fn steps(&self, seed: &EventSeed, now: DateTime<Utc>) -> anyhow::Result<Vec<HistoricalStep>> {
        let ext = &seed.external_id;
        let township = *self
            .grid_township
            .get(seed.grid_code.as_str())
            .ok_or_else(|| anyhow!("{ext}: 网格 {} 未知", seed.grid_code))?;
        let township_name = self
            .township_name
            .get(township)
            .copied()
            .unwrap_or(township);
        let room = format!("{township_name}综合指挥室");
        let (department, limit_days) = *self
            .category
            .get(seed.category_code.as_str())
            .ok_or_else(|| anyhow!("{ext}: 类别 {} 未知或不是小类", seed.category_code))?;
        let mut rng = Rng::for_key(&format!("{}:{ext}", seed.channel));
        let mut plan = Plan::default();
        let fast = matches!(seed.priority, "high" | "urgent");
        // Hotline, 110 and petitions come in at the city centre; the rest at the township.
        let intake = match seed.channel {
            "hotline_12345" | "exchange_110" | "petition" => CITY_CENTRE.to_string(),
            _ => room.clone(),
        };
        let stage = seed.stage;

        if stage == Stage::Reported {
            return Ok(Vec::new());
        }
        if stage == Stage::Rejected && department == POLICE {
            // A police matter that reached the hotline goes to 110 (双线并行, D3).
            plan.after(
                rng.minutes(5.0, 60.0),
                &intake,
                Action::TransferTo110 {
                    reason: "属治安警情，按双线并行机制移交110处置".into(),
                },
            );
            return Ok(plan.finish(seed.reported_at, now));
        }
        if stage == Stage::Rejected {
            let (reason, note) = *rng.pick(REJECTIONS);
            plan.after(
                rng.minutes(10.0, 180.0),
                &intake,
                Action::Reject {
                    reason,
                    note: note.to_string(),
                },
            );
            return Ok(plan.finish(seed.reported_at, now));
        }
        let accept_wait = if fast {
            rng.minutes(3.0, 30.0)
        } else {
            rng.minutes(10.0, 240.0)
        };
        plan.after(
            accept_wait,
            &intake,
            Action::Accept {
                note: Some("信息完整，予以受理".into()),
            },
        );
        if stage == Stage::Accepted {
            return Ok(plan.finish(seed.reported_at, now));
        }
        if stage == Stage::Suspended {
            plan.after(
                rng.minutes(60.0, 48.0 * 60.0),
                &intake,
                Action::Suspend {
                    reason: rng.pick(SUSPENSIONS).to_string(),
                },
            );
            return Ok(plan.finish(seed.reported_at, now));
        }

        // The right unit: the department, or often its unit stationed in the township.
        let lead_code = match self.stationed.get(&(department, township)) {
            Some(s) if rng.chance(0.65) => *s,
            _ => department,
        };
        let (lead, lead_name) = self.unit(lead_code)?;
        let dispatcher = |code: &str| -> String {
            if code.starts_with("S-") {
                room.clone()
            } else {
                CITY_CENTRE.to_string()
            }
        };
        if seed.returned_once {
            let wrong_code = confused_with(department);
            let (wrong, wrong_name) = self.unit(wrong_code)?;
            plan.after(
                rng.minutes(10.0, 60.0),
                &dispatcher(wrong_code),
                Action::Dispatch {
                    lead_unit: wrong,
                    assisting_units: Vec::new(),
                    note: None,
                },
            );
            plan.after(
                rng.minutes(60.0, 24.0 * 60.0),
                wrong_name,
                Action::Return {
                    reason: format!(
                        "经核实，该事项不属于本单位职责范围，建议由{}办理",
                        self.unit_name
                            .get(department)
                            .copied()
                            .unwrap_or(department)
                    ),
                },
            );
        }
        plan.after(
            rng.minutes(10.0, 90.0),
            &dispatcher(lead_code),
            Action::Dispatch {
                lead_unit: lead,
                assisting_units: Vec::new(),
                note: Some(format!("请{lead_name}按时限办理")),
            },
        );
        if stage == Stage::Dispatched {
            return Ok(plan.finish(seed.reported_at, now));
        }
        let sign_wait = if fast {
            rng.minutes(5.0, 60.0)
        } else {
            rng.minutes(30.0, 8.0 * 60.0)
        };
        plan.after(
            sign_wait,
            lead_name,
            Action::Sign {
                note: Some("已签收，安排人员处理".into()),
            },
        );
        if stage == Stage::Handling {
            return Ok(plan.finish(seed.reported_at, now));
        }
        // Most finish within the limit (working days, here read as calendar days).
        let limit_min = f64::from(limit_days.max(1)) * 24.0 * 60.0;
        let handling = if rng.chance(0.9) {
            rng.minutes(0.1 * limit_min, 0.9 * limit_min)
        } else {
            rng.minutes(limit_min, 1.6 * limit_min)
        };
        let results = results_for(&seed.category_code);
        plan.after(
            handling,
            lead_name,
            Action::Resolve {
                result: rng.pick(results).to_string(),
                photos: Vec::new(),
            },
        );
        if seed.reworked {
            plan.after(
                rng.minutes(4.0 * 60.0, 48.0 * 60.0),
                &room,
                Action::VerifyFail {
                    reason: rng.pick(REWORK_REASONS).to_string(),
                },
            );
            plan.after(
                rng.minutes(24.0 * 60.0, 5.0 * 24.0 * 60.0),
                lead_name,
                Action::Resolve {
                    result: format!("已按核查意见返工整改。{}", rng.pick(results)),
                    photos: Vec::new(),
                },
            );
        }
        if stage == Stage::Resolved {
            return Ok(plan.finish(seed.reported_at, now));
        }
        plan.after(
            rng.minutes(2.0 * 60.0, 48.0 * 60.0),
            &room,
            Action::VerifyPass {
                note: Some(rng.pick(VERIFICATIONS).to_string()),
            },
        );
        if stage == Stage::Verified {
            return Ok(plan.finish(seed.reported_at, now));
        }
        let channel = if seed.reporter_phone.is_some() {
            InformChannel::Phone
        } else {
            InformChannel::App
        };
        let note = match channel {
            InformChannel::Phone => "已电话告知反映人处理结果",
            _ => "已通过平台消息告知处理结果",
        };
        plan.after(
            rng.minutes(60.0, 24.0 * 60.0),
            &room,
            Action::Inform {
                channel,
                note: Some(note.into()),
            },
        );
        if stage == Stage::Informed {
            return Ok(plan.finish(seed.reported_at, now));
        }
        if let Some(level) = seed.satisfaction {
            let satisfaction = Satisfaction::from_level(level)
                .ok_or_else(|| anyhow!("{ext}: 满意度 {level} 不在 1–5 之间"))?;
            let comment = match level {
                1 | 2 if rng.chance(0.3) => Some("处理及时，感谢".to_string()),
                4 => Some("处理太慢，问题只是暂时解决".to_string()),
                5 => Some("问题没有解决，对处理结果不满意".to_string()),
                _ => None,
            };
            // Rated on the same follow-up call.
            plan.after(
                rng.minutes(2.0, 20.0),
                &room,
                Action::Rate {
                    satisfaction,
                    comment,
                },
            );
        }
        if stage == Stage::Rated {
            return Ok(plan.finish(seed.reported_at, now));
        }
        plan.after(
            rng.minutes(12.0 * 60.0, 72.0 * 60.0),
            &room,
            Action::Close {
                note: Some("办理完毕，归档".into()),
            },
        );
        Ok(plan.finish(seed.reported_at, now))
    }
}

/// Steps as delays after the previous one, turned into times at the end.
#[derive(Default)]
struct Plan {
    steps: Vec<(f64, String, Action)>,
}

impl Plan {
    fn after(&mut self, minutes: f64, actor: &str, action: Action) {
        self.steps.push((minutes, actor.to_string(), action));
    }

    /// Times from `reported_at`. A history that would reach past `now` is squeezed into
    /// the time there is (a recent event moves faster than planned rather than piling its
    /// steps onto the present), and every time is clamped to `now` in any case.
    fn finish(self, reported_at: DateTime<Utc>, now: DateTime<Utc>) -> Vec<HistoricalStep> {
        let total: f64 = self.steps.iter().map(|s| s.0).sum();
        let room = (now - reported_at).num_seconds().max(0) as f64 / 60.0;
        let scale = if total > room * 0.95 && total > 0.0 {
            room * 0.95 / total
        } else {
            1.0
        };
        let mut at_min = 0.0;
        self.steps
            .into_iter()
            .map(|(minutes, actor_name, action)| {
                at_min += minutes * scale;
                let at = reported_at + TimeDelta::seconds((at_min * 60.0) as i64);
                HistoricalStep {
                    at: at.min(now),
                    actor_name,
                    action,
                }
            })
            .collect()
    }
}

fn new_event(seed: &EventSeed) -> anyhow::Result<NewEvent> {
    let reporter = (seed.reporter_kind != "anonymous").then(|| RawReporter {
        kind: seed.reporter_kind.to_string(),
        name: seed.reporter_name.clone(),
        phone: seed.reporter_phone.clone(),
    });
    NewEvent::parse(RawNewEvent {
        channel: seed.channel.to_string(),
        external_id: Some(seed.external_id.clone()),
        reporter,
        text: seed.text.clone(),
        address: Some(seed.address.clone()),
        location: Some(RawLocation {
            lon: seed.lon,
            lat: seed.lat,
            crs: None,
        }),
        category: Some(seed.category_code.clone()),
        grid: Some(seed.grid_code.clone()),
        township: None,
        priority: Some(seed.priority.to_string()),
    })
    .map_err(|e| anyhow!("演示事件 {} 无效: {e}", seed.external_id))
}

/// The department a mis-routed event of `department` plausibly went to first.
fn confused_with(department: &str) -> &'static str {
    match department {
        "D-ZF" => "D-ZJ",
        "D-ZJ" | "D-SJ" | "D-HB" | "D-GA" | "D-XFJY" => "D-ZF",
        "D-RS" => "D-SF",
        "D-SF" => "D-XF",
        "D-YJ" => "D-XFJY",
        "D-MZ" | "D-NY" | "D-SL" => "D-ZR",
        _ => "D-XF",
    }
}

const REJECTIONS: &[(RejectReason, &str)] = &[
    (
        RejectReason::Duplicate,
        "与已受理工单反映的是同一问题，已合并办理并告知反映人",
    ),
    (
        RejectReason::Invalid,
        "反映内容不完整，三次回拨反映人电话均无人接听，无法核实",
    ),
    (
        RejectReason::NotOurBusiness,
        "该事项已进入司法诉讼程序，不属于受理范围，已告知反映人依法通过诉讼途径解决",
    ),
    (
        RejectReason::NotOurBusiness,
        "属于民事合同纠纷，已告知反映人可申请人民调解或向人民法院起诉",
    ),
];

const SUSPENSIONS: &[&str] = &[
    "当事人已向人民法院提起诉讼，待判决生效后继续办理",
    "需等待汛期结束后方可施工，暂缓办理",
    "涉及多个部门职责交叉，待市委政法委协调明确责任后办理",
    "当事人长期在外地务工，暂无法联系，待其返回后继续调处",
];

const REWORK_REASONS: &[&str] = &[
    "网格员现场复核发现问题仍然存在，请返工处理",
    "回访中反映人表示问题未解决，经核实属实，请重新处置",
    "办结材料缺少现场照片和处理依据，请补充并落实整改",
];

const VERIFICATIONS: &[&str] = &[
    "经网格员现场核查，问题已解决",
    "经电话回访及现场核实，处置到位",
    "核查办结材料齐全，处理结果属实",
];

/// Result texts by 大类 (the first two digits of the 小类 code).
fn results_for(category_code: &str) -> &'static [&'static str] {
    match category_code.get(..2).unwrap_or("") {
        "01" => &[
            "经村（社区）调解委员会组织双方当面调解，当事人达成一致并签订调解协议，矛盾已化解。",
            "会同司法所、网格员上门了解情况，双方各退一步，已就问题达成口头协议，后续由网格员跟踪回访。",
        ],
        "02" => &[
            "经劳动保障监察大队约谈用人单位，企业已承诺并于约定日期足额支付拖欠工资，当事人已确认收到。",
            "已组织劳资双方调解，企业同意按劳动合同补发工资及加班费，双方签订调解协议。",
        ],
        "03" => &[
            "已会同属地街道专班上门做好解释疏导工作，当事人情绪稳定，相关诉求纳入包案化解台账持续跟踪。",
            "已登记相关情况并移交专班处理，向当事人宣传相关政策及依法维权途径，当事人表示理解。",
        ],
        "04" => &[
            "民警已到场处置，对相关人员进行批评教育并登记信息，现场秩序已恢复，后续加强该区域巡逻。",
            "已对涉事出租房开展检查，督促房东落实流动人口登记和消防安全措施，对超员居住情况责令整改完毕。",
        ],
        "05" => &[
            "执法人员已现场检查，责令经营者立即改正违法行为并予以立案调查，已告知反映人处理进展。",
            "经调解，商家同意为消费者办理退款，双方已达成一致。",
        ],
        "06" => &[
            "市场监管所已对该经营户进行现场检查，责令整改后厨卫生问题，抽检样品送检，已依法立案处理。",
            "已督促经营者下架并封存相关问题食品，完善进货查验记录，后续纳入重点检查对象。",
        ],
        "07" => &[
            "执法中队已现场责令当事人停止违法行为，当事人已自行整改完毕，现场恢复原状。",
            "已依法下达责令限期改正通知书，当事人在期限内自行拆除，执法人员复查确认。",
            "已约谈施工单位负责人，要求严格遵守夜间施工时间规定，此后加强夜间巡查。",
        ],
        "08" => &[
            "环境执法人员已现场检查，责令企业停产整改治污设施，经复查排放已达标。",
            "已对现场进行处置，清理焚烧残留物，并对当事人进行环保法规宣传教育。",
        ],
        "09" => &[
            "已组织现场检查，督促责任单位立即消除隐患，清理占用的消防通道并设置警示标志。",
            "已责令物业公司拆除违规充电线路，在小区增设集中充电桩，隐患已消除。",
        ],
        "10" => &[
            "已安排养护单位现场维修，相关设施已修复并恢复正常使用。",
            "维修人员已更换损坏部件，经试运行正常，后续纳入日常巡查。",
        ],
        "11" => &[
            "已通知环卫作业单位及时清运，现场已清理干净，并增加该点位清运频次。",
            "已安排专人对该区域进行集中整治，并落实长效保洁措施。",
        ],
        "12" => &[
            "已向反映人详细解释相关政策并协助办理相关手续，反映人表示认可。",
            "经核实，符合相关条件，已协助当事人提交申请材料，正在按程序办理。",
        ],
        "13" => &[
            "已组织农技人员和村干部现场查看，落实修复措施，相关问题已解决。",
            "经核查，相关补贴已按程序发放到位，已向反映人说明发放时间和标准。",
        ],
        "14" => &[
            "交警已到场处置，对违停车辆依法处理，并在该路段增设禁停标志、加强巡查。",
            "已联系相关单位对信号灯及标线进行维护，现已恢复正常。",
        ],
        _ => &["已按职责办理完毕，处理结果已告知反映人。"],
    }
}

/// One responsible leader per focus category (O6), set before the events arrive so
/// that every focus event accepted in the history gets its leader.
async fn add_focus_leaders(
    store: &Store,
    city: &DemoCity,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    const LEADERS: &[&str] = &[
        "王建国（市委政法委副书记）",
        "陈立平（副市长）",
        "李文华（市信访局局长）",
        "周海涛（市住建局局长）",
        "孙晓东（市公安局副局长）",
        "吴卫民（市综合执法局局长）",
    ];
    let acting = Acting::system("演示数据导入");
    for (i, c) in city.categories.iter().filter(|c| c.focus).enumerate() {
        let input = zhili_storage::supervision::FocusLeaderInput {
            category: c.code.clone(),
            township: None,
            leader_name: LEADERS[i % LEADERS.len()].to_string(),
            leader_username: None,
        };
        store
            .put_focus_leader(&acting, &input, now)
            .await
            .with_context(|| format!("设置焦点问题 {} 的责任领导", c.name))?;
    }
    Ok(())
}

/// The responsibility matrix, before the events arrive so that each is routed by it.
async fn add_routing_rules(
    store: &Store,
    city: &DemoCity,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    use zhili_storage::routing::{RuleInput, RuleLine};
    let lines: Vec<RuleLine> = city
        .routing_rules
        .iter()
        .enumerate()
        .map(|(i, r)| RuleLine {
            row: i + 1,
            rule: RuleInput {
                category: r.category_code.clone(),
                area: r.area_code.clone(),
                lead_unit: r.lead_unit_code.clone(),
                assisting_units: r.assisting_unit_codes.clone(),
                level: r.level.to_string(),
                note: r.note.clone(),
            },
        })
        .collect();
    let acting = Acting::system("演示数据导入");
    if let Err(refused) = store
        .routing_loader(acting)
        .import(&lines, Vec::new(), "demo", now)
        .await
        .context("导入演示分派规则")?
    {
        let rows: Vec<String> = refused
            .bad_rows
            .iter()
            .map(|b| format!("第 {} 条 · {}: {}", b.row, b.field, b.reason))
            .collect();
        return Err(anyhow!("演示分派规则有误：{}", rows.join("；")));
    }
    Ok(())
}

/// Loads the demo city into an empty database: reference data, then the events in
/// batches with a progress bar. Returns how many events were loaded.
pub async fn load(store: &Store, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let started = Instant::now();
    let today = china_today(now);
    let city = tokio::task::spawn_blocking(move || zhili_demo::generate(today))
        .await
        .context("生成演示数据")?;
    let hash = tokio::task::spawn_blocking(|| zhili_server::hash_password(DEMO_PASSWORD))
        .await
        .context("计算演示密码散列")?;
    let reference = reference_import(&city, &hash)?;
    store
        .import_reference(&reference, now)
        .await
        .context("导入演示区划、单位、类别和账号")?;
    store
        .set_populations(&zhili_demo::population::populations(&city), now)
        .await
        .context("导入演示常住人口")?;
    crate::open311_cmd::add_demo_client(store, now).await?;
    add_focus_leaders(store, &city, now).await?;
    add_routing_rules(store, &city, now).await?;
    let unit_ids = store
        .orgs_of_kind(&[OrgKind::Department, OrgKind::StationedUnit])
        .await?
        .into_iter()
        .map(|o| (o.code, o.id))
        .collect();
    let events = Planner::new(&city, unit_ids).all(now)?;
    tracing::info!(
        orgs = reference.orgs.len(),
        categories = reference.categories.len(),
        users = reference.users.len(),
        events = events.len(),
        "演示数据：基础数据已导入，开始导入事件"
    );
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(events.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("导入演示事件 {bar:40} {pos}/{len} {per_sec} 剩余 {eta}")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    } else {
        ProgressBar::hidden()
    };
    let importer = Acting::system("演示数据导入");
    let mut loaded = 0;
    for chunk in events.chunks(BATCH) {
        loaded += store
            .import_history(chunk, &importer)
            .await
            .with_context(|| format!("导入演示事件（第 {} 条起）", loaded + 1))?;
        bar.set_position(loaded as u64);
    }
    bar.finish_and_clear();
    tracing::info!(
        events = loaded,
        secs = started.elapsed().as_secs_f64(),
        "演示数据导入完成"
    );
    Ok(loaded)
}

/// The demo's classification model: trained once from the demo city's own events
/// (labels are category codes, so no mapping is needed) and kept in the data
/// directory, so that later starts load it like any other model file.
pub async fn model(
    store: &Store,
    data_dir: &std::path::Path,
) -> anyhow::Result<std::path::PathBuf> {
    let path = data_dir.join("demo-model.zhm");
    if path.is_file() {
        return Ok(path);
    }
    let examples = store.training_examples().await?;
    println!(
        "演示模式: 正在用 {} 个演示事件训练分类模型……",
        examples.len()
    );
    let started = Instant::now();
    let out = path.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let (texts, labels): (Vec<&str>, Vec<&str>) = examples
            .iter()
            .map(|(t, c)| (t.as_str(), c.as_str()))
            .unzip();
        let model =
            zhili_nlp::Classifier::train(&texts, &labels, &zhili_nlp::TrainConfig::default())
                .context("训练演示分类模型失败")?;
        // On PostgreSQL nothing else has made the data directory yet.
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("无法创建数据目录 {}", dir.display()))?;
        }
        model.save_file(&out).context("无法保存演示分类模型")?;
        Ok(())
    })
    .await
    .context("训练任务异常退出")??;
    println!(
        "演示分类模型已保存: {}（用时 {:.1} 秒）",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use zhili_domain::{Capacities, EventState, Status};

    use super::*;

    impl Planner<'_> {
        /// The status a seed ends in: its stage's, except police matters, which go
        /// to 110 instead of being refused.
        fn expected_status(&self, seed: &EventSeed) -> Status {
            let police = self
                .category
                .get(seed.category_code.as_str())
                .is_some_and(|(d, _)| *d == POLICE);
            if seed.stage == Stage::Rejected && police {
                Status::Transferred
            } else {
                status_of(seed.stage)
            }
        }
    }

    /// The status a stage corresponds to.
    fn status_of(stage: Stage) -> Status {
        match stage {
            Stage::Reported => Status::Reported,
            Stage::Accepted => Status::Accepted,
            Stage::Rejected => Status::Rejected,
            Stage::Dispatched => Status::Dispatched,
            Stage::Handling => Status::Handling,
            Stage::Resolved => Status::Resolved,
            Stage::Verified => Status::Verified,
            Stage::Informed => Status::Informed,
            Stage::Rated => Status::Rated,
            Stage::Closed => Status::Closed,
            Stage::Suspended => Status::Suspended,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    fn noon_of(d: NaiveDate) -> DateTime<Utc> {
        // 12:00 China time is 04:00 UTC.
        d.and_hms_opt(4, 0, 0).unwrap().and_utc()
    }

    const ALL: Capacities = Capacities {
        operator: true,
        lead_unit: true,
        assisting_unit: true,
        reporter: true,
        supervisor: true,
    };

    #[test]
    fn every_seed_replays_to_exactly_its_stage() {
        let city = zhili_demo::generate(today());
        let now = noon_of(today());
        let planner = Planner::with_fake_ids(&city);
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for seed in &city.events {
            let h = planner.history(seed, now).unwrap();
            let mut state = EventState::new();
            let mut last = h.reported_at;
            for step in &h.steps {
                assert!(step.at >= last, "{}: steps out of order", seed.external_id);
                assert!(step.at <= now, "{}: a step in the future", seed.external_id);
                assert!(!step.actor_name.is_empty());
                last = step.at;
                state = state
                    .apply(&ALL, &step.action)
                    .unwrap_or_else(|e| {
                        panic!(
                            "{} {:?}: {:?}: {e}",
                            seed.external_id, seed.stage, step.action
                        )
                    })
                    .state;
                state.check_invariants().unwrap();
            }
            assert_eq!(
                state.status,
                planner.expected_status(seed),
                "{} ends in the wrong status",
                seed.external_id
            );
            assert_eq!(state.return_count, u32::from(seed.returned_once));
            assert_eq!(state.rework_count, u32::from(seed.reworked));
            assert_eq!(
                state.satisfaction.map(|s| s.level()),
                if seed.stage.has_reached(Stage::Rated) {
                    seed.satisfaction
                } else {
                    None
                },
                "{}",
                seed.external_id
            );
            *seen
                .entry(planner.expected_status(seed).code())
                .or_default() += 1;
        }
        assert_eq!(
            seen.len(),
            Status::ALL.len(),
            "every status occurs: {seen:?}"
        );
    }

    #[test]
    fn dispatch_goes_to_the_department_or_its_stationed_unit_in_the_township() {
        let city = zhili_demo::generate(today());
        let planner = Planner::with_fake_ids(&city);
        let by_id: HashMap<OrgId, &str> = planner
            .unit_id
            .iter()
            .map(|(c, id)| (*id, c.as_str()))
            .collect();
        let (mut to_stationed, mut to_department) = (0, 0);
        for seed in city
            .events
            .iter()
            .filter(|s| s.stage.has_reached(Stage::Dispatched))
        {
            let h = planner.history(seed, noon_of(today())).unwrap();
            let Some(Action::Dispatch { lead_unit, .. }) = h
                .steps
                .iter()
                .rev()
                .map(|s| &s.action)
                .find(|a| matches!(a, Action::Dispatch { .. }))
            else {
                panic!("{} has no dispatch", seed.external_id);
            };
            let code = by_id[lead_unit];
            let (department, _) = planner.category[seed.category_code.as_str()];
            let township = &seed.grid_code[..9];
            if code == department {
                to_department += 1;
            } else {
                let s = city
                    .stationed_units
                    .iter()
                    .find(|s| s.code == code)
                    .unwrap();
                assert_eq!(s.department_code, department);
                assert_eq!(s.township_code, township);
                to_stationed += 1;
            }
        }
        assert!(
            to_stationed > 100 && to_department > 100,
            "{to_stationed} {to_department}"
        );
    }

    #[test]
    fn recent_events_fit_their_history_before_now() {
        let city = zhili_demo::generate(today());
        // The earliest possible now: the very start of today in China.
        let now = today().and_hms_opt(0, 0, 0).unwrap().and_utc() - TimeDelta::hours(8);
        let planner = Planner::with_fake_ids(&city);
        let squeezed = city
            .events
            .iter()
            .map(|s| planner.history(s, now).unwrap())
            .filter(|h| h.steps.last().is_some_and(|s| s.at == now))
            .count();
        // Squeezing keeps a margin, so nothing is piled onto the present.
        assert_eq!(squeezed, 0);
    }

    #[test]
    fn the_reference_import_has_every_area_unit_and_account() {
        let city = zhili_demo::generate(today());
        let r = reference_import(&city, "hash").unwrap();
        let count = |k: OrgKind| r.orgs.iter().filter(|o| o.kind == k).count();
        assert_eq!(count(OrgKind::City), 1);
        assert_eq!(count(OrgKind::Township), 21);
        assert_eq!(count(OrgKind::Village), city.villages.len());
        assert_eq!(count(OrgKind::Grid), city.grids.len());
        assert_eq!(count(OrgKind::Department), city.departments.len());
        assert_eq!(count(OrgKind::StationedUnit), city.stationed_units.len());
        assert!(
            r.orgs
                .iter()
                .filter(|o| o.kind == OrgKind::Grid)
                .all(|g| g.polygon.is_some() && g.grid_type.is_some())
        );
        // Parents come before their children.
        let mut seen = std::collections::HashSet::new();
        for o in &r.orgs {
            if let Some(p) = &o.parent_code {
                assert!(
                    seen.contains(p.as_str()),
                    "{} before its parent {p}",
                    o.code
                );
            }
            if let Some(d) = &o.department_code {
                assert!(seen.contains(d.as_str()));
            }
            seen.insert(o.code.as_str());
        }
        assert_eq!(r.users.len(), city.users.len());
        assert!(r.users.iter().all(|u| u.password_hash == "hash"));
    }

    /// The whole demo into a fresh SQLite database, as `zhili serve --demo` loads it.
    /// Not ignored: it takes about 8–12 s in a debug build (well under the 60 s limit).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_full_demo_loads_into_sqlite() {
        let store = zhili_storage::testing::fresh_sqlite()
            .await
            .with_number_prefix("YY");
        assert!(store.is_empty().await.unwrap());
        let started = Instant::now();
        let n = load(&store, Utc::now()).await.unwrap();
        eprintln!("demo load took {:.1?}", started.elapsed());
        let city = zhili_demo::generate(china_today(Utc::now()));
        assert_eq!(n, city.events.len());
        assert!(!store.is_empty().await.unwrap());
        assert_eq!(
            store
                .orgs_of_kind(&[OrgKind::Township])
                .await
                .unwrap()
                .len(),
            21
        );
        for u in &city.users {
            assert!(
                store.user_by_username(&u.username).await.unwrap().is_some(),
                "{} missing",
                u.username
            );
        }
        let admin = store
            .user_by_username("admin")
            .await
            .unwrap()
            .unwrap()
            .actor;
        // O6: every focus event accepted in the history is under 挂牌督办 with its leader.
        let share = store
            .supervision_for(&admin)
            .unwrap()
            .focus_share(&Default::default())
            .await
            .unwrap();
        assert!(share.focus_events > 0);
        assert_eq!(share.share, Some(100.0));
        assert_eq!(share.with_leader, share.focus_events);
        let repo = store.events_for(&admin);
        let mut total = 0;
        for s in Status::ALL {
            let page = repo
                .list(&zhili_storage::EventFilter {
                    statuses: vec![*s],
                    page: 1,
                    per_page: 1,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert!(page.total > 0, "no event is {}", s.code());
            total += page.total;
        }
        assert_eq!(total as usize, city.events.len());
        let first = repo
            .list(&zhili_storage::EventFilter {
                page: 1,
                per_page: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(first.items[0].number.starts_with("YY"));
        // Loading again changes nothing: every event is already there.
        let again = Planner::new(
            &city,
            store
                .orgs_of_kind(&[OrgKind::Department, OrgKind::StationedUnit])
                .await
                .unwrap()
                .into_iter()
                .map(|o| (o.code, o.id))
                .collect(),
        )
        .all(Utc::now())
        .unwrap();
        let importer = Acting::system("test");
        store.import_history(&again[..10], &importer).await.unwrap();
        let page = repo
            .list(&zhili_storage::EventFilter {
                page: 1,
                per_page: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.total as usize, city.events.len());
    }
}

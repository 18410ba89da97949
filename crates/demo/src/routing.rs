//! The demo's responsibility matrix (分派规则): every 小类 to its department city-wide,
//! the streets (街道) sending the matters of a stationing department to the unit it
//! stations there, a village and a grid with rules of their own, one matter run by
//! the city, and one rule that sends 住建 matters to 综合执法 — the unit the demo's
//! history wrongly dispatches them to first, and returns — so that the admin page
//! shows a rule with a high mis-routing rate.

use crate::{Category, Grid, RoutingRuleSeed, StationedUnit, Township, TownshipKind, Village};

/// Run by the city command centre from the start (涉稳, across townships).
const CITY_RUN: &str = "0302";

pub(crate) fn rules(
    categories: &[Category],
    townships: &[Township],
    villages: &[Village],
    grids: &[Grid],
    stationed: &[StationedUnit],
) -> Vec<RoutingRuleSeed> {
    let leaves: Vec<(&str, &str)> = categories
        .iter()
        .filter_map(|c| Some((c.code.as_str(), c.department_code.as_deref()?)))
        .collect();
    // The first 住建 matter: the history first dispatches these to 综合执法 (see the
    // loader's `confused_with`), which returns them.
    let misrouted = leaves.iter().find(|(_, d)| *d == "D-ZJ").map(|(c, _)| *c);
    let rule = |category: &str,
                area: Option<&str>,
                lead: &str,
                assisting: &[&str],
                level: &'static str,
                note: Option<&str>| RoutingRuleSeed {
        category_code: category.to_string(),
        area_code: area.map(str::to_string),
        lead_unit_code: lead.to_string(),
        assisting_unit_codes: assisting.iter().map(|s| s.to_string()).collect(),
        level,
        note: note.map(str::to_string),
    };
    let mut out = Vec::new();
    for (code, department) in &leaves {
        out.push(if Some(*code) == misrouted {
            rule(
                code,
                None,
                "D-ZF",
                &[],
                "township",
                Some("2025 年职责调整后暂定由综合执法牵头，待评估"),
            )
        } else if *code == CITY_RUN {
            rule(
                code,
                None,
                department,
                &["D-GA", "D-XF"],
                "city",
                Some("涉稳事项由市综合指挥中心统一调度"),
            )
        } else {
            rule(code, None, department, &[], "township", None)
        });
    }
    for t in townships.iter().filter(|t| t.kind == TownshipKind::Street) {
        for (code, department) in &leaves {
            if *code == CITY_RUN || Some(*code) == misrouted {
                continue;
            }
            if let Some(s) = stationed
                .iter()
                .find(|s| s.township_code == t.code && s.department_code == *department)
            {
                out.push(rule(code, Some(&t.code), &s.code, &[], "township", None));
            }
        }
    }
    let unit = |township: &str, department: &str| {
        stationed
            .iter()
            .find(|s| s.township_code == township && s.department_code == department)
            .map(|s| s.code.as_str())
    };
    // A community of 凤山街道 whose noise goes to the enforcement squad with the
    // police, and one of its grids where street vending is talked down first.
    let fengshan = "330281002";
    if let (Some(v), Some(zf), Some(pcs), Some(sj)) = (
        villages
            .iter()
            .find(|v| v.township_code == fengshan && v.is_community),
        unit(fengshan, "D-ZF"),
        unit(fengshan, "D-GA"),
        unit(fengshan, "D-SJ"),
    ) {
        out.push(rule(
            "0705",
            Some(&v.code),
            zf,
            &[pcs],
            "village",
            Some("夜间噪音由执法中队牵头，派出所协同"),
        ));
        if let Some(g) = grids.iter().find(|g| g.village_code == v.code) {
            out.push(rule(
                "0702",
                Some(&g.code),
                zf,
                &[sj],
                "grid",
                Some("网格员先行劝导，执法中队兜底"),
            ));
        }
    }
    out.retain(|r| leaves.iter().any(|(c, _)| *c == r.category_code));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn rules_name_real_codes_once_per_category_and_area() {
        let city = crate::generate(chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
        let rules = &city.routing_rules;
        let leaves = city
            .categories
            .iter()
            .filter(|c| c.parent_code.is_some())
            .count();
        assert!(rules.len() > leaves, "city-wide rules and more");
        let units: HashSet<&str> = city
            .departments
            .iter()
            .map(|d| d.code.as_str())
            .chain(city.stationed_units.iter().map(|s| s.code.as_str()))
            .collect();
        let areas: HashSet<&str> = city
            .townships
            .iter()
            .map(|t| t.code.as_str())
            .chain(city.villages.iter().map(|v| v.code.as_str()))
            .chain(city.grids.iter().map(|g| g.code.as_str()))
            .collect();
        let mut keys = HashSet::new();
        for r in rules {
            assert!(units.contains(r.lead_unit_code.as_str()), "{r:?}");
            assert!(
                r.assisting_unit_codes
                    .iter()
                    .all(|u| units.contains(u.as_str()))
            );
            assert!(r.area_code.as_deref().is_none_or(|a| areas.contains(a)));
            assert!(keys.insert((&r.category_code, &r.area_code)), "{r:?}");
        }
        for level in ["grid", "village", "township", "city"] {
            assert!(rules.iter().any(|r| r.level == level), "{level}");
        }
    }
}

//! Residents per area for the demo (participation per 10,000, O5): each grid gets a
//! plausible number for its type, varied by its code so the same city always gets
//! the same numbers; villages, townships and the city are the sums. 余姚 has about
//! 1.25 million residents; the demo's grids add up to the same order.

use std::collections::BTreeMap;

use crate::DemoCity;

/// (area code, residents) for every grid, village, township and the city.
pub fn populations(city: &DemoCity) -> Vec<(String, i64)> {
    let mut villages: BTreeMap<&str, i64> = BTreeMap::new();
    let mut townships: BTreeMap<&str, i64> = BTreeMap::new();
    let mut out = Vec::with_capacity(city.grids.len() + city.villages.len() + 32);
    for g in &city.grids {
        let base = match g.grid_type {
            "urban_community" => 1_500,
            "urban_village" => 1_800,
            "mountain_village" => 500,
            _ => 900,
        };
        let spread: i64 = g.code.bytes().map(i64::from).sum::<i64>() * 37 % 400;
        let n = base + spread - 200;
        *villages.entry(&g.village_code).or_default() += n;
        *townships.entry(&g.township_code).or_default() += n;
        out.push((g.code.clone(), n));
    }
    out.extend(villages.iter().map(|(c, n)| (c.to_string(), *n)));
    out.extend(townships.iter().map(|(c, n)| (c.to_string(), *n)));
    out.push((city.city.code.clone(), townships.values().sum()));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_area_has_residents_and_the_sums_add_up() {
        let city = crate::generate(chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        let p: std::collections::HashMap<String, i64> =
            super::populations(&city).into_iter().collect();
        let total = p[&city.city.code];
        assert!((300_000..3_000_000).contains(&total), "{total}");
        let townships: i64 = city.townships.iter().map(|t| p[&t.code]).sum();
        assert_eq!(townships, total);
        assert!(city.grids.iter().all(|g| p[&g.code] >= 300));
    }
}

//! Prints what the demo city contains, for a quick look without a database:
//! `cargo run -p zhili-demo --example summary [YYYY-MM-DD] [N]` (N sample texts).

use std::collections::BTreeMap;

use chrono::NaiveDate;

fn main() {
    let mut args = std::env::args().skip(1);
    let today = args
        .next()
        .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
        .or_else(|| NaiveDate::from_ymd_opt(2026, 6, 1))
        .unwrap_or_default();
    let samples: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let city = zhili_demo::generate(today);

    println!("today {today}");
    println!(
        "townships {}  villages {}  grids {}  departments {}  stationed units {}  categories {} ({} 小类)  users {}  events {}",
        city.townships.len(),
        city.villages.len(),
        city.grids.len(),
        city.departments.len(),
        city.stationed_units.len(),
        city.categories.len(),
        city.categories
            .iter()
            .filter(|c| c.parent_code.is_some())
            .count(),
        city.users.len(),
        city.events.len()
    );
    let count = |f: &dyn Fn(&zhili_demo::EventSeed) -> String| {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for e in &city.events {
            *m.entry(f(e)).or_default() += 1;
        }
        m
    };
    let mut grid_types: BTreeMap<&str, usize> = BTreeMap::new();
    for g in &city.grids {
        *grid_types.entry(g.grid_type).or_default() += 1;
    }
    println!("grid types {grid_types:?}");
    println!("stages {:?}", count(&|e| format!("{:?}", e.stage)));
    println!("channels {:?}", count(&|e| e.channel.to_string()));
    println!("reporters {:?}", count(&|e| e.reporter_kind.to_string()));
    println!("priorities {:?}", count(&|e| e.priority.to_string()));
    println!(
        "satisfaction {:?}",
        count(&|e| format!("{:?}", e.satisfaction))
    );
    println!("townships {:?}", count(&|e| e.grid_code[..9].to_string()));
    println!("categories {:?}", count(&|e| e.category_code.clone()));
    println!(
        "months {:?}",
        count(&|e| e.reported_at.format("%Y-%m").to_string())
    );
    println!(
        "returned {}  reworked {}",
        city.events.iter().filter(|e| e.returned_once).count(),
        city.events.iter().filter(|e| e.reworked).count()
    );
    let step = (city.events.len() / samples.max(1)).max(1);
    for e in city.events.iter().step_by(step).take(samples) {
        println!(
            "\n{} {} {} {} {:?} {}\n  {}\n  {}",
            e.external_id,
            e.channel,
            e.reporter_kind,
            e.category_code,
            e.stage,
            e.reported_at,
            e.address,
            e.text
        );
    }
}

//! The routing matrix import (`…/routing/rules.xlsx` and CSV): columns by header,
//! every row a rule or refused with its number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_intake::routing;

fuzz_target!(|data: &[u8]| {
    let Ok(rows) = routing::read(data) else {
        return;
    };
    for row in rows {
        match row {
            Ok(r) => {
                assert!(!r.category.is_empty() && !r.lead_unit.is_empty() && !r.level.is_empty());
                assert!(r.assisting_units.iter().all(|u| !u.is_empty()));
                let joined = r.assisting_units.join(routing::UNIT_SEPARATOR);
                // What the export writes, the import reads back as the same units.
                assert_eq!(routing::split_units(&joined), r.assisting_units);
            }
            Err(e) => {
                let _ = routing::field_name(&e.field);
            }
        }
    }
});

//! Survey results (`zhili import survey`): CSV or xlsx, columns by header, counts as
//! non-negative integers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_intake::survey;

fuzz_target!(|data: &[u8]| {
    let Ok(rows) = survey::read(data) else {
        return;
    };
    for row in rows {
        match row {
            Ok(l) => {
                assert!(!l.area_code.is_empty());
                assert!(l.respondents >= 0 && l.aware >= 0 && l.participated >= 0);
            }
            Err(e) => {
                let _ = survey::column_name(&e.field);
            }
        }
    }
});

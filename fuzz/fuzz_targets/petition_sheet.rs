//! Petition (信访) exports: xlsx, xls or CSV (UTF-8 or GBK), the header found by name,
//! every data row into the one intake or refused with its row number.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use zhili_intake::petition::{Sheet, column_name};

fuzz_target!(|data: &[u8]| {
    let Ok(sheet) = Sheet::read(data) else {
        return;
    };
    let columns = sheet.columns();
    assert!(columns.iter().all(|(_, i)| *i >= 1));
    let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
    let mut n = 0;
    for row in sheet.rows(now) {
        n += 1;
        match row {
            Ok(r) => {
                assert!(r.row >= 1);
                if let Some(at) = r.received_at {
                    assert!(at <= now, "a petition date after now is refused: {at}");
                }
                zhili_fuzz::exercise_event(&r.event);
            }
            Err(e) => {
                assert!(e.row >= 1);
                let _ = column_name(&e.field);
            }
        }
    }
    assert_eq!(n, sheet.len());
});

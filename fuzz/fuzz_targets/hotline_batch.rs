//! 12345 work orders: a batch file (JSON Lines or one JSON array, UTF-8 or GBK) as
//! `zhili import hotline` reads it, each order through `Order12345` into the one intake.
//! The first byte picks the coordinate system the channel assumes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_intake::hotline;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let crs = ["gcj02", "wgs84", "bd09", ""][usize::from(pick % 4)];
    let Ok(rows) = hotline::batch_events(file, crs) else {
        return;
    };
    for row in rows {
        match row {
            Ok((line, ev)) => {
                assert!(line >= 1);
                zhili_fuzz::exercise_event(&ev);
            }
            Err(e) => assert!(e.row >= 1, "{e}"),
        }
    }
});

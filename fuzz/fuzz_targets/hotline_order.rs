//! One 12345 work order as the call centre pushes it: the `Order12345` JSON, its
//! renaming into the intake's wire form, the intake's checks and the order's own field
//! names for what the intake refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_domain::{CoordSystem, NewEvent};
use zhili_intake::hotline::{self, Order12345};

fuzz_target!(|data: &[u8]| {
    let Ok(order) = serde_json::from_slice::<Order12345>(data) else {
        return;
    };
    let crs = order.crs.clone();
    match NewEvent::parse(order.into_raw("gcj02")) {
        Ok(ev) => {
            // A system named in the order wins over the channel's default.
            if let Some(c) = crs.as_deref().filter(|c| !c.is_empty())
                && ev.location.is_some()
            {
                assert_eq!(CoordSystem::parse(c), Some(ev.location_crs));
            }
            zhili_fuzz::exercise_event(&ev);
        }
        Err(e) => {
            let _ = hotline::field_name(&e.field);
        }
    }
});

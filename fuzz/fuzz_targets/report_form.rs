//! The citizen's and staff's report form (`POST /events/new`): its fields, decoded as
//! axum's `Form` does, into the one intake's wire form and checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_domain::NewEvent;
use zhili_server::pages::report_form_raw;

fuzz_target!(|data: &[u8]| {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data) else {
        return;
    };
    let Ok(raw) = report_form_raw(pairs) else {
        return;
    };
    if let Ok(ev) = NewEvent::parse(raw) {
        zhili_fuzz::exercise_event(&ev);
    }
});

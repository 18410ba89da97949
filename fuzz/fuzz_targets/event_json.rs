//! The generic event JSON (`POST /api/v1/events`, every adapter's output): the wire
//! form `RawNewEvent` with unknown fields refused, then `NewEvent::parse` checking
//! every value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_domain::{NewEvent, RawNewEvent};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = serde_json::from_slice::<RawNewEvent>(data) else {
        return;
    };
    if let Ok(ev) = NewEvent::parse(raw) {
        zhili_fuzz::exercise_event(&ev);
    }
});

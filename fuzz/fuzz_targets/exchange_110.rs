//! Matters handed over by 110 (`POST /api/v1/channels/110/matters`, D3): the API's JSON
//! body parsing, `Matter110` with unknown fields refused, and its checks into an event
//! of the 110 channel keyed by 110's matter id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_domain::Channel;
use zhili_server::api::body::parse;
use zhili_server::api::channels::Matter110;

fuzz_target!(|data: &[u8]| {
    let m = match parse::<Matter110>(data) {
        Ok(m) => m,
        Err(e) => return zhili_fuzz::check_api_error(&e),
    };
    match m.parse() {
        Ok(ev) => {
            assert_eq!(ev.channel, Channel::Exchange110);
            assert!(
                ev.external_id.is_some(),
                "the matter id is the idempotency key"
            );
            zhili_fuzz::exercise_event(&ev);
        }
        Err(e) => zhili_fuzz::check_api_error(&e),
    }
});

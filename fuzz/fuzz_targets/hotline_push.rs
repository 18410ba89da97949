//! 12345 work orders pushed over HTTP: one order (`POST /api/v1/channels/12345/orders`)
//! or the batch envelope (`…/orders/batch`), through the API's own JSON body parsing
//! (the error names the field), `Order12345` and the one intake. The first byte picks
//! single or batch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_domain::NewEvent;
use zhili_intake::hotline::{self, Order12345};
use zhili_server::api::body::parse;
use zhili_server::api::channels::{MAX_BATCH_ORDERS, OrderBatch};

fn order(body: &[u8]) {
    let o = match parse::<Order12345>(body) {
        Ok(o) => o,
        Err(e) => return zhili_fuzz::check_api_error(&e),
    };
    if o.order_no.trim().is_empty() {
        return;
    }
    match NewEvent::parse(o.into_raw("gcj02")) {
        Ok(ev) => zhili_fuzz::exercise_event(&ev),
        Err(e) => {
            let _ = hotline::field_name(&e.field);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    if pick & 1 == 0 {
        return order(body);
    }
    match parse::<OrderBatch>(body) {
        Ok(batch) => {
            for raw in batch.orders.iter().take(MAX_BATCH_ORDERS) {
                order(raw.get().as_bytes());
            }
        }
        Err(e) => zhili_fuzz::check_api_error(&e),
    }
});

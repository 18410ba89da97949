//! Open311 GeoReport v2: the POST Service Request form (urlencoded, decoded as axum's
//! `Form` does), `attribute[code]` / `attribute[code][]` included, into the one intake,
//! with its idempotency key; and the GET query's `start_date` / `end_date`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_domain::NewEvent;
use zhili_server::open311::form::{RequestForm, field_name, idempotency_key};
use zhili_server::open311::parse_date;

fuzz_target!(|data: &[u8]| {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data) else {
        return;
    };
    for (k, v) in &pairs {
        if k == "start_date" || k == "end_date" {
            let _ = parse_date(k, v);
        }
    }
    let form = RequestForm::from_pairs(&pairs);
    assert!(form.attributes.len() <= 50);
    let header = pairs
        .iter()
        .find(|(k, _)| k == "idempotency_key")
        .map(|(_, v)| v.as_str());
    let key = idempotency_key(7, &pairs, header);
    let Ok(raw) = form.to_raw("噪音扰民", key) else {
        return;
    };
    match NewEvent::parse(raw) {
        Ok(ev) => {
            assert!(
                ev.external_id.is_some(),
                "every POST has its idempotency key"
            );
            zhili_fuzz::exercise_event(&ev);
        }
        Err(e) => {
            let _ = field_name(&e.field);
        }
    }
});

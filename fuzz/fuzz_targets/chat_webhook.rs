//! The chat-group webhook (`POST /api/v1/channels/chat/messages`): the API's JSON body
//! parsing, `WebhookMessage` and its checks (ids, names, phone, images, RFC 3339 time).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_server::api::body::parse;
use zhili_server::api::chat::WebhookMessage;

fuzz_target!(|data: &[u8]| {
    let m = match parse::<WebhookMessage>(data) {
        Ok(m) => m,
        Err(e) => return zhili_fuzz::check_api_error(&e),
    };
    match m.parse() {
        Ok(msg) => {
            // `group:message` is the promoted event's external id: unambiguous and short.
            assert!(!msg.group_id.contains(':'));
            let external = format!("{}:{}", msg.group_id, msg.message_id);
            assert!(external.chars().count() <= 100, "{external}");
            assert!(!msg.text.trim().is_empty() || !msg.images.is_empty());
            assert!(msg.images.len() <= 9);
        }
        Err(e) => zhili_fuzz::check_api_error(&e),
    }
});

//! The text of every uploaded file (CSV, batch files): UTF-8 with or without a BOM,
//! else GB18030.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = zhili_intake::decode_text(data) else {
        // Only bytes that are neither UTF-8 nor GB18030 are refused.
        assert!(std::str::from_utf8(data).is_err());
        return;
    };
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if let Ok(s) = std::str::from_utf8(body) {
        assert_eq!(text, s, "valid UTF-8 is taken as it is");
    }
});

//! Photo uploads (report form, `POST /api/v1/events/{id}/attachments`): the type from
//! the content (JPEG, PNG, WebP), the public copy with its metadata stripped, the file
//! name made safe. Input: an optional `filename\n` (within the first 64 bytes), then
//! the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhili_storage::attachments::Photo;

fuzz_target!(|data: &[u8]| {
    let (name, bytes) = match data.iter().take(64).position(|&b| b == b'\n') {
        Some(i) => (Some(String::from_utf8_lossy(&data[..i])), &data[i + 1..]),
        None => (None, data),
    };
    let Ok(photo) = Photo::parse(bytes.to_vec(), name.as_deref()) else {
        return;
    };
    let file = photo.filename();
    assert!(
        !file.is_empty() && !file.contains(['/', '\\', '\0']),
        "{file:?}"
    );
    // Stripping only removes, and what it leaves is a photo of the same kind that has
    // nothing more to strip.
    assert!(photo.public().len() <= photo.original().len());
    let again = Photo::parse(photo.public().to_vec(), Some(file)).expect("the public copy parses");
    assert_eq!(again.kind(), photo.kind());
    assert_eq!(again.public(), photo.public());
});

//! The TOTP second factor (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps), the
//! kind every authenticator app reads (微信/支付宝小程序, Google Authenticator,
//! FreeOTP, 阿里云 MFA …). Enrolment shows a QR code drawn here as SVG: government
//! networks are often closed, so nothing is fetched from elsewhere.

use chrono::{DateTime, Utc};
use totp_rs::{Builder, Secret, Totp};

/// What authenticator apps show above the code.
const ISSUER: &str = "zhili";

/// A new secret: 160 random bits (RFC 4226 §4 recommends 160), base32.
pub fn new_secret() -> String {
    Secret::from(rand::random::<[u8; 20]>()).to_base32()
}

fn totp(secret_b32: &str, account: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret_b32).ok()?;
    // An account name with ':' cannot go in an otpauth label.
    let account: String = account.chars().filter(|c| *c != ':').collect();
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .ok()
}

/// The `otpauth://totp/…` address an authenticator app takes from the QR code.
pub fn otpauth_uri(secret_b32: &str, account: &str) -> Option<String> {
    totp(secret_b32, account)?.to_url().ok()
}

/// The QR code of `uri` as an SVG element, to put straight into a page.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // The renderer writes a standalone file; inside HTML the XML declaration is noise.
    let at = svg.find("<svg")?;
    Some(svg[at..].to_string())
}

/// The secret in groups of four, for typing it into an app by hand.
pub fn grouped(secret_b32: &str) -> String {
    secret_b32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The time step whose code `code` is at `now`, allowing one step either side for
/// a phone's clock; `None` for a wrong or malformed code. Whether that step was used
/// before is the store's to say (`Store::use_totp_step`).
pub fn check(secret_b32: &str, code: &str, now: DateTime<Utc>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let t = u64::try_from(now.timestamp()).ok()?;
    let step = totp(secret_b32, "x")?.check(&code, t)?;
    i64::try_from(step).ok()
}

/// The code of `secret_b32` at `at`, as an app would show it; for tests and for
/// the CLI's self-check.
pub fn code_at(secret_b32: &str, at: DateTime<Utc>) -> Option<String> {
    let t = u64::try_from(at.timestamp()).ok()?;
    Some(totp(secret_b32, "x")?.generate(t).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 seed "12345678901234567890", 8 digits there;
    /// our 6-digit codes are the last six of those.
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let seed = Secret::from(*b"12345678901234567890").to_base32();
        for (t, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let at = DateTime::from_timestamp(t, 0).unwrap();
            assert_eq!(code_at(&seed, at).unwrap(), eight[2..], "t = {t}");
            assert_eq!(check(&seed, &eight[2..], at), Some(t / 30));
        }
    }

    #[test]
    fn a_code_holds_one_step_either_side_and_no_more() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        let now = DateTime::from_timestamp(1_800_000_015, 0).unwrap();
        let code = code_at(&secret, now).unwrap();
        let step = now.timestamp() / 30;
        assert_eq!(
            check(&secret, &code, now + chrono::Duration::seconds(30)),
            Some(step)
        );
        assert_eq!(
            check(&secret, &code, now - chrono::Duration::seconds(30)),
            Some(step)
        );
        assert_eq!(
            check(&secret, &code, now + chrono::Duration::seconds(75)),
            None
        );
        // Spaces as some apps show them are fine; anything else is not a code.
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(check(&secret, &spaced, now), Some(step));
        assert_eq!(check(&secret, "12345", now), None);
        assert_eq!(check(&secret, "abcdef", now), None);
        assert_eq!(check("not base32!", &code, now), None);
    }

    #[test]
    fn the_enrolment_uri_and_qr_code_carry_the_secret() {
        let secret = new_secret();
        let uri = otpauth_uri(&secret, "zhang.san").unwrap();
        assert!(uri.starts_with("otpauth://totp/zhili:zhang.san?"), "{uri}");
        assert!(uri.contains(&format!("secret={secret}")), "{uri}");
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("<path"));
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}

//! The algorithm suite of a deployment (SECURITY.md DC-05). Everything keyed that
//! protects stored data — sealing personal data and TOTP secrets, wrapping the
//! field keys under the master key, the phone lookup hash, one-time-code hashes,
//! the signatures of audit anchors — goes through [`CryptoSuite`], so that a city
//! whose commercial-cryptography assessment (密评, GB/T 39786-2021) asks for the
//! national algorithms runs SM4-GCM and HMAC-SM3 instead of AES-256-GCM and
//! HMAC-SHA256 by one setting (`crypto_suite = "sm"`).
//!
//! The suite is chosen per database when its field keys are first made and kept
//! beside them (`pii_keys.suite`); an instance configured otherwise is refused at
//! start, like one with another master key. Sealed values name their suite
//! (`pii1:` + base64, or `pii1:sm4:` + base64: base64 has no `:`), so a value of the
//! other suite is refused rather than misread.
//!
//! Not covered: unkeyed digests (the audit chain's links, whose trust comes from
//! the signed anchors; token lookups; backup checksums) stay SHA-256, argon2id
//! hashes passwords in both suites, and TLS (SM2 certificates, TLCP) is the
//! deployment's gateway's, since rustls has no SM suites.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, AesGcm, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sm3::Sm3;

/// Which algorithms a database's keys work with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Suite {
    /// AES-256-GCM, HMAC-SHA256.
    #[default]
    Standard,
    /// 国密: SM4-GCM (RFC 8998), HMAC-SM3.
    Commercial,
}

impl Suite {
    pub const ALL: [Suite; 2] = [Suite::Standard, Suite::Commercial];

    /// The setting's and the database's spelling.
    pub fn code(self) -> &'static str {
        match self {
            Suite::Standard => "standard",
            Suite::Commercial => "sm",
        }
    }

    pub fn parse(code: &str) -> Option<Suite> {
        Suite::ALL.into_iter().find(|s| s.code() == code.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Suite::Standard => "AES-256-GCM / HMAC-SHA256",
            Suite::Commercial => "SM4-GCM / HMAC-SM3（国密）",
        }
    }

    /// The implementation of this suite.
    pub(crate) fn algorithms(self) -> &'static dyn CryptoSuite {
        match self {
            Suite::Standard => &StandardSuite,
            Suite::Commercial => &CommercialSuite,
        }
    }
}

/// Authenticated encryption and a keyed hash: what the suites differ in. Keys are
/// 32 bytes for both (SM4 takes the first 16: a 128-bit cipher).
pub(crate) trait CryptoSuite: Send + Sync {
    fn suite(&self) -> Suite;
    /// Marks a sealed value of this suite, after `pii1:`.
    fn tag(&self) -> &'static str;
    /// `nonce ‖ ciphertext ‖ tag` of `plain` under `key`, bound to `aad`.
    fn seal(&self, key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Vec<u8>;
    /// The plain bytes, or `None` when the value was not sealed under `key` and
    /// `aad` (edited, moved, another key).
    fn open(&self, key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>>;
    /// HMAC of `message` under `key`.
    fn mac(&self, key: &[u8], message: &[u8]) -> [u8; 32];
}

/// A random 96-bit nonce per value: far from the 2^32 values per key where random
/// nonces start to risk a repeat.
fn seal_gcm<C>(cipher: &C, nonce: [u8; 12], aad: &[u8], plain: &[u8]) -> Vec<u8>
where
    C: Aead + aes_gcm::AeadCore<NonceSize = U12>,
{
    let Ok(ct) = cipher.encrypt(&Nonce::from(nonce), Payload { msg: plain, aad }) else {
        // Only fails for inputs beyond 64 GB.
        unreachable!("GCM input too long")
    };
    let mut out = Vec::with_capacity(12 + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

fn open_gcm<C>(cipher: &C, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>>
where
    C: Aead + aes_gcm::AeadCore<NonceSize = U12>,
{
    if sealed.len() < 12 + 16 {
        return None;
    }
    let (nonce, ct) = sealed.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
        .ok()
}

struct StandardSuite;

impl CryptoSuite for StandardSuite {
    fn suite(&self) -> Suite {
        Suite::Standard
    }

    fn tag(&self) -> &'static str {
        ""
    }

    fn seal(&self, key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
        seal_gcm(&cipher, rand::random(), aad, plain)
    }

    fn open(&self, key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
        open_gcm(&cipher, aad, sealed)
    }

    fn mac(&self, key: &[u8], message: &[u8]) -> [u8; 32] {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

struct CommercialSuite;

impl CommercialSuite {
    fn cipher(key: &[u8; 32]) -> Sm4Gcm {
        let mut k = [0u8; 16];
        k.copy_from_slice(&key[..16]);
        let cipher = Sm4Gcm::new(&k.into());
        zeroize::Zeroize::zeroize(&mut k);
        cipher
    }
}

impl CryptoSuite for CommercialSuite {
    fn suite(&self) -> Suite {
        Suite::Commercial
    }

    fn tag(&self) -> &'static str {
        "sm4:"
    }

    fn seal(&self, key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Vec<u8> {
        seal_gcm(&Self::cipher(key), rand::random(), aad, plain)
    }

    fn open(&self, key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        open_gcm(&Self::cipher(key), aad, sealed)
    }

    fn mac(&self, key: &[u8], message: &[u8]) -> [u8; 32] {
        let Ok(mut mac) = <Hmac<Sm3> as Mac>::new_from_slice(key) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_suites_seal_open_and_refuse_what_is_not_theirs() {
        let key = [7u8; 32];
        for suite in Suite::ALL {
            let a = suite.algorithms();
            assert_eq!(a.suite(), suite);
            let sealed = a.seal(&key, b"col", "欧阳娜娜".as_bytes());
            assert_eq!(
                a.open(&key, b"col", &sealed).as_deref(),
                Some("欧阳娜娜".as_bytes())
            );
            assert_eq!(a.open(&key, b"other column", &sealed), None);
            assert_eq!(a.open(&[8u8; 32], b"col", &sealed), None);
            let mut edited = sealed.clone();
            edited[14] ^= 1;
            assert_eq!(a.open(&key, b"col", &edited), None);
            assert_ne!(a.seal(&key, b"col", b"x"), a.seal(&key, b"col", b"x"));
        }
        // The suites do not read each other's values.
        let sm = Suite::Commercial.algorithms();
        let std = Suite::Standard.algorithms();
        assert_eq!(std.open(&key, b"col", &sm.seal(&key, b"col", b"x")), None);
        assert_eq!(sm.open(&key, b"col", &std.seal(&key, b"col", b"x")), None);
        assert_eq!(Suite::parse("sm"), Some(Suite::Commercial));
        assert_eq!(Suite::parse("des"), None);
    }

    #[test]
    fn the_macs_are_the_published_ones() {
        // RFC 4231 test case 2.
        assert_eq!(
            hex::encode(
                Suite::Standard
                    .algorithms()
                    .mac(b"Jefe", b"what do ya want for nothing?")
            ),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // HMAC-SM3 is HMAC over this digest: SM3 of "abc" (GB/T 32905-2016,
        // example 1).
        use sha2::Digest;
        assert_eq!(
            hex::encode(Sm3::digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_ne!(
            Suite::Commercial.algorithms().mac(b"k", b"m"),
            Suite::Standard.algorithms().mac(b"k", b"m")
        );
    }

    #[test]
    // cipher 0.4 speaks generic-array 0.14, deprecated upstream in favour of 1.x.
    #[allow(deprecated)]
    fn sm4_is_the_standard_cipher() {
        // GB/T 32907-2016 Appendix A, example 1.
        use sm4::cipher::{BlockEncrypt, KeyInit as _};
        let key = hex::decode("0123456789abcdeffedcba9876543210").unwrap();
        let c = sm4::Sm4::new_from_slice(&key).unwrap();
        let mut block = sm4::cipher::generic_array::GenericArray::clone_from_slice(&key);
        c.encrypt_block(&mut block);
        assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
    }
}

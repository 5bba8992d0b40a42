//! An independent RFC 6238 implementation (HMAC-SHA1 from `hmac` + `sha1`), so tests do
//! not check the server's `totp-rs` against itself.

use hmac::{Hmac, Mac};

/// The 6-digit TOTP code of `base32_secret` at `unix_seconds` (30-second steps).
pub fn code(base32_secret: &str, unix_seconds: u64) -> String {
    hotp(&base32_decode(base32_secret), unix_seconds / 30, 6)
}

/// The HOTP value of `counter` with `digits` digits (RFC 4226 §5.3 dynamic truncation).
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(digits),
        width = digits as usize
    )
}

/// RFC 4648 base32 without padding; spaces (manual-entry grouping) are ignored.
pub fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes().filter(|c| *c != b' ') {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .expect("base32") as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA1, T = 59: 94287082 (8 digits) → last 6: 287082.
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // "12345678901234567890"
        assert_eq!(super::code(secret, 59), "287082");
    }
}

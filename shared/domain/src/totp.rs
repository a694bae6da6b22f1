//! Authenticator-app codes (TOTP, RFC 6238, by `totp-rs`): HMAC-SHA1, six
//! digits, 30-second steps, one step of skew either way — what every
//! authenticator app reads from an `otpauth://` URI. Also the URI's QR code
//! (a PNG) and recovery codes.

use crate::ports::{Random, RandomError, Timestamp};
use totp_rs::{Algorithm, TOTP};

/// Seconds per time step.
pub const STEP_SECS: i64 = 30;
/// Steps accepted either side of now (a slow typist, a clock a little off).
pub const SKEW_STEPS: i64 = 1;
/// 160 bits (RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;
pub const DIGITS: usize = 6;
/// Recovery codes in a set.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (without its dashes): 12 × 5 bits = 60 bits.
const RECOVERY_LEN: usize = 12;
/// Crockford's base32, lower case: no `i l o u`, which are read as `1 1 0`
/// (and `u` dropped) when typed.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A fresh secret from the OS random source.
pub fn new_secret(random: &dyn Random) -> Result<Vec<u8>, RandomError> {
    let mut secret = vec![0u8; SECRET_BYTES];
    random.fill(&mut secret)?;
    Ok(secret)
}

/// The authenticator for `secret`, labelled `issuer:label` in apps. A colon
/// would end the issuer early in the URI's label, so it becomes a space.
fn authenticator(secret: &[u8], issuer: &str, label: &str) -> TOTP {
    let clean = |s: &str| s.replace(':', " ");
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        SKEW_STEPS as u8,
        STEP_SECS as u64,
        secret.to_vec(),
        Some(clean(issuer)),
        clean(label),
    )
}

/// The secret in base32 (no padding), as people type it into an app.
pub fn secret_base32(secret: &[u8]) -> String {
    authenticator(secret, "", "").get_secret_base32()
}

/// The secret a base32 text (as `secret_base32` writes it) stands for.
pub fn secret_from_base32(text: &str) -> Option<Vec<u8>> {
    totp_rs::Secret::Encoded(text.to_string()).to_bytes().ok()
}

/// `otpauth://totp/<issuer>:<label>?secret=…&issuer=…`.
pub fn otpauth_uri(secret: &[u8], issuer: &str, label: &str) -> String {
    authenticator(secret, issuer, label).get_url()
}

/// The code of `step` (the crate's HOTP truncation).
pub fn code_at(secret: &[u8], step: i64) -> String {
    authenticator(secret, "", "").generate(step.max(0) as u64 * STEP_SECS as u64)
}

/// The step a code given at `now` is right for, among now ± `SKEW_STEPS`,
/// taking only steps after `after` (a step is accepted once). Spaces are
/// ignored; anything but six digits is wrong. Every candidate step is
/// compared, in constant time, whichever matches.
pub fn matching_step(secret: &[u8], code: &str, now: Timestamp, after: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now.div_euclid(STEP_SECS);
    let mut found = None;
    for step in current - SKEW_STEPS..=current + SKEW_STEPS {
        let right = crate::crypto::digest_eq(code_at(secret, step).as_bytes(), code.as_bytes());
        if right && step > after && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// A fresh set of recovery codes, `xxxx-xxxx-xxxx`.
pub fn new_recovery_codes(random: &dyn Random) -> Result<Vec<String>, RandomError> {
    let mut buf = [0u8; RECOVERY_CODES * RECOVERY_LEN];
    random.fill(&mut buf)?;
    Ok(buf
        .chunks(RECOVERY_LEN)
        .map(|chunk| {
            let letters: Vec<char> =
                chunk.iter().map(|b| char::from(RECOVERY_ALPHABET[usize::from(b % 32)])).collect();
            letters.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
        })
        .collect())
}

/// A recovery code as typed, in the form it is hashed: lower case, without
/// spaces and dashes, look-alikes read as Crockford reads them; `None`
/// unless it has the right length.
pub fn normalise_recovery_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        })
        .collect();
    (code.chars().count() == RECOVERY_LEN && code.is_ascii()).then_some(code)
}

/// `text` as a QR code (error correction M), a PNG of 4-pixel modules
/// with the standard 4-module quiet zone, as a `data:` URL.
pub fn qr_data_url(text: &str) -> Option<String> {
    use base64::Engine as _;
    use qrcodegen::{QrCode, QrCodeEcc};
    const SCALE: usize = 4;
    const QUIET: usize = 4;
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let modules = usize::try_from(qr.size()).ok()?;
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, pixel) in pixels.iter_mut().enumerate() {
        let (x, y) = ((i % side) / SCALE, (i / side) / SCALE);
        let dark =
            x >= QUIET && y >= QUIET && qr.get_module((x - QUIET) as i32, (y - QUIET) as i32);
        if dark {
            *pixel = 0;
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side).ok()?;
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().ok()?;
    writer.write_image_data(&pixels).ok()?;
    writer.finish().ok()?;
    Some(format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 rows (8 digits there; the last six
    /// are what a six-digit code is, as the truncation is modulo 10^d).
    #[test]
    fn rfc_6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let eight = TOTP::new_unchecked(
                Algorithm::SHA1,
                8,
                1,
                30,
                secret.to_vec(),
                None,
                String::new(),
            );
            assert_eq!(eight.generate(time as u64), code, "t={time}");
            assert_eq!(code_at(secret, time / STEP_SECS), code[2..], "t={time}");
        }
    }

    #[test]
    fn a_step_is_taken_once_and_skew_is_one_step() {
        let secret = b"12345678901234567890";
        let now = 1_234_567_890;
        let step = now / STEP_SECS;
        let code = code_at(secret, step);
        assert_eq!(matching_step(secret, &code, now, 0), Some(step));
        assert_eq!(matching_step(secret, &code, now, step), None, "the same step again");
        assert_eq!(matching_step(secret, &code, now + STEP_SECS, 0), Some(step), "one step late");
        assert_eq!(matching_step(secret, &code, now + 2 * STEP_SECS, 0), None, "two steps late");
        assert_eq!(matching_step(secret, &code, now - STEP_SECS, 0), Some(step), "one early");
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(matching_step(secret, &spaced, now, 0), Some(step));
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert_eq!(matching_step(secret, bad, now, 0), None, "{bad}");
        }
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_back() {
        let codes = new_recovery_codes(&crate::ports::OsRandom).unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let set: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(set.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 14, "{code}");
            let typed = format!(" {} ", code.to_uppercase().replace('-', " "));
            assert_eq!(
                normalise_recovery_code(&typed).as_deref(),
                Some(code.replace('-', "").as_str())
            );
        }
        assert_eq!(normalise_recovery_code("abc"), None);
    }

    #[test]
    fn the_uri_names_issuer_and_label() {
        let uri = otpauth_uri(b"12345678901234567890", "My: App", "a***@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/My%20%20App:a%2A%2A%2A%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=My%20%20App"
        );
        assert!(qr_data_url(&uri).unwrap().starts_with("data:image/png;base64,"));
    }
}

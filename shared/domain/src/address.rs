//! Destinations: email addresses and phone numbers, parsed once into a
//! canonical form so that two spellings of one address are one destination
//! for codes, limits and accounts.

use crate::invalid::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// Characters that show nothing or change how text around them shows:
/// controls, zero-width and joiner characters, bidi controls, fillers,
/// variation selectors and tags. An address holding one is refused rather
/// than cleaned, so no two look-alike spellings are ever two destinations.
pub(crate) fn invisible(c: char) -> bool {
    matches!(c as u32,
        0x00..=0x1F | 0x7F..=0x9F | 0xAD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5
        | 0x180B..=0x180F | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0x3164
        | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// Whether `local` is a dot-atom (RFC 5322): `atext` runs joined by single
/// dots. A quoted local part (`"alice"@x`, `"\alice"@x`) or one with a
/// backslash is not: such spellings can name one mailbox many ways, so
/// they are refused rather than each made a destination of its own.
fn dot_atom(local: &str) -> bool {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    !local.is_empty() && local.split('.').all(|run| !run.is_empty() && run.chars().all(atext))
}

/// A valid email address in canonical form: trimmed, lower-cased, its
/// domain in punycode (IDNA A-labels).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// `invalid_email` unless it is `local@domain.tld` within RFC 5321's
    /// lengths, with an ASCII dot-atom local part (no quotes, no
    /// backslashes) and no invisible character anywhere.
    /// An internationalised domain is converted to punycode (UTS 46, strict),
    /// so `a@bücher.example` and `a@xn--bcher-kva.example` are one address.
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, Invalid> {
        let refuse = || Invalid::Email(field);
        let trimmed = raw.trim();
        if trimmed.len() > 1024 || trimmed.chars().any(invisible) {
            return Err(refuse());
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or_else(refuse)?;
        if !local.is_ascii() || !dot_atom(local) {
            return Err(refuse());
        }
        let domain = idna::domain_to_ascii_strict(domain).map_err(|_| refuse())?;
        let email = format!("{}@{domain}", local.to_ascii_lowercase());
        let ok = email.len() <= 254
            && email_address::EmailAddress::parse_with_options(
                &email,
                email_address::Options::default().without_display_text().without_domain_literal(),
            )
            .is_ok()
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if ok { Ok(EmailAddress(email)) } else { Err(refuse()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `a***@example.com`, for logs.
    pub fn masked(&self) -> String {
        match self.0.split_once('@') {
            Some((local, domain)) => {
                format!("{}***@{domain}", local.chars().next().unwrap_or('*'))
            }
            None => "***".into(),
        }
    }
}

/// The country calling code of a number already in E.164 form (`+86…`),
/// without the numbering plan's metadata (which would add ~0.3 MiB to a
/// function that only needs the code). Calling codes are prefix-free: 1
/// and 7 are one digit, the two-digit ones are listed, and every other is
/// three digits (ITU-T E.164; `phone::tests` holds this to every code the
/// metadata knows).
pub fn calling_code(e164: &str) -> Option<u16> {
    const TWO: [u16; 44] = [
        20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55,
        56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
    ];
    let digits = e164.strip_prefix('+')?;
    let prefix = |n: usize| digits.get(..n).filter(|p| p.bytes().all(|b| b.is_ascii_digit()));
    let one: u16 = prefix(1)?.parse().ok()?;
    if one == 1 || one == 7 {
        return Some(one);
    }
    let two: u16 = prefix(2)?.parse().ok()?;
    if TWO.contains(&two) {
        return Some(two);
    }
    prefix(3)?.parse().ok()
}

/// Only digits, spaces, `-`, `.`, `(`, `)` and one leading `+`: no letters
/// (`1-800-FLOWERS`), no extensions, no `++`.
fn plain_phone(raw: &str) -> bool {
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    digits.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
        && digits.chars().any(|c| c.is_ascii_digit())
}

/// A valid phone number in E.164 form, with its country calling code.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    country_code: u16,
}

impl PhoneNumber {
    /// E.164 input (`+8613800138000`), or a national number with its
    /// `country_code` (`13800138000`, 86). `invalid_phone` unless the number is
    /// valid for its country.
    pub fn parse(
        raw: &str,
        country_code: Option<u16>,
        field: &'static str,
    ) -> Result<Self, Invalid> {
        Self::parse_or_listed(raw, country_code, field, |_| false)
    }

    /// `parse`, also taking a number the numbering plan does not have if
    /// `listed` (given its E.164 form) says so: the operator's test numbers.
    pub fn parse_or_listed(
        raw: &str,
        country_code: Option<u16>,
        field: &'static str,
        listed: impl Fn(&str) -> bool,
    ) -> Result<Self, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 32 || !plain_phone(raw) {
            return Err(Invalid::Phone(field));
        }
        let region = if raw.starts_with('+') {
            None
        } else {
            let code = country_code.ok_or(Invalid::Phone(field))?;
            Some(crate::phone::home_region(code).ok_or(Invalid::Phone(field))?)
        };
        let number = crate::phone::parse(raw, region).ok_or(Invalid::Phone(field))?;
        let e164 = format!("+{}{}", number.code, number.national);
        if !crate::phone::is_valid(&number) && !listed(&e164) {
            return Err(Invalid::Phone(field));
        }
        let code = number.code;
        if country_code.is_some_and(|c| c != code) {
            return Err(Invalid::Phone(field));
        }
        Ok(PhoneNumber { e164, country_code: code })
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// `+86******8000`, for logs.
    pub fn masked(&self) -> String {
        let cc = format!("+{}", self.country_code);
        let rest = self.e164.len().saturating_sub(cc.len());
        let tail = self.e164.get(self.e164.len().saturating_sub(4)..).unwrap_or("");
        format!("{cc}{}{tail}", "*".repeat(rest.saturating_sub(4)))
    }
}

/// Where a code goes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    Email(EmailAddress),
    Phone(PhoneNumber),
}

impl Destination {
    /// Parses `to` for `channel`; `country_code` only applies to SMS.
    pub fn parse(
        channel: Channel,
        to: &str,
        country_code: Option<u16>,
        field: &'static str,
    ) -> Result<Self, Invalid> {
        Self::parse_or_listed(channel, to, country_code, field, |_| false)
    }

    /// `parse`, also taking the numbers `listed` says yes to where the
    /// numbering plan has no such number (`PhoneNumber::parse_or_listed`).
    pub fn parse_or_listed(
        channel: Channel,
        to: &str,
        country_code: Option<u16>,
        field: &'static str,
        listed: impl Fn(&str) -> bool,
    ) -> Result<Self, Invalid> {
        match channel {
            Channel::Email => EmailAddress::parse(to, field).map(Destination::Email),
            Channel::Sms => PhoneNumber::parse_or_listed(to, country_code, field, listed)
                .map(Destination::Phone),
        }
    }

    pub fn channel(&self) -> Channel {
        match self {
            Destination::Email(_) => Channel::Email,
            Destination::Phone(_) => Channel::Sms,
        }
    }

    /// The canonical address: lower-case email or E.164 phone.
    pub fn address(&self) -> &str {
        match self {
            Destination::Email(e) => e.as_str(),
            Destination::Phone(p) => p.as_str(),
        }
    }

    /// `email:a@b.c` / `sms:+86…`: the key limits, codes and ownership use.
    pub fn key(&self) -> String {
        format!("{}:{}", self.channel().as_str(), self.address())
    }

    pub fn masked(&self) -> String {
        match self {
            Destination::Email(e) => e.masked(),
            Destination::Phone(p) => p.masked(),
        }
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_normalise() {
        let e = EmailAddress::parse("  Alice.Smith+tag@Example.COM ", "to").unwrap();
        assert_eq!(e.as_str(), "alice.smith+tag@example.com");
        assert_eq!(e.masked(), "a***@example.com");
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "a b@example.com",
            "alice@exa_mple.com",
            "alice@-example.com",
            "alice@example.com.",
            "\"a\"@[1.2.3.4]",
            "Alice <alice@example.com>",
        ] {
            assert!(EmailAddress::parse(bad, "to").is_err(), "{bad}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(65)), "to").is_err());
    }

    #[test]
    fn look_alike_emails_are_refused_or_one_address() {
        for bad in [
            "ali\u{200b}ce@example.com",
            "alice@exa\u{200b}mple.com",
            "alice@example.com\u{202e}",
            "\u{2066}alice@example.com",
            "al\u{feff}ice@example.com",
            "alice@exam\u{00ad}ple.com",
            "al\u{0007}ice@example.com",
            "ålice@example.com",
            "алиса@example.com",
        ] {
            assert!(EmailAddress::parse(bad, "to").is_err(), "{bad:?}");
        }
        let unicode = EmailAddress::parse("Bob@Bücher.Example", "to").unwrap();
        let puny = EmailAddress::parse("bob@xn--bcher-kva.example", "to").unwrap();
        assert_eq!(unicode, puny);
        assert_eq!(unicode.as_str(), "bob@xn--bcher-kva.example");
        assert!(EmailAddress::parse("bob@例え.テスト", "to").unwrap().as_str().contains("xn--"));
    }

    #[test]
    fn phones_hold_only_digits_and_separators() {
        for (bad, cc) in [
            ("+1-800-FLOWERS", None),
            ("1-800-356-9377 ext. 12", Some(1)),
            ("+1 201 555 0123 x12", None),
            ("+1 201 555 0123;ext=12", None),
            ("++8613800138000", None),
            ("+86+13800138000", None),
            ("138\u{200b}00138000", Some(86)),
        ] {
            assert!(PhoneNumber::parse(bad, cc, "to").is_err(), "{bad:?}");
        }
        let ok = PhoneNumber::parse("+1 (201) 555.0123", None, "to").unwrap();
        assert_eq!(ok.as_str(), "+12015550123");
    }

    #[test]
    fn phones_normalise_to_e164() {
        let a = PhoneNumber::parse("+86 138 0013 8000", None, "to").unwrap();
        let b = PhoneNumber::parse("13800138000", Some(86), "to").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "+8613800138000");
        assert_eq!(a.country_code(), 86);
        assert_eq!(a.masked(), "+86*******8000");
        let uk = PhoneNumber::parse("07400 123456", Some(44), "to").unwrap();
        assert_eq!(uk.as_str(), "+447400123456");
        let us = PhoneNumber::parse("(201) 555-0123", Some(1), "to").unwrap();
        assert_eq!(us.as_str(), "+12015550123");
        for (bad, cc) in [
            ("", None),
            ("13800138000", None),
            ("12345", Some(86)),
            ("+86 123", None),
            ("not a number", Some(86)),
            ("13800138000", Some(999)),
            ("+8613800138000", Some(44)),
        ] {
            assert!(PhoneNumber::parse(bad, cc, "to").is_err(), "{bad} {cc:?}");
        }
    }

    #[test]
    fn destinations_key_by_canonical_form() {
        let a = Destination::parse(Channel::Sms, "+8613800138000", None, "to").unwrap();
        let b = Destination::parse(Channel::Sms, "138-0013-8000", Some(86), "to").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key(), "sms:+8613800138000");
        let e = Destination::parse(Channel::Email, "Bob@Example.com", None, "to").unwrap();
        assert_eq!(e.key(), "email:bob@example.com");
        assert_eq!(format!("{e:?}"), "b***@example.com");
    }
}

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

/// A valid email address, trimmed and lower-cased.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// `invalid_email` unless it is `local@domain.tld` within RFC 5321's lengths.
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, Invalid> {
        let email = raw.trim().to_lowercase();
        let ok = email.len() <= 254
            && email_address::EmailAddress::parse_with_options(
                &email,
                email_address::Options::default().without_display_text().without_domain_literal(),
            )
            .is_ok()
            && email.rsplit_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.ends_with('.')
                    && domain.split('.').all(|label| {
                        !label.is_empty()
                            && !label.starts_with('-')
                            && !label.ends_with('-')
                            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                    })
            });
        if ok { Ok(EmailAddress(email)) } else { Err(Invalid::Email(field)) }
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
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 32 {
            return Err(Invalid::Phone(field));
        }
        let region = if raw.starts_with('+') {
            None
        } else {
            let code = country_code.ok_or(Invalid::Phone(field))?;
            let regions =
                phonenumber::metadata::DATABASE.by_code(&code).ok_or(Invalid::Phone(field))?;
            let id = regions.first().ok_or(Invalid::Phone(field))?.id();
            Some(id.parse::<phonenumber::country::Id>().map_err(|_| Invalid::Phone(field))?)
        };
        let number = phonenumber::parse(region, raw).map_err(|_| Invalid::Phone(field))?;
        if !phonenumber::is_valid(&number) {
            return Err(Invalid::Phone(field));
        }
        let code = number.code().value();
        if country_code.is_some_and(|c| c != code) {
            return Err(Invalid::Phone(field));
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
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
        match channel {
            Channel::Email => EmailAddress::parse(to, field).map(Destination::Email),
            Channel::Sms => PhoneNumber::parse(to, country_code, field).map(Destination::Phone),
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

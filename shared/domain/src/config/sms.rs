//! The SMS fraud guard's settings (`SMS_GUARD…`, `SMS_PREFIX_…`) and the
//! test destinations (`TEST_PHONE_NUMBERS`, `TEST_EMAILS`).

use super::{ConfigError, Env};
use crate::address::{Channel, Destination, calling_code};
use crate::invalid::Invalid;

/// What the SMS fraud guard does (`SMS_GUARD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardMode {
    /// Counts, blocks and refuses (the default).
    Enforce,
    /// Counts and reports what it would refuse; refuses nothing.
    Monitor,
    /// Counts nothing.
    Off,
}

impl GuardMode {
    pub fn as_str(self) -> &'static str {
        match self {
            GuardMode::Enforce => "enforce",
            GuardMode::Monitor => "monitor",
            GuardMode::Off => "off",
        }
    }
}

/// The SMS fraud guard's settings (docs/api.md, "SMS fraud guard").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsGuard {
    pub mode: GuardMode,
    /// The digits dropped from the end of an E.164 number to make its prefix.
    pub prefix_drop_digits: u32,
    /// Sends one prefix may take in a clock hour.
    pub prefix_hourly_max: u32,
    /// Sends in 24 h before a prefix's conversion is judged…
    pub min_sends: u32,
    /// …and before a country's is.
    pub country_min_sends: u32,
    /// The conversion (percent of sends whose code was used) below which
    /// the prefix or country is blocked.
    pub min_conversion_percent: u32,
    pub block_secs: i64,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub(super) fn sms_guard(&self) -> Result<SmsGuard, ConfigError> {
        const DAY: i64 = 86_400;
        let mode = match self.get("SMS_GUARD").as_deref().map(str::trim) {
            None | Some("enforce") => GuardMode::Enforce,
            Some("monitor") => GuardMode::Monitor,
            Some("off") => GuardMode::Off,
            Some(_) => {
                let reason = "expected enforce, monitor or off".into();
                return Err(ConfigError::Invalid { name: "SMS_GUARD", reason });
            }
        };
        let percent = match self.get("SMS_GUARD_MIN_CONVERSION") {
            None => 20,
            Some(raw) => {
                raw.trim().trim_end_matches('%').trim().parse().ok().filter(|p| *p <= 100).ok_or(
                    ConfigError::Invalid {
                        name: "SMS_GUARD_MIN_CONVERSION",
                        reason: "expected a percentage from 0 to 100, e.g. 20".into(),
                    },
                )?
            }
        };
        Ok(SmsGuard {
            mode,
            prefix_drop_digits: self.count("SMS_PREFIX_DROP_DIGITS", 3, 1, 6)?,
            prefix_hourly_max: self.count("SMS_PREFIX_HOURLY_MAX", 10, 1, 100_000)?,
            min_sends: self.count("SMS_GUARD_MIN_SENDS", 20, 1, 1_000_000)?,
            country_min_sends: self.count("SMS_GUARD_COUNTRY_MIN_SENDS", 100, 1, 10_000_000)?,
            min_conversion_percent: percent,
            block_secs: self.num("SMS_GUARD_BLOCK_SECS", DAY, 60, 30 * DAY)?,
        })
    }

    pub(super) fn test_destinations(&self) -> Result<TestDestinations, ConfigError> {
        // Read without the numbering plan or IDNA, which every function
        // would then carry: a number is `+` and its digits, an address is
        // ASCII, compared as a request's address is made canonical.
        let phones = self.fixed_codes("TEST_PHONE_NUMBERS", |raw| {
            let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
            let ok = digits.strip_prefix('+').is_some_and(|d| {
                (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit())
            });
            // A national trunk 0 after the country code (`+44 07911…`) is
            // not E.164: no request would ever match the number.
            let national =
                calling_code(&digits).and_then(|cc| digits.get(format!("+{cc}").len()..));
            let trunk = national.is_none_or(|n| n.starts_with('0'));
            (ok && !trunk).then_some(digits).ok_or_else(|| {
                "expected E.164 numbers without a trunk 0, e.g. +15555550100=123456".to_string()
            })
        })?;
        let emails = self.fixed_codes("TEST_EMAILS", |raw| {
            let address = raw.to_ascii_lowercase();
            let ok = address.is_ascii()
                && !address.contains(char::is_whitespace)
                && address.split('@').count() == 2
                && address.rsplit_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
            ok.then_some(address).ok_or_else(|| {
                "expected ASCII email addresses, e.g. review@example.com=123456".into()
            })
        })?;
        Ok(TestDestinations { phones, emails })
    }

    /// `address=code,…`: each address as `canonical` makes it, each code
    /// 4 to 10 digits.
    fn fixed_codes(
        &self,
        name: &'static str,
        canonical: impl Fn(&str) -> Result<String, String>,
    ) -> Result<Vec<(String, String)>, ConfigError> {
        let Some(raw) = self.get(name) else { return Ok(Vec::new()) };
        let invalid = |reason: String| ConfigError::Invalid { name, reason };
        raw.split(',')
            .filter(|entry| !entry.trim().is_empty())
            .map(|entry| {
                let (address, code) = entry.split_once('=').ok_or_else(|| {
                    invalid("expected address=code pairs separated by commas".into())
                })?;
                let code = code.trim();
                if !(4..=10).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid("each fixed code must be 4 to 10 digits".into()));
                }
                Ok((canonical(address.trim()).map_err(invalid)?, code.to_string()))
            })
            .collect()
    }
}

/// Destinations with fixed codes, for app-store review and CI: never sent
/// anything, never counted against the SMS budgets or the guard.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TestDestinations {
    /// (E.164 number, code).
    phones: Vec<(String, String)>,
    /// (canonical address, code).
    emails: Vec<(String, String)>,
}

impl std::fmt::Debug for TestDestinations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The fixed codes are left out on purpose.
        write!(f, "TestDestinations({} phones, {} emails)", self.phones.len(), self.emails.len())
    }
}

impl TestDestinations {
    /// The fixed code of a test destination (canonical address), if it is one.
    pub fn code(&self, channel: Channel, address: &str) -> Option<&str> {
        let list = match channel {
            Channel::Sms => &self.phones,
            Channel::Email => &self.emails,
        };
        list.iter().find(|(a, _)| a == address).map(|(_, code)| code.as_str())
    }

    /// The test numbers (E.164), which are accepted even where the
    /// numbering plan has no such number.
    pub fn phones(&self) -> impl Iterator<Item = &str> {
        self.phones.iter().map(|(number, _)| number.as_str())
    }
}

impl super::Config {
    /// `to` for `channel`, as `Destination::parse` reads it, and also a
    /// test number the numbering plan has no such number for.
    pub fn destination(
        &self,
        channel: Channel,
        to: &str,
        country_code: Option<u16>,
        field: &'static str,
    ) -> Result<Destination, Invalid> {
        let listed = |e164: &str| self.test_destinations.phones().any(|n| n == e164);
        Destination::parse_or_listed(channel, to, country_code, field, listed)
    }
}

//! The service's settings: secrets, limits and lifetimes. Read from
//! environment-style names and text (`from_lookup`; the composition root
//! passes the process environment). Names and defaults are the ones in
//! docs/api.md; a missing required variable or a malformed value fails at
//! start-up with the variable's name. Adapter settings (table name,
//! endpoints, sender) are the composition root's, not the domain's.

use base64::Engine as _;

mod sms;
pub use sms::{GuardMode, SmsGuard, TestDestinations};

/// Whether registration is open to anyone or needs an invite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationMode {
    Open,
    Invite,
}

/// Who checks the captcha a request carries (`CAPTCHA_PROVIDER`).
#[derive(Clone, PartialEq, Eq)]
pub enum CaptchaProvider {
    /// `builtin` (the default): Vericode's own image captchas.
    Builtin,
    /// `pow`: proof of work (ALTCHA), `POST /v1/challenges`.
    Pow,
    /// `builtin,pow`: either, as the person picks.
    BuiltinOrPow,
    /// `turnstile` or `hcaptcha`: the provider's widget token, checked
    /// server-side at its siteverify endpoint with `CAPTCHA_SECRET`.
    External { kind: ExternalCaptcha, secret: String, verify_url: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternalCaptcha {
    Turnstile,
    HCaptcha,
}

impl ExternalCaptcha {
    pub fn name(self) -> &'static str {
        match self {
            ExternalCaptcha::Turnstile => "turnstile",
            ExternalCaptcha::HCaptcha => "hcaptcha",
        }
    }

    /// The provider's own siteverify endpoint.
    pub fn verify_url(self) -> &'static str {
        match self {
            ExternalCaptcha::Turnstile => {
                "https://challenges.cloudflare.com/turnstile/v0/siteverify"
            }
            ExternalCaptcha::HCaptcha => "https://api.hcaptcha.com/siteverify",
        }
    }
}

impl std::fmt::Debug for CaptchaProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaptchaProvider::Builtin => f.write_str("Builtin"),
            CaptchaProvider::Pow => f.write_str("Pow"),
            CaptchaProvider::BuiltinOrPow => f.write_str("BuiltinOrPow"),
            // The secret is left out on purpose.
            CaptchaProvider::External { kind, verify_url, .. } => f
                .debug_struct("External")
                .field("kind", kind)
                .field("verify_url", verify_url)
                .finish_non_exhaustive(),
        }
    }
}

impl CaptchaProvider {
    /// Whether image captchas are served and accepted.
    pub fn images(&self) -> bool {
        matches!(self, CaptchaProvider::Builtin | CaptchaProvider::BuiltinOrPow)
    }

    /// Whether proof-of-work challenges are served and accepted.
    pub fn pow(&self) -> bool {
        matches!(self, CaptchaProvider::Pow | CaptchaProvider::BuiltinOrPow)
    }
}

/// `POW_COST`'s default: the widget solves a challenge in about 0.5–1 s in
/// headless Chromium on two cores (docs/captcha.md, "Proof of work").
pub const DEFAULT_POW_COST: u32 = 1_000;

#[derive(Clone)]
pub struct Config {
    pub app_name: String,
    /// `JWT_SIGNING_KEY`: the Ed25519 key (32-byte seed) tokens are signed with.
    pub jwt_signing_key: [u8; 32],
    /// `JWT_PREVIOUS_PUBLIC_KEYS`: public keys of earlier signing keys; tokens
    /// they signed still verify until they expire.
    pub jwt_previous_public_keys: Vec<[u8; 32]>,
    pub code_key: [u8; 32],
    pub captcha_ttl_secs: i64,
    pub captcha_provider: CaptchaProvider,
    /// `POW_COST`: the PBKDF2 iterations of one try at a proof-of-work
    /// challenge (a solver makes `captcha::pow::COUNTER_MIN`..`MAX` tries).
    pub pow_cost: u32,
    pub code_ttl_secs: i64,
    pub code_length: u32,
    pub code_max_attempts: u32,
    pub code_resend_interval_secs: i64,
    pub code_window_secs: i64,
    pub code_window_max: u32,
    pub ip_window_secs: i64,
    pub ip_window_max: u32,
    /// `bind` sends one account may ask for in an hour, to any addresses.
    pub bind_account_hourly_max: u32,
    /// How long failed checks count toward hardening a destination…
    pub verify_fail_window_secs: i64,
    /// …and how many harden it: its short codes die, new codes are long.
    pub verify_fail_max: u32,
    /// Failed checks one client network may make per (purpose, destination)
    /// in a clock hour; past them its checks get `429`, nobody else's.
    pub verify_network_fail_max: u32,
    /// Failed checks per (purpose, destination) in a clock hour from all
    /// networks; past them every check gets `429`.
    pub verify_fail_ceiling: u32,
    /// The length of the codes of a hardened destination.
    pub code_length_hardened: u32,
    pub sms_allowed_country_codes: Option<Vec<u16>>,
    pub sms_daily_max: u32,
    pub sms_country_daily_max: u32,
    /// The SMS fraud guard: per-prefix velocity, conversion-based blocks.
    pub sms_guard: SmsGuard,
    /// Destinations with fixed codes (`TEST_PHONE_NUMBERS`, `TEST_EMAILS`).
    pub test_destinations: TestDestinations,
    pub registration_mode: RegistrationMode,
    pub login_link_base: String,
    /// `WEBOTP_DOMAIN`: when set, a code's SMS ends with `@<domain> #<code>`
    /// (the WebOTP API and iOS/Android autofill).
    pub webotp_domain: Option<String>,
    /// Provider attempts per message before it fails for good (at most 10:
    /// the stream's event source retries a record 10 times).
    pub delivery_max_attempts: u32,
    /// How long a delivery holds a claimed message (longer than a provider
    /// call may take; a crashed delivery's message is free again after it).
    pub delivery_lease_secs: i64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are left out on purpose.
        f.debug_struct("Config")
            .field("app_name", &self.app_name)
            .field("registration_mode", &self.registration_mode)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where secrets come from when they are not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrets {
    /// Deployed functions: `JWT_SIGNING_KEY` and `CODE_KEY` must be set.
    Required,
    /// The local dev server: unset secrets are generated for this process.
    GenerateIfMissing,
}

/// Environment-style settings, read through a lookup function.
struct Env<F: Fn(&str) -> Option<String>>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// A set, non-blank value.
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn num(
        &self,
        name: &'static str,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<i64, ConfigError> {
        let Some(raw) = self.get(name) else { return Ok(default) };
        match raw.trim().parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(ConfigError::Invalid {
                name,
                reason: format!("expected a whole number from {min} to {max}"),
            }),
        }
    }

    fn count(
        &self,
        name: &'static str,
        default: u32,
        min: u32,
        max: u32,
    ) -> Result<u32, ConfigError> {
        self.num(name, default.into(), min.into(), max.into()).map(|v| v as u32)
    }

    /// A 32-byte secret key, base64: required, or generated for the dev server.
    fn key(&self, name: &'static str, secrets: Secrets) -> Result<[u8; 32], ConfigError> {
        match (self.get(name), secrets) {
            (Some(s), _) => decode_key(name, &s),
            (None, Secrets::Required) => Err(ConfigError::Missing(name)),
            (None, Secrets::GenerateIfMissing) => random_secret(name),
        }
    }

    fn captcha_provider(&self) -> Result<CaptchaProvider, ConfigError> {
        let kind = match self.get("CAPTCHA_PROVIDER").as_deref().map(str::trim) {
            None | Some("builtin") => return Ok(CaptchaProvider::Builtin),
            Some("pow") => return Ok(CaptchaProvider::Pow),
            Some("builtin,pow" | "pow,builtin") => return Ok(CaptchaProvider::BuiltinOrPow),
            Some("turnstile") => ExternalCaptcha::Turnstile,
            Some("hcaptcha") => ExternalCaptcha::HCaptcha,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "CAPTCHA_PROVIDER",
                    reason: "expected builtin, pow, builtin,pow, turnstile or hcaptcha".into(),
                });
            }
        };
        let secret = self.get("CAPTCHA_SECRET").ok_or(ConfigError::Missing("CAPTCHA_SECRET"))?;
        let verify_url = match self.get("CAPTCHA_VERIFY_URL") {
            None => kind.verify_url().to_string(),
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => url,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "CAPTCHA_VERIFY_URL",
                    reason: "expected an http(s) URL".into(),
                });
            }
        };
        Ok(CaptchaProvider::External { kind, secret: secret.trim().to_string(), verify_url })
    }

    fn previous_public_keys(&self) -> Result<Vec<[u8; 32]>, ConfigError> {
        let name = "JWT_PREVIOUS_PUBLIC_KEYS";
        let Some(raw) = self.get(name) else { return Ok(Vec::new()) };
        raw.split(',').filter(|k| !k.trim().is_empty()).map(|k| decode_key(name, k)).collect()
    }

    fn sms_countries(&self) -> Result<Option<Vec<u16>>, ConfigError> {
        let Some(raw) = self.get("SMS_ALLOWED_COUNTRY_CODES") else { return Ok(None) };
        raw.split(',')
            .map(|c| c.trim().trim_start_matches('+').parse::<u16>())
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(|_| ConfigError::Invalid {
                name: "SMS_ALLOWED_COUNTRY_CODES",
                reason: "expected country calling codes separated by commas, e.g. 86,1,44".into(),
            })
    }

    fn webotp_domain(&self) -> Result<Option<String>, ConfigError> {
        let Some(raw) = self.get("WEBOTP_DOMAIN") else { return Ok(None) };
        let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if domain.len() <= 253 && domain.contains('.') && domain.split('.').all(label_ok) {
            Ok(Some(domain))
        } else {
            Err(ConfigError::Invalid {
                name: "WEBOTP_DOMAIN",
                reason: "expected the app's host name, e.g. app.example.com".into(),
            })
        }
    }

    fn registration_mode(&self) -> Result<RegistrationMode, ConfigError> {
        match self.get("REGISTRATION_MODE").as_deref() {
            None | Some("open") => Ok(RegistrationMode::Open),
            Some("invite") => Ok(RegistrationMode::Invite),
            Some(_) => Err(ConfigError::Invalid {
                name: "REGISTRATION_MODE",
                reason: "expected open or invite".into(),
            }),
        }
    }
}

impl Config {
    /// Reads configuration through `get` (the composition root passes the
    /// process environment; tests pass a map).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        secrets: Secrets,
    ) -> Result<Self, ConfigError> {
        const DAY: i64 = 86_400;
        let env = Env(get);
        let config = Config {
            app_name: env.get("APP_NAME").unwrap_or_else(|| "Vericode".into()),
            jwt_signing_key: env.key("JWT_SIGNING_KEY", secrets)?,
            jwt_previous_public_keys: env.previous_public_keys()?,
            code_key: env.key("CODE_KEY", secrets)?,
            captcha_ttl_secs: env.num("CAPTCHA_TTL_SECS", 180, 10, 3600)?,
            captcha_provider: env.captcha_provider()?,
            pow_cost: env.count("POW_COST", DEFAULT_POW_COST, 1, 100_000)?,
            code_ttl_secs: env.num("CODE_TTL_SECS", 600, 30, DAY)?,
            code_length: env.count("CODE_LENGTH", 6, 4, 10)?,
            code_max_attempts: env.count("CODE_MAX_ATTEMPTS", 5, 1, 100)?,
            code_resend_interval_secs: env.num("CODE_RESEND_INTERVAL_SECS", 60, 1, DAY)?,
            code_window_secs: env.num("CODE_WINDOW_SECS", 600, 1, DAY)?,
            code_window_max: env.count("CODE_WINDOW_MAX", 5, 1, 1000)?,
            ip_window_secs: env.num("IP_WINDOW_SECS", 3600, 1, DAY)?,
            ip_window_max: env.count("IP_WINDOW_MAX", 20, 1, 100_000)?,
            bind_account_hourly_max: env.count("BIND_ACCOUNT_HOURLY_MAX", 10, 1, 1000)?,
            verify_fail_window_secs: env.num("VERIFY_FAIL_WINDOW_SECS", 30 * DAY, 1, 90 * DAY)?,
            verify_fail_max: env.count("VERIFY_FAIL_MAX", 10, 1, 1000)?,
            verify_network_fail_max: env.count("VERIFY_NETWORK_FAIL_MAX", 8, 1, 1000)?,
            verify_fail_ceiling: env.count("VERIFY_FAIL_CEILING", 3000, 1, 100_000)?,
            code_length_hardened: env.count("CODE_LENGTH_HARDENED", 10, 5, 12)?,
            sms_allowed_country_codes: env.sms_countries()?,
            sms_daily_max: env.count("SMS_DAILY_MAX", 10_000, 0, 10_000_000)?,
            sms_country_daily_max: env.count("SMS_COUNTRY_DAILY_MAX", 1000, 0, 10_000_000)?,
            sms_guard: env.sms_guard()?,
            test_destinations: env.test_destinations()?,
            registration_mode: env.registration_mode()?,
            login_link_base: env
                .get("LOGIN_LINK_BASE")
                .unwrap_or_else(|| "http://localhost:3000/login".into()),
            webotp_domain: env.webotp_domain()?,
            delivery_max_attempts: env.count("DELIVERY_MAX_ATTEMPTS", 5, 1, 10)?,
            delivery_lease_secs: env.num("DELIVERY_LEASE_SECS", 30, 1, 900)?,
        };
        if config.code_length_hardened <= config.code_length {
            let reason = "must be longer than CODE_LENGTH".to_string();
            return Err(ConfigError::Invalid { name: "CODE_LENGTH_HARDENED", reason });
        }
        Ok(config)
    }
}

/// 32 bytes, base64 (standard or URL-safe alphabet, padded or not).
fn decode_key(name: &'static str, raw: &str) -> Result<[u8; 32], ConfigError> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let raw = raw.trim();
    STANDARD
        .decode(raw)
        .or_else(|_| URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')))
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: "expected 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)".into(),
        })
}

fn random_secret(name: &'static str) -> Result<[u8; 32], ConfigError> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| ConfigError::Invalid {
        name,
        reason: format!("no randomness to generate a development key: {e}"),
    })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn the_webotp_domain_is_a_host_name() {
        let with = |v: &str| {
            Config::from_lookup(
                lookup(&[("JWT_SIGNING_KEY", KEY), ("CODE_KEY", KEY), ("WEBOTP_DOMAIN", v)]),
                Secrets::Required,
            )
        };
        assert_eq!(
            with("App.Example.com.").unwrap().webotp_domain.as_deref(),
            Some("app.example.com")
        );
        for bad in ["localhost", "a b.com", "x.com/path", "@x.com", "-a.com"] {
            assert!(with(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = Config::from_lookup(
            lookup(&[("JWT_SIGNING_KEY", KEY), ("CODE_KEY", KEY)]),
            Secrets::Required,
        )
        .unwrap();
        assert_eq!(c.app_name, "Vericode");
        assert_eq!(c.captcha_ttl_secs, 180);
        assert_eq!((c.code_ttl_secs, c.code_length, c.code_max_attempts), (600, 6, 5));
        assert_eq!((c.code_window_secs, c.code_window_max), (600, 5));
        assert_eq!((c.ip_window_secs, c.ip_window_max), (3600, 20));
        assert_eq!((c.sms_daily_max, c.sms_country_daily_max), (10_000, 1000));
        assert_eq!(c.registration_mode, RegistrationMode::Open);
        assert_eq!(c.login_link_base, "http://localhost:3000/login");
        assert_eq!(c.code_key[1], 1);
        let g = &c.sms_guard;
        assert_eq!(
            (g.mode, g.prefix_drop_digits, g.prefix_hourly_max),
            (GuardMode::Enforce, 3, 10)
        );
        assert_eq!((g.min_sends, g.country_min_sends, g.min_conversion_percent), (20, 100, 20));
        assert_eq!(g.block_secs, 86_400);
        assert_eq!(c.test_destinations, TestDestinations::default());
    }

    #[test]
    fn test_destinations_have_fixed_codes() {
        let c = Config::from_lookup(
            lookup(&[
                ("TEST_PHONE_NUMBERS", "+15555550100=123456, +44 7700 900123=654321"),
                ("TEST_EMAILS", "Review@Example.com=111111"),
                ("SMS_GUARD", "monitor"),
                ("SMS_GUARD_MIN_CONVERSION", "25%"),
            ]),
            Secrets::GenerateIfMissing,
        )
        .unwrap();
        let t = &c.test_destinations;
        use crate::address::Channel::{Email, Sms};
        assert_eq!(t.code(Sms, "+15555550100"), Some("123456"));
        assert_eq!(t.code(Sms, "+447700900123"), Some("654321"));
        assert_eq!(t.code(Email, "review@example.com"), Some("111111"));
        assert_eq!(t.code(Sms, "+15555550101"), None);
        assert!(!format!("{t:?}").contains("123456"), "codes stay out of Debug");
        assert_eq!(
            (c.sms_guard.mode, c.sms_guard.min_conversion_percent),
            (GuardMode::Monitor, 25)
        );
    }

    #[test]
    fn a_missing_secret_is_named() {
        let err = Config::from_lookup(lookup(&[("CODE_KEY", KEY)]), Secrets::Required).unwrap_err();
        assert_eq!(err, ConfigError::Missing("JWT_SIGNING_KEY"));
        let err = Config::from_lookup(lookup(&[("JWT_SIGNING_KEY", KEY)]), Secrets::Required)
            .unwrap_err();
        assert_eq!(err, ConfigError::Missing("CODE_KEY"));
    }

    #[test]
    fn malformed_values_are_named() {
        let base = [("JWT_SIGNING_KEY", KEY.to_string()), ("CODE_KEY", KEY.to_string())];
        for (name, value) in [
            ("CODE_KEY", "c2hvcnQ="),
            ("JWT_SIGNING_KEY", "c2hvcnQ="),
            ("JWT_PREVIOUS_PUBLIC_KEYS", "c2hvcnQ="),
            ("CAPTCHA_TTL_SECS", "soon"),
            ("CODE_LENGTH", "2"),
            ("SMS_ALLOWED_COUNTRY_CODES", "86,uk"),
            ("REGISTRATION_MODE", "closed"),
            ("SMS_GUARD", "block"),
            ("SMS_GUARD_MIN_CONVERSION", "120"),
            ("TEST_PHONE_NUMBERS", "+15555550100"),
            ("TEST_PHONE_NUMBERS", "15555550100=123456"),
            ("TEST_PHONE_NUMBERS", "+44 07911 123456=123456"),
            ("TEST_EMAILS", "review@example.com=12ab56"),
        ] {
            let mut pairs: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
            pairs.retain(|(k, _)| *k != name);
            pairs.push((name, value));
            match Config::from_lookup(lookup(&pairs), Secrets::Required) {
                Err(ConfigError::Invalid { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{name}={value}: expected Invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_dev_server_generates_missing_secrets() {
        let c = Config::from_lookup(lookup(&[]), Secrets::GenerateIfMissing).unwrap();
        assert_ne!(c.jwt_signing_key, [0u8; 32]);
        assert_ne!(c.code_key, [0u8; 32]);
        assert_ne!(c.jwt_signing_key, c.code_key);
        let c = Config::from_lookup(
            lookup(&[("SMS_ALLOWED_COUNTRY_CODES", "86, +1,44")]),
            Secrets::GenerateIfMissing,
        )
        .unwrap();
        assert_eq!(c.sms_allowed_country_codes, Some(vec![86, 1, 44]));
    }
}

//! The dev server's own settings, read once from the environment. The
//! service's are `Config`'s (the domain) and `Deployment`'s (the edge).

use crate::headers::Cors;

/// `PORT` (default 3000), `STORE` (`memory` or `dynamodb`), `DELIVERY`
/// (`mailbox` or `aws`), `CORS_ALLOWED_ORIGINS`, and whether
/// `CAPTCHA_PROVIDER` and `LOGIN_LINK_BASE` are set (else the dev server
/// picks its own: both captchas, and its own `/login`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevSettings {
    pub port: u16,
    pub store: String,
    pub delivery: String,
    pub cors: Cors,
    pub captcha_provider_set: bool,
    pub login_link_base_set: bool,
}

impl DevSettings {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let value = |name: &str| get(name).map(|v| v.trim().to_string()).unwrap_or_default();
        DevSettings {
            port: value("PORT").parse().unwrap_or(3000),
            store: value("STORE"),
            delivery: value("DELIVERY"),
            cors: Cors::parse(get("CORS_ALLOWED_ORIGINS").as_deref()),
            captcha_provider_set: !value("CAPTCHA_PROVIDER").is_empty(),
            login_link_base_set: !value("LOGIN_LINK_BASE").is_empty(),
        }
    }

    /// The store's name, as the dev server says it at start.
    pub fn store_name(&self) -> &str {
        if self.store.is_empty() { "memory" } else { &self.store }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_means_the_defaults() {
        let s = DevSettings::from_lookup(|_| None);
        assert_eq!((s.port, s.store_name(), s.delivery.as_str()), (3000, "memory", ""));
        assert!(!s.captcha_provider_set && !s.login_link_base_set);
        let s = DevSettings::from_lookup(|n| (n == "PORT").then(|| " 8080 ".to_string()));
        assert_eq!(s.port, 8080);
    }
}

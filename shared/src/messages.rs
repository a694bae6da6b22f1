//! The messages Vericode sends, rendered from templates (minijinja) per
//! purpose, channel and locale: email subject, text and HTML, and a short SMS.
//! Templates live in `shared/templates/<locale>/`.

use crate::address::{Channel, Destination};
use crate::locale::Locale;
use crate::purpose::Purpose;
use minijinja::{Environment, context};
use std::fmt;

/// A message ready for delivery.
#[derive(Clone)]
pub struct Message {
    pub channel: Channel,
    /// The canonical address (email or E.164).
    pub to: String,
    pub purpose: Purpose,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// The code the message carries, for the dev server's outbox only;
    /// `None` for notices.
    pub code: Option<String>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the text or the code.
        f.debug_struct("Message")
            .field("channel", &self.channel)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

macro_rules! templates {
    ($($locale:literal),*) => {
        &[$(
            concat!($locale, "/code.subject.txt"), include_str!(concat!("../templates/", $locale, "/code.subject.txt")),
            concat!($locale, "/code.txt"), include_str!(concat!("../templates/", $locale, "/code.txt")),
            concat!($locale, "/code.html"), include_str!(concat!("../templates/", $locale, "/code.html")),
            concat!($locale, "/code.sms.txt"), include_str!(concat!("../templates/", $locale, "/code.sms.txt")),
            concat!($locale, "/account_exists.subject.txt"), include_str!(concat!("../templates/", $locale, "/account_exists.subject.txt")),
            concat!($locale, "/account_exists.txt"), include_str!(concat!("../templates/", $locale, "/account_exists.txt")),
            concat!($locale, "/account_exists.html"), include_str!(concat!("../templates/", $locale, "/account_exists.html")),
        )*]
    };
}

const SOURCES: &[&str] = templates!("en", "zh-Hans");

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles every template once (at cold start).
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        for pair in SOURCES.chunks(2) {
            if let [name, source] = pair {
                env.add_template(name, source)?;
            }
        }
        Ok(Templates { env })
    }

    fn render(
        &self,
        locale: Locale,
        name: &str,
        ctx: &minijinja::Value,
    ) -> Result<String, minijinja::Error> {
        let full = format!("{}/{name}", locale.as_str());
        Ok(self.env.get_template(&full)?.render(ctx)?.trim().to_string())
    }

    /// The message carrying `code`.
    pub fn code(
        &self,
        to: &Destination,
        purpose: Purpose,
        locale: Locale,
        app_name: &str,
        code: &str,
        ttl_secs: i64,
    ) -> Result<Message, minijinja::Error> {
        let channel = to.channel();
        let ctx = context! {
            app_name, code, purpose => purpose.as_str(), channel => channel.as_str(),
            minutes => (ttl_secs + 59) / 60,
        };
        let (subject, text, html) = match channel {
            Channel::Email => (
                Some(self.render(locale, "code.subject.txt", &ctx)?),
                self.render(locale, "code.txt", &ctx)?,
                Some(self.render(locale, "code.html", &ctx)?),
            ),
            Channel::Sms => (None, self.render(locale, "code.sms.txt", &ctx)?, None),
        };
        Ok(Message {
            channel,
            to: to.address().to_string(),
            purpose,
            subject,
            text,
            html,
            code: Some(code.to_string()),
        })
    }

    /// "You already have an account", sent instead of a sign-up code to an
    /// email address that belongs to an account.
    pub fn account_exists(
        &self,
        to: &Destination,
        locale: Locale,
        app_name: &str,
    ) -> Result<Message, minijinja::Error> {
        let ctx = context! { app_name };
        Ok(Message {
            channel: to.channel(),
            to: to.address().to_string(),
            purpose: Purpose::Register,
            subject: Some(self.render(locale, "account_exists.subject.txt", &ctx)?),
            text: self.render(locale, "account_exists.txt", &ctx)?,
            html: Some(self.render(locale, "account_exists.html", &ctx)?),
            code: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_purpose_channel_and_locale_renders() {
        let t = Templates::new().unwrap();
        let email = Destination::parse(Channel::Email, "a@example.com", None, "to").unwrap();
        let phone = Destination::parse(Channel::Sms, "+8613800138000", None, "to").unwrap();
        for locale in [Locale::En, Locale::ZhHans] {
            for purpose in [
                Purpose::Register,
                Purpose::Login,
                Purpose::ResetPassword,
                Purpose::Bind,
                Purpose::Verify,
            ] {
                let m = t.code(&email, purpose, locale, "Acme <App>", "042917", 600).unwrap();
                assert!(m.subject.as_deref().unwrap().contains("042917"));
                assert!(m.text.contains("042917") && m.text.contains("10"));
                let html = m.html.unwrap();
                assert!(html.contains("042917") && html.contains("Acme &lt;App&gt;"), "escaped");
                let s = t.code(&phone, purpose, locale, "Acme", "042917", 300).unwrap();
                assert!(s.text.contains("042917") && s.text.contains('5') && s.subject.is_none());
                assert!(s.text.chars().count() <= 140, "{}", s.text);
            }
            let n = t.account_exists(&email, locale, "Acme").unwrap();
            assert!(n.code.is_none() && n.text.contains("Acme"));
        }
        let zh = t.code(&phone, Purpose::Login, Locale::ZhHans, "Acme", "1", 600).unwrap();
        assert!(zh.text.contains("登录"));
    }
}

//! The messages Vericode sends, rendered from the catalog's templates
//! (minijinja) per purpose, channel and locale: email subject, text and
//! HTML, and a short SMS. Templates live in `shared/domain/locales/<tag>/`.

use crate::address::Channel;
use crate::catalog::{Locale, catalog};
use crate::error::Fault;
use crate::purpose::Purpose;
use crate::templates::TemplateSets;
use minijinja::context;

pub use crate::ports::Message;

fn render(locale: Locale, name: &str, ctx: &minijinja::Value) -> Result<String, Fault> {
    let catalog = catalog().map_err(|e| Fault::internal("message catalog", e.to_string()))?;
    catalog.render(locale, name, ctx).map_err(|e| Fault::internal("message template", e))
}

/// A named template set to write a code message with (`template`), and
/// where the sets live; `None`: the built-in set.
pub type Custom<'a> = Option<(&'a TemplateSets, &'a str)>;

/// The message carrying `code`.
#[allow(clippy::too_many_arguments)]
pub fn code(
    channel: Channel,
    to: &str,
    purpose: Purpose,
    locale: Locale,
    app_name: &str,
    code: &str,
    ttl_secs: i64,
    custom: Custom<'_>,
) -> Result<Message, Fault> {
    let ctx = context! {
        app_name, code, purpose => purpose.as_str(), channel => channel.as_str(),
        minutes => (ttl_secs + 59) / 60,
    };
    let pick =
        |file: &str| match custom.and_then(|(sets, name)| sets.render(name, locale, file, &ctx)) {
            Some(rendered) => rendered.map_err(|e| Fault::internal("message template", e)),
            None => render(locale, file, &ctx),
        };
    let (subject, text, html) = match channel {
        Channel::Email => {
            (Some(pick("code.subject.txt")?), pick("code.txt")?, Some(pick("code.html")?))
        }
        Channel::Sms => (None, pick("code.sms.txt")?, None),
    };
    Ok(Message {
        channel,
        to: to.to_string(),
        purpose: purpose.as_str(),
        subject,
        text,
        html,
        code: Some(code.to_string()),
    })
}

/// A notice from template set `name`: email subject, text and HTML, or SMS text.
fn notice(
    name: &str,
    channel: Channel,
    to: &str,
    purpose: &'static str,
    locale: Locale,
    ctx: minijinja::Value,
) -> Result<Message, Fault> {
    let (subject, text, html) = match channel {
        Channel::Email => (
            Some(render(locale, &format!("{name}.subject.txt"), &ctx)?),
            render(locale, &format!("{name}.txt"), &ctx)?,
            Some(render(locale, &format!("{name}.html"), &ctx)?),
        ),
        Channel::Sms => (None, render(locale, &format!("{name}.sms.txt"), &ctx)?, None),
    };
    Ok(Message { channel, to: to.to_string(), purpose, subject, text, html, code: None })
}

/// "You already have an account", sent instead of a sign-up code to an
/// address that belongs to an account.
pub fn account_exists(
    channel: Channel,
    to: &str,
    locale: Locale,
    app_name: &str,
) -> Result<Message, Fault> {
    let ctx = context! { app_name, channel => channel.as_str() };
    notice("account_exists", channel, to, Purpose::Register.as_str(), locale, ctx)
}

/// "Another account tried to add your address", sent instead of a bind
/// code to the owner of an address another account asked to bind.
pub fn bind_attempt(
    channel: Channel,
    to: &str,
    locale: Locale,
    app_name: &str,
) -> Result<Message, Fault> {
    let ctx = context! { app_name, channel => channel.as_str() };
    notice("bind_attempt", channel, to, Purpose::Bind.as_str(), locale, ctx)
}

/// "Your account changed": `change` (`password_changed`, …), the address
/// it concerns (masked), when (RFC 3339) and from which network (masked);
/// `kept`: whether the address told still leads to the account (what to
/// do if it was not them depends on it).
#[allow(clippy::too_many_arguments)]
pub fn security_notice(
    channel: Channel,
    to: &str,
    locale: Locale,
    app_name: &str,
    change: &str,
    address: Option<&str>,
    when: &str,
    network: Option<&str>,
    kept: bool,
) -> Result<Message, Fault> {
    let ctx = context! {
        app_name, channel => channel.as_str(), change, address, when, kept,
        network => network.unwrap_or("?"),
    };
    notice("security_notice", channel, to, "security", locale, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_purpose_channel_and_locale_renders() {
        let email = (Channel::Email, "a@example.com");
        let phone = (Channel::Sms, "+8613800138000");
        for locale in Locale::all() {
            for purpose in [
                Purpose::Register,
                Purpose::Login,
                Purpose::ResetPassword,
                Purpose::Bind,
                Purpose::Verify,
                Purpose::Confirm,
            ] {
                let m = code(email.0, email.1, purpose, locale, "Acme <App>", "042917", 600, None)
                    .unwrap();
                assert!(m.subject.as_deref().unwrap().contains("042917"));
                assert!(m.text.contains("042917") && m.text.contains("10"));
                let html = m.html.unwrap();
                assert!(html.contains("042917") && html.contains("Acme &lt;App&gt;"), "escaped");
                let s =
                    code(phone.0, phone.1, purpose, locale, "Acme", "042917", 300, None).unwrap();
                assert!(s.text.contains("042917") && s.text.contains('5') && s.subject.is_none());
                assert!(s.text.chars().count() <= 140, "{}", s.text);
            }
            for dest in [email, phone] {
                for n in [
                    account_exists(dest.0, dest.1, locale, "Acme").unwrap(),
                    bind_attempt(dest.0, dest.1, locale, "Acme").unwrap(),
                ] {
                    assert!(n.code.is_none() && n.text.contains("Acme"), "{}", n.text);
                    assert_eq!(n.subject.is_some(), dest == email);
                    assert!(n.text.chars().count() <= 140 || dest == email, "{}", n.text);
                }
            }
        }
        let zh = code(
            phone.0,
            phone.1,
            Purpose::Login,
            Locale::from_field("zh-Hans"),
            "Acme",
            "1",
            600,
            None,
        )
        .unwrap();
        assert!(zh.text.contains("登录"));
    }

    #[test]
    fn every_security_notice_renders() {
        let changes = [
            "address_added",
            "address_replaced",
            "address_removed",
            "password_changed",
            "password_reset",
            "account_deleted",
            "factor_added",
            "factor_removed",
            "recovery_code_used",
        ];
        for locale in Locale::all() {
            for (channel, to) in
                [(Channel::Email, "a@example.com"), (Channel::Sms, "+8613800138000")]
            {
                for change in changes {
                    for kept in [true, false] {
                        let n = security_notice(
                            channel,
                            to,
                            locale,
                            "Acme <App>",
                            change,
                            Some("+86*******8066"),
                            "2027-01-15T08:00:00Z",
                            Some("203.0.113.0/24"),
                            kept,
                        )
                        .unwrap();
                        assert_eq!(n.purpose, "security");
                        assert!(n.code.is_none());
                        assert!(n.text.contains("2027-01-15T08:00:00Z"), "{}", n.text);
                        assert!(n.text.contains("203.0.113.0/24"), "{}", n.text);
                        assert!(!n.text.contains("{{") && !n.text.contains("{%"), "{}", n.text);
                        if change.starts_with("address") {
                            assert!(n.text.contains("+86*******8066"), "{}", n.text);
                        }
                        if let Some(html) = n.html {
                            assert!(html.contains("Acme &lt;App&gt;"), "escaped: {html}");
                        }
                    }
                }
            }
        }
    }
}

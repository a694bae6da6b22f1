//! Image captchas: creation and single-use consumption.

pub mod pow;
pub mod render;

use crate::config::CaptchaProvider;
use crate::crypto::digest_eq;
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::StoredCaptcha;
use crate::services::Services;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Why a captcha did not pass.
#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    /// The answer is malformed (bad input: nothing was consumed).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Wrong, expired, used or unknown (the captcha is used up).
    #[error("captcha invalid")]
    Wrong,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(CaptchaError, CreateError);

/// Why no image captcha was made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// `CAPTCHA_PROVIDER` does not name this kind (an external provider's
    /// widget makes its own).
    #[error("this kind of captcha is not served: CAPTCHA_PROVIDER names another")]
    NotServed,
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// A captcha in a request: `{"id", "answer"}` for the built-in image
/// captcha, `{"altcha"}` for a solved proof-of-work challenge, or
/// `{"token"}` from an external provider's widget.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaInput {
    pub id: Option<String>,
    pub answer: Option<String>,
    pub token: Option<String>,
    pub altcha: Option<String>,
}

impl CaptchaInput {
    /// An image captcha's id and answer.
    pub fn image(id: &str, answer: &str) -> Self {
        CaptchaInput { id: Some(id.into()), answer: Some(answer.into()), ..Default::default() }
    }

    /// A solved proof-of-work challenge, as the widget hands it over.
    pub fn altcha(payload: &str) -> Self {
        CaptchaInput { altcha: Some(payload.into()), ..Default::default() }
    }

    /// What to check, by the configured provider: the built-in one takes
    /// `id` and `answer`, proof of work `altcha` (`builtin,pow` either), an
    /// external one `token`; another form is bad input (`400`, naming the
    /// field), and nothing is consumed.
    pub fn check(&self, provider: &CaptchaProvider) -> Result<CaptchaCheck, Invalid> {
        match provider {
            CaptchaProvider::External { .. } => {
                self.only(&["captcha.token"])?;
                let token = self.token.as_deref().map(str::trim).unwrap_or_default();
                if token.is_empty() || token.len() > MAX_TOKEN {
                    return Err(Invalid::value("captcha.token"));
                }
                Ok(CaptchaCheck::Token(token.to_string()))
            }
            p if p.pow() && (self.altcha.is_some() || !p.images()) => {
                self.only(&["captcha.altcha"])?;
                let raw =
                    self.altcha.as_deref().ok_or_else(|| Invalid::missing("captcha.altcha"))?;
                Ok(CaptchaCheck::Pow(pow::Payload::parse(raw)?))
            }
            _ => {
                self.only(&["captcha.id", "captcha.answer"])?;
                let id = self.id.clone().ok_or_else(|| Invalid::missing("captcha.id"))?;
                let answer =
                    self.answer.as_deref().ok_or_else(|| Invalid::missing("captcha.answer"))?;
                Ok(CaptchaCheck::Image { id, answer: CaptchaAnswer::parse(answer)? })
            }
        }
    }

    /// The first field given that this form does not take.
    fn only(&self, allowed: &[&str]) -> Result<(), Invalid> {
        let given = [
            ("captcha.id", self.id.is_some()),
            ("captcha.answer", self.answer.is_some()),
            ("captcha.token", self.token.is_some()),
            ("captcha.altcha", self.altcha.is_some()),
        ];
        match given.iter().find(|(name, present)| *present && !allowed.contains(name)) {
            Some((name, _)) => Err(Invalid::Unknown((*name).into())),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for CaptchaInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaInput").field("id", &self.id).finish_non_exhaustive()
    }
}

/// The longest provider token accepted (Turnstile's documented maximum).
pub const MAX_TOKEN: usize = 2048;

/// A captcha to check, read from a request.
pub enum CaptchaCheck {
    Image {
        id: String,
        answer: CaptchaAnswer,
    },
    /// The widget's payload, read.
    Pow(pow::Payload),
    Token(String),
}

/// A captcha answer as typed: trimmed and upper-cased, 1 to 32 characters.
pub struct CaptchaAnswer(String);

impl CaptchaAnswer {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let a = raw.trim().to_uppercase();
        if a.is_empty() || a.chars().count() > 32 {
            return Err(Invalid::value("captcha.answer"));
        }
        Ok(CaptchaAnswer(a))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `201` body of `POST /v1/captchas`.
#[derive(Debug, Serialize)]
pub struct NewCaptcha {
    pub captcha_id: String,
    pub image: String,
    pub expires_in: i64,
}

/// Renders a captcha and stores its hashed answer. One store write. With an
/// external provider configured there are no image captchas: `NotServed`.
pub async fn create(s: &Services) -> Result<NewCaptcha, CreateError> {
    if !s.config.captcha_provider.images() {
        return Err(CreateError::NotServed);
    }
    let rendered = s.renderer.render().map_err(|e| Fault::internal("captcha", e))?;
    let id = s.new_id()?;
    let answer = CaptchaAnswer::parse(&rendered.answer)
        .map_err(|e| Fault::internal("the renderer's answer", e))?;
    let ttl = s.config.captcha_ttl_secs;
    let stored = StoredCaptcha {
        answer_hash: s.keys.captcha_answer_hash(&id, answer.as_str()),
        expires_at: s.clock.now() + ttl,
        id,
    };
    s.store.put_captcha(&stored).await?;
    s.captcha_log.issued(&stored.id, answer.as_str());
    tracing::info!(captcha_id = %stored.id, "captcha created");
    let image = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&rendered.png)
    );
    Ok(NewCaptcha { captcha_id: stored.id, image, expires_in: ttl })
}

/// Checks a captcha. An image captcha is used up, right or wrong: one
/// conditional store write. A provider token is checked at the provider
/// (which spends it); a provider that fails or does not answer in time is a
/// fault (`503`), never a pass. Wrong, expired, used or unknown: `Wrong`.
/// Malformed input is bad input and consumes nothing.
pub async fn consume(
    s: &Services,
    input: &CaptchaInput,
    client_ip: Option<IpAddr>,
) -> Result<(), CaptchaError> {
    match input.check(&s.config.captcha_provider)? {
        CaptchaCheck::Image { id, answer } => consume_image(s, &id, &answer).await,
        CaptchaCheck::Pow(payload) => pow::consume(s, &payload).await,
        CaptchaCheck::Token(token) => verify_token(s, &token, client_ip).await,
    }
}

async fn consume_image(s: &Services, id: &str, answer: &CaptchaAnswer) -> Result<(), CaptchaError> {
    if uuid::Uuid::try_parse(id).is_err() {
        s.metrics.record(crate::ports::Metric::CaptchaFailed);
        return Err(CaptchaError::Wrong);
    }
    let taken = s.store.take_captcha(id, s.clock.now()).await?;
    let right = taken.is_some_and(|c| {
        digest_eq(&c.answer_hash, &s.keys.captcha_answer_hash(&c.id, answer.as_str()))
    });
    tracing::info!(captcha_id = %id, passed = right, "captcha checked");
    if right {
        return Ok(());
    }
    s.metrics.record(crate::ports::Metric::CaptchaFailed);
    Err(CaptchaError::Wrong)
}

/// Asks the external provider about a token.
pub async fn verify_token(
    s: &Services,
    token: &str,
    client_ip: Option<IpAddr>,
) -> Result<(), CaptchaError> {
    let passed = s.captcha_verifier.verify(token, client_ip).await.map_err(Fault::from)?;
    tracing::info!(passed, "captcha token checked");
    if passed {
        return Ok(());
    }
    s.metrics.record(crate::ports::Metric::CaptchaFailed);
    Err(CaptchaError::Wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_normalise() {
        assert_eq!(CaptchaAnswer::parse("  ab3x ").unwrap().as_str(), "AB3X");
        assert!(CaptchaAnswer::parse("   ").is_err());
        assert!(CaptchaAnswer::parse(&"a".repeat(33)).is_err());
    }
}

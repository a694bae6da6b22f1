//! Image captchas: creation and single-use consumption.

use crate::crypto::digest_eq;
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::StoredCaptcha;
use crate::services::Services;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

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
crate::faults!(CaptchaError);

/// A captcha reference in a request: `{"id": "...", "answer": "..."}`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaInput {
    pub id: String,
    pub answer: String,
}

impl std::fmt::Debug for CaptchaInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaInput").field("id", &self.id).finish_non_exhaustive()
    }
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

/// Renders a captcha and stores its hashed answer. One store write.
pub async fn create(s: &Services) -> Result<NewCaptcha, Fault> {
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

/// Checks an answer and uses the captcha up, right or wrong: one conditional
/// store write. Wrong, expired, used or unknown: `Wrong`. A malformed answer
/// is bad input and consumes nothing.
pub async fn consume(s: &Services, input: &CaptchaInput) -> Result<(), CaptchaError> {
    let answer = CaptchaAnswer::parse(&input.answer)?;
    if uuid::Uuid::try_parse(&input.id).is_err() {
        s.metrics.record(crate::ports::Metric::CaptchaFailed);
        return Err(CaptchaError::Wrong);
    }
    let taken = s.store.take_captcha(&input.id, s.clock.now()).await?;
    let right = taken.is_some_and(|c| {
        digest_eq(&c.answer_hash, &s.keys.captcha_answer_hash(&c.id, answer.as_str()))
    });
    tracing::info!(captcha_id = %input.id, passed = right, "captcha checked");
    if right {
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

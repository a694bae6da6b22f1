//! Image captchas: creation and single-use consumption.

use crate::app::App;
use crate::crypto::digest_eq;
use crate::error::ApiError;
use crate::ports::{CaptchaRenderer, RenderError, RenderedCaptcha, StoredCaptcha};
use base64::Engine as _;
use captcha::filters::{Cow, Dots, Noise, Wave};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

/// Letters and digits that cannot be mistaken for one another, even warped:
/// no 0/O/Q, 1/I/L, 2/Z/7, 5/S, 6/G, 8/B. Answers compare case-insensitively,
/// so one case suffices.
pub const ALPHABET: &[char] = &[
    'A', 'C', 'D', 'E', 'F', 'H', 'J', 'K', 'M', 'N', 'P', 'R', 'T', 'U', 'V', 'W', 'X', 'Y', '3',
    '4', '9',
];
/// Characters per captcha: 21^5 ≈ 4.1 million answers for a single guess.
pub const LENGTH: u32 = 5;
pub const WIDTH: u32 = 220;
pub const HEIGHT: u32 = 110;

/// Renders with the `captcha` crate: warped glyphs, speckle noise, dots and
/// an inverting disc over part of the text, which defeat off-the-shelf OCR
/// while people still read them.
pub struct ImageRenderer;

impl CaptchaRenderer for ImageRenderer {
    fn render(&self) -> Result<RenderedCaptcha, RenderError> {
        let mut c = captcha::Captcha::new();
        c.set_chars(ALPHABET)
            .add_chars(LENGTH)
            .apply_filter(Noise::new(0.25))
            .apply_filter(Wave::new(2.0, 16.0).horizontal())
            .apply_filter(Wave::new(2.0, 4.0).vertical())
            .view(WIDTH, HEIGHT)
            .apply_filter(Dots::new(12).min_radius(2).max_radius(5))
            .apply_filter(
                Cow::new()
                    .min_radius(30)
                    .max_radius(40)
                    .circles(1)
                    .area(captcha::Geometry::new(40, 180, 30, 80)),
            );
        let answer = c.chars_as_string();
        if answer.chars().count() != LENGTH as usize {
            return Err(RenderError);
        }
        let png = c.as_png().ok_or(RenderError)?;
        Ok(RenderedCaptcha { answer, png })
    }
}

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
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let a = raw.trim().to_uppercase();
        if a.is_empty() || a.chars().count() > 32 {
            return Err(ApiError::invalid_field("captcha.answer"));
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
pub async fn create(app: &App) -> Result<NewCaptcha, ApiError> {
    let rendered = app.renderer.render().map_err(ApiError::internal)?;
    let id = app.new_id()?;
    let answer = CaptchaAnswer::parse(&rendered.answer)?;
    let ttl = app.config.captcha_ttl_secs;
    let stored = StoredCaptcha {
        answer_hash: app.keys.captcha_answer_hash(&id, answer.as_str()),
        expires_at: app.clock.now() + ttl,
        id,
    };
    app.store.put_captcha(&stored).await.map_err(ApiError::internal)?;
    if let Some(log) = &app.dev_captcha_answers {
        log.record(&stored.id, answer.as_str());
    }
    tracing::info!(captcha_id = %stored.id, "captcha created");
    let image = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&rendered.png)
    );
    Ok(NewCaptcha { captcha_id: stored.id, image, expires_in: ttl })
}

/// Checks an answer and uses the captcha up, right or wrong: one conditional
/// store write. Wrong, expired, used or unknown: `CaptchaInvalid`.
/// A malformed answer is bad input (`400`) and consumes nothing.
pub async fn consume(app: &App, input: &CaptchaInput) -> Result<(), ApiError> {
    let answer = CaptchaAnswer::parse(&input.answer)?;
    if uuid::Uuid::try_parse(&input.id).is_err() {
        return Err(ApiError::CaptchaInvalid);
    }
    let taken =
        app.store.take_captcha(&input.id, app.clock.now()).await.map_err(ApiError::internal)?;
    let right = taken.is_some_and(|c| {
        digest_eq(&c.answer_hash, &app.keys.captcha_answer_hash(&c.id, answer.as_str()))
    });
    tracing::info!(captcha_id = %input.id, passed = right, "captcha checked");
    if right { Ok(()) } else { Err(ApiError::CaptchaInvalid) }
}

/// The dev server's memory of the answers to the captchas it created, for
/// `GET /_dev/captchas/{id}`. Never set in a deployed function.
#[derive(Default)]
pub struct DevAnswerLog(Mutex<HashMap<String, String>>);

impl DevAnswerLog {
    const MAX: usize = 10_000;

    pub fn record(&self, id: &str, answer: &str) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= Self::MAX {
                m.clear();
            }
            m.insert(id.to_string(), answer.to_string());
        }
    }

    pub fn answer(&self, id: &str) -> Option<String> {
        self.0.lock().ok()?.get(id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_png_from_the_alphabet() {
        for _ in 0..20 {
            let r = ImageRenderer.render().unwrap();
            assert_eq!(r.answer.chars().count(), LENGTH as usize);
            assert!(r.answer.chars().all(|c| ALPHABET.contains(&c)), "{}", r.answer);
            assert_eq!(&r.png[1..4], b"PNG");
        }
    }

    #[test]
    fn answers_normalise() {
        assert_eq!(CaptchaAnswer::parse("  ab3x ").unwrap().as_str(), "AB3X");
        assert!(CaptchaAnswer::parse("   ").is_err());
        assert!(CaptchaAnswer::parse(&"a".repeat(33)).is_err());
    }
}

//! The captcha image renderer (the `CaptchaRenderer` port's adapter): the
//! `captcha` crate's glyphs and filters. Pure computation, so it lives here.

use crate::ports::{CaptchaRenderer, RenderError, RenderedCaptcha};
use captcha::filters::{Cow, Dots, Noise, Wave};

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
}

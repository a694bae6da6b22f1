//! The captcha image renderer (the `CaptchaRenderer` port's adapter). Pure
//! computation, so it lives here.
//!
//! It draws the `captcha` crate's glyphs (its default font) but not through
//! the crate's canvas: the crate composes on a 400×300 RGB image, runs its
//! filters over all of it and encodes 24-bit colour (4.2 ms and ~7 KB a
//! captcha, measured; see docs/captcha.md). Here every glyph is mapped
//! straight onto the final 1-bit canvas — scaled, rotated, sheared and
//! elastically warped by one inverse mapping per pixel — close-set so that
//! neighbours touch, drawn as scanlines (every other glyph row), crossed by a
//! stroke of the same ink and width as the letters, and encoded as a
//! 2-colour paletted PNG. The answer's characters
//! come from the operating system's random source; the geometry from a
//! small generator seeded by it.

use crate::ports::{CaptchaRenderer, RenderError, RenderedCaptcha};
use std::cell::RefCell;
use std::sync::OnceLock;

/// Letters and digits that cannot be mistaken for one another, even warped:
/// no 0/O/Q, 1/I/L, 2/Z/7, 5/S, 6/G, 8/B. Answers compare case-insensitively,
/// so one case suffices.
pub const ALPHABET: &[char] = &[
    'A', 'C', 'D', 'E', 'F', 'H', 'J', 'K', 'M', 'N', 'P', 'R', 'T', 'U', 'V', 'W', 'X', 'Y', '3',
    '4', '9',
];
/// Characters per captcha, drawn anew each time: 21^4 … 21^6 answers.
pub const LENGTHS: std::ops::RangeInclusive<usize> = 4..=6;
pub const WIDTH: u32 = 240;
pub const HEIGHT: u32 = 80;
const W: usize = WIDTH as usize;
const H: usize = HEIGHT as usize;
/// Background and ink.
const PALETTE: [u8; 6] = [0xf4, 0xf4, 0xef, 0x1d, 0x2b, 0x53];

/// Renders captchas with the `captcha` crate's glyphs (see the module docs).
pub struct ImageRenderer;

impl crate::services::Services {
    /// The built-in captcha image renderer (`with_renderer`): only what
    /// issues captchas calls this, so nothing else links the renderer.
    pub fn with_image_renderer(self) -> Self {
        self.with_renderer(std::sync::Arc::new(ImageRenderer))
    }
}

impl CaptchaRenderer for ImageRenderer {
    fn render(&self) -> Result<RenderedCaptcha, RenderError> {
        let glyphs = glyphs().as_ref().map_err(|_| RenderError)?;
        let mut seed = [0u8; 16];
        getrandom::fill(&mut seed).map_err(|_| RenderError)?;
        let mut rng = Rng::new(u64::from_le_bytes(seed[..8].try_into().map_err(|_| RenderError)?));
        let answer = random_answer()?;
        CANVAS.with_borrow_mut(|canvas| {
            canvas.clear();
            canvas.resize(W * H, 0);
            draw(canvas, glyphs, &answer, &mut rng);
            let png = encode(canvas)?;
            Ok(RenderedCaptcha { answer, png })
        })
    }
}

thread_local! {
    /// The canvas, one byte a pixel (0 background, 1 ink), reused.
    static CANVAS: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// 4 to 6 characters of [`ALPHABET`], uniformly, from the OS random source.
fn random_answer() -> Result<String, RenderError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| RenderError)?;
    let n = ALPHABET.len();
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % n;
    let mut chars =
        bytes.iter().map(|&b| b as usize).filter(|&b| b < limit).map(|b| ALPHABET[b % n]);
    let len = LENGTHS.start() + (bytes[15] as usize % LENGTHS.count());
    let answer: String = chars.by_ref().take(len).collect();
    if answer.len() == len { Ok(answer) } else { random_answer() }
}

/// One glyph of the crate's font: ink coverage 0–255, row by row.
struct Glyph {
    ch: char,
    w: usize,
    h: usize,
    ink: Vec<u8>,
}

/// The alphabet's glyphs, taken from the crate's font once per process:
/// the crate writes a few at a time side by side (each canvas it makes
/// parses its whole font, so fewer canvases start faster), and each is cut
/// out at the columns it took. All share the crate's text line.
fn glyphs() -> &'static Result<Vec<Glyph>, RenderError> {
    static GLYPHS: OnceLock<Result<Vec<Glyph>, RenderError>> = OnceLock::new();
    GLYPHS.get_or_init(|| {
        let mut all = Vec::with_capacity(ALPHABET.len());
        // Five of the widest glyphs fit the crate's 400-pixel canvas.
        for chunk in ALPHABET.chunks(5) {
            all.extend(glyph_row(chunk)?);
        }
        Ok(all)
    })
}

fn glyph_row(chars: &[char]) -> Result<Vec<Glyph>, RenderError> {
    let mut c = captcha::Captcha::new();
    let mut columns = Vec::with_capacity(chars.len());
    for &ch in chars {
        let start = c.text_area().right;
        c.set_chars(&[ch]).add_char();
        columns.push((ch, start, c.text_area().right));
    }
    if c.chars() != chars {
        return Err(RenderError);
    }
    let area = c.text_area();
    let png = c.extract(area.clone()).as_png().ok_or(RenderError)?;
    let mut reader = png::Decoder::new(png.as_slice()).read_info().map_err(|_| RenderError)?;
    let mut rgb = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut rgb).map_err(|_| RenderError)?;
    let (width, h) = (frame.width as usize, frame.height as usize);
    let channels = frame.color_type.samples();
    if frame.bit_depth != png::BitDepth::Eight || h < 4 {
        return Err(RenderError);
    }
    columns
        .into_iter()
        .map(|(ch, start, end)| {
            let (x0, x1) = ((start - area.left) as usize, ((end - area.left) as usize).min(width));
            if x1 < x0 + 4 {
                return Err(RenderError);
            }
            // Dark on light: ink is how dark the pixel is.
            let ink = (0..h)
                .flat_map(|y| (x0..x1).map(move |x| (y * width + x) * channels))
                .map(|i| 255 - rgb[i])
                .collect();
            Ok(Glyph { ch, w: x1 - x0, h, ink })
        })
        .collect()
}

/// Draws the answer onto the canvas: close-set, transformed glyphs, then
/// a stroke across them.
fn draw(canvas: &mut [u8], glyphs: &[Glyph], answer: &str, rng: &mut Rng) {
    let picked: Vec<&Glyph> =
        answer.chars().filter_map(|c| glyphs.iter().find(|g| g.ch == c)).collect();
    // Close-set: each glyph advances by a little less than its drawn width.
    // As large as the canvas allows (up to 1.6x the font): the text spans
    // most of its width.
    let widths: f32 = picked.iter().map(|g| g.w as f32).sum();
    let scale = ((W as f32 - 24.0) / (widths * 0.94)).min(1.6) * rng.range(0.94, 1.0);
    let advance: Vec<f32> =
        picked.iter().map(|g| g.w as f32 * scale * rng.range(0.90, 0.98)).collect();
    let total: f32 = advance.iter().sum::<f32>();
    let mut x = (W as f32 - total) / 2.0 + rng.range(-6.0, 6.0);
    for (g, adv) in picked.iter().zip(&advance) {
        let cx = x + adv / 2.0;
        let cy = H as f32 / 2.0 + rng.range(-5.0, 5.0);
        stamp(canvas, g, cx, cy, scale * rng.range(0.92, 1.1), rng);
        x += adv;
    }
    // A stroke of the letters' own width through the middle of the text,
    // spanning most of it.
    let start = (W as f32 - total) / 2.0;
    {
        let (x0, x1) = (start + rng.range(-8.0, 14.0), start + total + rng.range(-14.0, 8.0));
        let y0 = H as f32 / 2.0 + rng.range(-12.0, 12.0);
        let slope = rng.range(-0.12, 0.12);
        let (amp, k, phase) = (rng.range(3.0, 8.0), rng.range(0.03, 0.07), rng.range(0.0, 6.3));
        let radius = 1.3 * scale;
        let mut px = x0;
        while px < x1 {
            let py = y0 + slope * (px - x0) + amp * (k * px + phase).sin();
            disc(canvas, px, py, radius);
            px += 0.7;
        }
    }
}

/// One glyph, centred at (cx, cy): inverse-mapped pixel by pixel through
/// rotation, shear, scale and a sine warp, thresholded at half coverage.
fn stamp(canvas: &mut [u8], g: &Glyph, cx: f32, cy: f32, scale: f32, rng: &mut Rng) {
    let angle = rng.range(-0.25, 0.25);
    let shear = rng.range(-0.25, 0.25);
    let (sin, cos) = angle.sin_cos();
    let (wx, wy) = (rng.range(0.84, 1.7), rng.range(0.7, 1.4));
    let (kx, ky) = (rng.range(0.18, 0.32), rng.range(0.15, 0.3));
    let (px, py) = (rng.range(0.0, 6.3), rng.range(0.0, 6.3));
    let (gx, gy) = (g.w as f32 / 2.0, g.h as f32 / 2.0);
    // The drawn glyph's extent: its rotated, sheared box plus the warp.
    let (hw, hh) = ((gx + shear.abs() * gy) * scale, gy * scale);
    let ext_x = cos.abs() * hw + sin.abs() * hh + wx + 1.0;
    let ext_y = sin.abs() * hw + cos.abs() * hh + wy + 1.0;
    let xs = (cx - ext_x).max(0.0) as usize..((cx + ext_x) as usize).min(W);
    let ys = (cy - ext_y).max(0.0) as usize..((cy + ext_y) as usize).min(H);
    // The inverse map is linear in (dx, dy) = (x - cx + row warp, y - cy +
    // column warp), so it splits into a part per column and a part per row,
    // each computed once in 24.8 fixed point; a pixel is then two additions.
    let (cos, sin) = (cos / scale, sin / scale);
    let (ux, uy) = (cos - shear * -sin, sin - shear * cos);
    let (vx, vy) = (-sin, cos);
    let fixed = |f: f32| (f * 256.0) as i32;
    let (mut u_col, mut v_col) = ([0i32; W], [0i32; W]);
    for x in xs.clone() {
        let dy = wy * (kx * x as f32 + px).sin();
        let dx = x as f32 - cx;
        u_col[x] = fixed(ux * dx + uy * dy + gx);
        v_col[x] = fixed(vx * dx + vy * dy + gy);
    }
    let (gw, gh) = (g.w as u32, g.h as u32);
    for y in ys {
        let dx = wx * (ky * y as f32 + py).sin();
        let dy = y as f32 - cy;
        let (u_row, v_row) = (fixed(ux * dx + uy * dy), fixed(vx * dx + vy * dy));
        let row = &mut canvas[y * W..(y + 1) * W];
        for x in xs.clone() {
            // Negative coordinates wrap to large ones and fall outside.
            let (u, v) = (((u_col[x] + u_row) >> 8) as u32, ((v_col[x] + v_row) >> 8) as u32);
            // Scanlines in the glyph's own frame, so they bend with it: a
            // person joins them into letters, recognisers read them poorly
            // (docs/captcha.md).
            if u < gw && v < gh && g.ink[(v * gw + u) as usize] >= 128 && v % 2 == 0 {
                row[x] = 1;
            }
        }
    }
}

fn disc(canvas: &mut [u8], cx: f32, cy: f32, r: f32) {
    let (y0, y1) = ((cy - r).floor().max(0.0) as usize, ((cy + r).ceil() as usize).min(H - 1));
    let (x0, x1) = ((cx - r).floor().max(0.0) as usize, ((cx + r).ceil() as usize).min(W - 1));
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            if dx * dx + dy * dy <= r * r {
                canvas[y * W + x] = 2;
            }
        }
    }
}

/// A 1-bit paletted PNG of the canvas.
fn encode(canvas: &[u8]) -> Result<Vec<u8>, RenderError> {
    let mut packed = [0u8; W.div_ceil(8) * H];
    for (y, row) in canvas.chunks_exact(W).enumerate() {
        for (x, &ink) in row.iter().enumerate() {
            let bit = u8::from(ink != 0);
            packed[y * W.div_ceil(8) + x / 8] |= bit << (7 - x % 8);
        }
    }
    let mut out = Vec::with_capacity(2048);
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_palette(&PALETTE[..]);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|_| RenderError)?;
    writer.write_image_data(&packed).map_err(|_| RenderError)?;
    writer.finish().map_err(|_| RenderError)?;
    Ok(out)
}

/// SplitMix64: geometry only (never the answer).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_small_png_from_the_alphabet() {
        for _ in 0..50 {
            let r = ImageRenderer.render().unwrap();
            assert!(LENGTHS.contains(&r.answer.chars().count()), "{}", r.answer);
            assert!(r.answer.chars().all(|c| ALPHABET.contains(&c)), "{}", r.answer);
            assert_eq!(&r.png[1..4], b"PNG");
            assert!(r.png.len() <= 6 * 1024, "{} bytes", r.png.len());
        }
    }

    #[test]
    fn every_alphabet_glyph_is_in_the_font() {
        let glyphs = glyphs().as_ref().unwrap();
        assert_eq!(glyphs.len(), ALPHABET.len());
        assert!(glyphs.iter().all(|g| g.ink.iter().any(|&i| i > 200)));
    }

    #[test]
    fn answers_use_every_character_and_length() {
        let mut seen = std::collections::HashSet::new();
        let mut lengths = std::collections::HashSet::new();
        for _ in 0..400 {
            let a = random_answer().unwrap();
            lengths.insert(a.len());
            seen.extend(a.chars());
        }
        assert_eq!(seen.len(), ALPHABET.len());
        assert_eq!(lengths.len(), LENGTHS.count());
    }
}

//! Captcha render benchmark: time per image and PNG size.
//! `cargo bench -p domain --bench captcha` (also writes one sample image to
//! target/captcha-sample.png so its legibility can be checked by eye). With
//! `CAPTCHA_SAMPLES_DIR=dir` it also writes `CAPTCHA_SAMPLES` (default 200)
//! captchas named by their answers, for `scripts/bench/ocr.sh`.

use domain::captcha::render::ImageRenderer;
use domain::ports::CaptchaRenderer;
use std::time::Instant;

fn main() {
    let n: usize = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let mut times = Vec::with_capacity(n);
    let mut sizes = Vec::with_capacity(n);
    let mut sample = None;
    // The first render also loads the glyphs from the crate's font.
    let t = Instant::now();
    if ImageRenderer.render().is_err() {
        eprintln!("render failed");
        std::process::exit(1);
    }
    println!("first render (loads the glyphs): {:.2} ms", t.elapsed().as_secs_f64() * 1e3);
    for _ in 0..n {
        let t = Instant::now();
        let Ok(r) = ImageRenderer.render() else {
            eprintln!("render failed");
            std::process::exit(1);
        };
        times.push(t.elapsed().as_secs_f64() * 1e3);
        sizes.push(r.png.len());
        sample.get_or_insert(r.png);
    }
    times.sort_by(f64::total_cmp);
    sizes.sort_unstable();
    let mean = times.iter().sum::<f64>() / n as f64;
    let pct = |v: &[f64], p: f64| v[((v.len() - 1) as f64 * p) as usize];
    println!(
        "captcha render: n={n} mean={mean:.2} ms p50={:.2} ms p95={:.2} ms",
        pct(&times, 0.5),
        pct(&times, 0.95)
    );
    println!(
        "captcha png: mean={} B min={} B max={} B",
        sizes.iter().sum::<usize>() / n,
        sizes[0],
        sizes[n - 1]
    );
    if let Ok(dir) = std::env::var("CAPTCHA_SAMPLES_DIR") {
        let count: usize =
            std::env::var("CAPTCHA_SAMPLES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
        for i in 0..count {
            if let Ok(r) = ImageRenderer.render() {
                let _ = std::fs::write(format!("{dir}/{i:03}-{}.png", r.answer), r.png);
            }
        }
        println!("{count} samples in {dir}");
    }
    if let Some(png) = sample {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/captcha-sample.png");
        if std::fs::write(path, png).is_ok() {
            println!("sample: target/captcha-sample.png");
        }
    }
}

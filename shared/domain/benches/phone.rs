//! Phone numbers on first use: the time and memory the first number of each
//! country costs a fresh process (the metadata is static; each region's
//! patterns are compiled when its first number is checked), then a repeat.
//! `cargo bench -p domain --bench phone`. Goal: at most 5 ms extra.

use domain::address::PhoneNumber;
use std::time::Instant;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

fn main() {
    let start = rss_kib();
    let mut worst: f64 = 0.0;
    for raw in [
        "+12025550123",
        "+8613800138000",
        "+447911123456",
        "+4915112345678",
        "+33612345678",
        "+919876543210",
        "+5491112345678",
        "+12025550124",
    ] {
        let started = Instant::now();
        let ok = PhoneNumber::parse(raw, None, "phone").is_ok();
        let first = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let again = PhoneNumber::parse(raw, None, "phone").is_ok();
        assert_eq!(ok, again);
        let repeat = started.elapsed().as_secs_f64() * 1e3;
        worst = worst.max(first);
        println!("{raw:>16}  valid {ok:<5}  first {first:6.2} ms  repeat {repeat:5.3} ms");
    }
    println!(
        "phone first use: worst {worst:.2} ms, peak RSS +{:.1} MiB (goal: at most 5 ms)",
        (rss_kib().saturating_sub(start)) as f64 / 1024.0
    );
}

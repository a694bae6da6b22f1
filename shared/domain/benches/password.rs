//! Password hashing benchmark: time per argon2id hash and per check with the
//! production parameters. `cargo bench -p domain --bench password`.

use domain::password::{MEMORY_KIB, PASSES, Password, Passwords};
use domain::ports::OsRandom;
use std::time::Instant;

fn main() {
    let n: u32 = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let Ok(passwords) = Passwords::new() else {
        eprintln!("argon2 would not start");
        std::process::exit(1);
    };
    let Ok(password) = Password::parse("correct horse battery staple", "password") else {
        std::process::exit(1);
    };
    let started = Instant::now();
    let mut last = String::new();
    for _ in 0..n {
        match passwords.hash(&password, &OsRandom) {
            Ok(h) => last = h,
            Err(_) => std::process::exit(1),
        }
    }
    let hash_ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(n);
    let started = Instant::now();
    for _ in 0..n {
        assert!(passwords.verify("correct horse battery staple", Some(&last)));
    }
    let verify_ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(n);
    println!(
        "argon2id m={MEMORY_KIB} KiB t={PASSES} p=1: hash {hash_ms:.1} ms, verify {verify_ms:.1} ms (n={n})"
    );
}

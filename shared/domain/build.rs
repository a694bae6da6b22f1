//! Embeds the message catalog: every file under `locales/<tag>/` (each
//! locale's `catalog.json` and its message templates) is compiled into the
//! binary, so adding a locale is adding a folder — no Rust changes.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut tags: Vec<String> = std::fs::read_dir(&root)
        .map(|d| d.filter_map(Result::ok).filter(|e| e.path().is_dir()))
        .into_iter()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    // The fallback locale comes first.
    tags.sort_by_key(|t| (t != "en", t.clone()));
    let mut out = String::from("pub(crate) static SOURCES: &[(&str, &[(&str, &str)])] = &[\n");
    for tag in &tags {
        let dir = root.join(tag);
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).filter(|e| e.path().is_file()))
            .into_iter()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        files.sort();
        let _ = writeln!(out, "    ({tag:?}, &[");
        for f in files {
            let path = dir.join(&f);
            let _ =
                writeln!(out, "        ({f:?}, include_str!({:?})),", path.display().to_string());
        }
        out.push_str("    ]),\n");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("catalog_sources.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
}

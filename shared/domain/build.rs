//! Embeds the message catalog: every file under `locales/<tag>/` (each
//! locale's `catalog.json` and its message templates) is compiled into the
//! binary, so adding a locale is adding a folder — no Rust changes.
//!
//! And writes the phone-number metadata the validity check needs (see
//! `src/phone.rs`) from the `phonenumber` crate's copy of Google's
//! libphonenumber data, as static tables: no database to load at run time.

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
    write_out("catalog_sources.rs", out);
    write_out("phone_metadata.rs", phone_metadata());
}

fn write_out(name: &str, contents: String) {
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join(name);
    if let Err(e) = std::fs::write(&dest, contents) {
        panic!("cannot write {}: {e}", dest.display());
    }
}

/// The pattern as the validity check compiles it: libphonenumber's
/// patterns are written to be read with whitespace ignored.
fn pattern(re: &str) -> String {
    re.chars().filter(|c| !c.is_whitespace()).collect()
}

fn opt(value: Option<String>) -> String {
    value.map_or_else(|| "None".to_string(), |v| format!("Some({v:?})"))
}

fn desc(d: &phonenumber::metadata::Descriptor) -> String {
    format!(
        "Desc {{ pattern: {:?}, lengths: &{:?}, local: &{:?} }}",
        pattern(d.national_number().as_str()),
        d.possible_length(),
        d.possible_local_length()
    )
}

fn region(m: &phonenumber::metadata::Metadata) -> String {
    let d = m.descriptors();
    let types: Vec<String> = [
        d.premium_rate(),
        d.toll_free(),
        d.shared_cost(),
        d.voip(),
        d.personal_number(),
        d.pager(),
        d.uan(),
        d.voicemail(),
        d.fixed_line(),
        d.mobile(),
    ]
    .into_iter()
    .flatten()
    .map(desc)
    .collect();
    format!(
        "Region {{ id: {:?}, code: {}, national_prefix: {}, for_parsing: {}, transform: {}, \
         idd: {}, leading: {}, general: {}, types: &[{}] }}",
        m.id(),
        m.country_code(),
        opt(m.national_prefix().map(str::to_string)),
        opt(m.national_prefix_for_parsing().map(|r| pattern(r.as_str()))),
        opt(m.national_prefix_transform_rule().map(str::to_string)),
        opt(m.international_prefix().map(|r| pattern(r.as_str()))),
        opt(m.leading_digits().map(|r| pattern(r.as_str()))),
        desc(d.general()),
        types.join(", ")
    )
}

/// `REGIONS` (every region's metadata, grouped by calling code in the
/// crate's order) and `CODES` (each calling code: the indices of its
/// regions in the order they are tried, and of its first region).
fn phone_metadata() -> String {
    let db = &*phonenumber::metadata::DATABASE;
    let (mut regions, mut codes) = (Vec::new(), Vec::new());
    for code in 1..1000u16 {
        let Some(metas) = db.by_code(&code) else { continue };
        let first = regions.len();
        regions.extend(metas.iter().copied().map(region));
        let order: Vec<usize> = db
            .region(&code)
            .unwrap_or_default()
            .iter()
            .filter_map(|id| metas.iter().position(|m| m.id() == *id).map(|i| first + i))
            .collect();
        codes.push(format!("({code}, &{order:?}, {first})"));
    }
    format!(
        "pub(crate) static REGIONS: &[Region] = &[\n    {}\n];\n\
         pub(crate) static CODES: &[(u16, &[usize], usize)] = &[{}];\n",
        regions.join(",\n    "),
        codes.join(", ")
    )
}

//! Phone numbers: libphonenumber's parse and validity check as the
//! `phonenumber` crate implements them, over metadata that `build.rs`
//! writes out of that crate as static tables. Nothing is loaded at run
//! time: a region's patterns are compiled (ASCII-only, `regex-lite`) the
//! first time one of its numbers is checked, in well under a millisecond,
//! where loading the crate's database takes ~200 ms and its Unicode-aware
//! patterns 10–30 ms per country. `tests` holds this module to the crate on
//! every region's example numbers, written every way a user might.

use regex_lite::Regex;
use std::sync::{LazyLock, OnceLock};

/// A number type's description: the national numbers it covers.
pub(crate) struct Desc {
    pattern: &'static str,
    lengths: &'static [u16],
    local: &'static [u16],
}

/// One region's metadata (the parts the parse and check use).
pub(crate) struct Region {
    id: &'static str,
    code: u16,
    national_prefix: Option<&'static str>,
    for_parsing: Option<&'static str>,
    transform: Option<&'static str>,
    idd: Option<&'static str>,
    leading: Option<&'static str>,
    general: Desc,
    /// Every number type the region has (fixed line, mobile, toll free, …).
    types: &'static [Desc],
}

include!(concat!(env!("OUT_DIR"), "/phone_metadata.rs"));

/// A region's patterns, each compiled the first time it is needed. A
/// pattern that does not compile matches nothing (a test compiles every
/// one).
#[derive(Default)]
struct Compiled {
    general: Cell,
    types: Vec<Cell>,
    for_parsing: Cell,
    idd: Cell,
    leading: Cell,
}

#[derive(Default)]
struct Cell(OnceLock<Option<Regex>>);

impl Cell {
    fn get(&self, pattern: Option<&str>) -> Option<&Regex> {
        self.0.get_or_init(|| Regex::new(pattern?).ok()).as_ref()
    }
}

static COMPILED: LazyLock<Vec<Compiled>> = LazyLock::new(|| {
    REGIONS
        .iter()
        .map(|r| Compiled {
            types: r.types.iter().map(|_| Cell::default()).collect(),
            ..Default::default()
        })
        .collect()
});

/// Region `i`'s metadata and its patterns.
fn region(i: usize) -> Option<(&'static Region, &'static Compiled)> {
    Some((REGIONS.get(i)?, COMPILED.get(i)?))
}

/// Whether `re` matches at the start of `value` (the crate's "match").
fn at_start(re: Option<&Regex>, value: &str) -> bool {
    re.and_then(|re| re.find(value)).is_some_and(|m| m.start() == 0)
}

fn covers(d: &Desc, re: Option<&Regex>, value: &str) -> bool {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    (d.lengths.is_empty() || d.lengths.contains(&len)) && at_start(re, value)
}

fn general(i: usize, value: &str) -> bool {
    region(i)
        .is_some_and(|(r, c)| covers(&r.general, c.general.get(Some(r.general.pattern)), value))
}

/// Whether `value` is a number of some type in region `i`.
fn typed(i: usize, value: &str) -> bool {
    let Some((r, c)) = region(i) else { return false };
    general(i, value)
        && r.types.iter().zip(&c.types).any(|(d, cell)| covers(d, cell.get(Some(d.pattern)), value))
}

#[derive(PartialEq)]
enum Length {
    Possible,
    TooShort,
    Other,
}

fn length(i: usize, len: usize) -> Length {
    let Some(r) = REGIONS.get(i) else { return Length::Other };
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    let possible = r.general.lengths;
    match possible.first() {
        None => Length::Other,
        Some(_) if r.general.local.contains(&len) => Length::Possible,
        Some(&min) if len < min => Length::TooShort,
        Some(_) if possible.contains(&len) => Length::Possible,
        Some(_) => Length::Other,
    }
}

/// The regions of calling code `code`, in the order they are tried, and
/// the first of them.
fn regions_of(code: u16) -> Option<(&'static [usize], usize)> {
    let i = CODES.binary_search_by_key(&code, |c| c.0).ok()?;
    CODES.get(i).map(|c| (c.1, c.2))
}

/// The region whose metadata a national number of `code` is read with.
fn source_for(code: u16, national: &str) -> Option<usize> {
    let (order, first) = regions_of(code)?;
    if let [only] = order {
        return Some(if REGIONS.get(*only)?.id == "001" { first } else { *only });
    }
    order.iter().copied().find(|&i| match region(i) {
        Some((r, c)) if r.leading.is_some() => at_start(c.leading.get(r.leading), national),
        _ => typed(i, national),
    })
}

/// The region that a national number given with calling code `code` is
/// read in: the code's first region (none for non-geographic codes).
pub(crate) fn home_region(code: u16) -> Option<usize> {
    let (_, first) = regions_of(code)?;
    (REGIONS.get(first)?.id != "001").then_some(first)
}

/// A parsed number: its calling code and national significant number.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub code: u16,
    pub national: String,
}

/// Strips region `i`'s national prefix (and carrier code) from `national`.
fn strip_national_prefix(i: usize, national: String) -> String {
    let Some((r, c)) = region(i) else { return national };
    if r.for_parsing.is_none() {
        return match r.national_prefix.and_then(|p| national.strip_prefix(p)) {
            Some(rest) => rest.to_string(),
            None => national,
        };
    }
    let Some(re) = c.for_parsing.get(r.for_parsing) else { return national };
    let Some(caps) = re.captures(&national) else { return national };
    let Some(whole) = caps.get(0).filter(|m| m.start() == 0) else { return national };
    let last = caps.get(caps.len().saturating_sub(1));
    match r.transform {
        Some(rule) if last.is_some() => {
            let transformed = re.replace(&national, rule).into_owned();
            if general(i, &national) && !general(i, &transformed) { national } else { transformed }
        }
        _ => national[whole.end()..].to_string(),
    }
}

/// What the crate's parser keeps of the input: from the first `+` or digit
/// to the last digit; `None` unless it could be a number at all.
fn viable(raw: &str) -> Option<&str> {
    let start = raw.find(|c: char| c == '+' || c.is_ascii_digit())?;
    let end = raw.rfind(|c: char| c.is_ascii_digit())? + 1;
    let s = raw.get(start..end)?;
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (digits >= 3 || (s.len() == 2 && digits == 2)).then_some(s)
}

/// Parses `raw` (digits, spaces, `-`, `.`, `(`, `)`, one leading `+`): an
/// international number, or a national one read in region `home`.
pub(crate) fn parse(raw: &str, home: Option<usize>) -> Option<Parsed> {
    let s = viable(raw)?;
    let plus = s.starts_with('+');
    let mut national: String = s.chars().filter(char::is_ascii_digit).collect();
    let idd = home.and_then(region).and_then(|(r, c)| c.idd.get(r.idd));
    let mut international = plus;
    // An international call prefix (`00`, `011`, …) not followed by a 0.
    let idd_end = idd
        .and_then(|re| re.find(&national))
        .filter(|m| m.start() == 0 && !national[m.end()..].starts_with('0'))
        .map(|m| m.end());
    if let Some(end) = idd_end {
        national = national[end..].to_string();
        international = true;
    }
    let code = if international {
        if national.len() <= 2 || national.starts_with('0') {
            return None;
        }
        let len = (1..=3).find(|&len| {
            national
                .get(..len)
                .and_then(|c| c.parse().ok())
                .is_some_and(|c| regions_of(c).is_some())
        })?;
        let code = national.get(..len)?.parse().ok()?;
        national = national[len..].to_string();
        code
    } else {
        let i = home?;
        let code = REGIONS.get(i)?.code;
        let prefix = code.to_string();
        if national.starts_with(&prefix)
            && (!general(i, &national) || length(i, national.len()) != Length::Possible)
        {
            national = national[prefix.len()..].to_string();
        }
        code
    };
    let meta = home.or_else(|| source_for(code, national.trim_start_matches('0')));
    if let Some(i) = meta {
        let mut potential = strip_national_prefix(i, national.clone());
        if let Some(rest) = REGIONS.get(i)?.national_prefix.and_then(|p| potential.strip_prefix(p))
        {
            potential = rest.to_string();
        }
        if length(i, potential.len()) != Length::TooShort {
            national = potential;
        }
    }
    let significant = national.trim_start_matches('0');
    let value: u64 = significant.parse().ok()?;
    if !(2..=17).contains(&national.len()) || value >= 1 << 56 {
        return None;
    }
    Some(Parsed { code, national })
}

/// Whether a parsed number is a valid number of its region.
pub(crate) fn is_valid(number: &Parsed) -> bool {
    source_for(number.code, &number.national).is_some_and(|i| typed(i, &number.national))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calling_codes_without_metadata_match_it() {
        for region in REGIONS {
            let number = format!("+{}5550100", region.code);
            assert_eq!(crate::address::calling_code(&number), Some(region.code), "{}", region.id);
        }
        assert_eq!(crate::address::calling_code("8613800138000"), None);
        assert_eq!(crate::address::calling_code("+"), None);
    }

    #[test]
    fn every_pattern_compiles() {
        for (i, r) in REGIONS.iter().enumerate() {
            let (_, c) = region(i).unwrap();
            assert!(c.general.get(Some(r.general.pattern)).is_some(), "{} general", r.id);
            for (d, cell) in r.types.iter().zip(&c.types) {
                assert!(cell.get(Some(d.pattern)).is_some(), "{} {}", r.id, d.pattern);
            }
            assert_eq!(c.for_parsing.get(r.for_parsing).is_some(), r.for_parsing.is_some());
            assert_eq!(c.idd.get(r.idd).is_some(), r.idd.is_some(), "{}", r.id);
            assert_eq!(c.leading.get(r.leading).is_some(), r.leading.is_some(), "{}", r.id);
        }
    }

    /// What the `phonenumber` crate makes of `raw`: E.164 if valid.
    fn reference(raw: &str, code: Option<u16>) -> Option<String> {
        let region = match code {
            None => None,
            Some(code) => {
                let regions = phonenumber::metadata::DATABASE.by_code(&code)?;
                Some(regions.first()?.id().parse::<phonenumber::country::Id>().ok()?)
            }
        };
        let number = phonenumber::parse(region, raw).ok()?;
        phonenumber::is_valid(&number)
            .then(|| number.format().mode(phonenumber::Mode::E164).to_string())
    }

    fn ours(raw: &str, code: Option<u16>) -> Option<String> {
        let region = match code {
            None => None,
            Some(code) => Some(home_region(code)?),
        };
        let p = parse(raw, region)?;
        is_valid(&p).then(|| format!("+{}{}", p.code, p.national))
    }

    /// Every region's example numbers, written internationally and
    /// nationally (with and without the national prefix, with punctuation),
    /// plus one digit more and one less, agree with the crate.
    #[test]
    fn agrees_with_the_phonenumber_crate() {
        let mut checked = 0;
        for r in REGIONS {
            let meta = phonenumber::metadata::DATABASE.by_code(&r.code).unwrap_or_default();
            let Some(m) = meta.iter().find(|m| m.id() == r.id) else { continue };
            let d = m.descriptors();
            let samples = [d.general(), d.fixed_line().unwrap_or(d.general())]
                .into_iter()
                .chain(d.mobile())
                .chain(d.toll_free())
                .chain(d.voip())
                .filter_map(|d| d.example().map(str::to_string));
            for example in samples {
                let prefix = r.national_prefix.unwrap_or("");
                let longer = format!("{example}5");
                let shorter = example[..example.len().saturating_sub(1)].to_string();
                let spaced: String = example
                    .chars()
                    .enumerate()
                    .flat_map(|(i, c)| (i > 0 && i % 3 == 0).then_some(' ').into_iter().chain([c]))
                    .collect();
                let inputs = [
                    (format!("+{}{example}", r.code), None),
                    (format!("+{} ({example})", r.code), None),
                    (format!("+{}{longer}", r.code), None),
                    (format!("+{}{shorter}", r.code), None),
                    (format!("+{}0{example}", r.code), None),
                    (example.clone(), Some(r.code)),
                    (format!("{prefix}{example}"), Some(r.code)),
                    (format!("{prefix} {spaced}"), Some(r.code)),
                    (format!("{}{example}", r.code), Some(r.code)),
                    (format!("00{}{example}", r.code), Some(r.code)),
                    (longer.clone(), Some(r.code)),
                    (shorter.clone(), Some(r.code)),
                ];
                for (raw, code) in inputs {
                    assert_eq!(
                        ours(&raw, code),
                        reference(&raw, code),
                        "{} {raw:?} {code:?}",
                        r.id
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 2000, "{checked}");
    }

    #[test]
    fn short_and_odd_inputs_agree_with_the_phonenumber_crate() {
        let inputs = [
            "+1",
            "+12",
            "+123",
            "12",
            "123",
            "+0123456789",
            "+999123456",
            "(650) 253-0000",
            "+1 (650) 253-0000",
            "+86 138 0013 8000",
            "13800138000",
            "0000000",
            "+440000000000",
            "0207 946 0958",
            "+44 (0) 20 7946 0958",
            "+49 030 123456",
            "+39 06 1234 5678",
            "+54 9 11 1234 5678",
            "011 54 9 11 1234 5678",
            "+800 1234 5678",
            "+882 1234 5678",
        ];
        for raw in inputs {
            for code in [None, Some(1), Some(44), Some(86), Some(54), Some(39), Some(800)] {
                assert_eq!(ours(raw, code), reference(raw, code), "{raw:?} {code:?}");
            }
        }
    }
}

//! The message catalog: for each locale, a folder `locales/<tag>/` with
//! `catalog.json` (which language tags it serves, and the text of every API
//! error) and the minijinja templates of the messages Vericode sends. The
//! folders are embedded at build time (`build.rs`); adding a locale is adding
//! a folder. `en` is the fallback and the reference: every other locale must
//! have the same templates and error texts, or the catalog refuses to load.
//! Error texts fill in `{{ field }}` only; message templates are minijinja,
//! compiled on first use (`Catalog::templates`).

use minijinja::Environment;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{LazyLock, OnceLock};

include!(concat!(env!("OUT_DIR"), "/catalog_sources.rs"));

/// A supported locale: an index into the catalog. The default is the fallback (`en`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Locale(usize);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocaleFile {
    #[allow(dead_code)]
    name: String,
    /// Lower-case language tags; a trailing `*` also matches longer tags
    /// (`en*`: `en`, `en-GB`, …).
    matches: Vec<String>,
    errors: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
#[error("message catalog, locales/{locale}/{file}: {reason}")]
pub struct CatalogError {
    pub locale: &'static str,
    pub file: String,
    pub reason: String,
}

pub struct Catalog {
    /// Per locale: error key → text.
    errors: Vec<BTreeMap<String, String>>,
    matches: Vec<Vec<String>>,
    /// The message templates, compiled on first use: functions that send no
    /// message never compile them (nor link the template engine).
    templates: OnceLock<Result<Environment<'static>, CatalogError>>,
}

static CATALOG: LazyLock<Result<Catalog, CatalogError>> = LazyLock::new(Catalog::build);

/// The catalog, read once per process. Composition roots call this at
/// start so that a broken catalog fails the start, not a request.
pub fn catalog() -> Result<&'static Catalog, &'static CatalogError> {
    CATALOG.as_ref()
}

fn refuse(locale: &'static str, file: &str, reason: impl ToString) -> CatalogError {
    CatalogError { locale, file: file.to_string(), reason: reason.to_string() }
}

impl Catalog {
    /// Reads every locale's `catalog.json` and checks each locale has the
    /// files and error texts the fallback has.
    fn build() -> Result<Catalog, CatalogError> {
        let mut catalog =
            Catalog { errors: Vec::new(), matches: Vec::new(), templates: OnceLock::new() };
        let mut reference: Option<(Vec<&str>, Vec<String>)> = None;
        for (tag, files) in SOURCES {
            let json = files.iter().find(|(f, _)| *f == "catalog.json");
            let json = json.ok_or_else(|| refuse(tag, "catalog.json", "missing"))?.1;
            let parsed: LocaleFile =
                serde_json::from_str(json).map_err(|e| refuse(tag, "catalog.json", e))?;
            let names: Vec<&str> = files.iter().map(|(f, _)| *f).collect();
            let keys: Vec<String> = parsed.errors.keys().cloned().collect();
            match &reference {
                None => reference = Some((names.clone(), keys.clone())),
                Some((ref_names, ref_keys)) => {
                    if let Some(f) = ref_names.iter().find(|f| !names.contains(f)) {
                        return Err(refuse(tag, f, "missing (the en locale has it)"));
                    }
                    if let Some(k) = ref_keys.iter().find(|k| !keys.contains(k)) {
                        return Err(refuse(tag, "catalog.json", format!("no text for error {k}")));
                    }
                }
            }
            catalog.errors.push(parsed.errors);
            catalog.matches.push(parsed.matches);
        }
        Ok(catalog)
    }

    /// The message templates, compiled (once). A template that does not
    /// compile is named with its file.
    pub fn templates(&self) -> Result<&Environment<'static>, &CatalogError> {
        self.templates
            .get_or_init(|| {
                let mut env = Environment::new();
                for (tag, files) in SOURCES {
                    for (file, source) in files.iter().filter(|(f, _)| *f != "catalog.json") {
                        env.add_template_owned(format!("{tag}/{file}"), *source)
                            .map_err(|e| refuse(tag, file, e))?;
                    }
                }
                Ok(env)
            })
            .as_ref()
    }

    /// Renders the template `name` (a file in the locale's folder).
    pub fn render(
        &self,
        locale: Locale,
        name: &str,
        ctx: &minijinja::Value,
    ) -> Result<String, minijinja::Error> {
        let env = self.templates().map_err(|e| {
            minijinja::Error::new(minijinja::ErrorKind::TemplateNotFound, e.to_string())
        })?;
        let full = format!("{}/{name}", locale.as_str());
        Ok(env.get_template(&full)?.render(ctx)?.trim().to_string())
    }

    /// The text of API error `key` (e.g. `invalid_request.missing`), with
    /// `{{ field }}` filled in; the fallback locale's, else the key itself.
    pub fn error_text(&self, locale: Locale, key: &str, field: Option<&str>) -> String {
        [locale, Locale::default()]
            .iter()
            .find_map(|l| self.errors.get(l.0)?.get(key))
            .map_or_else(|| key.to_string(), |t| t.replace("{{ field }}", field.unwrap_or("")))
    }

    fn find(&self, tag: &str) -> Option<Locale> {
        let tag = tag.trim().to_ascii_lowercase().replace('_', "-");
        self.matches
            .iter()
            .position(|patterns| {
                patterns.iter().any(|p| match p.strip_suffix('*') {
                    Some(stem) => tag == stem || tag.starts_with(&format!("{stem}-")),
                    None => tag == *p,
                })
            })
            .map(Locale)
    }
}

impl Locale {
    /// The locale's tag, as its folder is named (`en`, `zh-Hans`).
    pub fn as_str(self) -> &'static str {
        SOURCES.get(self.0).map_or("en", |(tag, _)| tag)
    }

    /// Every locale in the catalog.
    pub fn all() -> impl Iterator<Item = Locale> {
        (0..SOURCES.len()).map(Locale)
    }

    /// Maps a language tag to a supported locale, by the locales' `matches`;
    /// `None` when no locale serves it (e.g. Traditional Chinese).
    pub fn from_tag(tag: &str) -> Option<Locale> {
        catalog().ok()?.find(tag)
    }

    /// A `locale` field: a supported tag, else the fallback.
    pub fn from_field(tag: &str) -> Locale {
        Locale::from_tag(tag).unwrap_or_default()
    }

    /// Picks the supported language the client prefers most from an
    /// `Accept-Language` header, honouring `q` weights; the fallback if none.
    pub fn from_accept_language(header: &str) -> Locale {
        let mut best: Option<(f32, Locale)> = None;
        for item in header.split(',') {
            let mut pieces = item.split(';');
            let tag = pieces.next().unwrap_or_default();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(locale) = Locale::from_tag(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, locale));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(t: &str) -> Option<&'static str> {
        Locale::from_tag(t).map(Locale::as_str)
    }

    #[test]
    fn the_catalog_loads_and_every_locale_is_complete() {
        let c = catalog().unwrap();
        assert_eq!(Locale::default().as_str(), "en");
        assert!(Locale::all().count() >= 2);
        for l in Locale::all() {
            let text = c.error_text(l, "invalid_request.missing", Some("to"));
            assert!(text.contains("`to`"), "{}: {text}", l.as_str());
        }
        assert_eq!(c.error_text(Locale::default(), "no_such_error", None), "no_such_error");
        assert!(c.templates().is_ok(), "every template compiles");
    }

    #[test]
    fn tags() {
        for (t, want) in [
            ("en", Some("en")),
            ("en-GB", Some("en")),
            ("zh", Some("zh-Hans")),
            ("zh-Hans", Some("zh-Hans")),
            ("zh-Hans-CN", Some("zh-Hans")),
            ("zh_CN", Some("zh-Hans")),
            ("zh-TW", None),
            ("zh-Hant", None),
            ("fr", None),
            ("", None),
        ] {
            assert_eq!(tag(t), want, "{t}");
        }
        assert_eq!(Locale::from_field("de").as_str(), "en");
    }

    #[test]
    fn accept_language_weights() {
        let pick = |h: &str| Locale::from_accept_language(h).as_str();
        assert_eq!(pick("zh-CN,zh;q=0.9,en;q=0.8"), "zh-Hans");
        assert_eq!(pick("fr-FR, en;q=0.5, zh;q=0.7"), "zh-Hans");
        assert_eq!(pick("en;q=0.9, zh;q=0.1"), "en");
        assert_eq!(pick("zh;q=0, fr"), "en");
        assert_eq!(pick("garbage;;q=x"), "en");
    }
}

//! Named template sets for code messages: the optional `template` of
//! `POST /v1/codes` (what other services call a template id). The built-in
//! set is `default` (the catalog's); more come from `TEMPLATES_DIR`:
//!
//! ```text
//! TEMPLATES_DIR/<name>/<locale>/code.subject.txt  email subject  } email: all
//!                               code.txt          email text     } three, or
//!                               code.html         email HTML     } none
//!                               code.sms.txt      SMS text
//! ```
//!
//! `<name>` is 1–64 of `a-z`, `0-9`, `-`, `_`; `<locale>` a catalog locale
//! (`en`, `zh-Hans`). Every set has `en` (the fallback for locales it lacks)
//! and serves the channels `en` has. The templates are minijinja with the
//! built-in set's context (`app_name`, `code`, `minutes`, `purpose`,
//! `channel`). Everything is read, compiled and rendered once with a sample
//! at start: a broken set stops the start with its file named, never a send.

use crate::address::Channel;
use crate::catalog::Locale;
use minijinja::{Environment, context};
use std::collections::BTreeMap;
use std::path::Path;

/// The name of the built-in set.
pub const DEFAULT: &str = "default";

const EMAIL: [&str; 3] = ["code.subject.txt", "code.txt", "code.html"];
const SMS: &str = "code.sms.txt";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("TEMPLATES_DIR, {file}: {reason}")]
pub struct TemplateError {
    pub file: String,
    pub reason: String,
}

fn refuse(file: impl AsRef<Path>, reason: impl ToString) -> TemplateError {
    TemplateError { file: file.as_ref().display().to_string(), reason: reason.to_string() }
}

/// The sets loaded from `TEMPLATES_DIR` (none without it).
#[derive(Default)]
pub struct TemplateSets {
    env: Environment<'static>,
    /// Set name → whether its `en` serves email, SMS.
    sets: BTreeMap<String, (bool, bool)>,
}

impl std::fmt::Debug for TemplateSets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateSets").field("sets", &self.sets.keys()).finish()
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn entries(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, TemplateError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| refuse(dir, e))? {
        let path = entry.map_err(|e| refuse(dir, e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if !name.starts_with('.') {
            out.push((name, path));
        }
    }
    out.sort();
    Ok(out)
}

impl TemplateSets {
    /// Reads, compiles and test-renders every set under `dir`.
    pub fn load(dir: &Path) -> Result<Self, TemplateError> {
        let mut sets = TemplateSets::default();
        for (name, path) in entries(dir)? {
            if !path.is_dir() || !valid_name(&name) || name == DEFAULT {
                return Err(refuse(
                    &path,
                    "expected a folder named 1-64 of a-z 0-9 - _ (not `default`)",
                ));
            }
            let mut locales = Vec::new();
            for (tag, locale_dir) in entries(&path)? {
                let locale = Locale::from_tag(&tag)
                    .filter(|l| l.as_str() == tag && locale_dir.is_dir())
                    .ok_or_else(|| {
                        refuse(&locale_dir, "not a supported locale folder (en, zh-Hans, …)")
                    })?;
                sets.add_locale(&name, locale, &locale_dir)?;
                locales.push(locale.as_str());
            }
            if !locales.contains(&"en") {
                return Err(refuse(path.join("en"), "missing: every set needs en, the fallback"));
            }
            let has = |f: &str| sets.env.get_template(&format!("{name}/en/{f}")).is_ok();
            let (email, sms) = (has(EMAIL[0]), has(SMS));
            sets.sets.insert(name, (email, sms));
        }
        Ok(sets)
    }

    fn add_locale(&mut self, name: &str, locale: Locale, dir: &Path) -> Result<(), TemplateError> {
        let files = entries(dir)?;
        let present = |f: &str| files.iter().any(|(n, _)| n == f);
        if let Some((file, path)) =
            files.iter().find(|(f, _)| !EMAIL.contains(&f.as_str()) && f != SMS)
        {
            return Err(refuse(
                path,
                format!("unknown file {file}: expected {EMAIL:?} and/or {SMS}"),
            ));
        }
        let email = EMAIL.iter().filter(|f| present(f)).count();
        if email != 0 && email != EMAIL.len() {
            return Err(refuse(dir, format!("an email template needs all of {EMAIL:?}")));
        }
        if files.is_empty() {
            return Err(refuse(dir, "empty"));
        }
        for (file, path) in &files {
            let source = std::fs::read_to_string(path).map_err(|e| refuse(path, e))?;
            let key = format!("{name}/{}/{file}", locale.as_str());
            self.env.add_template_owned(key.clone(), source).map_err(|e| refuse(path, e))?;
            let sample = context! {
                app_name => "Sample", code => "123456", minutes => 10, purpose => "register",
                channel => if file == SMS { "sms" } else { "email" },
            };
            let rendered = self.env.get_template(&key).and_then(|t| t.render(sample));
            match rendered {
                Ok(text) if text.trim().is_empty() => return Err(refuse(path, "renders empty")),
                Ok(_) => {}
                Err(e) => return Err(refuse(path, e)),
            }
        }
        Ok(())
    }

    /// Whether `name` can write a code message on `channel` (`default` always can).
    pub fn serves(&self, name: &str, channel: Channel) -> bool {
        name == DEFAULT
            || self.sets.get(name).is_some_and(|(email, sms)| match channel {
                Channel::Email => *email,
                Channel::Sms => *sms,
            })
    }

    /// Renders file `file` of set `name` in `locale`, else in `en`; `None`
    /// if the set is unknown or has the file in neither.
    pub fn render(
        &self,
        name: &str,
        locale: Locale,
        file: &str,
        ctx: &minijinja::Value,
    ) -> Option<Result<String, minijinja::Error>> {
        self.sets.get(name)?;
        let template = [locale.as_str(), "en"]
            .iter()
            .find_map(|tag| self.env.get_template(&format!("{name}/{tag}/{file}")).ok())?;
        Some(template.render(ctx).map(|t| t.trim().to_string()))
    }
}

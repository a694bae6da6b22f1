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
//! `channel`). Whatever renders them (`load`) reads, compiles and renders
//! everything once with a sample at start: a broken set stops the start with
//! its file named, never a send. The send function reads only a
//! `TemplateIndex` (the layout checked, nothing compiled): a different type,
//! so it can't be wired where messages are rendered.

use crate::address::Channel;
use crate::catalog::Locale;
use minijinja::{Environment, context};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

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

/// The sets loaded and compiled from `TEMPLATES_DIR` (none without it):
/// what renders messages.
#[derive(Default)]
pub struct TemplateSets {
    env: Environment<'static>,
    index: Arc<TemplateIndex>,
}

impl std::fmt::Debug for TemplateSets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateSets").field("sets", &self.index.sets.keys()).finish()
    }
}

/// The sets under `TEMPLATES_DIR` and the channels each serves, nothing
/// compiled: what a send needs to accept or refuse a set's name.
#[derive(Debug, Default)]
pub struct TemplateIndex {
    sets: Sets,
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

/// Set name → whether its `en` serves email, SMS.
type Sets = BTreeMap<String, (bool, bool)>;

/// Walks the sets under `dir`, checking names, locales and files, and calls
/// `each(key, file, path)` for every template (`key` is `<set>/<locale>/<file>`).
fn walk(
    dir: &Path,
    each: &mut dyn FnMut(&str, &str, &Path) -> Result<(), TemplateError>,
) -> Result<Sets, TemplateError> {
    let mut sets = Sets::new();
    for (name, path) in entries(dir)? {
        if !path.is_dir() || !valid_name(&name) || name == DEFAULT {
            return Err(refuse(
                &path,
                "expected a folder named 1-64 of a-z 0-9 - _ (not `default`)",
            ));
        }
        let mut en = None;
        for (tag, locale_dir) in entries(&path)? {
            let locale = Locale::from_tag(&tag)
                .filter(|l| l.as_str() == tag && locale_dir.is_dir())
                .ok_or_else(|| {
                    refuse(&locale_dir, "not a supported locale folder (en, zh-Hans, …)")
                })?;
            let serves = walk_locale(&locale_dir, &mut |file, path| {
                each(&format!("{name}/{}/{file}", locale.as_str()), file, path)
            })?;
            if tag == "en" {
                en = Some(serves);
            }
        }
        let serves =
            en.ok_or_else(|| refuse(path.join("en"), "missing: every set needs en, the fallback"))?;
        sets.insert(name, serves);
    }
    Ok(sets)
}

/// Checks one locale folder's files and calls `each(file, path)` for each;
/// whether it has an email (all three files) and an SMS template.
fn walk_locale(
    dir: &Path,
    each: &mut dyn FnMut(&str, &Path) -> Result<(), TemplateError>,
) -> Result<(bool, bool), TemplateError> {
    let files = entries(dir)?;
    let present = |f: &str| files.iter().any(|(n, _)| n == f);
    if let Some((file, path)) = files.iter().find(|(f, _)| !EMAIL.contains(&f.as_str()) && f != SMS)
    {
        return Err(refuse(path, format!("unknown file {file}: expected {EMAIL:?} and/or {SMS}")));
    }
    let email = EMAIL.iter().filter(|f| present(f)).count();
    if email != 0 && email != EMAIL.len() {
        return Err(refuse(dir, format!("an email template needs all of {EMAIL:?}")));
    }
    if files.is_empty() {
        return Err(refuse(dir, "empty"));
    }
    for (file, path) in &files {
        each(file, path)?;
    }
    Ok((email == EMAIL.len(), present(SMS)))
}

impl TemplateSets {
    /// Reads, compiles and test-renders every set under `dir`. Sets are
    /// written as the built-in one is: minijinja's built-in filters, tests
    /// and functions, and `.html` files escaped as HTML.
    pub fn load(dir: &Path) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        let sets = walk(dir, &mut |key, file, path| {
            let source = std::fs::read_to_string(path).map_err(|e| refuse(path, e))?;
            env.add_template_owned(key.to_string(), source).map_err(|e| refuse(path, e))?;
            let sample = context! {
                app_name => "Sample", code => "123456", minutes => 10, purpose => "register",
                channel => if file == SMS { "sms" } else { "email" },
            };
            match env.get_template(key).and_then(|t| t.render(sample)) {
                Ok(text) if text.trim().is_empty() => Err(refuse(path, "renders empty")),
                Ok(_) => Ok(()),
                Err(e) => Err(refuse(path, e)),
            }
        })?;
        Ok(TemplateSets { env, index: Arc::new(TemplateIndex { sets }) })
    }

    /// Which sets there are and what each serves.
    pub fn index(&self) -> Arc<TemplateIndex> {
        self.index.clone()
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
        self.index.sets.get(name)?;
        let template = [locale.as_str(), "en"]
            .iter()
            .find_map(|tag| self.env.get_template(&format!("{name}/{tag}/{file}")).ok())?;
        Some(template.render(ctx).map(|t| t.trim().to_string()))
    }
}

impl TemplateIndex {
    /// The sets under `dir` and the channels each serves, with the folder
    /// layout checked but nothing compiled: what a function that only
    /// names a set when it sends needs (the delivery function `load`s them,
    /// and refuses to start on a broken one). Links no template engine.
    pub fn read(dir: &Path) -> Result<Self, TemplateError> {
        Ok(TemplateIndex { sets: walk(dir, &mut |_, _, _| Ok(()))? })
    }

    /// Whether `name` can write a code message on `channel` (`default` always can).
    pub fn serves(&self, name: &str, channel: Channel) -> bool {
        name == DEFAULT
            || self.sets.get(name).is_some_and(|(email, sms)| match channel {
                Channel::Email => *email,
                Channel::Sms => *sms,
            })
    }
}

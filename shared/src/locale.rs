//! The languages messages and errors are written in.

use serde::Serialize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum Locale {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-Hans")]
    ZhHans,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhHans => "zh-Hans",
        }
    }

    /// Maps a language tag to a supported locale: `en*` is English; `zh`,
    /// `zh-Hans*`, `zh-CN` and `zh-SG` are Simplified Chinese. Everything else
    /// (including Traditional Chinese, which we have no templates for) is `None`.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let tag = tag.trim().to_ascii_lowercase().replace('_', "-");
        let mut parts = tag.split('-');
        match (parts.next(), parts.next()) {
            (Some("en"), _) => Some(Locale::En),
            (Some("zh"), None | Some("hans" | "cn" | "sg")) => Some(Locale::ZhHans),
            _ => None,
        }
    }

    /// A `locale` field: a supported tag, else English.
    pub fn from_field(tag: &str) -> Locale {
        Locale::from_tag(tag).unwrap_or_default()
    }

    /// Picks the supported language the client prefers most from an
    /// `Accept-Language` header, honouring `q` weights; English if none.
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
    use super::Locale::{self, *};

    #[test]
    fn tags() {
        for (tag, want) in [
            ("en", Some(En)),
            ("en-GB", Some(En)),
            ("zh", Some(ZhHans)),
            ("zh-Hans", Some(ZhHans)),
            ("zh-Hans-CN", Some(ZhHans)),
            ("zh_CN", Some(ZhHans)),
            ("zh-TW", None),
            ("zh-Hant", None),
            ("fr", None),
            ("", None),
        ] {
            assert_eq!(Locale::from_tag(tag), want, "{tag}");
        }
        assert_eq!(Locale::from_field("de"), En);
    }

    #[test]
    fn accept_language_weights() {
        assert_eq!(Locale::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), ZhHans);
        assert_eq!(Locale::from_accept_language("fr-FR, en;q=0.5, zh;q=0.7"), ZhHans);
        assert_eq!(Locale::from_accept_language("en;q=0.9, zh;q=0.1"), En);
        assert_eq!(Locale::from_accept_language("zh;q=0, fr"), En);
        assert_eq!(Locale::from_accept_language("garbage;;q=x"), En);
    }
}

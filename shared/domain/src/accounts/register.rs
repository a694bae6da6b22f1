//! `POST /v1/accounts`.

use super::client::Client;
use super::common::{SessionIssued, address, proof};
use super::devices::NewSession;
use crate::address::Destination;
use crate::catalog::Locale;
use crate::codes::{self, CheckError};
use crate::config::RegistrationMode;
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::outbox::AccountEvent;
use crate::password::Password;
use crate::ports::{AccountRecord, AccountWrite, ApplyOutcome, Refusal, SecretKind};
use crate::purpose::Purpose;
use crate::services::Services;
use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country_code: Option<u16>,
    pub password: String,
    pub code: Option<String>,
    pub verification_token: Option<String>,
    pub invite: Option<String>,
    pub locale: Option<String>,
    pub display_name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Invite-only, and the invite is missing, unknown, used or expired.
    #[error("invite invalid")]
    InviteInvalid,
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error("account exists")]
    AccountExists,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(RegisterError);

/// `display_name`: trimmed and NFC-normalised, 1–64 grapheme clusters (what
/// a reader counts as characters), with nothing hidden or private in it.
fn display_name(raw: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(raw) = raw else { return Ok(None) };
    let name: String = raw.trim().nfc().collect();
    let graphemes = name.graphemes(true).count();
    // Marks stacked on one character (a tower of accents) are no one's name.
    let stacked = name.graphemes(true).any(|g| g.chars().count() > MAX_MARKS);
    if !(1..=64).contains(&graphemes) || stacked || name.chars().any(hidden_or_private) {
        return Err(Invalid::value("display_name"));
    }
    Ok(Some(name))
}

/// Code points one grapheme of a name may hold (a letter and its marks, a
/// flag, an emoji with its modifier).
const MAX_MARKS: usize = 8;

/// Characters a name shown as "log in as …" must not hold: controls (Cc),
/// format characters (Cf: zero-width, joiners, bidi overrides and
/// isolates), private-use (Co) and unassigned code points, line or
/// paragraph separators, and the characters that show nothing although
/// they are letters or marks (the address rules' invisible ones: the
/// combining grapheme joiner, Hangul fillers, variation selectors…; the
/// braille blank). Any of them can make a name read as another.
fn hidden_or_private(c: char) -> bool {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    crate::address::invisible(c)
        || c == '\u{2800}'
        || matches!(
            c.general_category(),
            G::Control
                | G::Format
                | G::PrivateUse
                | G::Unassigned
                | G::Surrogate
                | G::LineSeparator
                | G::ParagraphSeparator
        )
}

/// Round trips: 1 to read the code's (or token's) record, then 1 transaction:
/// account, address, code and invite, all or nothing.
pub async fn register(
    s: &Services,
    req: Register,
    client: &Client,
) -> Result<SessionIssued, RegisterError> {
    let dest = address(&s.config, req.email.as_deref(), req.phone.as_deref(), req.country_code)?;
    let password = Password::parse(&req.password, "password")?;
    let proof = proof(req.code.as_deref(), req.verification_token.as_deref())?;
    let display_name = display_name(req.display_name.as_deref())?;
    let locale = req.locale.as_deref().map(|l| Locale::from_field(l).as_str().to_string());
    let invite = match (s.config.registration_mode, req.invite.as_deref()) {
        (RegistrationMode::Invite, None) => return Err(RegisterError::InviteInvalid),
        (RegistrationMode::Invite, Some(i)) => Some(s.keys.secret_hash("invite", i.trim())),
        (RegistrationMode::Open, _) => None,
    };
    // The code first: it is cheap, and hashing only for a good one keeps
    // argon2 from being a lever for anyone without a code.
    let redemption = codes::redeem(s, Purpose::Register, &dest, proof, client.ip).await?;
    let password_hash = s.passwords.hash(&password, &*s.random)?;
    let now = s.clock.now();
    let account = AccountRecord {
        id: s.new_id()?,
        email: matches!(dest, Destination::Email(_)).then(|| dest.address().to_string()),
        phone: matches!(dest, Destination::Phone(_)).then(|| dest.address().to_string()),
        password_hash: Some(password_hash),
        display_name,
        locale,
        created_at: now,
        ..Default::default()
    };
    let mut writes = vec![
        AccountWrite::PutAccount(account.clone()),
        AccountWrite::ClaimAddress { key: dest.key(), account_id: account.id.clone() },
    ];
    writes.extend(redemption.clone().writes());
    writes.extend(invite.map(|hash| AccountWrite::UseSecret { kind: SecretKind::Invite, hash }));
    let stored = AccountRecord { version: 1, ..account.clone() };
    let secs = (super::common::DEFAULT_SESSION_SECS, AccountEvent::Registered);
    let new = NewSession::issue(s, &stored, secs, client)?;
    writes.extend(new.writes());
    match s.store.apply(&writes, now).await? {
        ApplyOutcome::Committed => {}
        ApplyOutcome::Refused(Refusal::AddressTaken) => return Err(RegisterError::AccountExists),
        ApplyOutcome::Refused(Refusal::ProofUsed) => return Err(CheckError::used().into()),
        ApplyOutcome::Refused(Refusal::SecretUnusable) => return Err(RegisterError::InviteInvalid),
        ApplyOutcome::Refused(
            Refusal::AccountChanged | Refusal::SessionEnded | Refusal::AlreadyEnded,
        ) => {
            return Err(Fault::internal("register", "account id collision").into());
        }
    }
    new.relay(s).await;
    tracing::info!(account = %account.id, to = %dest, "account registered");
    Ok(new.issued)
}

#[cfg(test)]
mod tests {
    use super::display_name;

    fn refused(name: &str) -> bool {
        display_name(Some(name)).is_err()
    }

    #[test]
    fn names_that_lie_are_refused() {
        for name in [
            "Alice\u{202e}ecila",    // right-to-left override
            "Ali\u{200b}ce",         // zero-width space
            "\u{2066}Alice\u{2069}", // isolates
            "Alice\u{200d}",         // zero-width joiner
            "Ali\u{feff}ce",         // byte order mark
            "Alice\u{e000}",         // private use
            "Alice\u{7}",            // control
            "Alice\u{2028}Bob",      // line separator
            "Al\u{34f}ice",          // combining grapheme joiner
            "Al\u{3164}ice",         // Hangul filler
            "Alice\u{fe0f}",         // variation selector
            "Al\u{2800}ice",         // braille blank
            "A\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}", // stacked marks
            "",
            "   ",
        ] {
            assert!(refused(name), "{name:?}");
        }
    }

    #[test]
    fn names_are_nfc_and_counted_in_graphemes() {
        // "é" as e + combining acute is stored composed.
        assert_eq!(display_name(Some(" Jose\u{301} ")).unwrap().as_deref(), Some("Jos\u{e9}"));
        // 64 flags are 128 code points but 64 graphemes: accepted; 65 are not.
        let flag = "\u{1f1fa}\u{1f1f8}";
        assert!(!refused(&flag.repeat(64)));
        assert!(refused(&flag.repeat(65)));
        assert!(!refused("张伟"));
        assert!(!refused("Zoë O'Brien-Smith"));
    }
}

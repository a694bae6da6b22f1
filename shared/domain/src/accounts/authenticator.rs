//! What an account's authenticators accept: a code from an app for a time
//! step not yet taken, or one of its unused recovery codes.

use crate::ports::{AccountRecord, TotpFactor};
use crate::services::Services;
use crate::totp;

/// What a factor's secret is sealed to.
pub(super) fn seal_context(account: &str, factor: &str) -> String {
    format!("totp|{account}|{factor}")
}

/// The factor's secret, opened.
pub(super) fn secret(s: &Services, account: &str, f: &TotpFactor) -> Option<Vec<u8>> {
    let base32 = s.keys.open_code(&seal_context(account, &f.id), &f.sealed_secret)?;
    totp::secret_from_base32(&base32)
}

/// The confirmed factor and time step a code from an authenticator app is
/// right for now (a step after the factor's last), if any.
pub(super) fn accepts(s: &Services, account: &AccountRecord, code: &str) -> Option<(String, i64)> {
    let now = s.clock.now();
    account.factors.iter().filter(|f| f.confirmed).find_map(|f| {
        let secret = secret(s, &account.id, f)?;
        totp::matching_step(&secret, code, now, f.last_step).map(|step| (f.id.clone(), step))
    })
}

/// A recovery code's stored form, bound to its account.
pub(super) fn recovery_hash(s: &Services, account: &str, normalised: &str) -> [u8; 32] {
    s.keys.secret_hash("recovery_code", &format!("{account}\0{normalised}"))
}

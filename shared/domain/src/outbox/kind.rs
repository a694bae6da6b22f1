//! What a send's message is, decided at delivery by who owns the address.

use super::contents::Kind;
use crate::purpose::Purpose;

/// What a send's message is, given the account owning the address (if any)
/// and the caller who asked (if logged in). Where the purpose's rule does
/// not hold, the send still stores its code exactly as it would have — same
/// writes, same limits, so every later check and response is the same — but
/// the code never goes out: the owner is sent a notice instead, or nothing
/// (anti-enumeration). Decided at delivery, off the request's path, so the
/// request never reads who owns the address.
pub fn what_goes_out(purpose: Purpose, owner: Option<&str>, caller: Option<&str>) -> Kind {
    let owned = owner.is_some();
    match purpose {
        Purpose::Register if !owned => Kind::Code,
        Purpose::Register => Kind::AccountExists,
        Purpose::Login | Purpose::ResetPassword if owned => Kind::Code,
        Purpose::Login | Purpose::ResetPassword => Kind::Silent,
        Purpose::Bind if !owned || owner == caller => Kind::Code,
        Purpose::Bind => Kind::BindAttempt,
        Purpose::Verify | Purpose::Confirm => Kind::Code,
    }
}

/// Whether `what_goes_out` depends on who owns the address.
pub fn owner_decides(purpose: Purpose) -> bool {
    !matches!(purpose, Purpose::Verify | Purpose::Confirm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_decides_what_goes_out() {
        use Kind::*;
        for (purpose, owner, want) in [
            (Purpose::Register, None, Code),
            (Purpose::Register, Some("x"), AccountExists),
            (Purpose::Login, Some("x"), Code),
            (Purpose::Login, None, Silent),
            (Purpose::ResetPassword, Some("x"), Code),
            (Purpose::ResetPassword, None, Silent),
            (Purpose::Bind, None, Code),
            (Purpose::Bind, Some("me"), Code),
            (Purpose::Bind, Some("x"), BindAttempt),
            (Purpose::Verify, Some("me"), Code),
            (Purpose::Confirm, Some("x"), Code),
            (Purpose::Confirm, None, Code),
        ] {
            assert_eq!(what_goes_out(purpose, owner, Some("me")), want, "{purpose:?} {owner:?}");
            let decided = what_goes_out(purpose, None, Some("me")) != want;
            assert!(!decided || owner_decides(purpose), "{purpose:?} depends on the owner");
        }
    }
}

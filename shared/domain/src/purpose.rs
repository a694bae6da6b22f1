//! What a code is for (the `purpose` field).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Anyone (captcha); the address must belong to no account.
    Register,
    /// Anyone (captcha); the address must belong to an account.
    Login,
    /// Anyone (captcha); the address must belong to an account.
    ResetPassword,
    /// Logged in; the address must belong to no other account.
    Bind,
    /// Logged in; step-up to the account's own bound address.
    Verify,
    /// Anyone (captcha); no account rule: proves control of any address for
    /// the app's own records. Its token is redeemed server-side only
    /// (`POST /v1/verifications/redeem`).
    Confirm,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Login => "login",
            Purpose::ResetPassword => "reset_password",
            Purpose::Bind => "bind",
            Purpose::Verify => "verify",
            Purpose::Confirm => "confirm",
        }
    }

    /// Whether the request must carry a session token.
    pub fn needs_login(self) -> bool {
        matches!(self, Purpose::Bind | Purpose::Verify)
    }
}

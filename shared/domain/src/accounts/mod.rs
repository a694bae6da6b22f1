//! Accounts and sessions: register, log in (password + captcha, or code),
//! log out, the current account, change and reset the password, bind an
//! email or phone, delete the account, step-up, login links and invites,
//! authenticator apps (TOTP) with recovery codes, and the second step of a
//! login they take.
//!
//! Every change that uses a code, a verification token or an invite is one
//! all-or-nothing store write together with it (`AccountWrite`s).

mod authenticator;
mod bind;
mod client;
mod common;
mod delete;
mod devices;
mod factors;
mod invites;
mod links;
mod login;
mod mfa;
mod password_change;
mod register;
mod slots;
mod step_up;

pub use bind::{BindAddress, BindError, bind};
pub use client::{Client, device_label};
pub use common::{
    AccountView, DEFAULT_SESSION_SECS, INVITE_SECS, LOGIN_FAIL_CEILING,
    LOGIN_FAIL_CEILING_WINDOW_SECS, LOGIN_FAIL_MAX, LOGIN_FAIL_WINDOW_SECS, LOGIN_LINK_SECS,
    MAX_SESSION_SECS, MIN_SESSION_SECS, SessionIssued,
};
pub use delete::{DeleteAccount, DeleteError, delete_account};
pub use devices::{
    EndError, SessionList, SessionView, end_other_sessions, end_session, list_sessions,
};
pub use factors::{
    CONFIRM_ATTEMPTS, ConfirmTotp, FactorError, FactorList, FactorStepUp, FactorView, MAX_FACTORS,
    PENDING_SECS, RecoveryCodes, TotpEnrolment, confirm_totp, delete_factor, enrol_totp,
    list_factors, renew_recovery_codes,
};
pub use invites::{Invite, create_invite};
pub use links::{
    LinkError, LoginAs, LoginLink, LoginLinkRef, RedeemLoginLink, create_login_link,
    inspect_login_link, redeem_login_link,
};
pub use login::{Login, LoginError, login, logout};
pub use mfa::{
    CompleteMfa, MFA_LOGIN_FAILS, MFA_SECS, MFA_SESSION_FAILS, MFA_TOKEN_FAILS, MfaError,
    MfaRequired, SignedIn, complete_mfa,
};
pub use password_change::{
    ChangePassword, PasswordError, ResetError, ResetPassword, change_password, reset_password,
};
pub use register::{Register, RegisterError, register};
pub use step_up::ChangeError;

//! What IAM must allow: each operation of the adapter names the DynamoDB
//! actions it calls, declared beside it in its concern's file.

/// One store operation and the DynamoDB actions it calls. An operation is a
/// port method (`take_captcha`), or a part of one whose actions depend on
/// its input (`commit_send/captcha`, `apply/ReleaseAddress`).
#[derive(Clone, Copy, Debug)]
pub struct Operation {
    pub name: &'static str,
    pub actions: &'static [&'static str],
}

pub(super) const fn op(name: &'static str, actions: &'static [&'static str]) -> Operation {
    Operation { name, actions }
}

//! The store contract: every port method, including each conditional
//! refusal, with the same cases against the embedded store and DynamoDB
//! Local. A refusal must leave the store exactly as it was.

use domain::ports::*;
use std::sync::Arc;
use vericode_tests::{Backend, T0, both_stores, store};

fn captcha(expires_at: i64) -> StoredCaptcha {
    StoredCaptcha { id: uuid::Uuid::new_v4().to_string(), answer_hash: [7; 32], expires_at }
}

fn key() -> String {
    format!("register|email:{}@example.com", uuid::Uuid::new_v4().simple())
}

fn record(key: &str, version: u64) -> DestRecord {
    DestRecord {
        key: key.to_string(),
        version,
        sends: vec![T0],
        code: Some(LiveCode { sealed: vec![1, 2, 3], expires_at: T0 + 600, attempts: 2 }),
        fails: vec![T0 - 5],
        token: Some(LiveToken { jti: "jti-1".into(), expires_at: T0 + 600 }),
        expires_at: T0 + 600,
    }
}

fn counter(kind: LimitKind, limit: u32) -> Counter {
    Counter { key: format!("test|{}", uuid::Uuid::new_v4()), kind, limit, expires_at: T0 + 60 }
}

fn message() -> OutgoingMessage {
    OutgoingMessage {
        id: uuid::Uuid::new_v4().to_string(),
        sealed: vec![9; 64],
        created_at: T0,
        expires_at: T0 + 3600,
        attempts: 0,
    }
}

fn account(email: &str) -> AccountRecord {
    AccountRecord {
        id: uuid::Uuid::new_v4().to_string(),
        email: Some(email.to_string()),
        password_hash: Some("$argon2id$…".into()),
        locale: Some("en".into()),
        created_at: T0,
        ..Default::default()
    }
}

fn owner(id: &str) -> SecretOwner {
    SecretOwner { account_id: id.to_string(), session_epoch: 3 }
}

fn unique_email() -> String {
    format!("{}@example.com", uuid::Uuid::new_v4().simple())
}

async fn a_captcha_is_taken_once(b: Backend) {
    let (store, _) = store(b).await;
    let c = captcha(T0 + 180);
    store.put_captcha(&c).await.unwrap();
    assert_eq!(store.take_captcha(&c.id, T0).await.unwrap(), Some(c.clone()));
    assert_eq!(store.take_captcha(&c.id, T0).await.unwrap(), None);
}

async fn an_unknown_captcha_is_none(b: Backend) {
    let (store, _) = store(b).await;
    assert_eq!(store.take_captcha(&uuid::Uuid::new_v4().to_string(), T0).await.unwrap(), None);
}

async fn an_expired_captcha_is_none_and_gone(b: Backend) {
    let (store, _) = store(b).await;
    let c = captcha(T0 + 180);
    store.put_captcha(&c).await.unwrap();
    // Expired but not yet deleted by TTL: refused, and removed all the same.
    assert_eq!(store.take_captcha(&c.id, T0 + 180).await.unwrap(), None);
    assert_eq!(store.take_captcha(&c.id, T0).await.unwrap(), None);
}

async fn captchas_are_independent(b: Backend) {
    let (store, _) = store(b).await;
    let (c1, c2) = (captcha(T0 + 10), captcha(T0 + 10));
    store.put_captcha(&c1).await.unwrap();
    store.put_captcha(&c2).await.unwrap();
    assert!(store.take_captcha(&c1.id, T0).await.unwrap().is_some());
    assert!(store.take_captcha(&c2.id, T0).await.unwrap().is_some());
}

async fn concurrent_takes_have_one_winner(b: Backend) {
    let (store, _) = store(b).await;
    for _ in 0..5 {
        let c = captcha(T0 + 180);
        store.put_captcha(&c).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (store, id) = (store.clone(), c.id.clone());
                tokio::spawn(async move { store.take_captcha(&id, T0).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for t in tasks {
            winners += t.await.unwrap().is_some() as usize;
        }
        assert_eq!(winners, 1);
    }
}

async fn destinations_load_empty_stored_and_expired(b: Backend) {
    let (store, _) = store(b).await;
    let k = key();
    let (empty, owner) = store.load_destination(&k, "email:nobody@example.com", T0).await.unwrap();
    assert_eq!((empty, owner), (DestRecord { key: k.clone(), ..Default::default() }, None));
    let r = record(&k, 1);
    assert_eq!(store.save_destination(&r, 0).await.unwrap(), SaveOutcome::Committed);
    assert_eq!(store.load_destination(&k, "email:x@example.com", T0).await.unwrap().0, r);
    // Past its expiry (TTL deletion is lazy): read as empty, at the stored
    // version, so the next write still names it.
    let (gone, _) = store.load_destination(&k, "email:x@example.com", T0 + 600).await.unwrap();
    assert_eq!(gone, DestRecord { key: k, version: 1, ..Default::default() });
}

async fn saves_are_conditional_on_the_version(b: Backend) {
    let (store, _) = store(b).await;
    let k = key();
    let r1 = record(&k, 1);
    assert_eq!(store.save_destination(&r1, 0).await.unwrap(), SaveOutcome::Committed);
    // Version 0 means "absent": a second create conflicts.
    assert_eq!(store.save_destination(&record(&k, 1), 0).await.unwrap(), SaveOutcome::Conflict);
    // A stale version conflicts and changes nothing.
    let mut stale = record(&k, 3);
    stale.sends = vec![T0 + 1];
    assert_eq!(store.save_destination(&stale, 2).await.unwrap(), SaveOutcome::Conflict);
    assert_eq!(store.load_destination(&k, "email:x@example.com", T0).await.unwrap().0, r1);
    let r2 = DestRecord { version: 2, code: None, token: None, ..record(&k, 2) };
    assert_eq!(store.save_destination(&r2, 1).await.unwrap(), SaveOutcome::Committed);
    assert_eq!(store.load_destination(&k, "email:x@example.com", T0).await.unwrap().0, r2);
}

async fn a_send_commits_captcha_record_and_counters_together(b: Backend) {
    let (store, _) = store(b).await;
    let (c, k) = (captcha(T0 + 180), key());
    store.put_captcha(&c).await.unwrap();
    let ip = counter(LimitKind::Ip, 2);
    let outcome = store
        .commit_send(
            Some((&c.id, &c.answer_hash)),
            &record(&k, 1),
            0,
            std::slice::from_ref(&ip),
            &message(),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(outcome, SendOutcome::Committed);
    assert_eq!(store.take_captcha(&c.id, T0).await.unwrap(), None, "the captcha is used up");
    assert_eq!(store.load_destination(&k, "email:x", T0).await.unwrap().0, record(&k, 1));
    // The counter holds one: one more fits under the limit of 2, then no more.
    assert_eq!(store.increment(&ip, T0).await.unwrap(), CountOutcome::Counted { count: 2 });
    let full = CountOutcome::LimitReached { until: ip.expires_at };
    assert_eq!(store.increment(&ip, T0).await.unwrap(), full);
}

/// Each refusal of a send names its part and writes nothing.
async fn a_refused_send_writes_nothing(b: Backend) {
    let (store, _) = store(b).await;
    let (c, k) = (captcha(T0 + 180), key());
    store.put_captcha(&c).await.unwrap();
    let ip = counter(LimitKind::Ip, 5);
    let sms = counter(LimitKind::SmsCountry, 1);
    assert_eq!(store.increment(&sms, T0).await.unwrap(), CountOutcome::Counted { count: 1 });
    let counters = [ip.clone(), sms.clone()];
    let captcha_ref = Some((c.id.as_str(), &c.answer_hash));
    let wrong = Some((c.id.as_str(), &[8u8; 32]));
    let refused = message();
    let send = |captcha, version| {
        let (store, k, counters, refused) =
            (store.clone(), k.clone(), counters.clone(), refused.clone());
        async move { store.commit_send(captcha, &record(&k, 1), version, &counters, &refused, T0).await }
    };
    assert_eq!(send(wrong, 0).await.unwrap(), SendOutcome::CaptchaRejected);
    assert_eq!(send(captcha_ref, 7).await.unwrap(), SendOutcome::Conflict);
    let limit = SendOutcome::LimitReached {
        kind: LimitKind::SmsCountry,
        key: sms.key.clone(),
        until: sms.expires_at,
    };
    assert_eq!(send(captcha_ref, 0).await.unwrap(), limit);
    // Nothing was written: the record is absent, the IP counter untouched
    // (5 more fit), and the captcha still there with its answer.
    let (r, _) = store.load_destination(&k, "email:x", T0).await.unwrap();
    assert_eq!(r.version, 0);
    for count in 1..=5 {
        assert_eq!(store.increment(&ip, T0).await.unwrap(), CountOutcome::Counted { count });
    }
    assert_eq!(store.take_captcha(&c.id, T0).await.unwrap(), Some(c.clone()));
    assert_eq!(store.claim_message(&refused.id, T0, T0 + 30).await.unwrap(), Claim::Settled);
    // An expired captcha is refused inside the send too.
    let old = captcha(T0);
    store.put_captcha(&old).await.unwrap();
    let (r, m) = (record(&k, 1), message());
    let outcome = store.commit_send(Some((&old.id, &old.answer_hash)), &r, 0, &[], &m, T0).await;
    assert_eq!(outcome.unwrap(), SendOutcome::CaptchaRejected);
}

async fn concurrent_sends_have_one_winner(b: Backend) {
    let (store, _) = store(b).await;
    let k = key();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, k) = (store.clone(), k.clone());
            tokio::spawn(async move {
                store.commit_send(None, &record(&k, 1), 0, &[], &message(), T0).await
            })
        })
        .collect();
    let mut committed = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            SendOutcome::Committed => committed += 1,
            other => assert_eq!(other, SendOutcome::Conflict),
        }
    }
    assert_eq!(committed, 1);
}

async fn counters_limit_refund_and_roll_over(b: Backend) {
    let (store, _) = store(b).await;
    let c = counter(LimitKind::FailedLogins, 2);
    assert_eq!(store.increment(&c, T0).await.unwrap(), CountOutcome::Counted { count: 1 });
    assert_eq!(store.increment(&c, T0).await.unwrap(), CountOutcome::Counted { count: 2 });
    let full = CountOutcome::LimitReached { until: c.expires_at };
    assert_eq!(store.increment(&c, T0).await.unwrap(), full);
    store.refund(std::slice::from_ref(&c)).await.unwrap();
    assert_eq!(store.increment(&c, T0).await.unwrap(), CountOutcome::Counted { count: 2 });
    // Refunds never go below zero, and an unknown counter is no error.
    let fresh = counter(LimitKind::Ip, 1);
    store.refund(&[fresh.clone(), fresh.clone()]).await.unwrap();
    assert_eq!(store.increment(&fresh, T0).await.unwrap(), CountOutcome::Counted { count: 1 });
    assert!(matches!(
        store.increment(&fresh, T0).await.unwrap(),
        CountOutcome::LimitReached { .. }
    ));
    // A window past its end accepts again.
    let later = Counter { expires_at: T0 + 120, ..c.clone() };
    assert!(matches!(
        store.increment(&later, T0 + 60).await.unwrap(),
        CountOutcome::Counted { .. }
    ));
}

async fn concurrent_increments_never_pass_the_limit(b: Backend) {
    let (store, _) = store(b).await;
    let c = counter(LimitKind::SmsDaily, 7);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, c) = (store.clone(), c.clone());
            tokio::spawn(async move { store.increment(&c, T0).await.unwrap() })
        })
        .collect();
    let mut counted = 0;
    for t in tasks {
        counted += matches!(t.await.unwrap(), CountOutcome::Counted { .. }) as usize;
    }
    assert_eq!(counted, 7);
}

async fn accounts_are_created_read_and_found_by_address(b: Backend) {
    let (store, _) = store(b).await;
    let email = unique_email();
    let a = account(&email);
    let key = format!("email:{email}");
    assert_eq!(store.get_account(&a.id).await.unwrap(), None);
    assert_eq!(store.account_by_address(&key).await.unwrap(), None);
    let writes = [
        AccountWrite::PutAccount(a.clone()),
        AccountWrite::ClaimAddress { key: key.clone(), account_id: a.id.clone() },
    ];
    assert_eq!(store.apply(&writes, T0).await.unwrap(), ApplyOutcome::Committed);
    let stored = AccountRecord { version: 1, ..a.clone() };
    assert_eq!(store.get_account(&a.id).await.unwrap(), Some(stored.clone()));
    assert_eq!(store.account_by_address(&key).await.unwrap(), Some(stored.clone()));
    // Updates name the version they read.
    let changed = AccountRecord { display_name: Some("Kai".into()), ..stored.clone() };
    let put = [AccountWrite::PutAccount(changed.clone())];
    assert_eq!(store.apply(&put, T0).await.unwrap(), ApplyOutcome::Committed);
    let refused = ApplyOutcome::Refused(Refusal::AccountChanged);
    assert_eq!(store.apply(&put, T0).await.unwrap(), refused, "stale version");
    let got = store.get_account(&a.id).await.unwrap().unwrap();
    assert_eq!((got.version, got.display_name.as_deref()), (2, Some("Kai")));
    // The address finds the account as last written, not as first claimed.
    assert_eq!(store.account_by_address(&key).await.unwrap(), Some(got));
}

/// Each refusal of an account write names its meaning and writes nothing.
async fn a_refused_account_write_writes_nothing(b: Backend) {
    let (store, _) = store(b).await;
    let (e1, e2) = (unique_email(), unique_email());
    let (a, other) = (account(&e1), account(&e2));
    let claim = |key: &str, id: &str| AccountWrite::ClaimAddress {
        key: key.to_string(),
        account_id: id.to_string(),
    };
    let k1 = format!("email:{e1}");
    let create = [AccountWrite::PutAccount(a.clone()), claim(&k1, &a.id)];
    assert_eq!(store.apply(&create, T0).await.unwrap(), ApplyOutcome::Committed);

    let k = key();
    let take_other = [AccountWrite::PutAccount(other.clone()), claim(&k1, &other.id)];
    let cases: Vec<(Vec<AccountWrite>, Refusal)> = vec![
        (take_other.to_vec(), Refusal::AddressTaken),
        (vec![AccountWrite::PutAccount(a.clone())], Refusal::AccountChanged),
        (
            vec![
                AccountWrite::PutAccount(other.clone()),
                AccountWrite::ReleaseAddress { key: k1.clone(), account_id: other.id.clone() },
            ],
            Refusal::AccountChanged,
        ),
        (
            vec![
                AccountWrite::PutAccount(other.clone()),
                AccountWrite::SaveDestination { record: record(&k, 2), expected_version: 1 },
            ],
            Refusal::ProofUsed,
        ),
        (
            vec![
                AccountWrite::PutAccount(other.clone()),
                AccountWrite::UseSecret { kind: SecretKind::Invite, hash: [9; 32] },
            ],
            Refusal::SecretUnusable,
        ),
    ];
    for (writes, why) in cases {
        assert_eq!(store.apply(&writes, T0).await.unwrap(), ApplyOutcome::Refused(why));
    }
    // None of them wrote anything.
    assert_eq!(store.get_account(&other.id).await.unwrap(), None);
    assert_eq!(store.account_by_address(&k1).await.unwrap().unwrap().id, a.id);
    assert_eq!(store.load_destination(&k, "email:x", T0).await.unwrap().0.version, 0);
}

async fn an_address_moves_between_accounts_atomically(b: Backend) {
    let (store, _) = store(b).await;
    let (old_email, new_email) = (unique_email(), unique_email());
    let (old, new) = (format!("email:{old_email}"), format!("email:{new_email}"));
    let a = account(&old_email);
    let writes = [
        AccountWrite::PutAccount(a.clone()),
        AccountWrite::ClaimAddress { key: old.clone(), account_id: a.id.clone() },
    ];
    assert_eq!(store.apply(&writes, T0).await.unwrap(), ApplyOutcome::Committed);
    let k = key();
    store.save_destination(&record(&k, 1), 0).await.unwrap();
    let moved = [
        AccountWrite::PutAccount(AccountRecord { version: 1, email: Some(new_email), ..a.clone() }),
        AccountWrite::ClaimAddress { key: new.clone(), account_id: a.id.clone() },
        AccountWrite::SaveDestination { record: record(&k, 2), expected_version: 1 },
        AccountWrite::ReleaseAddress { key: old.clone(), account_id: a.id.clone() },
    ];
    assert_eq!(store.apply(&moved, T0).await.unwrap(), ApplyOutcome::Committed);
    assert_eq!(store.account_by_address(&old).await.unwrap(), None, "released");
    let found = store.account_by_address(&new).await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), found.version), (a.id.as_str(), 2));
    // Claiming an address one already owns is fine.
    let again = [AccountWrite::ClaimAddress { key: new, account_id: a.id.clone() }];
    assert_eq!(store.apply(&again, T0).await.unwrap(), ApplyOutcome::Committed);
}

async fn concurrent_claims_have_one_winner(b: Backend) {
    let (store, _) = store(b).await;
    let address = format!("email:{}", unique_email());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, address) = (store.clone(), address.clone());
            tokio::spawn(async move {
                let a = account("x@example.com");
                let writes = [
                    AccountWrite::PutAccount(a.clone()),
                    AccountWrite::ClaimAddress { key: address, account_id: a.id },
                ];
                store.apply(&writes, T0).await.unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            ApplyOutcome::Committed => won += 1,
            other => assert_eq!(other, ApplyOutcome::Refused(Refusal::AddressTaken)),
        }
    }
    assert_eq!(won, 1);
}

async fn sessions_load_with_their_logout_marker(b: Backend) {
    let (store, _) = store(b).await;
    let a = account(&unique_email());
    store.apply(&[AccountWrite::PutAccount(a.clone())], T0).await.unwrap();
    let (found, revoked) = store.load_session(&a.id, "jti-a", T0).await.unwrap();
    assert_eq!((found.map(|f| f.id), revoked), (Some(a.id.clone()), false));
    store.revoke_session("jti-a", T0 + 100).await.unwrap();
    assert!(store.load_session(&a.id, "jti-a", T0).await.unwrap().1);
    assert!(!store.load_session(&a.id, "jti-b", T0).await.unwrap().1, "only that session");
    assert!(!store.load_session(&a.id, "jti-a", T0 + 100).await.unwrap().1, "until it expires");
    let (none, _) = store.load_session("no-such-account", "jti-a", T0).await.unwrap();
    assert_eq!(none, None);
}

async fn secrets_are_used_once_by_kind(b: Backend) {
    let (store, _) = store(b).await;
    let hash = *uuid::Uuid::new_v4().as_bytes();
    let hash: [u8; 32] = [hash, hash].concat().try_into().unwrap();
    store.put_secret(SecretKind::LoginLink, &hash, &owner("acct-1"), T0 + 300).await.unwrap();
    assert_eq!(store.take_secret(SecretKind::Invite, &hash, T0).await.unwrap(), None, "by kind");
    let taken = store.take_secret(SecretKind::LoginLink, &hash, T0).await.unwrap();
    assert_eq!(taken, Some(owner("acct-1")));
    assert_eq!(store.take_secret(SecretKind::LoginLink, &hash, T0).await.unwrap(), None);
    // Expired: refused and gone.
    store.put_secret(SecretKind::Invite, &hash, &owner("acct-2"), T0 + 300).await.unwrap();
    assert_eq!(store.take_secret(SecretKind::Invite, &hash, T0 + 300).await.unwrap(), None);
    assert_eq!(store.take_secret(SecretKind::Invite, &hash, T0).await.unwrap(), None);
    // An invite is used up inside an account write; an expired one refuses it.
    store.put_secret(SecretKind::Invite, &hash, &owner("acct-3"), T0 + 300).await.unwrap();
    let use_it = [AccountWrite::UseSecret { kind: SecretKind::Invite, hash }];
    let refused = ApplyOutcome::Refused(Refusal::SecretUnusable);
    assert_eq!(store.apply(&use_it, T0 + 300).await.unwrap(), refused);
    assert_eq!(store.apply(&use_it, T0).await.unwrap(), ApplyOutcome::Committed);
    assert_eq!(store.apply(&use_it, T0).await.unwrap(), refused, "once");
}

async fn concurrent_secret_takes_have_one_winner(b: Backend) {
    let (store, _) = store(b).await;
    let hash: [u8; 32] = [*uuid::Uuid::new_v4().as_bytes(), [0; 16]].concat().try_into().unwrap();
    store.put_secret(SecretKind::LoginLink, &hash, &owner("acct"), T0 + 300).await.unwrap();
    let store: Arc<dyn Store> = store;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_secret(SecretKind::LoginLink, &hash, T0).await })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        winners += t.await.unwrap().unwrap().is_some() as usize;
    }
    assert_eq!(winners, 1);
}

/// A committed message is claimed by one delivery at a time, with a lease,
/// and once settled nobody claims it again.
async fn a_message_is_claimed_leased_and_settled(b: Backend) {
    let (store, _) = store(b).await;
    let m = message();
    let sent = store.commit_send(None, &record(&key(), 1), 0, &[], &m, T0).await.unwrap();
    assert_eq!(sent, SendOutcome::Committed);
    let Claim::Claimed(first) = store.claim_message(&m.id, T0, T0 + 30).await.unwrap() else {
        panic!("a pending message is claimed")
    };
    assert_eq!((first.id.as_str(), first.sealed.as_slice()), (m.id.as_str(), m.sealed.as_slice()));
    assert_eq!((first.attempts, first.expires_at), (1, m.expires_at));
    let leased = Claim::Leased { until: T0 + 30 };
    assert_eq!(store.claim_message(&m.id, T0 + 29, T0 + 59).await.unwrap(), leased);
    // A delivery that crashed: once its lease ends the message is free again.
    let Claim::Claimed(second) = store.claim_message(&m.id, T0 + 30, T0 + 60).await.unwrap() else {
        panic!("a lapsed lease is claimed again")
    };
    assert_eq!(second.attempts, 2);
    // Given back after a failed attempt, it is claimed at once.
    store.release_message(&m.id).await.unwrap();
    assert!(matches!(
        store.claim_message(&m.id, T0 + 31, T0 + 61).await.unwrap(),
        Claim::Claimed(_)
    ));
    store.settle_message(&m.id).await.unwrap();
    assert_eq!(store.claim_message(&m.id, T0 + 100, T0 + 130).await.unwrap(), Claim::Settled);
    store.release_message(&m.id).await.unwrap();
    assert_eq!(store.claim_message(&m.id, T0 + 100, T0 + 130).await.unwrap(), Claim::Settled);
    // Unknown and expired messages are settled: there is nothing to send.
    assert_eq!(store.claim_message("unknown", T0, T0 + 30).await.unwrap(), Claim::Settled);
    let old = message();
    store.commit_send(None, &record(&key(), 1), 0, &[], &old, T0).await.unwrap();
    let late = store.claim_message(&old.id, old.expires_at, old.expires_at + 30).await.unwrap();
    assert_eq!(late, Claim::Settled);
}

async fn concurrent_message_claims_have_one_winner(b: Backend) {
    let (store, _) = store(b).await;
    let m = message();
    store.commit_send(None, &record(&key(), 1), 0, &[], &m, T0).await.unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, id) = (store.clone(), m.id.clone());
            tokio::spawn(async move { store.claim_message(&id, T0, T0 + 30).await })
        })
        .collect();
    let mut claimed = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Claim::Claimed(_) => claimed += 1,
            other => assert_eq!(other, Claim::Leased { until: T0 + 30 }),
        }
    }
    assert_eq!(claimed, 1);
}

/// Failing a message saves the record and refunds the counters with it,
/// once; a stale record writes nothing.
async fn a_failed_message_saves_and_refunds_once(b: Backend) {
    let (store, _) = store(b).await;
    let (k, m) = (key(), message());
    let sms = counter(LimitKind::SmsDaily, 1);
    let counters = std::slice::from_ref(&sms);
    store.commit_send(None, &record(&k, 1), 0, counters, &m, T0).await.unwrap();
    let full = CountOutcome::LimitReached { until: sms.expires_at };
    assert_eq!(store.increment(&sms, T0).await.unwrap(), full);
    // Not claimed yet: nothing happens.
    let disabled = DestRecord { version: 2, code: None, sends: vec![], ..record(&k, 2) };
    let fail = |version| {
        let (store, id, r, c) = (store.clone(), m.id.clone(), disabled.clone(), sms.clone());
        async move { store.fail_message(&id, Some((&r, version)), &[c]).await.unwrap() }
    };
    assert_eq!(fail(1).await, FailOutcome::NotClaimed);
    assert!(matches!(store.claim_message(&m.id, T0, T0 + 30).await.unwrap(), Claim::Claimed(_)));
    assert_eq!(fail(7).await, FailOutcome::Conflict);
    assert_eq!(store.increment(&sms, T0).await.unwrap(), full, "a conflict refunds nothing");
    assert_eq!(fail(1).await, FailOutcome::Committed);
    assert_eq!(store.load_destination(&k, "email:x", T0).await.unwrap().0, disabled);
    assert_eq!(store.claim_message(&m.id, T0 + 31, T0 + 61).await.unwrap(), Claim::Settled);
    // Refunded once: one send fits again, and failing again changes nothing.
    assert_eq!(fail(2).await, FailOutcome::NotClaimed);
    assert_eq!(store.increment(&sms, T0).await.unwrap(), CountOutcome::Counted { count: 1 });
    assert_eq!(store.increment(&sms, T0).await.unwrap(), full);
}

async fn addresses_are_suppressed(b: Backend) {
    let (store, _) = store(b).await;
    let a = format!("email:{}@example.com", uuid::Uuid::new_v4().simple());
    assert!(!store.is_suppressed(&a).await.unwrap());
    store.suppress(&a, "bounce", T0).await.unwrap();
    store.suppress(&a, "complaint", T0).await.unwrap();
    assert!(store.is_suppressed(&a).await.unwrap());
    assert!(!store.is_suppressed("email:other@example.com").await.unwrap());
}

both_stores!(
    a_captcha_is_taken_once,
    an_unknown_captcha_is_none,
    an_expired_captcha_is_none_and_gone,
    captchas_are_independent,
    concurrent_takes_have_one_winner,
    destinations_load_empty_stored_and_expired,
    saves_are_conditional_on_the_version,
    a_send_commits_captcha_record_and_counters_together,
    a_refused_send_writes_nothing,
    concurrent_sends_have_one_winner,
    counters_limit_refund_and_roll_over,
    concurrent_increments_never_pass_the_limit,
    accounts_are_created_read_and_found_by_address,
    a_refused_account_write_writes_nothing,
    an_address_moves_between_accounts_atomically,
    concurrent_claims_have_one_winner,
    sessions_load_with_their_logout_marker,
    secrets_are_used_once_by_kind,
    concurrent_secret_takes_have_one_winner,
    a_message_is_claimed_leased_and_settled,
    concurrent_message_claims_have_one_winner,
    a_failed_message_saves_and_refunds_once,
    addresses_are_suppressed,
);

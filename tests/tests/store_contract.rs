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
        code: Some(LiveCode {
            sealed: vec![1, 2, 3],
            hash: Some([4; 32]),
            expires_at: T0 + 600,
            attempts: 2,
            long: false,
        }),
        fails: vec![T0 - 5],
        checks: HourChecks::default(),
        token: Some(LiveToken { jti: "jti-1".into(), expires_at: T0 + 600 }),
        expires_at: T0 + 600,
    }
}

fn replace(record: &DestRecord, expected_version: u64) -> RecordWrite<'_> {
    RecordWrite::Replace { record, expected_version }
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

/// A send's transaction without the SMS guard (`CodeStore::commit_send`).
async fn commit(
    store: &dyn Store,
    captcha: Option<(&str, &[u8; 32])>,
    record: RecordWrite<'_>,
    session: Option<&SessionCheck>,
    counters: &[Counter],
    message: &OutgoingMessage,
    now: Timestamp,
) -> Result<SendOutcome, StoreError> {
    let captcha = captcha.map(|(id, hash)| SendCaptcha::Image { id, hash });
    let send = SendWrite { captcha, record, session, counters, guard: None, message };
    store.commit_send(&send, now).await
}

/// A challenge is spent once, alone or inside a send, until it expires.
async fn a_challenge_is_spent_once_alone_or_in_a_send(b: Backend) {
    let (store, _) = store(b).await;
    assert!(store.spend_challenge("n1", T0 + 180, T0).await.unwrap());
    assert!(!store.spend_challenge("n1", T0 + 180, T0 + 179).await.unwrap());
    // Once expired (TTL may not have removed it yet) it no longer counts.
    assert!(store.spend_challenge("n1", T0 + 400, T0 + 180).await.unwrap());

    let k = key();
    let send = |nonce: &'static str, version: u64| {
        let (store, k) = (store.clone(), k.clone());
        async move {
            let captcha = Some(SendCaptcha::Challenge { nonce, expires_at: T0 + 180 });
            let (r, m) = (record(&k, version + 1), message());
            let record = replace(&r, version);
            let send = SendWrite {
                captcha,
                record,
                session: None,
                counters: &[],
                guard: None,
                message: &m,
            };
            store.commit_send(&send, T0).await.unwrap()
        }
    };
    assert_eq!(send("n2", 0).await, SendOutcome::Committed);
    assert!(!store.spend_challenge("n2", T0 + 180, T0).await.unwrap(), "the send spent it");
    assert_eq!(send("n2", 1).await, SendOutcome::CaptchaRejected);
    assert_eq!(store.load_destination(&k, T0).await.unwrap(), record(&k, 1), "nothing written");
    assert!(store.spend_challenge("n3", T0 + 180, T0).await.unwrap());
    assert_eq!(send("n3", 1).await, SendOutcome::CaptchaRejected);
    // A send refused for another part leaves its challenge unspent.
    assert_eq!(send("n4", 7).await, SendOutcome::Conflict);
    assert!(store.spend_challenge("n4", T0 + 180, T0).await.unwrap());
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
    let empty = store.load_destination(&k, T0).await.unwrap();
    assert_eq!(empty, DestRecord { key: k.clone(), ..Default::default() });
    let r = record(&k, 1);
    assert_eq!(store.save_destination(&r, 0).await.unwrap(), SaveOutcome::Committed);
    assert_eq!(store.load_destination(&k, T0).await.unwrap(), r);
    // Past its expiry (TTL deletion is lazy): read as empty, at the stored
    // version, so the next write still names it.
    let gone = store.load_destination(&k, T0 + 600).await.unwrap();
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
    assert_eq!(store.load_destination(&k, T0).await.unwrap(), r1);
    let r2 = DestRecord { version: 2, code: None, token: None, ..record(&k, 2) };
    assert_eq!(store.save_destination(&r2, 1).await.unwrap(), SaveOutcome::Committed);
    assert_eq!(store.load_destination(&k, T0).await.unwrap(), r2);
}

async fn a_send_commits_captcha_record_and_counters_together(b: Backend) {
    let (store, _) = store(b).await;
    let (c, k) = (captcha(T0 + 180), key());
    store.put_captcha(&c).await.unwrap();
    let ip = counter(LimitKind::Ip, 2);
    let outcome = commit(
        &*store,
        Some((&c.id, &c.answer_hash)),
        replace(&record(&k, 1), 0),
        None,
        std::slice::from_ref(&ip),
        &message(),
        T0,
    )
    .await
    .unwrap();
    assert_eq!(outcome, SendOutcome::Committed);
    assert_eq!(store.take_captcha(&c.id, T0).await.unwrap(), None, "the captcha is used up");
    assert_eq!(store.load_destination(&k, T0).await.unwrap(), record(&k, 1));
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
        async move {
            commit(
                &*store,
                captcha,
                replace(&record(&k, 1), version),
                None,
                &counters,
                &refused,
                T0,
            )
            .await
        }
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
    let r = store.load_destination(&k, T0).await.unwrap();
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
    let outcome =
        commit(&*store, Some((&old.id, &old.answer_hash)), replace(&r, 0), None, &[], &m, T0).await;
    assert_eq!(outcome.unwrap(), SendOutcome::CaptchaRejected);
}

async fn concurrent_sends_have_one_winner(b: Backend) {
    let (store, _) = store(b).await;
    let k = key();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, k) = (store.clone(), k.clone());
            tokio::spawn(async move {
                commit(&*store, None, replace(&record(&k, 1), 0), None, &[], &message(), T0).await
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

fn live(hash: u8, expires_at: i64) -> LiveCode {
    LiveCode {
        sealed: vec![hash; 40],
        hash: Some([hash; 32]),
        expires_at,
        attempts: 0,
        long: false,
    }
}

/// 5 checks per short code; 3 failures within an hour harden a destination.
const HARDENING: Hardening = Hardening { max_attempts: 5, fail_max: 3, remember_secs: 3600 };

/// One send in 60 s, 2 in 2,000 s; a record holding 3 sends or failures is
/// written from a read instead.
const LIMITS: SendLimits =
    SendLimits { resend_secs: 60, window_secs: 2000, window_max: 2, hardening: HARDENING, keep: 3 };

/// A send's new code goes in without a read, on the record's conditions;
/// a refusal hands back the record as stored and writes nothing.
async fn a_new_code_goes_in_on_the_records_conditions(b: Backend) {
    let (store, _) = store(b).await;
    let k = key();
    let load = |now| {
        let (store, k) = (store.clone(), k.clone());
        async move { store.load_destination(&k, now).await.unwrap() }
    };
    let send = |code: LiveCode, now: i64, m: OutgoingMessage| {
        let (store, k) = (store.clone(), k.clone());
        async move {
            let write = RecordWrite::NewCode {
                key: &k,
                code: &code,
                limits: LIMITS,
                expires_at: now + 3600,
            };
            commit(&*store, None, write, None, &[], &m, now).await.unwrap()
        }
    };
    assert_eq!(send(live(1, T0 + 600), T0, message()).await, SendOutcome::Committed);
    let first = load(T0).await;
    let want = DestRecord {
        key: k.clone(),
        version: 1,
        sends: vec![T0],
        code: Some(live(1, T0 + 600)),
        expires_at: T0 + 3600,
        ..Default::default()
    };
    assert_eq!(first, want);
    // A live code is there: refused, nothing written (not the message either).
    let m = message();
    assert_eq!(send(live(2, T0 + 700), T0 + 100, m.clone()).await, SendOutcome::Occupied(first));
    assert_eq!(store.claim_message(&m.id, T0, T0 + 30).await.unwrap(), Claim::Settled);
    // Failed checks and a token stay when the next code goes in.
    let mut kept = load(T0).await;
    kept.fails = vec![T0 + 5];
    kept.token = Some(LiveToken { jti: "jti-2".into(), expires_at: T0 + 900 });
    kept.code.as_mut().unwrap().attempts = 5;
    kept.version = 2;
    assert_eq!(store.save_destination(&kept, 1).await.unwrap(), SaveOutcome::Committed);
    // The code is dead after 5 checks, but the last send is too recent.
    let occupied = send(live(3, T0 + 630), T0 + 30, message()).await;
    assert_eq!(occupied, SendOutcome::Occupied(kept.clone()));
    assert_eq!(send(live(3, T0 + 660), T0 + 60, message()).await, SendOutcome::Committed);
    let second = load(T0 + 60).await;
    let want = DestRecord {
        version: 3,
        sends: vec![T0 + 60, T0],
        code: Some(live(3, T0 + 660)),
        expires_at: T0 + 3660,
        ..kept
    };
    assert_eq!(second, want);
    // Two sends in 2,000 s: the window is full until the older one leaves it,
    // even once the code has expired.
    assert_eq!(send(live(4, T0 + 1600), T0 + 1000, message()).await, SendOutcome::Occupied(second));
    assert_eq!(send(live(4, T0 + 2600), T0 + 2000, message()).await, SendOutcome::Committed);
    let third = load(T0 + 2000).await;
    assert_eq!(third.sends, [T0 + 2000, T0 + 60, T0], "nothing trimmed without a read");
    // Three sends held: refused though every limit allows a send, until a
    // write from a read trims them.
    assert_eq!(send(live(5, T0 + 4700), T0 + 4100, message()).await, SendOutcome::Occupied(third));
    let mut trimmed = load(T0 + 4100).await;
    (trimmed.sends, trimmed.fails, trimmed.version) = (vec![T0 + 2000], vec![T0 + 1; 3], 5);
    assert_eq!(store.save_destination(&trimmed, 4).await.unwrap(), SaveOutcome::Committed);
    // So are three failures.
    let outcome = send(live(5, T0 + 4700), T0 + 4100, message()).await;
    assert_eq!(outcome, SendOutcome::Occupied(trimmed.clone()));
    trimmed.fails.truncate(2);
    trimmed.version = 6;
    assert_eq!(store.save_destination(&trimmed, 5).await.unwrap(), SaveOutcome::Committed);
    assert_eq!(send(live(5, T0 + 4700), T0 + 4100, message()).await, SendOutcome::Committed);
}

fn guess(k: &str, hash: u8, jti: &str) -> Guess {
    Guess {
        key: k.to_string(),
        hash: [hash; 32],
        token: LiveToken { jti: jti.into(), expires_at: T0 + 600 },
        hardening: HARDENING,
        network: "n1".into(),
        hour: T0 / 3600,
        network_max: 4,
        ceiling: 6,
        keep: 20,
        expires_at: T0 + 3600,
        session: None,
        converts: None,
    }
}

/// A wrong guess's outcome: the code's checks, the network's failures,
/// whether the code is long and whether it is closed to the network now.
fn wrong(attempts: u32, network_fails: u32, long: bool, closed: bool) -> GuessOutcome {
    GuessOutcome::Wrong { attempts, network_fails, long, closed }
}

/// The store decides a guess: a wrong one is counted, a right one swaps the
/// code for the token, and no live code (or too many failures) writes nothing.
async fn a_guess_is_decided_by_the_store(b: Backend) {
    let (store, _) = store(b).await;
    let k = key();
    let load = || {
        let (store, k) = (store.clone(), k.clone());
        async move { store.load_destination(&k, T0).await.unwrap() }
    };
    // No record: refused, as an empty one.
    let empty = DestRecord { key: k.clone(), ..Default::default() };
    let outcome = store.guess_code(&guess(&k, 4, "a"), T0).await.unwrap();
    assert_eq!(outcome, GuessOutcome::Refused(empty));
    assert_eq!(load().await.version, 0, "nothing written");
    // record(): code hash [4; 32], 2 checks so far, one failure at T0 - 5.
    store.save_destination(&record(&k, 1), 0).await.unwrap();
    let outcome = store.guess_code(&guess(&k, 5, "a"), T0).await.unwrap();
    assert_eq!(outcome, wrong(3, 1, false, false));
    let counted = load().await;
    assert_eq!((counted.version, counted.fails.clone()), (2, vec![T0, T0 - 5]));
    assert_eq!(counted.checks.at(T0 / 3600, "n1"), (1, 1));
    assert_eq!(counted.code.as_ref().unwrap().attempts, 3);
    assert_eq!(counted.expires_at, T0 + 3600);
    assert_eq!(store.guess_code(&guess(&k, 4, "b"), T0).await.unwrap(), GuessOutcome::Right);
    let right = load().await;
    let token = Some(LiveToken { jti: "b".into(), expires_at: T0 + 600 });
    assert_eq!((right.version, right.code.clone(), right.token.clone()), (3, None, token));
    assert_eq!(right.fails, counted.fails, "a right guess adds no failure");
    // Used: refused with the record as stored.
    let outcome = store.guess_code(&guess(&k, 4, "c"), T0).await.unwrap();
    assert_eq!(outcome, GuessOutcome::Refused(right.clone()));
    assert_eq!(load().await, right);

    // Three failures in the window harden the destination: its short code
    // takes no check, right or wrong.
    let k = key();
    let mut limited = record(&k, 1);
    limited.fails = vec![T0 - 1, T0 - 2, T0 - 3];
    store.save_destination(&limited, 0).await.unwrap();
    for hash in [4, 5] {
        let outcome = store.guess_code(&guess(&k, hash, "d"), T0).await.unwrap();
        assert_eq!(outcome, GuessOutcome::Refused(limited.clone()));
    }
    // Once the oldest of them has left the window, checks are open again.
    let hardening = Hardening { remember_secs: 2, ..HARDENING };
    let later = Guess { hardening, ..guess(&k, 4, "e") };
    assert_eq!(store.guess_code(&later, T0).await.unwrap(), GuessOutcome::Right);
    // An expired code, or one checked 5 times, is not live.
    for (attempts, expires_at) in [(0, T0), (5, T0 + 600)] {
        let k = key();
        let mut dead = record(&k, 1);
        dead.code = Some(LiveCode { attempts, expires_at, ..live(4, 0) });
        store.save_destination(&dead, 0).await.unwrap();
        let outcome = store.guess_code(&guess(&k, 4, "f"), T0).await.unwrap();
        assert_eq!(outcome, GuessOutcome::Refused(dead));
    }
}

/// A long code (a hardened destination's) is open to checks whatever its
/// count and the destination's failures; a network is refused past its
/// failures in the hour, and every network past the hour's ceiling.
async fn a_long_code_is_bounded_per_network_and_hour(b: Backend) {
    let (store, _) = store(b).await;
    let k = key();
    let mut hardened = record(&k, 1);
    hardened.fails = vec![T0 - 1, T0 - 2, T0 - 3];
    hardened.code = Some(LiveCode { attempts: 7, long: true, ..live(4, T0 + 4000) });
    hardened.expires_at = T0 + 7200;
    store.save_destination(&hardened, 0).await.unwrap();
    let from = |network: &str, hash| Guess { network: network.into(), ..guess(&k, hash, "g") };
    for n in 1..=4 {
        let outcome = store.guess_code(&from("n1", 5), T0).await.unwrap();
        assert_eq!(outcome, wrong(7 + n, n, true, n == 4));
    }
    let refused = store.guess_code(&from("n1", 4), T0).await.unwrap();
    assert!(matches!(refused, GuessOutcome::Refused(_)), "n1 spent its hour: {refused:?}");
    assert_eq!(store.guess_code(&from("n2", 5), T0).await.unwrap(), wrong(12, 1, true, false));
    assert_eq!(
        store.guess_code(&from("n2", 5), T0).await.unwrap(),
        wrong(13, 2, true, true),
        "the hour's ceiling"
    );
    // 6 in the hour from all networks: the ceiling refuses a fresh one too.
    let refused = store.guess_code(&from("n3", 4), T0).await.unwrap();
    let GuessOutcome::Refused(r) = refused else { panic!("the ceiling: {refused:?}") };
    assert_eq!(r.checks.at(T0 / 3600, "n1"), (6, 4));
    // The next hour is a new one; a right guess wins.
    let next = Guess { hour: T0 / 3600 + 1, ..from("n1", 4) };
    assert_eq!(store.guess_code(&next, T0 + 3600).await.unwrap(), GuessOutcome::Right);
}

/// A hardened destination takes no new code without a read (its new code
/// is long, which only a send from a read makes).
async fn a_hardened_destination_takes_no_blind_code(b: Backend) {
    let (store, _) = store(b).await;
    let k = key();
    let mut hardened = record(&k, 1);
    (hardened.code, hardened.sends) = (None, vec![]);
    (hardened.fails, hardened.expires_at) = (vec![T0 - 1, T0 - 2, T0 - 3], T0 + 7200);
    store.save_destination(&hardened, 0).await.unwrap();
    // Room for the failures held: only hardening refuses.
    let limits = SendLimits { keep: 4, ..LIMITS };
    let code = live(5, T0 + 600);
    let write = RecordWrite::NewCode { key: &k, code: &code, limits, expires_at: T0 + 3600 };
    let sent = commit(&*store, None, write, None, &[], &message(), T0).await.unwrap();
    assert!(matches!(sent, SendOutcome::Occupied(_)), "{sent:?}");
    // Once the failures are older than the window, it does.
    let later = T0 + 3600;
    let code = live(5, later + 600);
    let write = RecordWrite::NewCode { key: &k, code: &code, limits, expires_at: later + 3600 };
    let sent = commit(&*store, None, write, None, &[], &message(), later).await.unwrap();
    assert_eq!(sent, SendOutcome::Committed);
}

/// Of concurrent guesses, one right one wins and wrong ones count no
/// further than the code's checks.
async fn concurrent_guesses_count_once_each(b: Backend) {
    let (store, _) = store(b).await;
    let k = key();
    store.save_destination(&record(&k, 1), 0).await.unwrap();
    let tasks: Vec<_> = (0..12u8)
        .map(|i| {
            // Each guess carries a token id of its own, as every check does.
            let g = guess(&k, if i % 4 == 0 { 4 } else { 5 }, &format!("t{i}"));
            let store = store.clone();
            tokio::spawn(async move { store.guess_code(&g, T0).await.unwrap() })
        })
        .collect();
    let (mut right, mut wrong) = (0, Vec::new());
    for t in tasks {
        match t.await.unwrap() {
            GuessOutcome::Right => right += 1,
            GuessOutcome::Wrong { attempts, .. } => wrong.push(attempts),
            other => assert!(matches!(other, GuessOutcome::Refused(_) | GuessOutcome::Busy)),
        }
    }
    wrong.sort_unstable();
    assert!(right <= 1, "one right guess at most");
    // 2 checks before, 5 allowed: at most 3 more, each counted once.
    assert!(wrong.len() + right <= 3, "{wrong:?} + {right}");
    assert_eq!(wrong, (3..3 + wrong.len() as u32).collect::<Vec<_>>());
    let r = store.load_destination(&k, T0).await.unwrap();
    assert_eq!(r.version, 1 + (wrong.len() + right) as u64);
}

/// A send or a guess under a session is written only while the session
/// stands: its account exists and takes its epoch, and it was not logged out.
async fn writes_under_a_session_need_it_to_stand(b: Backend) {
    let (store, _) = store(b).await;
    let mut acct = account(&unique_email());
    acct.session_epoch = 2;
    acct.session_keeper = Some("keeper".into());
    let put = [AccountWrite::PutAccount(acct.clone())];
    assert_eq!(store.apply(&put, T0).await.unwrap(), ApplyOutcome::Committed);
    store.revoke_session("gone", T0 + 60).await.unwrap();
    let check =
        |jti: &str, epoch| SessionCheck { account_id: acct.id.clone(), jti: jti.into(), epoch };
    let stranger = SessionCheck { account_id: "no-such-account".into(), ..check("s", 2) };
    let cases = [
        (check("current", 2), true),
        (check("newer", 3), true),
        (check("keeper", 1), true),
        (check("superseded", 1), false),
        (check("gone", 2), false),
        (stranger, false),
    ];
    for (session, stands) in cases {
        let k = key();
        let (r, m) = (record(&k, 1), message());
        let sent = commit(&*store, None, replace(&r, 0), Some(&session), &[], &m, T0).await;
        let want = if stands { SendOutcome::Committed } else { SendOutcome::SessionRefused };
        assert_eq!(sent.unwrap(), want, "{session:?}");
        let stored = store.load_destination(&k, T0).await.unwrap();
        assert_eq!(stored.version, u64::from(stands), "{session:?}");
        if !stands {
            assert_eq!(store.claim_message(&m.id, T0, T0 + 30).await.unwrap(), Claim::Settled);
            store.save_destination(&r, 0).await.unwrap();
        }
        // record(): the code's hash is [4; 32]; guess wrong, then right.
        for (hash, right) in [(5, false), (4, true)] {
            let g = Guess { session: Some(session.clone()), ..guess(&k, hash, "j") };
            let outcome = store.guess_code(&g, T0).await.unwrap();
            let want = match (stands, right) {
                (false, _) => GuessOutcome::SessionRefused,
                (true, false) => wrong(3, 1, false, false),
                (true, true) => GuessOutcome::Right,
            };
            assert_eq!(outcome, want, "{session:?}");
        }
        let after = store.load_destination(&k, T0).await.unwrap();
        assert_eq!(after.version, if stands { 3 } else { 1 }, "{session:?}");
    }
    // The logout marker counts only until it expires.
    let k = key();
    let (r, m) = (record(&k, 1), message());
    let gone = check("gone", 2);
    let sent = commit(&*store, None, replace(&r, 0), Some(&gone), &[], &m, T0 + 60).await;
    assert_eq!(sent.unwrap(), SendOutcome::Committed);
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
    assert_eq!(store.load_destination(&k, T0).await.unwrap().version, 0);
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

/// Session records: written with an account's write, listed per account
/// only, ended (record gone, logout marker in place) in one write.
async fn session_records_are_listed_and_ended(b: Backend) {
    let (store, _) = store(b).await;
    let record = |account: &str, jti: &str| SessionRecord {
        account_id: account.into(),
        jti: jti.into(),
        device: "Chrome on macOS".into(),
        network: "203.0.113.0/24".into(),
        created_at: T0,
        expires_at: T0 + 3600,
        epoch: 0,
    };
    let writes = [
        AccountWrite::PutSession(record("a", "s1")),
        AccountWrite::PutSession(record("a", "s2")),
        AccountWrite::PutSession(record("b", "s3")),
    ];
    assert_eq!(store.apply(&writes, T0).await.unwrap(), ApplyOutcome::Committed);
    let mut listed = store.list_sessions("a").await.unwrap();
    listed.sort_by(|x, y| x.jti.cmp(&y.jti));
    assert_eq!(listed, [record("a", "s1"), record("a", "s2")]);
    assert!(store.list_sessions("nobody").await.unwrap().is_empty());
    let end = AccountWrite::EndSession {
        account_id: "a".into(),
        jti: "s1".into(),
        expires_at: T0 + 3600,
    };
    assert_eq!(store.apply(&[end], T0).await.unwrap(), ApplyOutcome::Committed);
    assert_eq!(store.list_sessions("a").await.unwrap(), [record("a", "s2")]);
    let (_, logged_out) = store.load_session("a", "s1", T0).await.unwrap();
    assert!(logged_out, "the ended session is refused");
    let (_, logged_out) = store.load_session("a", "s1", T0 + 3600).await.unwrap();
    assert!(!logged_out, "until it would have expired");
    assert_eq!(store.list_sessions("b").await.unwrap(), [record("b", "s3")]);
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
    let sent =
        commit(&*store, None, replace(&record(&key(), 1), 0), None, &[], &m, T0).await.unwrap();
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
    commit(&*store, None, replace(&record(&key(), 1), 0), None, &[], &old, T0).await.unwrap();
    let late = store.claim_message(&old.id, old.expires_at, old.expires_at + 30).await.unwrap();
    assert_eq!(late, Claim::Settled);
}

async fn concurrent_message_claims_have_one_winner(b: Backend) {
    let (store, _) = store(b).await;
    let m = message();
    commit(&*store, None, replace(&record(&key(), 1), 0), None, &[], &m, T0).await.unwrap();
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
    commit(&*store, None, replace(&record(&k, 1), 0), None, counters, &m, T0).await.unwrap();
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
    assert_eq!(store.load_destination(&k, T0).await.unwrap(), disabled);
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

/// The SMS guard's tallies: a send counts in its prefix's and its country
/// shard's hour and, enforced, is refused once the prefix's hour is full or
/// while a block is in force; a right guess and an account write count
/// conversions; a block is made once, listed, lifted; old hours are
/// dropped; an expired tally reads empty.
async fn the_guard_counts_refuses_and_blocks(b: Backend) {
    let (store, _) = store(b).await;
    let hour = T0 / 3600;
    let (prefix, shard) = (format!("p+4479{}", uuid::Uuid::new_v4().simple()), "c+44|s0");
    let touch = GuardTouch {
        country: 44,
        prefix: prefix.clone(),
        shard: shard.into(),
        hour,
        expires_at: T0 + 90_000,
    };
    let enforced = |max| GuardSend { touch: touch.clone(), hourly_max: max };
    let send = |g: GuardSend, k: String| {
        let store = store.clone();
        async move {
            let (r, m) = (record(&k, 1), message());
            let write = SendWrite {
                captcha: None,
                record: replace(&r, 0),
                session: None,
                counters: &[],
                guard: Some(&g),
                message: &m,
            };
            store.commit_send(&write, T0).await.unwrap()
        }
    };
    let first = key();
    assert_eq!(send(enforced(Some(2)), first.clone()).await, SendOutcome::Committed);
    assert_eq!(send(enforced(Some(2)), key()).await, SendOutcome::Committed);
    let full = SendOutcome::LimitReached {
        kind: LimitKind::SmsPrefix,
        key: prefix.clone(),
        until: (hour + 1) * 3600,
    };
    assert_eq!(send(enforced(Some(2)), key()).await, full);
    assert_eq!(send(enforced(None), key()).await, SendOutcome::Committed, "monitoring counts on");
    let right = Guess { converts: Some(touch.clone()), ..guess(&first, 4, "j1") };
    assert_eq!(store.guess_code(&right, T0).await.unwrap(), GuessOutcome::Right);
    let converted = [AccountWrite::Converted(touch.clone())];
    assert_eq!(store.apply(&converted, T0).await.unwrap(), ApplyOutcome::Committed);
    let keys = [prefix.clone(), shard.to_string(), "p+0".to_string()];
    let tallies = store.guard_tallies(&keys, T0).await.unwrap();
    let want = HourTally { sends: 3, conversions: 2 };
    assert_eq!(tallies[0].hours.get(&hour), Some(&want));
    assert!(tallies[1].hours.get(&hour).is_some_and(|h| h.sends >= 3 && h.conversions >= 2));
    assert_eq!(tallies[2], GuardTally { key: "p+0".into(), ..Default::default() });

    let block = GuardBlock { until: T0 + 600, at: T0, reason: "why".into() };
    let listed = ListedBlock {
        name: prefix.trim_start_matches('p').to_string(),
        scope: GuardScope::Prefix,
        block: block.clone(),
        monitor: false,
    };
    let watch = ListedBlock { monitor: true, ..listed.clone() };
    assert!(store.guard_block(std::slice::from_ref(&prefix), &watch, T0).await.unwrap());
    assert_eq!(
        send(enforced(Some(100)), key()).await,
        SendOutcome::Committed,
        "a watch refuses nothing"
    );
    assert!(store.guard_block(std::slice::from_ref(&prefix), &listed, T0).await.unwrap());
    assert!(!store.guard_block(std::slice::from_ref(&prefix), &listed, T0).await.unwrap(), "once");
    let blocked = SendOutcome::Blocked { until: T0 + 600 };
    assert_eq!(send(enforced(Some(100)), key()).await, blocked);
    assert_eq!(send(enforced(None), key()).await, SendOutcome::Committed, "unless monitoring");
    let tallies = store.guard_tallies(std::slice::from_ref(&prefix), T0).await.unwrap();
    assert_eq!(
        (tallies[0].block.as_ref(), tallies[0].watch.as_ref()),
        (Some(&block), Some(&block))
    );
    let listed_now = store.guard_blocks(T0).await.unwrap();
    assert!(listed_now.contains(&listed), "{listed_now:?}");
    assert!(!store.guard_blocks(T0 + 600).await.unwrap().contains(&listed), "ended");

    store.guard_unblock(std::slice::from_ref(&prefix), &listed.name).await.unwrap();
    assert!(!store.guard_blocks(T0).await.unwrap().iter().any(|l| l.name == listed.name));
    assert_eq!(send(enforced(Some(100)), key()).await, SendOutcome::Committed);
    store.guard_trim(&prefix, &[hour]).await.unwrap();
    let tallies = store.guard_tallies(std::slice::from_ref(&prefix), T0).await.unwrap();
    assert!(tallies[0].hours.is_empty() && tallies[0].block.is_none());
    let later = store.guard_tallies(std::slice::from_ref(&prefix), T0 + 90_001).await.unwrap();
    assert_eq!(later[0], GuardTally { key: prefix.clone(), ..Default::default() }, "expired");
}

both_stores!(
    a_challenge_is_spent_once_alone_or_in_a_send,
    session_records_are_listed_and_ended,
    the_guard_counts_refuses_and_blocks,
    a_long_code_is_bounded_per_network_and_hour,
    a_hardened_destination_takes_no_blind_code,
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
    a_new_code_goes_in_on_the_records_conditions,
    a_guess_is_decided_by_the_store,
    concurrent_guesses_count_once_each,
    writes_under_a_session_need_it_to_stand,
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

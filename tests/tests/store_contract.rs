//! The store contract: the same cases against the embedded store and DynamoDB Local.

use shared::ports::StoredCaptcha;
use std::collections::HashSet;
use vericode_tests::{Backend, T0, both_stores, store};

fn captcha(expires_at: i64) -> StoredCaptcha {
    StoredCaptcha { id: uuid::Uuid::new_v4().to_string(), answer_hash: [7; 32], expires_at }
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

async fn ids_do_not_collide(b: Backend) {
    let (store, _) = store(b).await;
    let ids: HashSet<String> = (0..50).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for id in &ids {
        store
            .put_captcha(&StoredCaptcha {
                id: id.clone(),
                answer_hash: [1; 32],
                expires_at: T0 + 5,
            })
            .await
            .unwrap();
    }
    for id in &ids {
        assert!(store.take_captcha(id, T0).await.unwrap().is_some());
    }
}

both_stores!(
    a_captcha_is_taken_once,
    an_unknown_captcha_is_none,
    an_expired_captcha_is_none_and_gone,
    captchas_are_independent,
    concurrent_takes_have_one_winner,
    ids_do_not_collide,
);

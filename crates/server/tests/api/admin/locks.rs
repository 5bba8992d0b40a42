//! Lock e-mails and IT's daily summary (issue 18): the person whose account failed
//! sign-ins lock is told once per lock, however many wrong passwords arrive at once,
//! and not at all when IT turns it off; the address IT gives gets one summary a day of
//! the accounts locked, from one server process only.

use std::time::{Duration, Instant};

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    a_lock_is_told_to_its_owner_once,
    it_gets_one_summary_a_day_of_locked_accounts,
);

/// Thirty wrong passwords at once for `email`, again until one is answered "locked":
/// on a busy machine the server may refuse many of them as `server_busy` (429), which
/// counts nothing, and then thirty need not reach the lock.
async fn burst(srv: &TestServer, email: &str) {
    for _ in 0..5 {
        let tries = (0..30).map(|_| srv.login_raw(email, "Wrong-password-7"));
        let mut locked = false;
        for (s, body) in futures_util::future::join_all(tries).await {
            assert!(s == 401 || s == 423 || s == 429, "{s} {body}");
            locked |= s == 423;
        }
        if locked {
            return;
        }
    }
    panic!("five bursts of thirty wrong passwords did not lock {email}");
}

/// The mails to `to` about a lock (in English or Chinese: the account's language, else
/// the server's region), once `at_least` of them came or `wait` is over.
async fn mails(srv: &TestServer, to: &str, at_least: usize, wait: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(wait);
    loop {
        let found: Vec<String> = srv
            .smtp
            .messages()
            .iter()
            .filter(|m| {
                let subject = m.subject();
                m.to.iter().any(|t| t == to)
                    && (subject.contains("locked") || subject.contains("锁定"))
            })
            .map(|m| m.text())
            .collect();
        if found.len() >= at_least || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_lock_is_told_to_its_owner_once(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("li.na@corp.cn", PASSWORD).await;
    burst(&srv, "li.na@corp.cn").await;
    let told = mails(&srv, "li.na@corp.cn", 1, 10).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("15 minutes") || told[0].contains("15 分钟"),
        "{}",
        told[0]
    );
    // Two seconds later: still one.
    assert_eq!(mails(&srv, "li.na@corp.cn", 2, 2).await.len(), 1);

    // IT turned it off: nothing.
    let Some(quiet) = TestServer::start(b, |c| c.lockout.notify_user = false).await else {
        return;
    };
    quiet.add_user("li.na@corp.cn", PASSWORD).await;
    burst(&quiet, "li.na@corp.cn").await;
    assert!(mails(&quiet, "li.na@corp.cn", 1, 2).await.is_empty());
}

async fn it_gets_one_summary_a_day_of_locked_accounts(b: Backend) {
    let Some(srv) = TestServer::start(b, |c| {
        c.lockout.summary_to = "it@corp.cn".into();
        c.lockout.notify_user = false;
    })
    .await
    else {
        return;
    };
    let other = srv.sibling(|_| {}).await;
    for who in ["a.locked@corp.cn", "b.locked@corp.cn", "c.fine@corp.cn"] {
        srv.add_user(who, PASSWORD).await;
    }
    burst(&srv, "a.locked@corp.cn").await;
    burst(&srv, "b.locked@corp.cn").await;
    let (s, _) = srv.login_raw("c.fine@corp.cn", "Wrong-password-7").await;
    assert_eq!(s, 401);

    // Two processes' janitors at once: one summary.
    let now = srv.state.now();
    let (x, y) = tokio::join!(
        latchkey_server::notify::daily_lock_summary(&srv.state, now),
        latchkey_server::notify::daily_lock_summary(&other.state, now),
    );
    let sent: Vec<usize> = [x.unwrap(), y.unwrap()].into_iter().flatten().collect();
    assert_eq!(sent, vec![2], "one of them listed the two locked accounts");
    let summary = mails(&srv, "it@corp.cn", 1, 10).await;
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert!(summary[0].contains("a.locked@corp.cn") && summary[0].contains("b.locked@corp.cn"));
    assert!(!summary[0].contains("c.fine@corp.cn"));
    // Later the same day: nothing more.
    let later = now + 3_600_000;
    let again = latchkey_server::notify::daily_lock_summary(&srv.state, later).await;
    assert_eq!(again.unwrap(), None);
    // A day on, without new locks: claimed, but nothing to send.
    let next_day = now + 86_400_000 + 1;
    let quiet = latchkey_server::notify::daily_lock_summary(&srv.state, next_day).await;
    assert_eq!(quiet.unwrap(), Some(0));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mails(&srv, "it@corp.cn", 2, 2).await.len(), 1);
}

//! Lockout: 5 failures lock for 15 minutes, each further lock doubles up to 24 h,
//! success resets, unknown identifiers lock alike, admin unlock; per-address throttle.

use latchkey_server::admin;

use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    five_failures_lock_for_fifteen_minutes_then_lift,
    further_locks_double_up_to_a_day,
    success_resets_the_failure_count,
    unknown_identifiers_lock_like_accounts,
    admin_unlock_lifts_the_lock,
    locks_tell_nothing_about_other_identifiers,
    the_account_wide_limit_is_silent,
    a_remembered_device_has_its_own_budget,
    address_throttle_limits_failures_per_client,
    locks_are_forgotten_after_a_quiet_day,
);

const WRONG: &str = "Wrong-password-123";

async fn fail(
    srv: &TestServer,
    identifier: &str,
    n: usize,
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut last = None;
    for _ in 0..n {
        last = Some(srv.login_raw(identifier, WRONG).await);
    }
    last.unwrap()
}

async fn five_failures_lock_for_fifteen_minutes_then_lift(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("lock@corp.cn", PASSWORD).await;
    let (s, body) = fail(&srv, "lock@corp.cn", 4).await;
    assert_error(s, &body, 401, "invalid_credentials");
    let (s, body) = fail(&srv, "lock@corp.cn", 1).await;
    assert_error(s, &body, 423, "account_locked");
    assert_eq!(body["retry_after"], 900);
    // The right password does not get through a lock.
    let (s, body) = srv.login_raw("lock@corp.cn", PASSWORD).await;
    assert_error(s, &body, 423, "account_locked");
    let left = body["retry_after"].as_u64().unwrap();
    assert!((890..=900).contains(&left), "{left}");
    srv.advance(10 * 60);
    let (_, body) = srv.login_raw("lock@corp.cn", PASSWORD).await;
    let left = body["retry_after"].as_u64().unwrap();
    assert!((290..=300).contains(&left), "{left}");
    srv.advance(5 * 60 + 1);
    srv.login("lock@corp.cn", PASSWORD).await;
}

async fn further_locks_double_up_to_a_day(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("double@corp.cn", PASSWORD).await;
    let mut want = 900u64;
    for _ in 0..9 {
        let (s, body) = fail(&srv, "double@corp.cn", 5).await;
        assert_error(s, &body, 423, "account_locked");
        assert_eq!(body["retry_after"].as_u64(), Some(want));
        srv.advance(want + 1);
        want = (want * 2).min(86_400);
    }
    assert_eq!(want, 86_400, "the lock reached its cap and stays there");
    // Never permanent: after the last lock the password works.
    srv.login("double@corp.cn", PASSWORD).await;
}

async fn success_resets_the_failure_count(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("reset@corp.cn", PASSWORD).await;
    fail(&srv, "reset@corp.cn", 4).await;
    srv.login("reset@corp.cn", PASSWORD).await;
    let (s, body) = fail(&srv, "reset@corp.cn", 4).await;
    assert_error(s, &body, 401, "invalid_credentials");
    srv.login("reset@corp.cn", PASSWORD).await;
}

async fn unknown_identifiers_lock_like_accounts(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("real@corp.cn", PASSWORD).await;
    let mut real = Vec::new();
    let mut ghost = Vec::new();
    for _ in 0..6 {
        real.push(srv.login_raw("real@corp.cn", WRONG).await);
        ghost.push(srv.login_raw("ghost@corp.cn", WRONG).await);
    }
    assert_eq!(real, ghost, "the same sequence of answers for both");
    assert_eq!(ghost[4].1["code"], "account_locked");
}

async fn admin_unlock_lifts_the_lock(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("unlock@corp.cn", PASSWORD).await;
    fail(&srv, "unlock@corp.cn", 5).await;
    let (s, _) = srv.login_raw("unlock@corp.cn", PASSWORD).await;
    assert_eq!(s, 423);
    admin::unlock(&srv.state, "UNLOCK@corp.cn").await.unwrap();
    srv.login("unlock@corp.cn", PASSWORD).await;
    // An identifier without an account can be unlocked too.
    fail(&srv, "nobody@corp.cn", 5).await;
    admin::unlock(&srv.state, "nobody@corp.cn").await.unwrap();
    let (s, body) = srv.login_raw("nobody@corp.cn", WRONG).await;
    assert_error(s, &body, 401, "invalid_credentials");
}

async fn add_multi(srv: &TestServer) {
    srv.add(
        latchkey_server::admin::AddUser {
            email: Some("multi@corp.cn".into()),
            username: Some("multi".into()),
            ..Default::default()
        },
        PASSWORD,
    )
    .await;
}

/// The answers to `n` wrong passwords as `a`, then one as `b` (issue 13: a lock on
/// one identifier used to show on the account's others, linking them).
async fn answers(srv: &TestServer, a: &str, b: &str) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    for id in [a, a, a, a, a, a, b, b] {
        let (s, body) = srv.login_device(id, WRONG, "stranger").await;
        out.push((s.as_u16(), body["code"].as_str().unwrap_or("").to_owned()));
    }
    out
}

async fn locks_tell_nothing_about_other_identifiers(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    add_multi(&srv).await;
    let known = answers(&srv, "multi", "multi@corp.cn").await;
    let unknown = answers(&srv, "ghost", "ghost@corp.cn").await;
    assert_eq!(known, unknown);
    let codes: Vec<&str> = known.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(
        codes,
        [
            "invalid_credentials",
            "invalid_credentials",
            "invalid_credentials",
            "invalid_credentials",
            "account_locked",
            "account_locked",
            // The other identifier of the same account is not shown as locked.
            "invalid_credentials",
            "invalid_credentials",
        ]
    );
}

async fn the_account_wide_limit_is_silent(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    add_multi(&srv).await;
    // Five failures spread over both identifiers: neither is locked on its own, but
    // the account has used its five.
    fail(&srv, "multi", 3).await;
    let (s, body) = fail(&srv, "multi@corp.cn", 2).await;
    assert_error(s, &body, 401, "invalid_credentials");
    // Even the right password, from a device the account never used, is answered as
    // a wrong one: the account's limit is kept without telling.
    let (s, body) = srv.login_device("multi", PASSWORD, "new-pc").await;
    assert_error(s, &body, 401, "invalid_credentials");
    // After the lock's 15 minutes it works again.
    srv.advance(901);
    let (s, body) = srv.login_device("multi", PASSWORD, "new-pc").await;
    assert_eq!(s, 200, "{body}");
}

async fn a_remembered_device_has_its_own_budget(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    add_multi(&srv).await;
    let (s, body) = srv.login_device("multi", PASSWORD, "home-pc").await;
    assert_eq!(s, 200, "{body}");
    // A stranger locks both identifiers and the account.
    for id in ["multi", "multi@corp.cn"] {
        for _ in 0..5 {
            srv.login_device(id, WRONG, "stranger").await;
        }
        let (s, body) = srv.login_device(id, PASSWORD, "stranger").await;
        assert_error(s, &body, 423, "account_locked");
    }
    // The owner's familiar computer still signs in.
    let (s, body) = srv.login_device("multi@corp.cn", PASSWORD, "home-pc").await;
    assert_eq!(s, 200, "{body}");
    // Its own failures lock only itself.
    for _ in 0..4 {
        let (s, body) = srv.login_device("multi", WRONG, "home-pc").await;
        assert_error(s, &body, 401, "invalid_credentials");
    }
    let (s, body) = srv.login_device("multi", WRONG, "home-pc").await;
    assert_error(s, &body, 423, "account_locked");
    let (s, body) = srv.login_device("multi", PASSWORD, "home-pc").await;
    assert_error(s, &body, 423, "account_locked");
    // An admin unlock lifts every lock of the account, the device's too.
    latchkey_server::admin::unlock(&srv.state, "multi")
        .await
        .unwrap();
    let (s, body) = srv.login_device("multi", PASSWORD, "home-pc").await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = srv
        .login_device("multi@corp.cn", PASSWORD, "other-pc")
        .await;
    assert_eq!(s, 200, "{body}");
}

async fn address_throttle_limits_failures_per_client(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.lockout.address_limit = 3;
        c.lockout.address_window_seconds = 600;
    })
    .await
    else {
        return;
    };
    srv.add_user("victim@corp.cn", PASSWORD).await;
    for who in ["a@corp.cn", "b@corp.cn", "c@corp.cn"] {
        let (s, _) = srv.login_raw(who, WRONG).await;
        assert_eq!(s, 401);
    }
    let (s, body) = srv.login_raw("victim@corp.cn", PASSWORD).await;
    assert_error(s, &body, 429, "rate_limited");
    let retry = body["retry_after"].as_u64().unwrap();
    assert!((590..=600).contains(&retry), "{retry}");
    srv.advance(601);
    srv.login("victim@corp.cn", PASSWORD).await;
}

async fn locks_are_forgotten_after_a_quiet_day(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("quiet@corp.cn", PASSWORD).await;
    let (_, body) = fail(&srv, "quiet@corp.cn", 5).await;
    assert_eq!(body["retry_after"], 900);
    // Within a day of the lock's end, the next lock doubles ...
    srv.advance(901);
    let (_, body) = fail(&srv, "quiet@corp.cn", 5).await;
    assert_eq!(body["retry_after"], 1800);
    // ... a quiet day after it, the count starts over.
    srv.advance(1800 + 86_400 + 1);
    let (s, body) = fail(&srv, "quiet@corp.cn", 4).await;
    assert_error(s, &body, 401, "invalid_credentials");
    let (_, body) = fail(&srv, "quiet@corp.cn", 1).await;
    assert_eq!(body["retry_after"], 900);
}

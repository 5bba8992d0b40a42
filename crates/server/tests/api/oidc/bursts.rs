//! The provider's single-use things under a burst of 30 parallel requests, on both
//! databases: one authorization code, one refresh token, one approval answer, one
//! launch ticket — each used once, whatever arrives at once.

use futures_util::future::join_all;
use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend};
use reqwest::Method;

use super::*;

on_both!(
    a_burst_exchanges_a_code_once,
    a_burst_uses_a_refresh_token_once,
    a_burst_answers_an_approval_once_and_uses_a_ticket_once
);

const BURST: usize = 30;

async fn a_burst_exchanges_a_code_once(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("qin@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let code = browser
        .password(&page, "qin@corp.cn", PASSWORD)
        .await
        .redirect_params()["code"]
        .clone();
    let answers =
        join_all((0..BURST).map(|_| exchange_code(&srv, "crm", Some(&secret), &code))).await;
    let ok: Vec<_> = answers.iter().filter(|(s, _)| s.is_success()).collect();
    assert!(
        ok.len() <= 1,
        "{} exchanges of one code succeeded",
        ok.len()
    );
    assert!(answers
        .iter()
        .all(|(s, b)| s.is_success() || b["error"] == "invalid_grant"));
    // The replay in the burst revoked what the one success issued.
    if let Some((_, tokens)) = ok.first() {
        let r = reqwest::Client::new()
            .get(format!("{}/oidc/userinfo", srv.base()))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "a replayed code revokes what it issued");
    }
}

async fn a_burst_uses_a_refresh_token_once(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("qin@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let mut browser = Browser::new(&srv);
    let page = browser
        .authorize("crm", &[("scope", "openid offline_access")])
        .await;
    let code = browser
        .password(&page, "qin@corp.cn", PASSWORD)
        .await
        .redirect_params()["code"]
        .clone();
    let (_, tokens) = exchange_code(&srv, "crm", Some(&secret), &code).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let answers = join_all((0..BURST).map(|_| exchange(&srv, "crm", Some(&secret), &form))).await;
    let ok = answers.iter().filter(|(s, _)| s.is_success()).count();
    assert!(ok <= 1, "{ok} uses of one refresh token succeeded");
}

async fn a_burst_answers_an_approval_once_and_uses_a_ticket_once(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("qin@corp.cn", PASSWORD).await;
    register(&srv, "crm", |c| {
        c.launch_url = Some("https://crm.corp.example/".into())
    })
    .await;
    let token = srv
        .login("qin@corp.cn", PASSWORD)
        .await
        .access_token
        .expose()
        .to_owned();
    // An approval: 30 answers at once, one lands.
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let got = browser
        .post(
            &page.action(),
            &[
                ("csrf", &page.input("csrf").unwrap()),
                ("step", "password"),
                ("identifier", ""),
                ("decision", "app"),
            ],
        )
        .await;
    let waiting = browser.follow_local(got).await;
    let id = waiting
        .body
        .split("approve?id=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let (_, view) = srv
        .call(
            Method::GET,
            &format!("/v1/approvals/{id}"),
            Some(&token),
            None,
        )
        .await;
    let numbers: Vec<u64> = view["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    // Every number at once, ten times each: exactly one answer is taken.
    let answers = join_all((0..BURST).map(|i| {
        let body = serde_json::json!({"allow": true, "number": numbers[i % 3]});
        let path = format!("/v1/approvals/{id}");
        let token = token.clone();
        let srv = &srv;
        async move {
            srv.call(Method::POST, &path, Some(&token), Some(body))
                .await
        }
    }))
    .await;
    let taken = answers
        .iter()
        .filter(|(s, b)| s.as_u16() == 204 || b["code"] == "approval_mismatch")
        .count();
    assert_eq!(
        taken,
        1,
        "{:?}",
        answers.iter().map(|(s, _)| s.as_u16()).collect::<Vec<_>>()
    );
    // A launch ticket: 30 browsers at once, one is signed in.
    let (_, ticket) = srv
        .call(
            Method::POST,
            "/v1/launch",
            Some(&token),
            Some(serde_json::json!({"client_id": "crm"})),
        )
        .await;
    let url = ticket["url"].as_str().unwrap().to_owned();
    let opened = join_all((0..BURST).map(|_| {
        let url = url.clone();
        let srv = &srv;
        async move {
            let mut b = Browser::new(srv);
            b.get(&url).await.status
        }
    }))
    .await;
    assert_eq!(
        opened.iter().filter(|s| s.as_u16() == 303).count(),
        1,
        "{opened:?}"
    );
}

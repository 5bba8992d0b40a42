//! The OpenID Connect provider as two real processes behind one issuer name (issue
//! 15): a code made by one is exchanged at the other, the single sign-on cookie of one
//! signs the browser in at the other, and `keys rotate` run as the admin command
//! reaches both.

use std::time::{Duration, Instant};

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::Backend;
use reqwest::StatusCode;
use serde_json::Value;

use super::super::oidc::{Browser, REDIRECT, VERIFIER};
use super::{admin, spawn_server, ServerProcess};

/// What applications are configured with; no process listens there (a load balancer
/// would), so each endpoint is reached at a process's own address.
const ISSUER: &str = "http://sso.corp.example";

/// `code` exchanged at `server` by the confidential application `crm`.
async fn exchange(server: &ServerProcess, secret: &str, code: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/oidc/token", server.base))
        .basic_auth("crm", Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("token request");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn jwks(server: &ServerProcess) -> Value {
    reqwest::get(format!("{}/oidc/jwks", server.base))
        .await
        .expect("JWKS")
        .json()
        .await
        .expect("JWKS is JSON")
}

fn kid(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt)
        .expect("a JWT")
        .kid
        .expect("a kid")
}

/// The claims of `jwt`, its RS256 signature checked against `server`'s JWKS.
async fn verified(server: &ServerProcess, jwt: &str) -> Value {
    let kid = kid(jwt);
    let keys = jwks(server).await;
    let jwk = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("{kid} is not published by {}: {keys}", server.base));
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().expect("n"),
        jwk["e"].as_str().expect("e"),
    )
    .expect("an RSA key");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&["crm"]);
    v.set_issuer(&[ISSUER]);
    jsonwebtoken::decode::<Value>(jwt, &key, &v)
        .expect("a valid ID token")
        .claims
}

/// A code for `crm` from `server`, for a browser that is signed in there already.
async fn single_sign_on(browser: &mut Browser) -> String {
    let got = browser.authorize("crm", &[("prompt", "none")]).await;
    let params = got.redirect_params();
    assert!(!params.contains_key("error"), "{params:?}");
    params["code"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_are_one_provider() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(database) = latchkey_testkit::database(Backend::Postgres, &dir).await else {
        return;
    };
    let url = database.url.clone();
    let config = dir.path().join("latchkey.toml");
    std::fs::write(
        &config,
        format!(
            "[devices]\nverify_new = false\n\n[delivery]\nsecret_key = \"{}\"\n\n\
             [oidc]\nissuer = \"{ISSUER}\"\n",
            latchkey_testkit::SECRET_KEY
        ),
    )
    .expect("config");
    let (db, cfg, d) = (url.clone(), config.clone(), dir.path().to_owned());
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            spawn_server("A", &db, &cfg, &d),
            spawn_server("B", &db, &cfg, &d),
        )
    })
    .await
    .expect("start servers");
    let run = |args: Vec<&'static str>, stdin: Option<String>| {
        let (u, f) = (url.clone(), config.clone());
        tokio::task::spawn_blocking(move || admin(&u, &f, &args, stdin.as_deref()))
    };
    run(
        vec![
            "user",
            "add",
            "--email",
            "sso@corp.example",
            "--password-stdin",
        ],
        Some(format!("{PASSWORD}\n")),
    )
    .await
    .expect("user add");
    let out = run(
        vec![
            "client",
            "add",
            "--id",
            "crm",
            "--name",
            "CRM",
            "--redirect-uri",
            REDIRECT,
            "--first-party",
        ],
        None,
    )
    .await
    .expect("client add");
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap_or_else(|| panic!("a secret: {out}"))
        .trim()
        .to_owned();

    // Signed in at A; the code is exchanged at B.
    let mut at_a = Browser::for_base(&a.base);
    let page = at_a.authorize("crm", &[]).await;
    let got = at_a.password(&page, "sso@corp.example", PASSWORD).await;
    let code = got.redirect_params()["code"].clone();
    let (status, tokens) = exchange(&b, &secret, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let first = tokens["id_token"].as_str().expect("an ID token").to_owned();
    let claims = verified(&b, &first).await;
    verified(&a, &first).await;
    // Spent for both.
    let (_, body) = exchange(&a, &secret, &code).await;
    assert_eq!(body["error"], "invalid_grant", "{body}");

    // A's single sign-on cookie signs the browser in at B, without the password.
    let mut at_b = Browser::for_base(&b.base);
    at_b.cookies = at_a.cookies.clone();
    assert!(at_b.cookies.contains_key("latchkey_sso"));
    let code = single_sign_on(&mut at_b).await;
    let (status, tokens) = exchange(&a, &secret, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let again = verified(&a, tokens["id_token"].as_str().expect("an ID token")).await;
    assert_eq!(again["sub"], claims["sub"]);

    // `keys rotate`, run beside both: each publishes the new key within its cache's
    // lifetime, keeps the old one, and signs with the new one.
    let old = kid(&first);
    let out = run(vec!["keys", "rotate"], None)
        .await
        .expect("keys rotate");
    let new = out
        .lines()
        .find_map(|l| l.strip_prefix("RS256 key "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("the new RS256 key: {out}"))
        .to_owned();
    assert_ne!(new, old);
    let wait = Duration::from_millis(
        u64::try_from(latchkey_server::oidc::keys::CACHE_TTL_MS).expect("positive") + 2_000,
    );
    for server in [&a, &b] {
        let deadline = Instant::now() + wait;
        while !jwks(server).await.to_string().contains(&new) {
            assert!(Instant::now() < deadline, "{} lacks {new}", server.base);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            jwks(server).await.to_string().contains(&old),
            "old key kept"
        );
    }
    for (signer, other) in [(&a, &b), (&b, &a)] {
        let mut browser = Browser::for_base(&signer.base);
        browser.cookies = at_a.cookies.clone();
        let deadline = Instant::now() + wait;
        loop {
            let code = single_sign_on(&mut browser).await;
            let (status, tokens) = exchange(signer, &secret, &code).await;
            assert_eq!(status, StatusCode::OK, "{tokens}");
            let jwt = tokens["id_token"].as_str().expect("an ID token");
            if kid(jwt) == new {
                verified(signer, jwt).await;
                verified(other, jwt).await;
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} still signs with {old}",
                signer.base
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

//! What the ID token says about the sign-in, read by the library: a second factor in
//! `amr` and `acr`, single sign-on (`prompt=none`) keeping `auth_time`, `max_age`
//! asking again, and the phone scope's claims.

use std::time::Duration;

use latchkey_testkit::{on_both, Backend};
use openidconnect::core::CoreAuthPrompt;
use openidconnect::AuthenticationContextClass;
use reqwest::Method;
use serde_json::json;

use super::browser::{Answers, Browser};
use super::flow::{sign_in, sign_in_with, CALLBACK};
use super::server::{first_party, Explain, Provider, EMAIL, PASSWORD, PHONE};

on_both!(
    a_two_factor_sign_in_says_so,
    single_sign_on_keeps_auth_time_and_max_age_asks_again,
    the_phone_scope_gives_the_phone_number,
);

async fn a_two_factor_sign_in_says_so(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let srv = &provider.server;
    // Two-step verification turned on through the API, as the desktop app does it.
    let session = srv.login(EMAIL, PASSWORD).await;
    let token = session.access_token.expose();
    let (status, enrol) = srv
        .call(
            Method::POST,
            "/v1/me/totp/enroll",
            Some(token),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{enrol}");
    let secret = enrol["secret"].as_str().expect("secret").to_owned();
    let code = srv.totp(&secret);
    let (status, body) = srv
        .call(
            Method::POST,
            "/v1/me/totp/confirm",
            Some(token),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The next step's code: the confirming one is used up.
    srv.advance(30);

    let secret_of_app = provider.register(first_party("erp", &[CALLBACK])).await;
    let client = provider.client("erp", secret_of_app, CALLBACK).await;
    let browser = Browser::new();
    let answers = Answers {
        one_time_code: Some(srv.totp(&secret)),
        ..Answers::password(EMAIL, PASSWORD)
    };
    let two = AuthenticationContextClass::new("2".into());
    let signed_in = sign_in_with(&provider, &client, &browser, &answers, |r| {
        r.add_auth_context_value(two.clone())
    })
    .await;
    assert_eq!(browser.filled(), 2, "the password, then the code");
    let verifier = client
        .id_token_verifier()
        .set_auth_context_verifier_fn(|acr| match acr {
            Some(acr) if acr.as_str() == "2" => Ok(()),
            other => Err(format!("acr {other:?}, not 2")),
        });
    let claims = signed_in
        .id_token()
        .claims(&verifier, &signed_in.nonce)
        .unwrap_or_else(|e| panic!("the ID token was refused: {}", e.explain()));
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|m| m.as_str())
        .collect();
    for method in ["pwd", "otp", "mfa"] {
        assert!(amr.contains(&method), "{method} not in amr {amr:?}");
    }
}

async fn single_sign_on_keeps_auth_time_and_max_age_asks_again(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let secret = provider.register(first_party("crm", &[CALLBACK])).await;
    let client = provider.client("crm", secret, CALLBACK).await;
    let browser = Browser::new();
    let answers = Answers::password(EMAIL, PASSWORD);
    let first = sign_in_with(&provider, &client, &browser, &answers, |r| r).await;
    let first_time = first
        .verified_claims(&client)
        .auth_time()
        .expect("auth_time");
    assert_eq!(browser.filled(), 1);

    provider.server.advance(20);
    let quiet = sign_in_with(&provider, &client, &browser, &answers, |r| {
        r.add_prompt(CoreAuthPrompt::None)
    })
    .await;
    assert_eq!(browser.filled(), 1, "prompt=none showed a page");
    assert_eq!(
        quiet.verified_claims(&client).auth_time(),
        Some(first_time),
        "single sign-on is the same authentication"
    );

    let asked = sign_in_with(&provider, &client, &browser, &answers, |r| {
        r.set_max_age(Duration::from_secs(10))
    })
    .await;
    assert_eq!(
        browser.filled(),
        2,
        "max_age=10 after 20 s did not ask again"
    );
    let again = asked
        .verified_claims(&client)
        .auth_time()
        .expect("auth_time");
    assert!(again > first_time, "auth_time {again} after {first_time}");
}

async fn the_phone_scope_gives_the_phone_number(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let secret = provider
        .register(first_party("phonebook", &[CALLBACK]))
        .await;
    let client = provider.client("phonebook", secret, CALLBACK).await;
    let signed_in = sign_in(&provider, &client, &["phone"]).await;
    let claims = signed_in.verified_claims(&client);
    let userinfo = signed_in.userinfo(&client).await;
    let phone = claims
        .phone_number()
        .or(userinfo.phone_number())
        .map(|p| p.as_str().to_owned());
    assert_eq!(phone.as_deref(), Some(PHONE));
    assert!(
        claims
            .phone_number_verified()
            .or(userinfo.phone_number_verified())
            .is_some(),
        "phone_number_verified"
    );
    // Asked for phone only: no e-mail.
    assert_eq!(claims.email(), None);
    assert_eq!(userinfo.email(), None);

    // And without the phone scope, no phone number.
    let signed_in = sign_in(&provider, &client, &["email"]).await;
    assert_eq!(signed_in.verified_claims(&client).phone_number(), None);
}

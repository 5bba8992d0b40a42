//! RP-initiated logout as the library builds the request: what end-session ends (the
//! browser's single sign-on and the grants made through it) and what it keeps (an
//! `offline_access` grant), seen through introspection, userinfo and refresh.

use std::time::Duration;

use latchkey_testkit::{on_both, Backend};
use openidconnect::{
    AccessToken, ClientId, CsrfToken, EndSessionUrl, LogoutRequest, OAuth2TokenResponse,
    PostLogoutRedirectUrl, TokenIntrospectionResponse,
};

use super::browser::{Answers, Browser};
use super::flow::{query, sign_in_with, with_scopes, SignedIn, CALLBACK};
use super::server::{first_party, Client, Explain, Provider, EMAIL, PASSWORD};

on_both!(
    end_session_ends_the_browser_grants_but_not_offline_ones,
    end_session_after_a_new_sign_in_ends_the_earlier_grants_too,
);

async fn end_session_ends_the_browser_grants_but_not_offline_ones(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let secret = provider.register(first_party("crm", &[CALLBACK])).await;
    let client = provider.client("crm", secret, CALLBACK).await;
    let browser = Browser::new();
    let answers = Answers::password(EMAIL, PASSWORD);
    let online = sign_in_with(&provider, &client, &browser, &answers, |r| {
        with_scopes(r, &["email"])
    })
    .await;
    let offline = sign_in_with(&provider, &client, &browser, &answers, |r| {
        with_scopes(r, &["email", "offline_access"])
    })
    .await;
    assert_eq!(
        browser.filled(),
        1,
        "the second sign-in is a single sign-on"
    );
    assert!(active(&provider, &client, &online).await);

    let state = CsrfToken::new_random();
    let end_session = provider
        .discover()
        .await
        .additional_metadata()
        .end_session_endpoint
        .clone();
    let url = LogoutRequest::from(EndSessionUrl::new(end_session).expect("URL"))
        .set_id_token_hint(online.id_token())
        .set_client_id(ClientId::new("crm".into()))
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(CALLBACK.into()).expect("URL"))
        .set_state(state.clone())
        .http_get_url();
    // A "Sign out?" page first, then back to the application with its state.
    let confirm = browser
        .walk(url.as_str(), &Answers::default(), Some(CALLBACK))
        .await
        .page();
    let back = browser
        .submit_post_form(&confirm, Some(CALLBACK))
        .await
        .redirect();
    assert_eq!(
        query(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );

    assert!(
        !active(&provider, &client, &online).await,
        "a grant of the ended single sign-on is still active"
    );
    assert!(
        active(&provider, &client, &offline).await,
        "an offline_access grant ended with the browser"
    );
    client
        .exchange_refresh_token(offline.tokens.refresh_token().expect("refresh token"))
        .expect("token endpoint")
        .request_async(&provider.http)
        .await
        .unwrap_or_else(|e| panic!("the offline grant cannot refresh: {}", e.explain()));

    // The browser is signed out: the next sign-in asks for the password.
    sign_in_with(&provider, &client, &browser, &answers, |r| {
        with_scopes(r, &["email"])
    })
    .await;
    assert_eq!(browser.filled(), 2, "signed out, yet no password asked");
}

/// A browser signed in, then signed in again (`max_age=0`), then signed out: the grant
/// made through the first sign-on ends too (docs/oidc.md listed it as a known defect).
async fn end_session_after_a_new_sign_in_ends_the_earlier_grants_too(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let secret = provider.register(first_party("crm", &[CALLBACK])).await;
    let client = provider.client("crm", secret, CALLBACK).await;
    let browser = Browser::new();
    let answers = Answers::password(EMAIL, PASSWORD);
    let first = sign_in_with(&provider, &client, &browser, &answers, |r| {
        with_scopes(r, &["email"])
    })
    .await;
    let again = sign_in_with(&provider, &client, &browser, &answers, |r| {
        r.set_max_age(Duration::ZERO)
    })
    .await;
    assert_eq!(browser.filled(), 2, "max_age=0 asks for the password again");
    sign_out(&provider, &browser, &again).await;
    assert!(
        !active(&provider, &client, &again).await,
        "the grant of the current sign-on is still active"
    );
    assert!(
        !active(&provider, &client, &first).await,
        "the grant of the earlier sign-on is still active"
    );
}

/// End-session with the sign-in's ID token as the hint, confirmed on the page.
async fn sign_out(provider: &Provider, browser: &Browser, signed_in: &SignedIn) {
    let end_session = provider
        .discover()
        .await
        .additional_metadata()
        .end_session_endpoint
        .clone();
    let url = LogoutRequest::from(EndSessionUrl::new(end_session).expect("URL"))
        .set_id_token_hint(signed_in.id_token())
        .http_get_url();
    let confirm = browser
        .walk(url.as_str(), &Answers::default(), None)
        .await
        .page();
    let done = browser.submit_post_form(&confirm, None).await.page();
    assert_eq!(done.status, 200, "{}", done.body);
}

/// Whether introspection says the sign-in's access token is active.
async fn active(provider: &Provider, client: &Client, signed_in: &SignedIn) -> bool {
    let token: &AccessToken = signed_in.tokens.access_token();
    client
        .introspect(token)
        .request_async(&provider.http)
        .await
        .unwrap_or_else(|e| panic!("introspection failed: {}", e.explain()))
        .active()
}

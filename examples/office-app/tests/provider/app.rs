//! The example application itself, end to end against the provider: "Sign in with
//! Latchkey", the password form, "Signed in as …" with the claims, and "Sign out",
//! which signs the browser out of the provider too.

use latchkey_server::oidc::clients::NewClient;
use latchkey_testkit::{on_both, Backend};
use office_app::{router, App, Settings};
use reqwest::Method;
use serde_json::json;

use super::browser::{Answers, Browser};
use super::form;
use super::server::{first_party, Provider, EMAIL, NAME, PASSWORD};

on_both!(
    the_example_app_signs_in_and_out,
    the_launcher_opens_the_example_app_signed_in,
    the_example_app_refuses_a_tampered_state,
);

/// The example application, registered as `scripts/run.sh` registers it (its home page
/// as a redirect URI too, for the return from end-session; `/login` as its launch
/// URL), running on loopback; its home page URL.
async fn start_app(provider: &Provider) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let home = format!("http://{}/", listener.local_addr().expect("addr"));
    let callback = format!("{home}callback");
    let secret = provider
        .register(NewClient {
            launch_url: Some(format!("{home}login")),
            ..first_party("office-app", &[&callback, &home])
        })
        .await;
    let settings = Settings {
        issuer: provider.issuer.clone(),
        client_id: "office-app".into(),
        client_secret: secret,
        redirect_uri: callback,
        post_logout_redirect_uri: home.clone(),
    };
    let app = App::start(&settings)
        .await
        .unwrap_or_else(|e| panic!("the app could not start: {e}"));
    tokio::spawn(async move { axum::serve(listener, router(app)).await });
    home
}

async fn the_example_app_signs_in_and_out(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let home = start_app(&provider).await;

    let browser = Browser::new();
    let answers = Answers::password(EMAIL, PASSWORD);
    let start = browser.walk(&home, &answers, None).await.page();
    assert!(
        start.body.contains("Sign in with Latchkey"),
        "{}",
        start.body
    );

    let signed_in = browser
        .walk(&format!("{home}login"), &answers, None)
        .await
        .page();
    assert_eq!(signed_in.url.as_str(), home, "{}", signed_in.body);
    assert!(
        signed_in
            .body
            .contains(&format!("Signed in as <strong id=\"who\">{NAME}</strong>")),
        "{}",
        signed_in.body
    );
    assert!(signed_in.body.contains(EMAIL), "{}", signed_in.body);
    assert!(
        signed_in.body.contains("<th scope=\"row\">amr</th><td>pwd"),
        "{}",
        signed_in.body
    );

    // Single sign-on: a second sign-in in this browser asks for no password.
    let again = browser
        .walk(&format!("{home}login"), &Answers::default(), None)
        .await
        .page();
    assert!(again.body.contains("Signed in as"), "{}", again.body);

    // The provider rotates its signing keys (`keys rotate`): the app, which read them
    // when it started, reads them again for the token that names a new one.
    latchkey_server::oidc::keys::rotate(&provider.server.state)
        .await
        .expect("rotate the keys");
    let rotated = browser
        .walk(&format!("{home}login"), &Answers::default(), None)
        .await
        .page();
    assert!(rotated.body.contains("Signed in as"), "{}", rotated.body);

    // Sign out a quarter of an hour later, as people do: the ID token sent as the hint
    // has expired, which the provider should still accept (RP-Initiated Logout 1.0,
    // section 2). The provider may confirm before it sends the browser back.
    provider.server.advance(15 * 60);
    let mut out = browser.post(&format!("{home}logout"), None).await.page();
    if !out.url.as_str().starts_with(&home) {
        out = browser.submit_post_form(&out, None).await.page();
    }
    assert!(
        out.url.as_str().starts_with(&home),
        "{}: {}",
        out.url,
        out.body
    );
    assert!(out.body.contains("You are signed out"), "{}", out.body);

    // Signed out of the provider too: the next sign-in asks for the password.
    let next = browser
        .walk(&format!("{home}login"), &Answers::default(), None)
        .await
        .page();
    let forms = form::forms(&next.body);
    assert!(
        forms.iter().flat_map(|f| &f.inputs).any(|i| i
            .autocomplete
            .split_whitespace()
            .any(|t| t == "current-password" || t == "username")),
        "the provider did not ask again after sign-out: {}\n{}",
        next.url,
        next.body
    );
}

/// The desktop app's launcher (issue 16): a signed-in desktop session gets a one-time
/// URL that opens the application in a browser that has never signed in, signed in.
async fn the_launcher_opens_the_example_app_signed_in(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let home = start_app(&provider).await;
    let srv = &provider.server;
    let session = srv.login(EMAIL, PASSWORD).await;
    let (status, ticket) = srv
        .call(
            Method::POST,
            "/v1/launch",
            Some(session.access_token.expose()),
            Some(json!({"client_id": "office-app"})),
        )
        .await;
    assert_eq!(status, 200, "{ticket}");
    let url = ticket["url"].as_str().expect("url");
    let browser = Browser::new();
    let page = browser.walk(url, &Answers::default(), None).await.page();
    assert_eq!(browser.filled(), 0, "the launcher asked for nothing");
    assert_eq!(page.url.as_str(), home, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("Signed in as <strong id=\"who\">{NAME}</strong>")),
        "{}",
        page.body
    );
}

/// The callback with another `state` than the one this browser's sign-in started with
/// (login CSRF, or a mix-up of two sign-ins) signs nobody in; the untouched callback
/// still does, so it was the `state` that was refused.
async fn the_example_app_refuses_a_tampered_state(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let home = start_app(&provider).await;
    let browser = Browser::new();
    let callback = format!("{home}callback");
    let back = browser
        .walk(
            &format!("{home}login"),
            &Answers::password(EMAIL, PASSWORD),
            Some(&callback),
        )
        .await
        .redirect();
    let state = back
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("a state");
    for tampered in [format!("{state}x"), "forged".to_owned(), String::new()] {
        let mut url = back.clone();
        let pairs: Vec<(String, String)> = back
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "state" {
                    tampered.clone()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        let page = browser
            .walk(url.as_str(), &Answers::default(), None)
            .await
            .page();
        assert_eq!(page.status, 400, "{tampered:?}: {}", page.body);
        assert!(!page.body.contains("Signed in as"), "{}", page.body);
        let home_page = browser.walk(&home, &Answers::default(), None).await.page();
        assert!(
            home_page.body.contains("Sign in with Latchkey"),
            "{}",
            home_page.body
        );
    }
    let page = browser
        .walk(back.as_str(), &Answers::default(), None)
        .await
        .page();
    assert!(page.body.contains("Signed in as"), "{}", page.body);
}

//! The provider's tokens and endpoints as an independent relying party sees them:
//! every check of the ID token (signature against the JWKS, issuer, audience,
//! expiry, nonce, `at_hash`) is the `openidconnect` crate's, not the server's own code.

use latchkey_server::oidc::clients::NewClient;
use latchkey_server::oidc::keys::Alg;
use latchkey_testkit::{on_both, Backend};
use openidconnect::core::{
    CoreClient, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthType, ClientId, ClientSecret, IssuerUrl, JsonWebKeySetUrl,
    Nonce, OAuth2TokenResponse, RedirectUrl, TokenIntrospectionResponse, TokenResponse, TokenUrl,
    UserInfoUrl,
};
use reqwest::StatusCode;

use super::browser::{Answers, Browser};
use super::flow::{authorize, sign_in, with_scopes, CALLBACK};
use super::server::{first_party, Client, Explain, Provider, EMAIL, NAME, PASSWORD};

on_both!(
    the_id_token_passes_an_independent_library,
    refresh_and_revocation,
    client_secret_post_a_public_client_and_eddsa,
    two_processes_are_one_provider,
);

async fn the_id_token_passes_an_independent_library(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let secret = provider
        .register(first_party("office-app", &[CALLBACK]))
        .await;
    let client = provider.client("office-app", secret, CALLBACK).await;
    let signed_in = sign_in(&provider, &client, &["profile", "email"]).await;
    let claims = signed_in.verified_claims(&client);

    assert_eq!(
        signed_in.alg(),
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256
    );
    signed_in.check_at_hash(&client);
    let sub = claims.subject().as_str();
    assert!(!sub.is_empty());
    assert!(
        sub != EMAIL && !sub.contains('@'),
        "sub must be opaque, not the e-mail: {sub}"
    );
    assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(
        claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some(NAME)
    );
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|m| m.as_str())
        .collect();
    assert!(amr.contains(&"pwd"), "amr {amr:?}");
    assert!(
        !amr.contains(&"mfa"),
        "a password-only sign-in: amr {amr:?}"
    );
    let auth_time = claims.auth_time().expect("auth_time").timestamp();
    let now = provider.server.state.now() / 1000;
    assert!(
        (now - 120..=now + 5).contains(&auth_time),
        "auth_time {auth_time}, now {now}"
    );
    assert!(claims.auth_context_ref().is_some(), "acr");

    let userinfo = signed_in.userinfo(&client).await;
    assert_eq!(userinfo.subject().as_str(), sub);
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some(EMAIL));
}

async fn refresh_and_revocation(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let secret = provider
        .register(first_party("office-app", &[CALLBACK]))
        .await;
    let client = provider
        .client("office-app", secret.clone(), CALLBACK)
        .await;
    let signed_in = sign_in(&provider, &client, &["profile", "email", "offline_access"]).await;
    let sub = signed_in.verified_claims(&client).subject().clone();
    let refresh = signed_in
        .tokens
        .refresh_token()
        .expect("a refresh token with offline_access")
        .clone();

    let refreshed = client
        .exchange_refresh_token(&refresh)
        .expect("token endpoint")
        .request_async(&provider.http)
        .await
        .unwrap_or_else(|e| panic!("refresh failed: {}", e.explain()));
    let access = refreshed.access_token().clone();
    assert_ne!(access.secret(), signed_in.tokens.access_token().secret());
    if let Some(id_token) = refreshed.id_token() {
        // OpenID Connect Core 12.2: the same subject and authentication time, a new
        // issue time, and the nonce (if any) unchanged; at_hash of the new token.
        let nonce = signed_in.nonce.clone();
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, |n: Option<&Nonce>| match n {
                None => Ok(()),
                Some(n) if n.secret() == nonce.secret() => Ok(()),
                Some(_) => Err("another nonce".to_owned()),
            })
            .unwrap_or_else(|e| panic!("the refreshed ID token was refused: {}", e.explain()));
        let original = signed_in.verified_claims(&client);
        assert_eq!(claims.subject(), &sub);
        assert_eq!(claims.auth_time(), original.auth_time(), "auth_time");
        assert!(claims.issue_time() >= original.issue_time(), "iat");
        if let Some(expected) = claims.access_token_hash() {
            let actual = AccessTokenHash::from_token(
                &access,
                id_token.signing_alg().expect("signed"),
                id_token
                    .signing_key(&verifier)
                    .expect("the key in the JWKS"),
            )
            .expect("hash");
            assert_eq!(&actual, expected, "at_hash of the refreshed access token");
        }
    }
    let userinfo: CoreUserInfoClaims = client
        .user_info(access.clone(), Some(sub.clone()))
        .expect("userinfo endpoint")
        .request_async(&provider.http)
        .await
        .unwrap_or_else(|e| panic!("userinfo with the refreshed token failed: {}", e.explain()));
    assert_eq!(userinfo.subject(), &sub);

    let live = introspect(&provider, &client, &access, "access_token").await;
    assert!(live.active(), "{live:?}");
    assert_eq!(live.sub(), Some(sub.as_str()));
    assert_eq!(live.client_id().map(|c| c.as_str()), Some("office-app"));

    // The refresh token in use is the refreshed response's when the provider rotates it.
    let refresh = refreshed.refresh_token().cloned().unwrap_or(refresh);
    revoke(
        &provider,
        secret.as_deref(),
        refresh.secret(),
        "refresh_token",
    )
    .await;
    let as_access = AccessToken::new(refresh.secret().clone());
    let dead = introspect(&provider, &client, &as_access, "refresh_token").await;
    assert!(
        !dead.active(),
        "a revoked refresh token is still active: {dead:?}"
    );
    let again = client
        .exchange_refresh_token(&refresh)
        .expect("token endpoint")
        .request_async(&provider.http)
        .await;
    assert!(
        again.is_err(),
        "a revoked refresh token was exchanged: {again:?}"
    );

    revoke(
        &provider,
        secret.as_deref(),
        access.secret(),
        "access_token",
    )
    .await;
    let dead = introspect(&provider, &client, &access, "access_token").await;
    assert!(
        !dead.active(),
        "a revoked access token is still active: {dead:?}"
    );
    let refused = provider
        .http
        .get(client.user_info_url().expect("userinfo").url().clone())
        .bearer_auth(access.secret())
        .send()
        .await
        .expect("userinfo");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

async fn client_secret_post_a_public_client_and_eddsa(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    // client_secret_post: the secret in the form instead of the Authorization header.
    let secret = provider.register(first_party("crm", &[CALLBACK])).await;
    let client = provider
        .client("crm", secret, CALLBACK)
        .await
        .set_auth_type(AuthType::RequestBody);
    let signed_in = sign_in(&provider, &client, &["email"]).await;
    signed_in.verified_claims(&client);
    signed_in.check_at_hash(&client);

    // A public client: no secret, PKCE only.
    let public = provider
        .register(NewClient {
            public: true,
            ..first_party("desktop-tool", &[CALLBACK])
        })
        .await;
    assert!(public.is_none(), "a public client got a secret");
    let client = provider.client("desktop-tool", None, CALLBACK).await;
    let signed_in = sign_in(&provider, &client, &["email"]).await;
    signed_in.verified_claims(&client);

    // An application registered for EdDSA ID tokens.
    let secret = provider
        .register(NewClient {
            id_token_alg: Some(Alg::EdDsa),
            ..first_party("webmail", &[CALLBACK])
        })
        .await;
    let client = provider.client("webmail", secret, CALLBACK).await;
    let signed_in = sign_in(&provider, &client, &["email"]).await;
    assert_eq!(signed_in.alg(), CoreJwsSigningAlgorithm::EdDsa);
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::EdDsa]);
    signed_in
        .id_token()
        .claims(&verifier, &signed_in.nonce)
        .unwrap_or_else(|e| panic!("the EdDSA ID token was refused: {}", e.explain()));
    signed_in.check_at_hash(&client);
}

/// Introspection (RFC 7662) by the library, authenticated as the client.
async fn introspect(
    provider: &Provider,
    client: &Client,
    token: &AccessToken,
    hint: &str,
) -> openidconnect::core::CoreTokenIntrospectionResponse {
    client
        .introspect(token)
        .set_token_type_hint(hint)
        .request_async(&provider.http)
        .await
        .unwrap_or_else(|e| panic!("introspection failed: {}", e.explain()))
}

/// Revocation (RFC 7009) as a plain form POST: the library refuses a revocation URL
/// that is not https, and the test server is http on loopback.
async fn revoke(provider: &Provider, secret: Option<&str>, token: &str, hint: &str) {
    let endpoint = provider
        .discover()
        .await
        .additional_metadata()
        .revocation_endpoint
        .clone();
    let response = provider
        .http
        .post(endpoint)
        .basic_auth("office-app", secret)
        .form(&[("token", token), ("token_type_hint", hint)])
        .send()
        .await
        .expect("revocation");
    let status = response.status();
    assert_eq!(
        status,
        StatusCode::OK,
        "revocation: {}",
        response.text().await.unwrap_or_default()
    );
}

/// A second server process on the same database (behind one load balancer, one
/// issuer): a code from the first is exchanged at the second, whose JWKS verifies the
/// ID token and whose userinfo knows the access token.
async fn two_processes_are_one_provider(backend: Backend) {
    let Some(provider) = Provider::start(backend).await else {
        return;
    };
    let second = provider.server.sibling(|_| {}).await;
    let secret = provider
        .register(first_party("office-app", &[CALLBACK]))
        .await
        .expect("a secret");
    let client = provider
        .client("office-app", Some(secret.clone()), CALLBACK)
        .await;
    let authorized = authorize(
        &provider,
        &client,
        &Browser::new(),
        &Answers::password(EMAIL, PASSWORD),
        |r| with_scopes(r, &["email"]),
    )
    .await;

    // The library's client of the second process: its keys, its endpoints.
    let at_second = |path: &str| format!("{}{path}", second.base());
    let keys = CoreJsonWebKeySet::fetch_async(
        &JsonWebKeySetUrl::new(at_second("/oidc/jwks")).expect("URL"),
        &provider.http,
    )
    .await
    .unwrap_or_else(|e| panic!("the second process's JWKS: {e:?}"));
    let issuer = IssuerUrl::new(provider.issuer.clone()).expect("issuer");
    let client = CoreClient::new(ClientId::new("office-app".into()), issuer, keys)
        .set_client_secret(ClientSecret::new(secret))
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).expect("URL"))
        .set_token_uri(TokenUrl::new(at_second("/oidc/token")).expect("URL"))
        .set_user_info_url(UserInfoUrl::new(at_second("/oidc/userinfo")).expect("URL"));
    let tokens = client
        .exchange_code(authorized.code)
        .set_pkce_verifier(authorized.verifier)
        .request_async(&provider.http)
        .await
        .unwrap_or_else(|e| panic!("the exchange at the second process: {}", e.explain()));
    let claims = tokens
        .id_token()
        .expect("an ID token")
        .claims(&client.id_token_verifier(), &authorized.nonce)
        .unwrap_or_else(|e| panic!("the second process's keys refuse it: {}", e.explain()));
    let userinfo: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .request_async(&provider.http)
        .await
        .unwrap_or_else(|e| panic!("userinfo at the second process: {}", e.explain()));
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some(EMAIL));
}

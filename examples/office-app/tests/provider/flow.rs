//! The authorization code flow as the library runs it: the authorization URL made by
//! the library (PKCE S256, `state`, `nonce`, and what a test adds), the browser pages
//! walked with the person's answers, the code taken from the redirect to the callback
//! and exchanged by the library.

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreIdToken, CoreIdTokenClaims,
    CoreJwsSigningAlgorithm, CoreResponseType, CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, AuthorizationRequest, CsrfToken, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse,
};
use reqwest::Url;

use super::browser::{Answers, Browser};
use super::server::{Client, Explain, Provider, EMAIL, PASSWORD};

/// No application listens there: the walk stops at the redirect to it.
pub const CALLBACK: &str = "http://127.0.0.1:8090/callback";

/// The authorization request, for a test to add to.
pub type Authorize<'a> =
    AuthorizationRequest<'a, CoreAuthDisplay, CoreAuthPrompt, CoreResponseType>;

/// A finished code flow.
pub struct SignedIn {
    pub tokens: CoreTokenResponse,
    pub nonce: Nonce,
}

impl SignedIn {
    pub fn id_token(&self) -> &CoreIdToken {
        self.tokens.id_token().expect("an ID token")
    }

    /// The claims, verified by the library with the client's default verifier (RS256).
    #[track_caller]
    pub fn verified_claims(&self, client: &Client) -> &CoreIdTokenClaims {
        self.id_token()
            .claims(&client.id_token_verifier(), &self.nonce)
            .unwrap_or_else(|e| panic!("the ID token was refused: {}", e.explain()))
    }

    pub fn alg(&self) -> CoreJwsSigningAlgorithm {
        self.id_token().signing_alg().expect("signed").clone()
    }

    /// `at_hash` is present and is the access token's, as the library computes it.
    #[track_caller]
    pub fn check_at_hash(&self, client: &Client) {
        let verifier = client.id_token_verifier().allow_any_alg();
        let claims = self
            .id_token()
            .claims(&verifier, &self.nonce)
            .expect("verified");
        let expected = claims.access_token_hash().expect("at_hash in the ID token");
        let key = self
            .id_token()
            .signing_key(&verifier)
            .expect("the key in the JWKS");
        let actual = AccessTokenHash::from_token(
            self.tokens.access_token(),
            self.id_token().signing_alg().expect("signed"),
            key,
        )
        .expect("hash");
        assert_eq!(&actual, expected, "at_hash");
    }

    pub async fn userinfo(&self, client: &Client) -> CoreUserInfoClaims {
        let sub = self.verified_claims(client).subject().clone();
        client
            .user_info(self.tokens.access_token().clone(), Some(sub))
            .expect("userinfo endpoint")
            .request_async(&reqwest::Client::new())
            .await
            .unwrap_or_else(|e| panic!("userinfo failed: {}", e.explain()))
    }
}

/// A sign-in of [`EMAIL`] with its password in a new browser, asking for `scopes`.
pub async fn sign_in(provider: &Provider, client: &Client, scopes: &[&str]) -> SignedIn {
    let answers = Answers::password(EMAIL, PASSWORD);
    sign_in_with(provider, client, &Browser::new(), &answers, |r| {
        with_scopes(r, scopes)
    })
    .await
}

/// The request asking for `scopes` too.
pub fn with_scopes<'a>(request: Authorize<'a>, scopes: &[&str]) -> Authorize<'a> {
    scopes
        .iter()
        .fold(request, |r, s| r.add_scope(Scope::new((*s).into())))
}

/// The code flow in `browser` with `answers`, the request as `tweak` makes it.
pub async fn sign_in_with(
    provider: &Provider,
    client: &Client,
    browser: &Browser,
    answers: &Answers,
    tweak: impl FnOnce(Authorize<'_>) -> Authorize<'_>,
) -> SignedIn {
    let authorized = authorize(provider, client, browser, answers, tweak).await;
    let tokens = client
        .exchange_code(authorized.code)
        .expect("token endpoint")
        .set_pkce_verifier(authorized.verifier)
        .request_async(&provider.http)
        .await
        .unwrap_or_else(|e| panic!("the code exchange failed: {}", e.explain()));
    SignedIn {
        tokens,
        nonce: authorized.nonce,
    }
}

/// An authorization the browser brought back: the code, and what its exchange and
/// the ID token's check need.
pub struct Authorized {
    pub code: AuthorizationCode,
    pub verifier: PkceCodeVerifier,
    pub nonce: Nonce,
}

/// The authorization request in `browser` up to the redirect to the callback, whose
/// `state` and `iss` are checked.
pub async fn authorize(
    provider: &Provider,
    client: &Client,
    browser: &Browser,
    answers: &Answers,
    tweak: impl FnOnce(Authorize<'_>) -> Authorize<'_>,
) -> Authorized {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    let (url, state, nonce) = tweak(request).set_pkce_challenge(challenge).url();
    let back = browser
        .walk(url.as_str(), answers, Some(CALLBACK))
        .await
        .redirect();
    let code = query(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    assert_eq!(
        query(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    // RFC 9207, which discovery says the provider follows.
    assert_eq!(
        query(&back, "iss").as_deref(),
        Some(provider.issuer.as_str())
    );
    Authorized {
        code: AuthorizationCode::new(code),
        verifier,
        nonce,
    }
}

pub fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

//! The OpenID Connect side of the office app: discovery, the authorization URL (PKCE
//! S256, `state`, `nonce`), the code exchange, the checks of the ID token and the
//! RP-initiated logout URL. Every protocol step is the `openidconnect` crate's; this
//! module only chooses what to ask for and what to insist on.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm,
    CoreUserInfoClaims,
};
use openidconnect::reqwest;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndSessionUrl,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
};

use std::sync::{PoisonError, RwLock};

use crate::{Error, Settings};

/// The client as discovery leaves it: an authorization endpoint, and a token and a
/// userinfo endpoint if the provider lists them.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The ID-token signatures accepted: those the provider may use. Never the HMAC ones
/// (keyed with the client secret) nor `none`, whatever discovery lists.
const ALGORITHMS: [CoreJwsSigningAlgorithm; 2] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// The scopes asked for: who the person is, how to write to them.
const SCOPES: [&str; 2] = ["profile", "email"];

/// This application as a relying party of one provider.
pub struct RelyingParty {
    settings: Settings,
    issuer: IssuerUrl,
    http: reqwest::Client,
    /// The client as the last discovery made it, with the provider's keys of then.
    client: RwLock<Client>,
    end_session: Option<EndSessionUrl>,
    post_logout: PostLogoutRedirectUrl,
}

/// What a sign-in under way must remember until its callback: the secrets that bind
/// the code to this browser (PKCE verifier) and the ID token to this request (nonce).
pub struct Pending {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
}

/// A finished sign-in.
pub struct SignedIn {
    /// What to greet the person with: their name, else their username, else `sub`.
    pub name: String,
    /// The verified claims, in display order, as (claim, value).
    pub claims: Vec<(&'static str, String)>,
    /// Kept for the logout request's `id_token_hint`.
    id_token: CoreIdToken,
}

impl RelyingParty {
    /// Reads the provider's discovery document and its JWKS.
    pub async fn discover(settings: &Settings) -> Result<Self, Error> {
        // No redirects: a token or discovery request that is redirected could carry the
        // client secret or the code to another host.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Discovery(e.to_string()))?;
        let issuer = IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| Error::Config(format!("OFFICE_APP_ISSUER: {e}")))?;
        let post_logout = PostLogoutRedirectUrl::new(settings.post_logout_redirect_uri.clone())
            .map_err(|e| Error::Config(format!("OFFICE_APP_POST_LOGOUT_REDIRECT_URI: {e}")))?;
        let (client, end_session) = client(settings, &issuer, &http).await?;
        Ok(Self {
            settings: settings.clone(),
            issuer,
            http,
            client: RwLock::new(client),
            end_session,
            post_logout,
        })
    }

    fn client(&self) -> Client {
        self.client
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Discovery again, for the provider's current keys: it rotates them (`keys
    /// rotate`), and an ID token signed with a key made since the last discovery names
    /// a `kid` the app has not seen.
    async fn rediscover(&self) -> Result<Client, Error> {
        let (client, _) = client(&self.settings, &self.issuer, &self.http).await?;
        *self.client.write().unwrap_or_else(PoisonError::into_inner) = client.clone();
        Ok(client)
    }

    /// Whether the `iss` of an authorization response is this provider's (RFC 9207:
    /// a response from another provider the app also used would be a mix-up attack).
    pub fn is_issuer(&self, iss: &str) -> bool {
        iss == self.issuer.as_str()
    }

    /// The URL to send the browser to, its `state`, and what the callback will need.
    pub fn start(&self) -> (reqwest::Url, CsrfToken, Pending) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in SCOPES {
            request = request.add_scope(Scope::new(scope.into()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        (url, state, Pending { verifier, nonce })
    }

    /// Exchanges the code, verifies the ID token (signature against the JWKS, issuer,
    /// audience, expiry, nonce, and `at_hash` when present; the JWKS read again first
    /// if the token names a key the app has not seen), then reads userinfo for the
    /// same subject.
    pub async fn finish(&self, pending: Pending, code: String) -> Result<SignedIn, Error> {
        let mut client = self.client();
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| Error::Token(e.to_string()))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| Error::Token(chain(&e)))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| Error::IdToken("the token response has no ID token".into()))?;
        if matches!(
            id_token.signing_key(&client.id_token_verifier()),
            Err(SignatureVerificationError::NoMatchingKey)
        ) {
            client = self.rediscover().await?;
        }
        let verifier = client.id_token_verifier().set_allowed_algs(ALGORITHMS);
        let claims = id_token
            .claims(&verifier, &pending.nonce)
            .map_err(|e| Error::IdToken(e.to_string()))?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(|e| Error::IdToken(e.to_string()))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| Error::IdToken(e.to_string()))?;
            let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
                .map_err(|e| Error::IdToken(e.to_string()))?;
            if actual != *expected {
                return Err(Error::IdToken(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        // The library checks that userinfo speaks of the ID token's subject.
        let userinfo: CoreUserInfoClaims = client
            .user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
            .map_err(|e| Error::UserInfo(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(|e| Error::UserInfo(chain(&e)))?;
        Ok(SignedIn {
            name: greeting(claims, &userinfo),
            claims: display(claims, &userinfo),
            id_token: id_token.clone(),
        })
    }

    /// Where to send the browser to sign out of the provider too, with `state` to
    /// recognise its return; `None` when the provider has no end-session endpoint.
    pub fn logout_url(&self, signed_in: &SignedIn, state: CsrfToken) -> Option<reqwest::Url> {
        let endpoint = self.end_session.clone()?;
        Some(
            LogoutRequest::from(endpoint)
                .set_id_token_hint(&signed_in.id_token)
                .set_client_id(ClientId::new(self.settings.client_id.clone()))
                .set_post_logout_redirect_uri(self.post_logout.clone())
                .set_state(state)
                .http_get_url(),
        )
    }
}

/// The client of `settings` at the provider as its discovery document (and JWKS) now
/// describe it, and its end-session endpoint.
async fn client(
    settings: &Settings,
    issuer: &IssuerUrl,
    http: &reqwest::Client,
) -> Result<(Client, Option<EndSessionUrl>), Error> {
    let metadata = ProviderMetadataWithLogout::discover_async(issuer.clone(), http)
        .await
        .map_err(|e| Error::Discovery(chain(&e)))?;
    let end_session = metadata.additional_metadata().end_session_endpoint.clone();
    let redirect = RedirectUrl::new(settings.redirect_uri.clone())
        .map_err(|e| Error::Config(format!("OFFICE_APP_REDIRECT_URI: {e}")))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id.clone()),
        settings.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect);
    Ok((client, end_session))
}

type Claims = CoreIdTokenClaims;

fn greeting(claims: &Claims, userinfo: &CoreUserInfoClaims) -> String {
    let name = userinfo
        .name()
        .or(claims.name())
        .and_then(|n| n.get(None))
        .map(|n| n.to_string());
    let username = userinfo
        .preferred_username()
        .or(claims.preferred_username())
        .map(|u| u.to_string());
    name.or(username)
        .unwrap_or_else(|| claims.subject().to_string())
}

/// The claims worth showing, from the ID token, or from userinfo where the ID token
/// leaves them out (a provider may put the profile claims in only one of them).
fn display(claims: &Claims, userinfo: &CoreUserInfoClaims) -> Vec<(&'static str, String)> {
    let text = |v: Option<String>, w: Option<String>| v.or(w);
    let name = |c: Option<&openidconnect::LocalizedClaim<openidconnect::EndUserName>>| {
        c.and_then(|n| n.get(None)).map(|n| n.to_string())
    };
    let rows: [(&'static str, Option<String>); 14] = [
        ("sub", Some(claims.subject().to_string())),
        ("name", text(name(claims.name()), name(userinfo.name()))),
        (
            "preferred_username",
            text(
                claims.preferred_username().map(|u| u.to_string()),
                userinfo.preferred_username().map(|u| u.to_string()),
            ),
        ),
        (
            "email",
            text(
                claims.email().map(|e| e.to_string()),
                userinfo.email().map(|e| e.to_string()),
            ),
        ),
        (
            "email_verified",
            claims
                .email_verified()
                .or(userinfo.email_verified())
                .map(|b| b.to_string()),
        ),
        (
            "phone_number",
            text(
                claims.phone_number().map(|p| p.to_string()),
                userinfo.phone_number().map(|p| p.to_string()),
            ),
        ),
        (
            "phone_number_verified",
            claims
                .phone_number_verified()
                .or(userinfo.phone_number_verified())
                .map(|b| b.to_string()),
        ),
        ("auth_time", claims.auth_time().map(|t| t.to_rfc3339())),
        (
            "amr",
            claims
                .auth_method_refs()
                .map(|amr| amr.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(" ")),
        ),
        ("acr", claims.auth_context_ref().map(|a| a.to_string())),
        ("iss", Some(claims.issuer().to_string())),
        (
            "aud",
            Some(
                claims
                    .audiences()
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ),
        ("iat", Some(claims.issue_time().to_rfc3339())),
        ("exp", Some(claims.expiration().to_rfc3339())),
    ];
    rows.into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

/// An error and its sources on one line: the library's top-level messages ("Server
/// returned error response") say little on their own.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

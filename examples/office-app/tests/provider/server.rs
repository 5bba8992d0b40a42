//! What the tests share: a real `latchkey-server` (the testkit's, whose issuer is its
//! own address), an account, registered applications, and the provider as the
//! `openidconnect` crate discovers it.
//!
//! The server is set up as an office runs it (`TestServer::start`), except that
//! new-device verification is off: the new-device code is the server's own tests'
//! subject, the tokens are this one's.

use latchkey_server::admin::AddUser;
use latchkey_server::oidc::clients::{self, NewClient};
use latchkey_testkit::{Backend, TestServer};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, ClaimsVerificationError, ClientId, ClientSecret, DiscoveryError,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, ErrorResponse, IntrospectionUrl, IssuerUrl,
    ProviderMetadata, RedirectUrl, RequestTokenError, RevocationUrl, UserInfoError,
};
use serde::{Deserialize, Serialize};

/// The account the tests sign in as.
pub const EMAIL: &str = "alice@corp.example";
pub const NAME: &str = "Alice Example";
pub const PASSWORD: &str = "Juniper-harbour-falcon-73";
pub const PHONE: &str = "+8613912345678";

/// The discovery fields beyond OpenID Connect Discovery's own that the tests read.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Extra {
    pub end_session_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207: the authorization response names the issuer (`iss`).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}
impl AdditionalProviderMetadata for Extra {}

pub type Metadata = ProviderMetadata<
    Extra,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The client with every endpoint the tests call.
pub type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A running provider.
pub struct Provider {
    pub server: TestServer,
    pub issuer: String,
    /// Redirects are never followed: a redirect is something a test looks at.
    pub http: reqwest::Client,
}

impl Provider {
    /// A provider with the account of [`EMAIL`]; `None` when the backend is skipped.
    pub async fn start(backend: Backend) -> Option<Self> {
        let server = TestServer::start(backend, |c| c.devices.verify_new = false).await?;
        let issuer = server
            .state
            .config()
            .oidc
            .issuer()
            .expect("the test server is a provider")
            .to_owned();
        server
            .add(
                AddUser {
                    email: Some(EMAIL.into()),
                    name: Some(NAME.into()),
                    phone: Some(PHONE.into()),
                    ..AddUser::default()
                },
                PASSWORD,
            )
            .await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Some(Self {
            server,
            issuer,
            http,
        })
    }

    /// Registers an application as `client add` does; its secret, if confidential.
    pub async fn register(&self, new: NewClient) -> Option<String> {
        let state = &self.server.state;
        clients::add(&state.db, &new, state.now())
            .await
            .expect("register the application")
            .map(|secret| secret.expose().to_owned())
    }

    /// The discovery document, read by the library (which checks that its `issuer` is
    /// the one asked for).
    pub async fn discover(&self) -> Metadata {
        Metadata::discover_async(
            IssuerUrl::new(self.issuer.clone()).expect("issuer"),
            &self.http,
        )
        .await
        .unwrap_or_else(|e| panic!("discovery failed: {}", e.explain()))
    }

    /// The library's client for a registered application.
    pub async fn client(&self, id: &str, secret: Option<String>, redirect_uri: &str) -> Client {
        let metadata = self.discover().await;
        let extra = metadata.additional_metadata().clone();
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(id.into()),
            secret.map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.into()).expect("redirect URI"))
        .set_revocation_url(RevocationUrl::new(extra.revocation_endpoint).expect("URL"))
        .set_introspection_url(IntrospectionUrl::new(extra.introspection_endpoint).expect("URL"))
    }
}

/// A first-party confidential application with one redirect URI.
pub fn first_party(id: &str, redirect_uris: &[&str]) -> NewClient {
    NewClient {
        id: id.into(),
        name: format!("Application {id}"),
        redirect_uris: redirect_uris.iter().map(|u| (*u).to_owned()).collect(),
        first_party: true,
        ..NewClient::default()
    }
}

/// A failure of the library, told as a provider bug report needs it: the message with
/// its sources, and the response's status and body as text.
pub trait Explain {
    fn explain(&self) -> String;
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

impl<RE: std::error::Error + 'static> Explain for DiscoveryError<RE> {
    fn explain(&self) -> String {
        match self {
            DiscoveryError::Response(status, body, _) => {
                format!("{status}: {}", String::from_utf8_lossy(body))
            }
            e => chain(e),
        }
    }
}

impl<RE: std::error::Error + 'static> Explain for UserInfoError<RE> {
    fn explain(&self) -> String {
        match self {
            UserInfoError::Response(status, body, _) => {
                format!("{status}: {}", String::from_utf8_lossy(body))
            }
            e => chain(e),
        }
    }
}

impl<RE, T> Explain for RequestTokenError<RE, T>
where
    RE: std::error::Error + 'static,
    T: ErrorResponse + 'static,
{
    fn explain(&self) -> String {
        match self {
            RequestTokenError::ServerResponse(response) => format!("error response {response:?}"),
            RequestTokenError::Parse(e, body) => {
                format!("{}: {}", chain(e), String::from_utf8_lossy(body))
            }
            e => chain(e),
        }
    }
}

impl Explain for ClaimsVerificationError {
    fn explain(&self) -> String {
        chain(self)
    }
}

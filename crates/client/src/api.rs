//! The v1 HTTP contract, one method per route, every failure a [`ClientError`].
//!
//! Bodies are the `latchkey-proto` types; every request carries the client version
//! header so the server can answer `client_outdated` anywhere. An answer that is not the
//! server's JSON (a proxy's error page, a captive portal) is told apart from a server
//! error, because the fix differs.
//!
//! Here the client and the routes of signing in, refreshing and resetting a password;
//! `api/account.rs` has the signed-in account's routes (`/v1/me/…`), `api/answer.rs`
//! how an answer that is not a success becomes a [`ClientError`].

use std::time::Duration;

use latchkey_proto::{
    DeviceVerifyRequest, ForcedChangeRequest, LoginRequest, LoginResponse, LogoutRequest, Meta,
    MfaRequest, RefreshRequest, ResetCompleteRequest, ResetLinkAccount, ResetLinkRequest,
    ResetStartRequest, ResetStarted, ResetVerified, ResetVerifyRequest, Secret, Session,
    CLIENT_VERSION_HEADER, IDEMPOTENCY_KEY_HEADER,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ClientError;
use crate::link::Link;
use crate::net::{self, ServerUrl};
use crate::proxy;
pub use crate::retry::IdempotencyKey;
pub use crate::retry::BUSY_RETRIES;

mod account;
mod answer;

use answer::{error_answer, is_server_json};

/// How long to wait. The request timeout covers the server's password hashing and its
/// admitted wait (at most `argon2.max_wait_ms`, 1 s by default, or its 5 s backstop).
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(15),
        }
    }
}

/// A client of one server.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: ServerUrl,
    client_version: String,
    proxied: bool,
    /// Sent as `Idempotency-Key` with every request of this copy (see [`Api::keyed`]).
    key: Option<IdempotencyKey>,
    /// Told how each request ended (see [`Api::reporting_to`]).
    link: Link,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("base", &self.base).finish()
    }
}

impl Api {
    pub fn new(
        base: ServerUrl,
        client_version: &str,
        timeouts: Timeouts,
    ) -> Result<Self, ClientError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .https_only(!base.is_loopback())
            .user_agent(format!("latchkey-desktop/{client_version}"))
            // Redirects could carry a password to another host; the API never uses them.
            .redirect(reqwest::redirect::Policy::none());
        if proxy::loopback_direct(&base) {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| ClientError::Network {
            detail: e.to_string(),
        })?;
        Ok(Self {
            proxied: proxy::proxy_for(&base).is_some(),
            http,
            base,
            client_version: client_version.to_owned(),
            key: None,
            link: Link::default(),
        })
    }

    /// This client, telling `link` whether each request reached the server.
    pub fn reporting_to(self, link: Link) -> Self {
        Self { link, ..self }
    }

    /// This client, sending `key` as the `Idempotency-Key` of its requests: one copy
    /// per action of the person, used for each try of it.
    pub fn keyed(&self, key: IdempotencyKey) -> Self {
        Self {
            key: Some(key),
            ..self.clone()
        }
    }

    pub fn base(&self) -> &ServerUrl {
        &self.base
    }

    pub fn client_version(&self) -> &str {
        &self.client_version
    }

    /// Sends the request; a `server_busy` answer (nothing was done) is sent again after
    /// the server's `Retry-After` plus jitter, at most [`crate::retry::BUSY_RETRIES`] times.
    async fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&Secret>,
        body: Option<&B>,
    ) -> Result<(StatusCode, Vec<u8>), ClientError> {
        let mut retries = 0;
        loop {
            let outcome = self.exchange(method.clone(), path, bearer, body).await;
            self.link.note(&outcome);
            match &outcome {
                Err(ClientError::ServerBusy { retry_after })
                    if retries < crate::retry::BUSY_RETRIES =>
                {
                    retries += 1;
                    let pause = crate::retry::busy_pause(*retry_after, rand::random::<f64>());
                    tracing::info!(
                        pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                        "the server is busy; trying again after its Retry-After"
                    );
                    tokio::time::sleep(pause).await;
                }
                _ => return outcome,
            }
        }
    }

    async fn exchange<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&Secret>,
        body: Option<&B>,
    ) -> Result<(StatusCode, Vec<u8>), ClientError> {
        let url = self.base.join(path)?;
        let mut req = self
            .http
            .request(method, url)
            .header(CLIENT_VERSION_HEADER, &self.client_version);
        if let Some(token) = bearer {
            req = req.bearer_auth(token.expose());
        }
        if let Some(key) = &self.key {
            req = req.header(IDEMPOTENCY_KEY_HEADER, key.as_str());
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| net::classify(&e, self.proxied))?;
        let status = resp.status();
        let retry_header = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = resp
            .bytes()
            .await
            .map_err(|e| net::classify(&e, self.proxied))?;
        if status.is_success() {
            return Ok((status, text.to_vec()));
        }
        if self.proxied && status == StatusCode::FORBIDDEN && !is_server_json(&text) {
            // A forward proxy's own refusal (an access rule, a filtered site): not the
            // server's, which always answers with its JSON.
            return Err(ClientError::Proxy {
                detail: "403 from the proxy".into(),
            });
        }
        Err(error_answer(status, &text, retry_header))
    }

    pub(crate) async fn json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&Secret>,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let (status, body) = self.call(method, path, bearer, body).await?;
        serde_json::from_slice(&body).map_err(|_| ClientError::UnexpectedResponse {
            status: status.as_u16(),
        })
    }

    pub(crate) async fn empty<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&Secret>,
        body: Option<&B>,
    ) -> Result<(), ClientError> {
        self.call(method, path, bearer, body).await.map(|_| ())
    }

    /// `GET /v1/meta`: also the connection test of the first-run setup.
    pub async fn meta(&self) -> Result<Meta, ClientError> {
        self.json::<Meta, ()>(Method::GET, "v1/meta", None, None)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn login(&self, req: &LoginRequest) -> Result<LoginResponse, ClientError> {
        self.json(Method::POST, "v1/auth/login", None, Some(req))
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn mfa(&self, req: &MfaRequest) -> Result<Session, ClientError> {
        self.json(Method::POST, "v1/auth/mfa", None, Some(req))
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn verify_device(&self, req: &DeviceVerifyRequest) -> Result<Session, ClientError> {
        self.json(Method::POST, "v1/auth/device/verify", None, Some(req))
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn forced_change(&self, req: &ForcedChangeRequest) -> Result<Session, ClientError> {
        self.json(Method::POST, "v1/auth/password", None, Some(req))
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<Session, ClientError> {
        let req = RefreshRequest {
            refresh_token: refresh_token.clone(),
        };
        self.json(Method::POST, "v1/auth/refresh", None, Some(&req))
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn logout(&self, access_token: &Secret, all: bool) -> Result<(), ClientError> {
        self.empty(
            Method::POST,
            "v1/auth/logout",
            Some(access_token),
            Some(&LogoutRequest { all }),
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn reset_start(&self, req: &ResetStartRequest) -> Result<ResetStarted, ClientError> {
        self.json(Method::POST, "v1/recovery/start", None, Some(req))
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn reset_verify(
        &self,
        req: &ResetVerifyRequest,
    ) -> Result<ResetVerified, ClientError> {
        self.json(Method::POST, "v1/recovery/verify", None, Some(req))
            .await
    }

    /// Which account a reset link's token resets (masked), without using it up;
    /// `token_invalid` when the link is unknown, used or expired.
    #[tracing::instrument(skip_all)]
    pub async fn reset_link(
        &self,
        req: &ResetLinkRequest,
    ) -> Result<ResetLinkAccount, ClientError> {
        self.json(Method::POST, "v1/recovery/link", None, Some(req))
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn reset_complete(&self, req: &ResetCompleteRequest) -> Result<(), ClientError> {
        self.empty(Method::POST, "v1/recovery/complete", None, Some(req))
            .await
    }
}

//! [`Client`]: the one object the desktop shell holds. It owns the server choice, the
//! API client, the cached meta, the vault, the sign-in state machine and the session.
//! Its transitions live in `flow.rs` (sign-in), `reset.rs` (password reset) and
//! `session.rs` (the signed-in session, re-validation, account actions); this file
//! builds it and holds the shared parts.

use std::path::PathBuf;
use std::sync::Arc;

use latchkey_proto::{Device, Meta, OfflinePolicy, PasswordPolicy, Secret, Session, User};

use crate::device::{self, ThisDevice};

use crate::api::{Api, Timeouts};
use crate::approval::PendingApproval;
use crate::clock::{Clock, Deadline, SystemClock};
use crate::config::{self, CachedMeta, ServerChoice, ServerSource};
use crate::dirs::AppDirs;
use crate::error::{ClientError, Code};
use crate::link::Link;
use crate::managed::{self, Managed};
use crate::net::ServerUrl;
use crate::offline;
use crate::reset::ResetLink;
use crate::step::Step;
use crate::strength::{self, Strength};
use crate::vault::{self, Index, KeyringStore, Record, SecretStore, Vault};

/// How to build a [`Client`]. [`Options::platform`] is what the app uses; tests swap
/// the folders, the store, the clock and the timeouts.
pub struct Options {
    pub dirs: AppDirs,
    pub store: Arc<dyn SecretStore>,
    pub clock: Arc<dyn Clock>,
    pub timeouts: Timeouts,
    /// Sent to the server, which refuses versions below its minimum.
    pub client_version: String,
    /// `LATCHKEY_SERVER`.
    pub server_env: Option<String>,
    /// The folder of the executable, where IT may put `latchkey.toml`.
    pub exe_dir: Option<PathBuf>,
    /// IT's managed settings (`managed::load()` in the app).
    pub managed: Managed,
}

impl Options {
    pub fn platform() -> Result<Self, ClientError> {
        Ok(Self {
            dirs: AppDirs::platform()?,
            store: Arc::new(KeyringStore::new(vault::SERVICE)),
            clock: Arc::new(SystemClock),
            timeouts: Timeouts::default(),
            client_version: env!("CARGO_PKG_VERSION").to_owned(),
            server_env: std::env::var(config::SERVER_ENV).ok(),
            exe_dir: std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(PathBuf::from)),
            managed: managed::load()?,
        })
    }
}

/// Flow data that must not reach the UI: tokens between steps, the password until the
/// session it opens is stored.
#[derive(Default)]
pub(crate) struct Pending {
    pub(crate) identifier: String,
    pub(crate) key: String,
    /// The vault record of `key`, read when the identifier was given, so that an offline
    /// sign-in costs only the verifier's derivation.
    pub(crate) record: Option<Record>,
    pub(crate) password: Option<Secret>,
    pub(crate) remember: bool,
    pub(crate) mfa_token: Option<Secret>,
    pub(crate) challenge_token: Option<Secret>,
    pub(crate) change_token: Option<Secret>,
    pub(crate) reset_id: Option<String>,
    pub(crate) reset_channel: Option<latchkey_proto::Channel>,
    pub(crate) reset_token: Option<Secret>,
}

/// The signed-in session.
pub(crate) struct Active {
    /// `None` while offline.
    pub(crate) session: Option<Session>,
    /// When the access token expires (its `expires_in` counted from the answer).
    pub(crate) access_expires_at: Deadline,
    pub(crate) user: User,
    pub(crate) identifier: String,
    pub(crate) key: String,
    pub(crate) remembered: bool,
    /// The keychain could not keep "remember me".
    pub(crate) cannot_remember: bool,
    /// Why the session is offline (the network failure's code).
    pub(crate) offline_reason: Option<Code>,
    /// Held in memory only while offline: re-validation needs it to tell a changed
    /// password from a revoked token.
    pub(crate) offline_password: Option<Secret>,
    /// The password just typed, held in memory only while the TOTP offer that follows
    /// the sign-in is on screen: enrolment asks for it again (`POST
    /// /v1/me/totp/enroll`), and the person has just given it.
    pub(crate) offer_password: Option<Secret>,
}

pub struct Client {
    pub(crate) dirs: AppDirs,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) timeouts: Timeouts,
    pub(crate) client_version: String,
    pub(crate) vault: Vault,
    pub(crate) server: Option<ServerChoice>,
    pub(crate) api: Option<Api>,
    pub(crate) meta: Option<CachedMeta>,
    /// Read from the keychain when first needed ([`Client::this_device`]).
    pub(crate) device: Option<ThisDevice>,
    /// Remembered accounts of the server; `None` when the keychain could not be read.
    pub(crate) index: Option<Index>,
    pub(crate) step: Step,
    pub(crate) pending: Pending,
    pub(crate) active: Option<Active>,
    /// A reset link that arrived in the middle of a sign-in, until the person says
    /// whether to open it: its token and what the server said about it.
    pub(crate) waiting_link: Option<(Secret, ResetLink)>,
    /// The UI's language (`zh-CN`, `en`), for the messages the server sends on request
    /// of this device; `None`: the account's own setting.
    pub(crate) locale: Option<String>,
    /// The browser sign-in on screen, until it is answered (`approval.rs`).
    pub(crate) approval: Option<PendingApproval>,
    /// Whether the chosen server answers right now (every copy of `api` reports to it).
    pub(crate) link: Link,
    /// IT's managed settings: the server lock, offline sign-in, the language.
    pub(crate) managed: Managed,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.server)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Reads the configuration and the cached meta; no network, no keychain yet
    /// (see [`Client::start`]).
    pub fn new(options: Options) -> Result<Self, ClientError> {
        let server = config::resolve_server(
            &options.managed,
            options.server_env.as_deref(),
            options.exe_dir.as_deref(),
            &options.dirs,
        )?;
        let mut client = Self {
            dirs: options.dirs,
            clock: options.clock,
            timeouts: options.timeouts,
            client_version: options.client_version,
            vault: Vault::new(options.store),
            server: None,
            api: None,
            meta: None,
            device: None,
            index: None,
            step: Step::Setup,
            pending: Pending::default(),
            active: None,
            waiting_link: None,
            locale: None,
            approval: None,
            link: Link::default(),
            managed: options.managed,
        };
        if let Some(choice) = server {
            client.use_server(choice)?;
        }
        Ok(client)
    }

    fn use_server(&mut self, choice: ServerChoice) -> Result<(), ClientError> {
        self.api = Some(
            Api::new(choice.url.clone(), &self.client_version, self.timeouts)?
                .reporting_to(self.link.clone()),
        );
        self.meta = config::load_meta(&self.dirs, &choice.url);
        self.server = Some(choice);
        self.step = Step::Identify { identifier: None };
        Ok(())
    }

    /// The language of the messages the server sends on this device's request (the
    /// reset code); the UI's own language.
    pub fn set_locale(&mut self, locale: Option<String>) {
        self.locale = locale.filter(|l| matches!(l.as_str(), "zh-CN" | "en"));
    }

    /// The current step.
    pub fn step(&self) -> &Step {
        &self.step
    }

    /// IT's managed settings, as read at start.
    pub fn managed(&self) -> &Managed {
        &self.managed
    }

    pub fn server(&self) -> Option<&ServerChoice> {
        self.server.as_ref()
    }

    /// The server's meta as last fetched (name, support contacts, policy).
    pub fn meta(&self) -> Option<&Meta> {
        self.meta.as_ref().map(|c| &c.meta)
    }

    /// This device as the server sees it (its id is read from the keychain, or made,
    /// the first time).
    pub fn device(&mut self) -> Device {
        self.this_device().wire()
    }

    pub(crate) fn this_device(&mut self) -> &ThisDevice {
        self.device
            .get_or_insert_with(|| device::load(self.vault.store(), &self.dirs))
    }

    /// Whether the chosen server answers right now, and its changes: the shell shows
    /// "reconnecting…" while it does not.
    pub fn link(&self) -> Link {
        self.link.clone()
    }

    /// A look at the chosen server (`GET /v1/meta`) that does not hold the client, so
    /// that a person's action need not wait behind it: its outcome goes to
    /// [`Client::link`]. `None` before a server is chosen.
    pub fn probe(&self) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let api = self.api.clone()?;
        Some(async move {
            let _ = api.meta().await;
        })
    }

    pub(crate) fn api(&self) -> Result<&Api, ClientError> {
        self.api.as_ref().ok_or(ClientError::NotConfigured)
    }

    /// One action of the person (a sign-in step, a reset step, an account action):
    /// `call` with an `Idempotency-Key` of its own, the same for every try, tried again
    /// when its answer may have been lost (see [`crate::retry`]).
    pub(crate) async fn once<T, F, Fut>(
        &self,
        what: &'static str,
        call: F,
    ) -> Result<T, ClientError>
    where
        F: Fn(Api) -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let api = self.api()?.keyed(crate::retry::IdempotencyKey::random());
        crate::retry::retrying(what, || call(api.clone())).await
    }

    pub(crate) fn server_url(&self) -> Result<&ServerUrl, ClientError> {
        self.server
            .as_ref()
            .map(|s| &s.url)
            .ok_or(ClientError::NotConfigured)
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// The server's offline rules as of the cached meta: what an online sign-in keeps
    /// in the record.
    pub(crate) fn offline_policy(&self) -> OfflinePolicy {
        self.meta
            .as_ref()
            .map(|c| c.meta.offline.clone())
            .unwrap_or_default()
    }

    /// The rules an offline sign-in with `record` is held to: the stricter of the
    /// record's and the cached meta's ([`offline::policy`]).
    pub(crate) fn offline_policy_for(&self, record: &Record) -> OfflinePolicy {
        offline::policy(record, self.meta.as_ref().map(|c| &c.meta.offline))
    }

    /// Whether `record` may open an offline session now.
    pub(crate) fn offline_allowed(&self, record: &Record) -> Result<(), ClientError> {
        // IT's managed settings first: a verifier kept before they turned offline
        // sign-in off is not used either.
        if !self.managed.offline_allowed() {
            return Err(ClientError::OfflineOffHere);
        }
        offline::allowed(record, &self.offline_policy_for(record), self.now())
    }

    /// The region of phone numbers typed without `+country`, for finding a remembered
    /// account as the server would: the one the cached `/v1/meta` announces, else the
    /// server's default (a server older than `default_region`).
    pub(crate) fn region(&self) -> &str {
        self.meta()
            .and_then(|m| m.default_region.as_deref())
            .unwrap_or(vault::DEFAULT_REGION)
    }

    pub(crate) fn password_policy(&self) -> PasswordPolicy {
        self.meta
            .as_ref()
            .map(|c| c.meta.password_policy.clone())
            .unwrap_or_default()
    }

    /// Fetches `/v1/meta` and caches it; on failure the cached copy stays.
    pub async fn refresh_meta(&mut self) -> Result<&Meta, ClientError> {
        let meta = self.api()?.meta().await?;
        let cached = CachedMeta {
            server: self.server_url()?.key(),
            fetched_at: self.now(),
            meta,
        };
        if let Err(e) = config::save_meta(&self.dirs, &cached) {
            tracing::warn!(error = %e, "cannot cache the server's meta");
        }
        Ok(&self.meta.insert(cached).meta)
    }

    /// Whether the app may open `url` in the browser: a link the server published (its
    /// download or support address in `/v1/meta`; fetched again once when the cached
    /// meta lacks it, as IT may have just set it), and https — plain http only to this
    /// machine ([`crate::net::is_safe_link`]). The web view cannot send the user
    /// anywhere else.
    pub async fn may_open(&mut self, url: &str) -> bool {
        if !crate::net::is_safe_link(url) {
            return false;
        }
        let published = |meta: &Meta| {
            [meta.download_url.as_deref(), meta.support.url.as_deref()].contains(&Some(url))
        };
        if self.meta().is_some_and(published) {
            return true;
        }
        self.refresh_meta().await.is_ok_and(published)
    }

    /// The first-run connection test: is there a Latchkey server at `input`?
    pub async fn test_server(&self, input: &str) -> Result<Meta, ClientError> {
        let url = ServerUrl::parse(input)?;
        Api::new(url, &self.client_version, self.timeouts)?
            .meta()
            .await
    }

    /// First-run setup: tests the server, saves it, and moves to the sign-in. A server
    /// that IT provisioned cannot be replaced here.
    pub async fn setup_server(&mut self, input: &str) -> Result<Step, ClientError> {
        if self.server.as_ref().is_some_and(|s| !s.source.changeable()) {
            return Err(ClientError::WrongStep("setup_server"));
        }
        if self.active.is_some() {
            return Err(ClientError::WrongStep("setup_server"));
        }
        let url = ServerUrl::parse(input)?;
        let meta = Api::new(url.clone(), &self.client_version, self.timeouts)?
            .meta()
            .await?;
        config::save_user_server(&self.dirs, &url)?;
        self.use_server(ServerChoice {
            url: url.clone(),
            source: ServerSource::User,
        })?;
        let cached = CachedMeta {
            server: url.key(),
            fetched_at: self.now(),
            meta,
        };
        config::save_meta(&self.dirs, &cached)?;
        self.meta = Some(cached);
        self.pending = Pending::default();
        self.index = self.vault.load_index(&url).ok();
        Ok(self.step.clone())
    }

    /// At launch: fetches the meta (or keeps the cached one), reads the remembered
    /// accounts, and signs in through the refresh token when "remember me" was on.
    pub async fn start(&mut self) -> Step {
        if self.server.is_none() {
            self.step = Step::Setup;
            return self.step.clone();
        }
        if let Err(e) = self.refresh_meta().await {
            tracing::info!(code = ?e.code(), "server meta not fetched; using the cached copy");
        }
        let Ok(server) = self.server_url().cloned() else {
            return self.step.clone();
        };
        self.this_device();
        self.index = match self.vault.load_index(&server) {
            Ok(i) => Some(i),
            Err(e) => {
                tracing::warn!(error = %e, "keychain unavailable; nothing remembered");
                None
            }
        };
        let last = self
            .index
            .as_ref()
            .and_then(|i| i.accounts.first())
            .map(|e| e.key.clone());
        self.step = Step::Identify {
            identifier: last.clone(),
        };
        if let Some(key) = last {
            if let Err(e) = self.resume(&key).await {
                tracing::info!(code = ?e.code(), "no automatic sign-in");
            }
        }
        self.step.clone()
    }

    /// The live strength meter for the password being chosen on the current step.
    pub fn password_strength(&self, password: &str) -> Strength {
        let user = self.active.as_ref().map(|a| &a.user);
        let identifier = if let Some(a) = &self.active {
            Some(a.identifier.as_str())
        } else if self.pending.identifier.is_empty() {
            None
        } else {
            Some(self.pending.identifier.as_str())
        };
        strength::evaluate(&self.password_policy(), password, identifier, user)
    }
}

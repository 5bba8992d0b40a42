//! The signed-in app as the key to the company's applications (issue 16): approving a
//! browser sign-in that a `latchkey://approve?id=…&server=…` link asks about, the
//! launcher of the applications IT lists, and the applications signed in through
//! Latchkey (each can be signed out of).
//!
//! All of it needs the server: an offline session first tries to get back online (the
//! browser that sent the link has just reached the server), and otherwise answers
//! [`ApprovalRequest::Offline`] or, for the launcher, a network error.
//!
//! The approval being answered is kept here, not in the UI: the web view picks a number
//! and says allow or deny, and can approve no request that no link brought.

use latchkey_proto::{
    ApprovalDecision, ApprovalView, LaunchRequest, LaunchTicket, Launcher, LauncherApp, Secret,
    SignedInApp, SignedInApps,
};
use reqwest::Method;

use crate::api::Api;
use crate::client::Client;
use crate::error::ClientError;
use crate::net::{self, ServerUrl};
use crate::session::Revalidation;

/// The longest id or client id accepted in a path (the server's are far shorter).
const MAX_ID: usize = 128;

/// What a `latchkey://approve` link leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalRequest {
    /// The request, waiting for the person's answer ([`Client::decide_approval`]).
    Shown(ApprovalView),
    /// The link names another server than the one this app signs in to (`server`, as
    /// the link gives it): it is not answered.
    WrongServer { server: String },
    /// Nobody is signed in on this app: the browser can still use the password.
    NotSignedIn,
    /// Signed in offline and the server still cannot be reached.
    Offline,
}

/// The request on screen: only it can be answered, only with one of its numbers.
#[derive(Clone, Debug)]
pub(crate) struct PendingApproval {
    id: String,
    numbers: Vec<u8>,
}

/// `latchkey://approve?id=…&server=…`, taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalLink {
    pub id: String,
    pub server: String,
}

impl ApprovalLink {
    /// Whether `link` is an approval link at all (the shell dispatches on it).
    pub fn is_one(link: &str) -> bool {
        url::Url::parse(link)
            .is_ok_and(|u| u.scheme() == "latchkey" && u.host_str() == Some("approve"))
    }

    /// The link's id and server; `invalid_input` when it is not one or is malformed.
    pub fn parse(link: &str) -> Result<Self, ClientError> {
        let bad = || ClientError::InvalidInput("link");
        let url = url::Url::parse(link).map_err(|_| bad())?;
        if url.scheme() != "latchkey" || url.host_str() != Some("approve") {
            return Err(bad());
        }
        let value = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let id = value("id").filter(|id| path_safe(id)).ok_or_else(bad)?;
        let server = value("server").filter(|s| !s.is_empty()).ok_or_else(bad)?;
        Ok(Self { id, server })
    }
}

/// An id the server made (letters, digits, `-`, `_`): nothing that would change a path.
fn path_safe(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A client id as IT registers it: letters, digits, `-`, `_` and `.`, but not `.` or
/// `..` (a path segment of their own).
fn client_id_safe(id: &str) -> bool {
    id.len() <= MAX_ID
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !id.chars().all(|c| c == '.')
}

/// Whether the issuer a link names is the server this app uses: the same scheme, host,
/// port and path (a trailing slash aside).
fn same_server(configured: &ServerUrl, named: &str) -> bool {
    ServerUrl::parse(named).is_ok_and(|named| named.key() == configured.key())
}

impl Api {
    #[tracing::instrument(skip_all)]
    pub async fn approval(&self, token: &Secret, id: &str) -> Result<ApprovalView, ClientError> {
        self.json::<_, ()>(
            Method::GET,
            &format!("v1/approvals/{id}"),
            Some(token),
            None,
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn decide_approval(
        &self,
        token: &Secret,
        id: &str,
        decision: &ApprovalDecision,
    ) -> Result<(), ClientError> {
        self.empty(
            Method::POST,
            &format!("v1/approvals/{id}"),
            Some(token),
            Some(decision),
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn launcher(&self, token: &Secret) -> Result<Launcher, ClientError> {
        self.json::<_, ()>(Method::GET, "v1/launcher", Some(token), None)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn launch(
        &self,
        token: &Secret,
        req: &LaunchRequest,
    ) -> Result<LaunchTicket, ClientError> {
        self.json(Method::POST, "v1/launch", Some(token), Some(req))
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn signed_in_apps(&self, token: &Secret) -> Result<SignedInApps, ClientError> {
        self.json::<_, ()>(Method::GET, "v1/me/applications", Some(token), None)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn sign_out_of_app(
        &self,
        token: &Secret,
        client_id: &str,
    ) -> Result<(), ClientError> {
        self.empty::<()>(
            Method::DELETE,
            &format!("v1/me/applications/{client_id}"),
            Some(token),
            None,
        )
        .await
    }
}

impl Client {
    /// A `latchkey://approve` link: which application asks, from which browser, and the
    /// numbers to pick from — or why it cannot be answered here. An offline session
    /// tries to get back online first; one the server no longer accepts ends
    /// (`refresh_revoked`, `password_changed`, …: the error says which).
    pub async fn open_approval(&mut self, link: &str) -> Result<ApprovalRequest, ClientError> {
        let link = ApprovalLink::parse(link)?;
        self.approval = None;
        let Ok(server) = self.server_url() else {
            return Ok(ApprovalRequest::NotSignedIn);
        };
        if !same_server(server, &link.server) {
            tracing::info!("approval link of another server refused");
            return Ok(ApprovalRequest::WrongServer {
                server: link.server,
            });
        }
        let Some(active) = &self.active else {
            return Ok(ApprovalRequest::NotSignedIn);
        };
        if active.session.is_none() {
            match self.revalidate().await {
                Ok(Revalidation::Online) => {}
                Ok(Revalidation::Ended(reason)) => return Err(ClientError::SessionEnded(reason)),
                Ok(_) => return Ok(ApprovalRequest::Offline),
                Err(e) if e.is_unreachable() => return Ok(ApprovalRequest::Offline),
                Err(e) => return Err(e),
            }
        }
        let token = self.access_token().await?;
        let view = self.api()?.approval(&token, &link.id).await?;
        self.approval = Some(PendingApproval {
            id: link.id,
            numbers: view.numbers.clone(),
        });
        Ok(ApprovalRequest::Shown(view))
    }

    /// Answers the request on screen: allow with the number picked (one of those
    /// shown), or deny. Once the server has answered, right or wrong, the request is
    /// over here too; a network failure leaves it to try again.
    #[tracing::instrument(skip_all)]
    pub async fn decide_approval(
        &mut self,
        allow: bool,
        number: Option<u8>,
    ) -> Result<(), ClientError> {
        let pending = self
            .approval
            .clone()
            .ok_or(ClientError::WrongStep("decide_approval"))?;
        if allow && !number.is_some_and(|n| pending.numbers.contains(&n)) {
            return Err(ClientError::InvalidInput("number"));
        }
        let decision = ApprovalDecision {
            allow,
            number: number.filter(|_| allow),
        };
        let token = self.online_token().await?;
        let (token, id, decision) = (&token, &pending.id, &decision);
        let answer = self
            .once("answer a browser sign-in", |api| async move {
                api.decide_approval(token, id, decision).await
            })
            .await;
        if !matches!(&answer, Err(e) if e.is_unreachable()) {
            self.approval = None;
        }
        answer
    }

    /// Forgets the request on screen (the person closed it).
    pub fn dismiss_approval(&mut self) {
        self.approval = None;
    }

    /// The applications IT lists for this person, in the server's order.
    pub async fn launcher(&mut self) -> Result<Vec<LauncherApp>, ClientError> {
        let token = self.online_token().await?;
        Ok(self.api()?.launcher(&token).await?.apps)
    }

    /// A one-time address that opens `client_id` signed in, to be opened in the
    /// browser at once (it works for some 30 seconds). Only an http(s) address of this
    /// app's own server is given out (plain http only to this machine).
    #[tracing::instrument(skip_all)]
    pub async fn launch(&mut self, client_id: &str) -> Result<Secret, ClientError> {
        if !client_id_safe(client_id) {
            return Err(ClientError::InvalidInput("client_id"));
        }
        let token = self.online_token().await?;
        let req = LaunchRequest {
            client_id: client_id.to_owned(),
        };
        let (token, req) = (&token, &req);
        let ticket = self
            .once("open an application", |api| async move {
                api.launch(token, req).await
            })
            .await?;
        if !on_server(self.server_url()?, ticket.url.expose()) {
            tracing::warn!("the launch address is not on this server; not opened");
            return Err(ClientError::UnexpectedResponse { status: 200 });
        }
        Ok(ticket.url)
    }

    /// The applications signed in through Latchkey.
    pub async fn signed_in_apps(&mut self) -> Result<Vec<SignedInApp>, ClientError> {
        let token = self.online_token().await?;
        Ok(self.api()?.signed_in_apps(&token).await?.apps)
    }

    /// Signs out of one application (its grants end; the browser signs in again there).
    pub async fn sign_out_of_app(&mut self, client_id: &str) -> Result<(), ClientError> {
        if !client_id_safe(client_id) {
            return Err(ClientError::InvalidInput("client_id"));
        }
        let token = self.online_token().await?;
        let token = &token;
        self.once("sign out of an application", |api| async move {
            api.sign_out_of_app(token, client_id).await
        })
        .await
    }

    /// The access token of an online session; offline, the network error the offline
    /// session stands for (not signed in: `wrong_step`).
    async fn online_token(&mut self) -> Result<Secret, ClientError> {
        match &self.active {
            None => Err(ClientError::WrongStep("signed_in")),
            Some(a) if a.session.is_none() => Err(ClientError::Network {
                detail: "signed in offline".into(),
            }),
            Some(_) => self.access_token().await,
        }
    }
}

/// Whether `url` is an http(s) address on `server` (same scheme, host and port), safe
/// to open ([`net::is_safe_link`]).
fn on_server(server: &ServerUrl, url: &str) -> bool {
    let (Ok(url), Ok(base)) = (url::Url::parse(url), url::Url::parse(server.as_str())) else {
        return false;
    };
    net::is_safe_link(url.as_str()) && url.origin() == base.origin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_links_are_taken_apart() {
        let link = ApprovalLink::parse(
            "latchkey://approve?id=ap_12-x&server=https%3A%2F%2Fauth.corp.example",
        )
        .unwrap();
        assert_eq!(link.id, "ap_12-x");
        assert_eq!(link.server, "https://auth.corp.example");
        assert!(ApprovalLink::is_one("latchkey://approve?id=a&server=b"));
        assert!(!ApprovalLink::is_one("latchkey://reset?token=t"));
        for bad in [
            "latchkey://reset?id=a&server=https://x",
            "https://approve?id=a&server=https://x",
            "latchkey://approve?server=https://x",
            "latchkey://approve?id=a",
            "latchkey://approve?id=..%2Fme&server=https://x",
            "latchkey://approve?id=a%3Fb&server=https://x",
            "not a link",
        ] {
            assert!(ApprovalLink::parse(bad).is_err(), "{bad}");
        }
        let long = format!("latchkey://approve?id={}&server=https://x", "a".repeat(129));
        assert!(ApprovalLink::parse(&long).is_err());
    }

    #[test]
    fn client_ids_stay_one_path_segment() {
        for ok in ["crm", "oa.mail", "erp-2_b"] {
            assert!(client_id_safe(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a?b", "a%2Fb", "a b"] {
            assert!(!client_id_safe(bad), "{bad}");
        }
    }

    #[test]
    fn the_link_must_name_this_server() {
        let ours = ServerUrl::parse("https://auth.corp.example").unwrap();
        assert!(same_server(&ours, "https://auth.corp.example"));
        assert!(same_server(&ours, "https://AUTH.corp.example:443/"));
        assert!(!same_server(&ours, "https://auth.corp.example.evil.cn"));
        assert!(!same_server(&ours, "https://auth.corp.example:8443"));
        assert!(!same_server(&ours, "http://auth.corp.example"));
        assert!(!same_server(&ours, "https://auth.corp.example/other"));
        let local = ServerUrl::parse("http://127.0.0.1:8433").unwrap();
        assert!(same_server(&local, "http://127.0.0.1:8433"));
        assert!(!same_server(&local, "http://127.0.0.1:8434"));
    }

    #[test]
    fn only_addresses_of_this_server_are_opened() {
        let ours = ServerUrl::parse("https://auth.corp.example/latchkey").unwrap();
        assert!(on_server(
            &ours,
            "https://auth.corp.example/oidc/launch?t=x"
        ));
        assert!(!on_server(&ours, "https://crm.corp.example/"));
        assert!(!on_server(&ours, "http://auth.corp.example/oidc/launch"));
        assert!(!on_server(&ours, "javascript:alert(1)"));
        assert!(!on_server(&ours, "https://user:pw@auth.corp.example/"));
        let local = ServerUrl::parse("http://127.0.0.1:8433").unwrap();
        assert!(on_server(&local, "http://127.0.0.1:8433/oidc/launch?t=x"));
        assert!(!on_server(&local, "http://127.0.0.1:9000/"));
    }
}

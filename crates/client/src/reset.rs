//! Password reset: identifier → reset code by e-mail or SMS → new password (with a TOTP or
//! recovery code when the account has two-factor authentication) → sign in again.
//!
//! The server answers `start` the same for unknown accounts, so the client cannot tell
//! and does not try: it always moves on to the code screen.
//!
//! The e-mail's `latchkey://reset?token=…` link skips to the new password. Before
//! anything is shown, `/v1/recovery/link` says which account it resets (masked) and
//! whether a second factor is needed, or that the link no longer works.

use latchkey_proto::{
    Channel, MfaMethod, ResetCompleteRequest, ResetLinkRequest, ResetStartRequest,
    ResetVerifyRequest, Secret,
};

use crate::client::Client;
use crate::code::{self, Kind};
use crate::error::ClientError;
use crate::flow::SecondFactor;
use crate::step::Step;

impl Client {
    /// Identify / Password → ResetIdentify, pre-filled with what was typed.
    pub fn begin_reset(&mut self) -> Result<Step, ClientError> {
        if self.active.is_some() || self.server.is_none() {
            return Err(ClientError::WrongStep("begin_reset"));
        }
        let identifier = (!self.pending.identifier.is_empty())
            .then(|| self.pending.identifier.clone())
            .or_else(|| match &self.step {
                Step::Identify { identifier } => identifier.clone(),
                _ => None,
            });
        let channels = self
            .meta()
            .map(|m| m.recovery_channels.clone())
            .unwrap_or_else(|| vec![Channel::Email]);
        self.step = Step::ResetIdentify {
            identifier,
            channels,
        };
        Ok(self.step.clone())
    }

    /// ResetIdentify → ResetCode: asks the server to send a code.
    #[tracing::instrument(skip_all)]
    pub async fn send_reset_code(
        &mut self,
        identifier: &str,
        channel: Option<Channel>,
    ) -> Result<Step, ClientError> {
        if !matches!(self.step, Step::ResetIdentify { .. }) {
            return Err(ClientError::WrongStep("send_reset_code"));
        }
        let identifier = identifier.trim();
        if identifier.is_empty() || identifier.chars().count() > 320 {
            return Err(ClientError::InvalidInput("identifier"));
        }
        self.pending.identifier = identifier.to_owned();
        self.pending.reset_channel = channel;
        self.request_reset_code().await
    }

    /// ResetCode → ResetCode with a new code (the server enforces the wait).
    #[tracing::instrument(skip_all)]
    pub async fn resend_reset_code(&mut self) -> Result<Step, ClientError> {
        if !matches!(self.step, Step::ResetCode { .. }) {
            return Err(ClientError::WrongStep("resend_reset_code"));
        }
        self.request_reset_code().await
    }

    async fn request_reset_code(&mut self) -> Result<Step, ClientError> {
        let req = ResetStartRequest {
            identifier: self.pending.identifier.clone(),
            channel: self.pending.reset_channel,
            locale: self.locale.clone(),
        };
        let req = &req;
        let started = self
            .once(
                "reset start",
                |api| async move { api.reset_start(req).await },
            )
            .await?;
        self.pending.reset_id = Some(started.recovery_id);
        self.step = Step::ResetCode {
            resend_after: started.resend_after,
            expires_in: started.expires_in,
        };
        Ok(self.step.clone())
    }

    /// ResetCode → ResetPassword.
    #[tracing::instrument(skip_all)]
    pub async fn verify_reset_code(&mut self, code: Secret) -> Result<Step, ClientError> {
        if !matches!(self.step, Step::ResetCode { .. }) {
            return Err(ClientError::WrongStep("verify_reset_code"));
        }
        let recovery_id = self
            .pending
            .reset_id
            .clone()
            .ok_or(ClientError::WrongStep("verify_reset_code"))?;
        let code = code::clean(&code, Kind::Reset)?;
        if code.expose().len() > 16 {
            return Err(ClientError::InvalidInput("code"));
        }
        let req = ResetVerifyRequest { recovery_id, code };
        let req = &req;
        let verified = self
            .once(
                "reset code",
                |api| async move { api.reset_verify(req).await },
            )
            .await?;
        self.pending.reset_token = Some(verified.reset_token);
        self.step = Step::ResetPassword {
            mfa_methods: verified.mfa_methods,
            account_hint: None,
        };
        Ok(self.step.clone())
    }

    /// The e-mail's `latchkey://reset?token=…` link, opened by the app: straight to the
    /// new password, naming the account and asking for a second factor when the server
    /// says one is needed. A link that no longer works is refused (`session_expired`).
    pub async fn open_reset_link(&mut self, link: &str) -> Result<Step, ClientError> {
        self.check_reset_link_allowed()?;
        let (token, about) = self.look_up_reset_link(link).await?;
        Ok(self.open_checked_link(token, about))
    }

    /// A reset link that arrived while the app runs, once the server has said which
    /// account it resets. In the middle of a sign-in or of a password reset it
    /// does not replace that at once: it waits (`waiting: true`) until the person says
    /// so ([`Self::answer_reset_link`]); otherwise it opens. Signed in, it is refused
    /// (`wrong_step`); a link that no longer works too (`session_expired`), before
    /// anything is asked.
    pub async fn offer_reset_link(&mut self, link: &str) -> Result<ResetLink, ClientError> {
        self.check_reset_link_allowed()?;
        let (token, mut about) = self.look_up_reset_link(link).await?;
        if self.unfinished() {
            about.waiting = true;
            self.waiting_link = Some((token, about.clone()));
        } else {
            self.open_checked_link(token, about.clone());
        }
        Ok(about)
    }

    /// The person's answer to a waiting reset link: open it (the unfinished flow is
    /// dropped), or keep what they were doing (the link is forgotten).
    pub fn answer_reset_link(&mut self, open: bool) -> Result<Step, ClientError> {
        let (token, about) = self
            .waiting_link
            .take()
            .ok_or(ClientError::WrongStep("answer_reset_link"))?;
        // Signed in meanwhile (the question was left up): the link no longer applies.
        if open {
            self.check_reset_link_allowed()?;
            return Ok(self.open_checked_link(token, about));
        }
        Ok(self.step.clone())
    }

    fn check_reset_link_allowed(&self) -> Result<(), ClientError> {
        if self.active.is_some() || self.server.is_none() {
            return Err(ClientError::WrongStep("open_reset_link"));
        }
        Ok(())
    }

    /// The link's token and what the server says about it (the token is not used up).
    async fn look_up_reset_link(&self, link: &str) -> Result<(Secret, ResetLink), ClientError> {
        let token = reset_token_of(link)?;
        let req = ResetLinkRequest {
            reset_token: token.clone(),
        };
        let answer = self.api()?.reset_link(&req).await?;
        let mfa_methods = if answer.second_factor_required {
            answer.mfa_methods
        } else {
            Vec::new()
        };
        let about = ResetLink {
            account_hint: answer.account_hint,
            mfa_methods,
            waiting: false,
        };
        Ok((token, about))
    }

    /// → ResetPassword with the link's token; whatever was under way is dropped.
    fn open_checked_link(&mut self, token: Secret, about: ResetLink) -> Step {
        self.waiting_link = None;
        self.pending = Default::default();
        self.pending.reset_token = Some(token);
        self.step = Step::ResetPassword {
            mfa_methods: about.mfa_methods,
            account_hint: Some(about.account_hint),
        };
        self.step.clone()
    }

    /// Whether a sign-in or a password reset is under way (something typed or
    /// sent that a reset link would throw away).
    fn unfinished(&self) -> bool {
        matches!(
            self.step,
            Step::Password { .. }
                | Step::SecondFactor { .. }
                | Step::DeviceCode { .. }
                | Step::ForcedChange { .. }
                | Step::ResetCode { .. }
                | Step::ResetPassword { .. }
        )
    }

    /// ResetPassword → ResetDone. The server signs every session out; this device
    /// forgets what it kept for the account (its verifier knows the old password).
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(
        &mut self,
        new_password: Secret,
        second: Option<SecondFactor>,
    ) -> Result<Step, ClientError> {
        if !matches!(self.step, Step::ResetPassword { .. }) {
            return Err(ClientError::WrongStep("reset_password"));
        }
        let reset_token = self
            .pending
            .reset_token
            .clone()
            .ok_or(ClientError::WrongStep("reset_password"))?;
        self.refuse_too_long(&new_password)?;
        let (totp_code, recovery_code) = SecondFactor::split(second)?;
        let req = ResetCompleteRequest {
            reset_token,
            new_password,
            totp_code,
            recovery_code,
        };
        let req = &req;
        self.once("reset complete", |api| async move {
            api.reset_complete(req).await
        })
        .await?;
        let identifier = std::mem::take(&mut self.pending.identifier);
        if !identifier.is_empty() {
            if let (Ok(server), Some(index)) = (self.server_url().cloned(), self.index.as_ref()) {
                if let Some(entry) = index.find(&identifier, self.region()) {
                    let key = entry.key.clone();
                    if let Err(e) = self.vault.remove(&server, &key) {
                        tracing::warn!(error = %e, "cannot forget the old verifier");
                    }
                    self.index = self.vault.load_index(&server).ok();
                }
            }
        }
        self.pending = Default::default();
        self.step = Step::ResetDone { identifier };
        Ok(self.step.clone())
    }
}

/// A reset link as the server describes it (`/v1/recovery/link`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetLink {
    /// The account it resets, masked as in the mail (`z***@corp.cn`, `138****8000`).
    pub account_hint: String,
    /// The second factors the reset also needs; empty without two-factor authentication.
    pub mfa_methods: Vec<MfaMethod>,
    /// A sign-in or another reset was under way: the link waits for
    /// [`Client::answer_reset_link`].
    pub waiting: bool,
}

/// The token of a `latchkey://reset?token=…` link.
fn reset_token_of(link: &str) -> Result<Secret, ClientError> {
    let url = url::Url::parse(link).map_err(|_| ClientError::InvalidInput("link"))?;
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| Secret::new(v.into_owned()))
        .filter(|t| url.scheme() == "latchkey" && !t.is_empty())
        .ok_or(ClientError::InvalidInput("link"))
}

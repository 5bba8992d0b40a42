//! The signed-in session: "remember me" at launch, the access token kept fresh,
//! re-validation of an offline session when the server is back, sign-out, "forget this
//! device", and the account actions of the signed-in screen.

use latchkey_proto::{
    ActivityList, ChangePasswordRequest, Device, ErrorCode, LoginRequest, LoginResponse, Profile,
    RecoveryCodesRequest, Secret, SessionList, TotpDisableRequest,
};
use serde::{Deserialize, Serialize};

use crate::client::{Active, Client};
use crate::clock::Deadline;
use crate::code::{self, Kind};
use crate::error::{ClientError, EndReason};
use crate::offline;
use crate::step::Step;

/// What a re-validation found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", content = "reason", rename_all = "snake_case")]
pub enum Revalidation {
    /// Nothing to do: the session is online, or there is none.
    NotNeeded,
    /// The server is still unreachable; the offline session goes on.
    StillOffline,
    /// The server accepted this device again: the session is online now.
    Online,
    /// The session ended; the step is back to Identify.
    Ended(EndReason),
}

/// Seconds before expiry at which the access token is refreshed.
const REFRESH_MARGIN: u64 = 30;

impl Client {
    /// `POST /v1/auth/refresh`, tried again on a failure after the request may have
    /// reached the server (see [`crate::retry`]): the server rotated the token and its
    /// answer may be what was lost, and the same token sent again within its grace
    /// period (30 s by default) gets the same new tokens instead of ending the session.
    /// A refusal of the server is final at once.
    async fn refresh_retrying(
        &self,
        token: &Secret,
    ) -> Result<latchkey_proto::Session, ClientError> {
        let api = self.api()?;
        crate::retry::retrying("refresh", || api.refresh(token)).await
    }

    /// Signs in at launch through the refresh token kept for `key`.
    pub(crate) async fn resume(&mut self, key: &str) -> Result<(), ClientError> {
        let server = self.server_url()?.clone();
        let Some(mut record) = self.vault.load(&server, key)? else {
            return Ok(());
        };
        let Some(refresh_token) = record.refresh_token.clone() else {
            return Ok(());
        };
        let identifier = key.to_owned();
        match self.refresh_retrying(&refresh_token).await {
            Ok(session) => {
                let now = self.now();
                record.refresh_token = Some(session.refresh_token.clone());
                record.user = session.user.clone();
                record.last_online_at = now;
                record.last_seen_at = now;
                record.offline_failures = 0;
                record.offline_policy = self.offline_policy();
                self.vault.update(&server, key, &record)?;
                self.active = Some(Active {
                    access_expires_at: Deadline::after(&*self.clock, session.expires_in),
                    user: session.user.clone(),
                    session: Some(session),
                    identifier,
                    key: key.to_owned(),
                    remembered: true,
                    cannot_remember: false,
                    offline_reason: None,
                    offline_password: None,
                    offer_password: None,
                });
                tracing::info!("signed in through the remembered session");
                self.show_signed_in();
                Ok(())
            }
            Err(e) if e.is_unreachable() => {
                // Offline sign-in needs the password: ask for it.
                let offline_possible = self.offline_allowed(&record).is_ok();
                self.pending = crate::client::Pending {
                    identifier: identifier.clone(),
                    key: key.to_owned(),
                    record: Some(record),
                    ..Default::default()
                };
                self.step = Step::Password {
                    identifier,
                    offline_possible,
                };
                Err(e)
            }
            Err(e) => {
                if matches!(e, ClientError::Server(_)) {
                    // Revoked, expired or reused: what was kept is stale.
                    self.vault.remove(&server, key)?;
                    self.index = self.vault.load_index(&server).ok();
                }
                Err(e)
            }
        }
    }

    /// The access token of the online session, refreshed (and the rotated refresh
    /// token stored) when it is about to expire.
    pub(crate) async fn access_token(&mut self) -> Result<Secret, ClientError> {
        // The keychain missed the current refresh token: try again, it may be back.
        if self
            .active
            .as_ref()
            .is_some_and(|a| a.remembered && a.cannot_remember)
        {
            self.store_refresh_token();
        }
        let active = self
            .active
            .as_ref()
            .ok_or(ClientError::WrongStep("signed_in"))?;
        let session = active
            .session
            .as_ref()
            .ok_or(ClientError::WrongStep("online"))?;
        if !active
            .access_expires_at
            .is_within(&*self.clock, REFRESH_MARGIN)
        {
            return Ok(session.access_token.clone());
        }
        let refreshed = self.refresh_retrying(&session.refresh_token).await?;
        let token = refreshed.access_token.clone();
        let expires = Deadline::after(&*self.clock, refreshed.expires_in);
        if let Some(a) = self.active.as_mut() {
            a.access_expires_at = expires;
            a.session = Some(refreshed);
        }
        self.store_refresh_token();
        Ok(token)
    }

    /// Writes the session's current refresh token and profile to the vault, when
    /// remembered. When the keychain cannot take it (the Secret Service stopped, the
    /// keyring locked), the session goes on in memory, [`Step::SignedIn`] says this
    /// device cannot be remembered right now, and nothing is written anywhere else;
    /// every later call tries again ([`Client::access_token`]), and once the keychain
    /// is back the current token is in it and the step says so.
    fn store_refresh_token(&mut self) {
        let Some(a) = &self.active else { return };
        if !a.remembered {
            return;
        }
        let Ok(server) = self.server_url().cloned() else {
            return;
        };
        let result = self.vault.load(&server, &a.key).and_then(|r| match r {
            Some(mut r) => {
                r.refresh_token = a.session.as_ref().map(|s| s.refresh_token.clone());
                r.user = a.user.clone();
                self.vault.update(&server, &a.key, &r)
            }
            None => Ok(()),
        });
        let stored = match result {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cannot store the rotated refresh token");
                false
            }
        };
        let Some(a) = self.active.as_mut() else {
            return;
        };
        if a.cannot_remember == stored {
            a.cannot_remember = !stored;
            if stored {
                tracing::info!("the keychain is back: this device is remembered again");
            }
            if matches!(self.step, Step::SignedIn { .. }) {
                self.show_signed_in();
            }
        }
    }

    pub(crate) fn store_profile(&mut self) {
        self.store_refresh_token();
    }

    /// For an offline session, when the server may be back: refresh. Accepted → the
    /// session is online. Refused → the session ends with the reason, which a sign-in
    /// with the password held in memory tells apart (`invalid_credentials`: the
    /// password changed; `account_disabled`; anything else: the token was revoked), and
    /// this device forgets the account's stale token and verifier. The shell calls
    /// this on a timer while [`Step::SignedIn`] says `offline`.
    #[tracing::instrument(skip_all)]
    pub async fn revalidate(&mut self) -> Result<Revalidation, ClientError> {
        let Some(active) = &self.active else {
            return Ok(Revalidation::NotNeeded);
        };
        if active.session.is_some() {
            return Ok(Revalidation::NotNeeded);
        }
        let key = active.key.clone();
        let identifier = active.identifier.clone();
        let password = active.offline_password.clone();
        let server = self.server_url()?.clone();
        let mut record = self
            .vault
            .load(&server, &key)?
            .ok_or(ClientError::OfflineUnavailable)?;
        let Some(refresh_token) = record.refresh_token.clone() else {
            return self.end_offline(&key, EndReason::RefreshRevoked);
        };
        match self.api()?.refresh(&refresh_token).await {
            Ok(session) => {
                let now = self.now();
                record.refresh_token = Some(session.refresh_token.clone());
                record.user = session.user.clone();
                record.last_online_at = now;
                record.last_seen_at = now;
                record.offline_failures = 0;
                self.vault.update(&server, &key, &record)?;
                if let Some(a) = self.active.as_mut() {
                    a.access_expires_at = Deadline::after(&*self.clock, session.expires_in);
                    a.user = session.user.clone();
                    a.session = Some(session);
                    a.offline_reason = None;
                    a.offline_password = None;
                }
                tracing::info!("offline session re-validated; online again");
                self.show_signed_in();
                Ok(Revalidation::Online)
            }
            Err(e) if e.is_unreachable() => Ok(Revalidation::StillOffline),
            Err(ClientError::Server(_)) => {
                let reason = match password {
                    Some(p) => {
                        let device = self.device();
                        self.probe_reason(&identifier, p, device).await
                    }
                    None => EndReason::RefreshRevoked,
                };
                self.end_offline(&key, reason)
            }
            Err(e) => Err(e),
        }
    }

    /// Why the refresh token was refused, found out by signing in with the password
    /// the offline session was opened with.
    async fn probe_reason(&self, identifier: &str, password: Secret, device: Device) -> EndReason {
        let Ok(api) = self.api() else {
            return EndReason::RefreshRevoked;
        };
        let req = LoginRequest {
            identifier: identifier.to_owned(),
            password,
            device,
            client_version: Some(self.client_version.clone()),
        };
        match api.login(&req).await {
            Err(ClientError::Server(ErrorCode::InvalidCredentials)) => EndReason::PasswordChanged,
            Err(ClientError::Server(ErrorCode::AccountDisabled)) => EndReason::AccountDisabled,
            Ok(LoginResponse::PasswordChangeRequired { .. }) => EndReason::PasswordChanged,
            Ok(LoginResponse::Ok { session }) => {
                // The password still works, so the token was revoked on purpose (signed
                // out everywhere): do not keep the probe's session.
                if let Err(e) = api.logout(&session.access_token, false).await {
                    tracing::warn!(code = ?e.code(), "cannot close the probe session");
                }
                EndReason::RefreshRevoked
            }
            _ => EndReason::RefreshRevoked,
        }
    }

    fn end_offline(&mut self, key: &str, reason: EndReason) -> Result<Revalidation, ClientError> {
        let server = self.server_url()?.clone();
        if let Err(e) = self.vault.remove(&server, key) {
            tracing::warn!(error = %e, "cannot forget the stale account");
        }
        self.index = self.vault.load_index(&server).ok();
        let identifier = self.active.take().map(|a| a.identifier);
        self.pending = Default::default();
        self.step = Step::Identify { identifier };
        tracing::info!(?reason, "offline session ended");
        Ok(Revalidation::Ended(reason))
    }

    /// Signs out: ends the session on the server (when reachable) and drops the
    /// refresh token; the offline verifier and profile stay, so the account can still
    /// be opened offline.
    #[tracing::instrument(skip_all)]
    pub async fn sign_out(&mut self) -> Result<Step, ClientError> {
        let active = self
            .active
            .take()
            .ok_or(ClientError::WrongStep("sign_out"))?;
        if let (Some(session), Ok(api)) = (&active.session, self.api()) {
            if let Err(e) = api.logout(&session.access_token, false).await {
                tracing::info!(code = ?e.code(), "logout not confirmed by the server");
            }
        }
        self.signed_out(active)
    }

    /// "Sign out everywhere": ends every session of the account on the server, this
    /// one too, then signs out here as [`Self::sign_out`] does. Unlike a plain sign-out
    /// the server must confirm it: offline, or when the server cannot be reached,
    /// nothing changes and the error says why (the other devices would stay signed in).
    #[tracing::instrument(skip_all)]
    pub async fn sign_out_everywhere(&mut self) -> Result<Step, ClientError> {
        let token = self.access_token().await?;
        self.api()?.logout(&token, true).await?;
        let active = self
            .active
            .take()
            .ok_or(ClientError::WrongStep("sign_out_everywhere"))?;
        tracing::info!("signed out everywhere");
        self.signed_out(active)
    }

    /// The local part of signing out: the refresh token goes, the offline verifier and
    /// profile stay.
    fn signed_out(&mut self, active: Active) -> Result<Step, ClientError> {
        let server = self.server_url()?.clone();
        if let Ok(Some(mut r)) = self.vault.load(&server, &active.key) {
            r.refresh_token = None;
            self.vault.update(&server, &active.key, &r)?;
        }
        self.pending = Default::default();
        self.approval = None;
        self.step = Step::Identify {
            identifier: Some(active.identifier),
        };
        Ok(self.step.clone())
    }

    /// "Forget this device": signs out and removes every keychain item of this server,
    /// and the device id.
    #[tracing::instrument(skip_all)]
    pub async fn forget_device(&mut self) -> Result<Step, ClientError> {
        if let Some(active) = self.active.take() {
            if let (Some(session), Ok(api)) = (&active.session, self.api()) {
                if let Err(e) = api.logout(&session.access_token, false).await {
                    tracing::info!(code = ?e.code(), "logout not confirmed by the server");
                }
            }
        }
        let server = self.server_url()?.clone();
        self.vault.forget(&server)?;
        // The device id too: it is what lets this computer skip the device code, so a
        // forgotten device is a new one at its next sign-in.
        if let Err(e) = self.vault.store().delete(crate::device::KEYCHAIN_ITEM) {
            tracing::warn!(error = %e, "cannot remove the device id from the keychain");
        }
        self.device = None;
        self.index = self.vault.load_index(&server).ok();
        self.pending = Default::default();
        self.approval = None;
        self.step = Step::Identify { identifier: None };
        Ok(self.step.clone())
    }

    /// `GET /v1/me`.
    pub async fn profile(&mut self) -> Result<Profile, ClientError> {
        let token = self.access_token().await?;
        self.api()?.me(&token).await
    }

    /// Changes the password from the account screen; a remembered device's verifier
    /// follows the new password.
    #[tracing::instrument(skip_all)]
    pub async fn change_password(
        &mut self,
        current: Secret,
        new_password: Secret,
    ) -> Result<(), ClientError> {
        self.refuse_too_long(&new_password)?;
        let token = self.access_token().await?;
        let req = ChangePasswordRequest {
            current_password: current,
            new_password: new_password.clone(),
        };
        let (token, req) = (&token, &req);
        self.once("change password", |api| async move {
            api.change_password(token, req).await
        })
        .await?;
        let Some(a) = &self.active else { return Ok(()) };
        if a.remembered {
            let server = self.server_url()?.clone();
            if let Some(mut r) = self.vault.load(&server, &a.key)? {
                r.verifier = if self.managed.offline_allowed() {
                    Some(offline::make_verifier(&new_password)?)
                } else {
                    None
                };
                self.vault.update(&server, &a.key, &r)?;
            }
        }
        Ok(())
    }

    pub async fn sessions(&mut self) -> Result<SessionList, ClientError> {
        let token = self.access_token().await?;
        self.api()?.sessions(&token).await
    }

    pub async fn revoke_session(&mut self, id: &str) -> Result<(), ClientError> {
        let token = self.access_token().await?;
        let token = &token;
        self.once("revoke session", |api| async move {
            api.revoke_session(token, id).await
        })
        .await
    }

    pub async fn activity(&mut self) -> Result<ActivityList, ClientError> {
        let token = self.access_token().await?;
        self.api()?.activity(&token).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn disable_totp(
        &mut self,
        password: Secret,
        code: Secret,
    ) -> Result<(), ClientError> {
        let code = code::clean(&code, Kind::Digits)?;
        let token = self.access_token().await?;
        let (token, req) = (&token, &TotpDisableRequest { password, code });
        self.once("turn TOTP off", |api| async move {
            api.totp_disable(token, req).await
        })
        .await?;
        if let Some(a) = self.active.as_mut() {
            a.user.mfa_enabled = false;
        }
        self.store_profile();
        self.show_signed_in();
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn regenerate_recovery_codes(
        &mut self,
        password: Secret,
    ) -> Result<Vec<Secret>, ClientError> {
        let token = self.access_token().await?;
        let (token, req) = (&token, &RecoveryCodesRequest { password });
        let codes = self
            .once("new recovery codes", |api| async move {
                api.regenerate_recovery_codes(token, req).await
            })
            .await?;
        Ok(codes.recovery_codes)
    }
}

//! Sign-in transitions: identify → password → second factor / device code / forced
//! change → optional TOTP setup → signed in, and the offline path when the server
//! cannot be reached. Each method checks that it is called on its step
//! (`wrong_step` otherwise) and returns the next [`Step`].

use latchkey_proto::{
    DeviceVerifyRequest, ForcedChangeRequest, LoginRequest, LoginResponse, MfaMethod, MfaRequest,
    Secret, Session,
};
use serde::{Deserialize, Serialize};

use crate::client::{Active, Client, Pending};
use crate::clock::Deadline;
use crate::code::{self, Kind};
use crate::error::{ClientError, Code};
use crate::offline;
use crate::step::Step;
use crate::totp::TotpSetup;
use crate::vault::{account_key, Record};

/// A second factor typed with a password change or reset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactor {
    pub method: MfaMethod,
    pub code: Secret,
}

impl SecondFactor {
    /// The factor the person gave: a TOTP code, else a recovery code, else none.
    pub fn either(totp_code: Option<Secret>, recovery_code: Option<Secret>) -> Option<Self> {
        match (totp_code, recovery_code) {
            (Some(code), _) => Some(Self {
                method: MfaMethod::Totp,
                code,
            }),
            (None, Some(code)) => Some(Self {
                method: MfaMethod::RecoveryCode,
                code,
            }),
            (None, None) => None,
        }
    }

    /// The TOTP code and the recovery code of a request body, cleaned
    /// ([`code::clean`]).
    pub(crate) fn split(
        f: Option<SecondFactor>,
    ) -> Result<(Option<Secret>, Option<Secret>), ClientError> {
        Ok(match f {
            Some(SecondFactor {
                method: MfaMethod::Totp,
                code,
            }) => (Some(code::clean(&code, Kind::Digits)?), None),
            Some(SecondFactor {
                method: MfaMethod::RecoveryCode,
                code,
            }) => (None, Some(code::clean(&code, Kind::Recovery)?)),
            None => (None, None),
        })
    }

    fn kind(method: MfaMethod) -> Kind {
        match method {
            MfaMethod::Totp => Kind::Digits,
            MfaMethod::RecoveryCode => Kind::Recovery,
        }
    }
}

impl Client {
    fn expect_step(&self, ok: bool, action: &'static str) -> Result<(), ClientError> {
        if ok {
            Ok(())
        } else {
            Err(ClientError::WrongStep(action))
        }
    }

    /// Identify → Password. Reads this account's vault record now, so that the offline
    /// path, if needed, is only the verifier's derivation.
    #[tracing::instrument(skip_all)]
    pub async fn identify(&mut self, identifier: &str) -> Result<Step, ClientError> {
        self.expect_step(
            matches!(
                self.step,
                Step::Identify { .. } | Step::Password { .. } | Step::ResetDone { .. }
            ),
            "identify",
        )?;
        let identifier = identifier.trim();
        if identifier.is_empty() || identifier.chars().count() > 320 {
            return Err(ClientError::InvalidInput("identifier"));
        }
        let server = self.server_url()?.clone();
        let key = self
            .index
            .as_ref()
            .and_then(|i| i.find(identifier, self.region()))
            .map(|e| e.key.clone())
            .unwrap_or_else(|| account_key(identifier, self.region()));
        let record = if self.index.is_some() {
            self.vault.load(&server, &key).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read the vault record");
                None
            })
        } else {
            None
        };
        let offline_possible = record
            .as_ref()
            .is_some_and(|r| self.offline_allowed(r).is_ok());
        self.pending = Pending {
            identifier: identifier.to_owned(),
            key,
            record,
            ..Pending::default()
        };
        self.step = Step::Password {
            identifier: identifier.to_owned(),
            offline_possible,
        };
        Ok(self.step.clone())
    }

    /// Password → whatever the server asks next; offline when it cannot be reached.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(&mut self, password: Secret, remember: bool) -> Result<Step, ClientError> {
        self.expect_step(matches!(self.step, Step::Password { .. }), "sign_in")?;
        if password.is_empty() {
            return Err(ClientError::InvalidInput("password"));
        }
        let req = LoginRequest {
            identifier: self.pending.identifier.clone(),
            password: password.clone(),
            device: self.device(),
            client_version: Some(self.client_version.clone()),
        };
        let req = &req;
        let answer = self
            .once("login", |api| async move { api.login(req).await })
            .await;
        match answer {
            Ok(resp) => {
                self.pending.password = Some(password);
                self.pending.remember = remember;
                self.after_login(resp)
            }
            Err(e) if e.is_unreachable() => self.sign_in_offline(password, e).await,
            Err(e) => Err(e),
        }
    }

    fn after_login(&mut self, resp: LoginResponse) -> Result<Step, ClientError> {
        match resp {
            LoginResponse::Ok { session } => self.signed_in(session),
            LoginResponse::MfaRequired { mfa_token, methods } => {
                self.pending.mfa_token = Some(mfa_token);
                self.step = Step::SecondFactor { methods };
                Ok(self.step.clone())
            }
            LoginResponse::DeviceVerificationRequired {
                challenge_token,
                destination,
                channel,
                expires_in,
            } => {
                self.pending.challenge_token = Some(challenge_token);
                self.step = Step::DeviceCode {
                    destination,
                    channel,
                    expires_in,
                };
                Ok(self.step.clone())
            }
            LoginResponse::PasswordChangeRequired {
                change_token,
                reason,
                mfa_methods,
            } => {
                self.pending.change_token = Some(change_token);
                self.step = Step::ForcedChange {
                    reason,
                    mfa_methods,
                };
                Ok(self.step.clone())
            }
        }
    }

    /// The offline path: the server is unreachable (`cause`). Without a usable record the
    /// answer is `cause` itself; with one, the offline rules decide.
    async fn sign_in_offline(
        &mut self,
        password: Secret,
        cause: ClientError,
    ) -> Result<Step, ClientError> {
        if self.pending.record.is_none() {
            return Err(cause);
        }
        // IT's managed settings (shared PCs): a verifier kept from before the setting
        // is not used either.
        if !self.managed.offline_allowed() {
            return Err(ClientError::OfflineOffHere);
        }
        let server = self.server_url()?.clone();
        // Read afresh: another process on this keychain may have counted tries since
        // the identifier was typed.
        let Some(mut record) = self.vault.load(&server, &self.pending.key)? else {
            return Err(cause);
        };
        let Some(verifier) = record.verifier.clone() else {
            return Err(cause);
        };
        let now = self.now();
        let policy = self.offline_policy_for(&record);
        // The time is noted, refused or not: a clock set back later gains nothing.
        let last_seen = record.last_seen_at;
        offline::seen(&mut record, now);
        if let Err(refused) = offline::allowed(&record, &policy, now) {
            if record.last_seen_at != last_seen {
                self.vault.update(&server, &self.pending.key, &record)?;
            }
            return Err(refused);
        }
        // The try is counted and written before the password is checked, as the
        // server's limits are: a check that is interrupted, or whose result cannot be
        // written, has used its try. A right password gives it back.
        record.offline_failures = record.offline_failures.saturating_add(1);
        self.vault.update(&server, &self.pending.key, &record)?;
        self.pending.record = Some(record.clone());
        let check_password = password.clone();
        let matches =
            tokio::task::spawn_blocking(move || offline::check(&verifier, &check_password))
                .await
                .map_err(|e| ClientError::Storage(format!("verifier task: {e}")))??;
        if !matches {
            let left = policy.max_attempts.saturating_sub(record.offline_failures);
            tracing::info!(attempts_left = left, "wrong password offline");
            return Err(ClientError::OfflinePasswordInvalid {
                attempts_left: left,
            });
        }
        record.offline_failures = record.offline_failures.saturating_sub(1);
        if let Err(e) = self.vault.update(&server, &self.pending.key, &record) {
            tracing::warn!(error = %e, "cannot give back the offline try of a right password");
        }
        tracing::info!(cause = ?cause.code(), "signed in offline");
        let pending = std::mem::take(&mut self.pending);
        self.active = Some(Active {
            session: None,
            access_expires_at: Deadline::default(),
            user: record.user.clone(),
            identifier: pending.identifier,
            key: pending.key,
            remembered: true,
            cannot_remember: false,
            offline_reason: Some(cause.code()),
            offline_password: Some(password),
            offer_password: None,
        });
        Ok(self.show_signed_in())
    }

    /// SecondFactor → signed in.
    #[tracing::instrument(skip_all)]
    pub async fn second_factor(
        &mut self,
        method: MfaMethod,
        code: Secret,
    ) -> Result<Step, ClientError> {
        self.expect_step(
            matches!(self.step, Step::SecondFactor { .. }),
            "second_factor",
        )?;
        let mfa_token = self
            .pending
            .mfa_token
            .clone()
            .ok_or(ClientError::WrongStep("second_factor"))?;
        let req = MfaRequest {
            mfa_token,
            method,
            code: code::clean(&code, SecondFactor::kind(method))?,
        };
        let req = &req;
        let session = self
            .once("second factor", |api| async move { api.mfa(req).await })
            .await?;
        self.signed_in(session)
    }

    /// DeviceCode → signed in, or ForcedChange when the password must change first.
    #[tracing::instrument(skip_all)]
    pub async fn verify_device(&mut self, code: Secret) -> Result<Step, ClientError> {
        self.expect_step(
            matches!(self.step, Step::DeviceCode { .. }),
            "verify_device",
        )?;
        let challenge_token = self
            .pending
            .challenge_token
            .clone()
            .ok_or(ClientError::WrongStep("verify_device"))?;
        let req = DeviceVerifyRequest {
            challenge_token,
            code: code::clean(&code, Kind::Digits)?,
        };
        let req = &req;
        let answer = self
            .once(
                "device code",
                |api| async move { api.verify_device(req).await },
            )
            .await;
        match answer {
            Ok(session) => self.signed_in(session),
            // The device is verified; the sign-in goes on with the forced change.
            Err(ClientError::PasswordChangeRequired {
                change_token,
                reason,
                mfa_methods,
            }) => self.after_login(LoginResponse::PasswordChangeRequired {
                change_token,
                reason,
                mfa_methods,
            }),
            Err(e) => Err(e),
        }
    }

    /// ForcedChange → signed in with the new password.
    #[tracing::instrument(skip_all)]
    pub async fn forced_change(
        &mut self,
        new_password: Secret,
        second: Option<SecondFactor>,
    ) -> Result<Step, ClientError> {
        self.expect_step(
            matches!(self.step, Step::ForcedChange { .. }),
            "forced_change",
        )?;
        let change_token = self
            .pending
            .change_token
            .clone()
            .ok_or(ClientError::WrongStep("forced_change"))?;
        self.refuse_too_long(&new_password)?;
        let (totp_code, recovery_code) = SecondFactor::split(second)?;
        let req = ForcedChangeRequest {
            change_token,
            new_password: new_password.clone(),
            totp_code,
            recovery_code,
            device: Some(self.device()),
        };
        let req = &req;
        let session = self
            .once("forced change", |api| async move {
                api.forced_change(req).await
            })
            .await?;
        self.pending.password = Some(new_password);
        self.signed_in(session)
    }

    /// Input over the policy maximum is refused here, before the server (which would
    /// refuse it too), and never truncated.
    pub(crate) fn refuse_too_long(&self, password: &Secret) -> Result<(), ClientError> {
        let policy = self.password_policy();
        let max = usize::try_from(policy.max_length).unwrap_or(usize::MAX);
        if latchkey_policy::normalize(password.expose())
            .chars()
            .count()
            > max
        {
            return Err(ClientError::PasswordRejected {
                reasons: vec![latchkey_proto::PasswordReason::TooLong],
                suggestions: vec![latchkey_proto::PasswordSuggestion::UseShorterPassword],
            });
        }
        Ok(())
    }

    /// A session was opened online: remember (or forget) the account, then offer TOTP
    /// setup or show the signed-in screen.
    fn signed_in(&mut self, session: Session) -> Result<Step, ClientError> {
        let pending = std::mem::take(&mut self.pending);
        let now = self.now();
        let server = self.server_url()?.clone();
        let user = session.user.clone();
        let declined = pending
            .record
            .as_ref()
            .is_some_and(|r| r.totp_offer_declined);
        let mut remembered = false;
        let mut cannot_remember = false;
        if pending.remember {
            // No verifier where IT turned offline sign-in off: nothing on this
            // computer can check the password without the server.
            let verifier = match &pending.password {
                Some(p) if self.managed.offline_allowed() => Some(offline::make_verifier(p)?),
                _ => None,
            };
            let record = Record {
                refresh_token: Some(session.refresh_token.clone()),
                verifier,
                user: user.clone(),
                last_online_at: now,
                // The server was reached: both clocks start again from here.
                last_seen_at: now,
                offline_failures: 0,
                offline_policy: self.offline_policy(),
                totp_offer_declined: declined,
            };
            match self.vault.save(&server, &pending.key, &record) {
                Ok(()) => remembered = true,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot remember this device");
                    cannot_remember = true;
                }
            }
            self.index = self.vault.load_index(&server).ok();
        } else if pending.record.is_some() {
            // "Remember me" unticked: what this device kept for the account goes.
            if let Err(e) = self.vault.remove(&server, &pending.key) {
                tracing::warn!(error = %e, "cannot forget the remembered account");
            }
            self.index = self.vault.load_index(&server).ok();
        }
        self.active = Some(Active {
            access_expires_at: Deadline::after(&*self.clock, session.expires_in),
            session: Some(session),
            user: user.clone(),
            identifier: pending.identifier,
            key: pending.key,
            remembered,
            cannot_remember,
            offline_reason: None,
            offline_password: None,
            offer_password: None,
        });
        tracing::info!(remembered, "signed in");
        if !user.mfa_enabled && !declined {
            if let Some(a) = self.active.as_mut() {
                a.offer_password = pending.password;
            }
            self.step = Step::TotpOffer;
            return Ok(self.step.clone());
        }
        Ok(self.show_signed_in())
    }

    pub(crate) fn show_signed_in(&mut self) -> Step {
        self.step = match &self.active {
            Some(a) => Step::SignedIn {
                user: a.user.clone(),
                offline: a.session.is_none(),
                offline_reason: a.offline_reason,
                remembered: a.remembered,
                cannot_remember: a.cannot_remember,
            },
            None => Step::Identify { identifier: None },
        };
        self.step.clone()
    }

    /// TotpOffer (or the signed-in account screen) → TotpSetup. The server wants the
    /// account's password again: `password`, or on the offer right after a sign-in the
    /// password of that sign-in. A server without TOTP (`totp_unavailable`) skips the
    /// offer quietly.
    #[tracing::instrument(skip_all)]
    pub async fn setup_totp(&mut self, password: Option<Secret>) -> Result<Step, ClientError> {
        self.expect_step(
            matches!(
                self.step,
                Step::TotpOffer | Step::SignedIn { offline: false, .. }
            ),
            "setup_totp",
        )?;
        let from_offer = self.step == Step::TotpOffer;
        let kept = self.active.as_ref().and_then(|a| a.offer_password.clone());
        let password = password
            .filter(|p| !p.is_empty())
            .or(kept.filter(|_| from_offer))
            .ok_or(ClientError::InvalidInput("password"))?;
        let token = self.access_token().await?;
        let (token, password) = (&token, &password);
        let answer = self
            .once("set up TOTP", |api| async move {
                api.totp_enroll(token, password).await
            })
            .await;
        // Kept for another press of "set up" after a failure such as no network or a
        // timeout (the offer has no password field); dropped once the server has
        // answered for good.
        let settled = match &answer {
            Ok(_) => true,
            Err(e) => matches!(
                e.code(),
                Code::TotpUnavailable | Code::CurrentPasswordInvalid | Code::AccountLocked
            ),
        };
        if settled {
            if let Some(a) = self.active.as_mut() {
                a.offer_password = None;
            }
        }
        match answer {
            Ok(enrollment) => {
                let setup = TotpSetup::from_enrollment(&enrollment)?;
                self.step = Step::TotpSetup { setup };
                Ok(self.step.clone())
            }
            Err(e) if from_offer && e.code() == Code::TotpUnavailable => Ok(self.show_signed_in()),
            Err(e) => Err(e),
        }
    }

    /// TotpOffer → signed in; not offered again on this device for this account.
    pub fn skip_totp(&mut self) -> Result<Step, ClientError> {
        self.expect_step(
            // SignedIn: the offer was already dropped (a server without TOTP); the UI's
            // "skip" then only confirms it.
            matches!(
                self.step,
                Step::TotpOffer | Step::TotpSetup { .. } | Step::SignedIn { .. }
            ),
            "skip_totp",
        )?;
        if let Some(a) = self.active.as_mut() {
            a.offer_password = None;
        }
        if let Some(a) = &self.active {
            if a.remembered {
                let server = self.server_url()?.clone();
                if let Ok(Some(mut r)) = self.vault.load(&server, &a.key) {
                    r.totp_offer_declined = true;
                    if let Err(e) = self.vault.update(&server, &a.key, &r) {
                        tracing::warn!(error = %e, "cannot note the declined offer");
                    }
                }
            }
        }
        Ok(self.show_signed_in())
    }

    /// TotpSetup → RecoveryCodes, with the first code from the authenticator app.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_totp(&mut self, code: Secret) -> Result<Step, ClientError> {
        self.expect_step(matches!(self.step, Step::TotpSetup { .. }), "confirm_totp")?;
        let code = code::clean(&code, Kind::Digits)?;
        let token = self.access_token().await?;
        let (token, code) = (&token, &code);
        let codes = self
            .once("confirm TOTP", |api| async move {
                api.totp_confirm(token, code).await
            })
            .await?;
        if let Some(a) = self.active.as_mut() {
            a.user.mfa_enabled = true;
        }
        self.store_profile();
        self.step = Step::RecoveryCodes {
            codes: codes.recovery_codes,
        };
        Ok(self.step.clone())
    }

    /// RecoveryCodes → signed in (the codes are not kept).
    pub fn recovery_codes_saved(&mut self) -> Result<Step, ClientError> {
        self.expect_step(
            matches!(self.step, Step::RecoveryCodes { .. }),
            "recovery_codes_saved",
        )?;
        Ok(self.show_signed_in())
    }

    /// Any step before the session → Identify, dropping tokens and the password.
    pub fn back(&mut self) -> Result<Step, ClientError> {
        self.expect_step(self.active.is_none() && self.server.is_some(), "back")?;
        let identifier =
            (!self.pending.identifier.is_empty()).then(|| self.pending.identifier.clone());
        self.pending = Pending::default();
        self.step = Step::Identify { identifier };
        Ok(self.step.clone())
    }
}

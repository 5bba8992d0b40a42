//! The signed-in account's routes (`/v1/me/…`): its profile, password, second factor,
//! sessions and activity. Every one carries the access token.

use latchkey_proto::{
    ActivityList, ChangePasswordRequest, Profile, RecoveryCodes, RecoveryCodesRequest, Secret,
    SessionList, TotpConfirmRequest, TotpDisableRequest, TotpEnrollRequest, TotpEnrollment,
};
use reqwest::Method;

use super::Api;
use crate::error::ClientError;

impl Api {
    #[tracing::instrument(skip_all)]
    pub async fn me(&self, access_token: &Secret) -> Result<Profile, ClientError> {
        self.json::<Profile, ()>(Method::GET, "v1/me", Some(access_token), None)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn change_password(
        &self,
        access_token: &Secret,
        req: &ChangePasswordRequest,
    ) -> Result<(), ClientError> {
        self.empty(
            Method::POST,
            "v1/me/password",
            Some(access_token),
            Some(req),
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn totp_enroll(
        &self,
        access_token: &Secret,
        password: &Secret,
    ) -> Result<TotpEnrollment, ClientError> {
        let req = TotpEnrollRequest {
            password: password.clone(),
        };
        self.json(
            Method::POST,
            "v1/me/totp/enroll",
            Some(access_token),
            Some(&req),
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn totp_confirm(
        &self,
        access_token: &Secret,
        code: &Secret,
    ) -> Result<RecoveryCodes, ClientError> {
        let req = TotpConfirmRequest { code: code.clone() };
        self.json(
            Method::POST,
            "v1/me/totp/confirm",
            Some(access_token),
            Some(&req),
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn totp_disable(
        &self,
        access_token: &Secret,
        req: &TotpDisableRequest,
    ) -> Result<(), ClientError> {
        self.empty(
            Method::POST,
            "v1/me/totp/disable",
            Some(access_token),
            Some(req),
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn regenerate_recovery_codes(
        &self,
        access_token: &Secret,
        req: &RecoveryCodesRequest,
    ) -> Result<RecoveryCodes, ClientError> {
        self.json(
            Method::POST,
            "v1/me/recovery-codes",
            Some(access_token),
            Some(req),
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn sessions(&self, access_token: &Secret) -> Result<SessionList, ClientError> {
        self.json::<SessionList, ()>(Method::GET, "v1/me/sessions", Some(access_token), None)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn revoke_session(&self, access_token: &Secret, id: &str) -> Result<(), ClientError> {
        // Ids are the server's own (hex); refuse anything that would change the path.
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ClientError::InvalidInput("session_id"));
        }
        self.empty::<()>(
            Method::DELETE,
            &format!("v1/me/sessions/{id}"),
            Some(access_token),
            None,
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn activity(&self, access_token: &Secret) -> Result<ActivityList, ClientError> {
        self.json::<ActivityList, ()>(Method::GET, "v1/me/activity", Some(access_token), None)
            .await
    }
}

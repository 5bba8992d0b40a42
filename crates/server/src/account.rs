//! Account operations shared by the HTTP handlers and the admin CLI: choosing a new
//! password under the policy, and turning issued tokens into the wire `Session`.

use latchkey_policy::UserContext;
use latchkey_proto::{PasswordPolicy, PasswordReason, PasswordSuggestion, Secret, Session};

use crate::error::ApiError;
use crate::hasher::{HashError, Hasher};
use crate::lockout::{self, Verdict};
use crate::session::Issued;
use crate::state::AppState;
use crate::users::{self, UserRow};
use latchkey_proto::ErrorCode;

/// Maps a hashing failure to its answer: saturation is `server_busy`.
pub fn hash_error(e: HashError) -> ApiError {
    match e {
        HashError::Busy { retry_after } => {
            ApiError::new(ErrorCode::ServerBusy).retry_after(retry_after)
        }
        other => ApiError::internal(other),
    }
}

/// A policy refusal: the reasons and suggestions, for the client to translate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reasons: Vec<PasswordReason>,
    pub suggestions: Vec<PasswordSuggestion>,
}

#[derive(Debug, thiserror::Error)]
pub enum NewPasswordError {
    #[error("the password does not meet the policy: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl NewPasswordError {
    pub fn into_api(self, field: &str) -> ApiError {
        match self {
            Self::Refused(r) => ApiError::rejected(field, r.reasons, r.suggestions),
            Self::Hash(e) => hash_error(e),
            Self::Db(e) => e.into(),
        }
    }
}

/// Checks a new password against the policy (and, for an existing account, against
/// its current password and its history) and returns its hash.
pub async fn new_password_hash(
    hasher: &Hasher,
    db: &crate::db::Db,
    policy: &PasswordPolicy,
    user: Option<&UserRow>,
    context: UserContext,
    password: &Secret,
) -> Result<String, NewPasswordError> {
    let normalized = Secret::new(latchkey_policy::normalize(password.expose()));
    let verdict = {
        let policy = policy.clone();
        let raw = password.clone();
        tokio::task::spawn_blocking(move || {
            latchkey_policy::evaluate(&policy, raw.expose(), &context)
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
    };
    let mut reasons = verdict.reasons;
    let mut suggestions = verdict.suggestions;
    if let Some(user) = user {
        if reasons.is_empty()
            && hasher
                .verify(&normalized, Some(&user.password_hash))
                .await?
                .ok
        {
            reasons.push(PasswordReason::SameAsCurrent);
        }
        if reasons.is_empty() && policy.history > 0 {
            for old in users::history(db, &user.id, policy.history).await? {
                if hasher.verify(&normalized, Some(&old)).await?.ok {
                    reasons.push(PasswordReason::ReusedPassword);
                    break;
                }
            }
        }
        let reused = reasons.contains(&PasswordReason::SameAsCurrent)
            || reasons.contains(&PasswordReason::ReusedPassword);
        if reused && !suggestions.contains(&PasswordSuggestion::ChooseNewPassword) {
            suggestions.push(PasswordSuggestion::ChooseNewPassword);
        }
    }
    if !reasons.is_empty() {
        return Err(NewPasswordError::Refused(Refusal {
            reasons,
            suggestions,
        }));
    }
    Ok(hasher.hash(&normalized).await?)
}

/// Checks the account's own password before a sensitive change made with a bearer
/// token (`field` names it in the answer). The try is reserved under the account's
/// sign-in lockout before the hash is checked, so a stolen access token is no
/// password-guessing oracle, also in parallel.
pub async fn confirm_password(
    app: &AppState,
    user: &UserRow,
    password: &Secret,
    field: &str,
    now: i64,
) -> Result<(), ApiError> {
    let normalized = Secret::new(latchkey_policy::normalize(password.expose()));
    let check = async {
        // A directory account's password is checked by a bind as its entry.
        if let (Some(dir), Some(dn)) = (&app.directory, user.directory_dn.as_deref()) {
            return dir
                .verify(dn, &normalized)
                .await
                .map_err(crate::directory::api_error);
        }
        let verified = app
            .hasher
            .verify(&normalized, Some(&user.password_hash))
            .await;
        verified.map(|v| v.ok).map_err(hash_error)
    };
    let cfg = &app.config().lockout;
    match lockout::attempt(&app.db, cfg, &user.subject(), now, check).await? {
        Verdict::Right => Ok(()),
        Verdict::Wrong(None) => Err(ApiError::new(ErrorCode::CurrentPasswordInvalid).field(field)),
        Verdict::Busy => Err(Verdict::busy()),
        Verdict::Wrong(Some(wait)) | Verdict::Locked(wait) => {
            Err(ApiError::new(ErrorCode::AccountLocked).retry_after(wait))
        }
    }
}

/// The wire session for freshly issued tokens.
pub fn session_body(app: &AppState, issued: Issued, user: &UserRow) -> Session {
    Session {
        session_id: issued.session_id,
        access_token: issued.access,
        refresh_token: issued.refresh,
        expires_in: app.config().sessions.access_ttl_seconds,
        refresh_expires_in: app.config().sessions.refresh_ttl_seconds,
        user: user.to_proto(),
    }
}

/// When the user's password expires under the policy (ms), if it does.
/// Never for a directory account: its password expires by the directory's policy.
pub fn password_expires_at(policy: &PasswordPolicy, user: &UserRow) -> Option<i64> {
    (policy.expiry_days > 0 && !user.in_directory()).then(|| {
        user.password_changed_at
            .saturating_add(i64::from(policy.expiry_days).saturating_mul(86_400_000))
    })
}

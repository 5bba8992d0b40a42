//! The desktop app as the key to office applications: `/v1/approvals/{id}` (approve a
//! browser sign-in by number matching), `/v1/launcher` and `/v1/launch` (open an
//! application signed in), `/v1/me/applications` (the applications signed in through
//! Latchkey). See [`crate::oidc::approvals`].

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use latchkey_proto::{
    ApprovalDecision, ApprovalView, Device, ErrorBody, ErrorCode, LaunchRequest, LaunchTicket,
    Launcher, LauncherApp, Secret, SignedInApp, SignedInApps,
};
use sqlx::Row;

use super::extract::{ApiJson, ApiPath, ClientIp};
use crate::activity;
use crate::error::{ApiError, ApiResult};
use crate::oidc::approvals::{self, Approval, ALLOWED, DENIED, MISMATCH, PENDING};
use crate::oidc::{clients, grants};
use crate::session::Authed;
use crate::state::AppState;
use crate::users::{self, UserRow};

fn invalid() -> ApiError {
    ApiError::new(ErrorCode::ApprovalInvalid)
}

/// A pending approval this account may answer, with its application and whether the
/// application needs a second factor this account does not have.
async fn pending(
    app: &AppState,
    authed: &Authed,
    id: &str,
) -> ApiResult<(Approval, String, bool, UserRow)> {
    let now = app.now();
    let approval = approvals::get(&app.db, id).await?.ok_or_else(invalid)?;
    let foreign = approval
        .user_id
        .as_deref()
        .is_some_and(|u| u != authed.user_id);
    if approval.status != PENDING || approval.expires_at <= now || foreign {
        return Err(invalid());
    }
    let req = grants::load_request(&app.db, &approval.request_id, now)
        .await?
        .ok_or_else(invalid)?;
    let client = clients::get(&app.db, &req.client_id)
        .await?
        .ok_or_else(invalid)?;
    let user = users::by_id(&app.db, &authed.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))?;
    // A live session of an account with two-step verification on has passed it (see
    // `oidc::approvals`).
    let needs_two_factor = (req.require_2fa || client.require_2fa) && !user.mfa_on();
    Ok((approval, client.name, needs_two_factor, user))
}

/// What the app shows about a browser sign-in that waits for it.
#[utoipa::path(get, path = "/v1/approvals/{id}", tag = "approvals", security(("bearer" = [])),
    params(("id" = String, Path, description = "The approval id of the `latchkey://approve` link")),
    responses(
        (status = 200, body = ApprovalView),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
        (status = 404, description = "`approval_invalid`: unknown, expired, answered, or for another account", body = ErrorBody),
    ))]
pub async fn view(
    State(app): State<AppState>,
    authed: Authed,
    ip: ClientIp,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ApprovalView>> {
    let (approval, client_name, needs_two_factor, _) = pending(&app, &authed, &id).await?;
    let same_network = approval
        .ip
        .as_ref()
        .is_some_and(|b| ClientIp(Some(b.clone())).bucket("") == ip.bucket(""));
    Ok(Json(ApprovalView {
        id: approval.id,
        client_name,
        browser: approval.browser,
        ip: approval.ip,
        same_network,
        numbers: approvals::choices(approval.number),
        expires_in: u64::try_from((approval.expires_at - app.now()) / 1000).unwrap_or(0),
        needs_two_factor,
    }))
}

/// Allows (with the number the browser shows) or denies a browser sign-in. One answer:
/// a wrong number cancels the request.
#[utoipa::path(post, path = "/v1/approvals/{id}", tag = "approvals", security(("bearer" = [])),
    params(("id" = String, Path, description = "The approval id")),
    request_body = ApprovalDecision,
    responses(
        (status = 204, description = "Answered; the browser goes on (allowed) or is told (denied)"),
        (status = 400, description = "`approval_mismatch`: not the browser's number; the request is cancelled", body = ErrorBody),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`two_factor_required`: the application needs two-step verification, which this account does not have", body = ErrorBody),
        (status = 404, description = "`approval_invalid`", body = ErrorBody),
    ))]
pub async fn decide(
    State(app): State<AppState>,
    authed: Authed,
    ip: ClientIp,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ApprovalDecision>,
) -> ApiResult<StatusCode> {
    let now = app.now();
    let (approval, _, needs_two_factor, user) = pending(&app, &authed, &id).await?;
    let status = match (req.allow, req.number) {
        (false, _) => DENIED,
        (true, _) if needs_two_factor => return Err(ApiError::new(ErrorCode::TwoFactorRequired)),
        (true, Some(n)) if n == approval.number => ALLOWED,
        (true, Some(_)) => MISMATCH,
        (true, None) => {
            return Err(ApiError::invalid(
                "number",
                "Pick the number the browser shows.",
            ))
        }
    };
    if !approvals::decide(
        &app.db,
        &approval.id,
        &user.id,
        &authed.session_id,
        status,
        now,
    )
    .await?
    {
        return Err(invalid());
    }
    activity::record(
        &app.db,
        Some(&user.id),
        "approval",
        status,
        &Device {
            name: approval.browser.clone(),
            ..Device::default()
        },
        ip.as_deref(),
        now,
    )
    .await?;
    tracing::info!(user = %user.id, approval = %approval.id, status, "browser sign-in answered");
    if status == MISMATCH {
        return Err(ApiError::new(ErrorCode::ApprovalMismatch));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The applications IT put in the launcher.
#[utoipa::path(get, path = "/v1/launcher", tag = "approvals", security(("bearer" = [])),
    responses(
        (status = 200, body = Launcher),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
    ))]
pub async fn launcher(State(app): State<AppState>, _authed: Authed) -> ApiResult<Json<Launcher>> {
    let apps = if app.config().oidc.issuer().is_some() {
        clients::list(&app.db)
            .await?
            .into_iter()
            .filter_map(|c| {
                Some(LauncherApp {
                    launch_url: c.launch_url?,
                    client_id: c.id,
                    name: c.name,
                    icon: c.icon,
                })
            })
            .collect()
    } else {
        vec![]
    };
    Ok(Json(Launcher { apps }))
}

/// A one-time URL (30 s) that opens the application in the browser, signed in as this
/// account.
#[utoipa::path(post, path = "/v1/launch", tag = "approvals", security(("bearer" = [])),
    request_body = LaunchRequest,
    responses(
        (status = 200, body = LaunchTicket),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
        (status = 404, description = "`resource_not_found`: no such application in the launcher", body = ErrorBody),
    ))]
pub async fn launch(
    State(app): State<AppState>,
    authed: Authed,
    ip: ClientIp,
    ApiJson(req): ApiJson<LaunchRequest>,
) -> ApiResult<Json<LaunchTicket>> {
    let now = app.now();
    let issuer = app
        .config()
        .oidc
        .issuer()
        .ok_or_else(|| ApiError::new(ErrorCode::ResourceNotFound))?
        .to_owned();
    if req.client_id.is_empty() || req.client_id.len() > clients::MAX_ID_CHARS {
        return Err(ApiError::new(ErrorCode::ResourceNotFound));
    }
    let client = clients::get(&app.db, &req.client_id)
        .await?
        .filter(|c| c.launch_url.is_some())
        .ok_or_else(|| ApiError::new(ErrorCode::ResourceNotFound))?;
    let ticket = approvals::ticket(
        &app.db,
        &client.id,
        &authed.user_id,
        &authed.session_id,
        now,
    )
    .await?;
    activity::record(
        &app.db,
        Some(&authed.user_id),
        "launch",
        "ok",
        &Device::default(),
        ip.as_deref(),
        now,
    )
    .await?;
    Ok(Json(LaunchTicket {
        url: Secret::new(format!("{issuer}/oidc/launch?ticket={}", ticket.expose())),
        expires_in: approvals::TICKET_TTL_SECONDS,
    }))
}

/// The applications this account is signed in to through Latchkey (a grant with a live
/// token).
#[utoipa::path(get, path = "/v1/me/applications", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, body = SignedInApps),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
    ))]
pub async fn applications(
    State(app): State<AppState>,
    authed: Authed,
) -> ApiResult<Json<SignedInApps>> {
    let rows = sqlx::query(
        "SELECT g.client_id, c.name, g.scope, g.created_at FROM oidc_grants g \
         JOIN oidc_clients c ON c.id = g.client_id \
         WHERE g.user_id = $1 AND g.revoked_at IS NULL AND EXISTS (SELECT 1 FROM oidc_tokens t \
         WHERE t.grant_id = g.id AND t.expires_at > $2 AND t.used_at IS NULL) \
         ORDER BY g.created_at",
    )
    .bind(&authed.user_id)
    .bind(app.now())
    .fetch_all(&app.db)
    .await?;
    let mut by_client: BTreeMap<String, SignedInApp> = BTreeMap::new();
    for r in rows {
        let at: i64 = r.get::<i64, _>("created_at") / 1000;
        let scopes: Vec<String> = r
            .get::<String, _>("scope")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let e = by_client
            .entry(r.get("client_id"))
            .or_insert_with(|| SignedInApp {
                client_id: r.get("client_id"),
                name: r.get("name"),
                first_at: at,
                last_at: at,
                scopes: vec![],
            });
        e.last_at = e.last_at.max(at);
        for s in scopes {
            if !e.scopes.contains(&s) {
                e.scopes.push(s);
            }
        }
    }
    let mut apps: Vec<SignedInApp> = by_client.into_values().collect();
    apps.sort_by_key(|a| std::cmp::Reverse(a.last_at));
    Ok(Json(SignedInApps { apps }))
}

/// Signs this account out of one application: everything it was given ends.
#[utoipa::path(delete, path = "/v1/me/applications/{client_id}", tag = "me", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "From `GET /v1/me/applications`")),
    responses(
        (status = 204, description = "Signed out of it"),
        (status = 404, description = "`resource_not_found`: not signed in to it", body = ErrorBody),
    ))]
pub async fn sign_out_of(
    State(app): State<AppState>,
    authed: Authed,
    ip: ClientIp,
    ApiPath(client_id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let now = app.now();
    if client_id.is_empty() || client_id.len() > clients::MAX_ID_CHARS {
        return Err(ApiError::new(ErrorCode::ResourceNotFound));
    }
    let done = sqlx::query(
        "UPDATE oidc_grants SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 \
         AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(&authed.user_id)
    .bind(&client_id)
    .execute(&app.db)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(ApiError::new(ErrorCode::ResourceNotFound));
    }
    activity::record(
        &app.db,
        Some(&authed.user_id),
        "application_signed_out",
        "ok",
        &Device::default(),
        ip.as_deref(),
        now,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

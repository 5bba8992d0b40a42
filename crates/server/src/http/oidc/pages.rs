//! The browser side of the provider: authorize, the sign-in pages, consent and
//! end-session.
//!
//! The pages are plain HTML forms (no script): they work without JavaScript, with a
//! keyboard only and with password managers (standard `autocomplete` tokens). Each
//! step calls the same handler as the JSON API (`auth::login`, `mfa::second_factor`,
//! `device::verify`, `auth::forced_change`), so the policy, the lockout, the device
//! codes and the error codes are the API's. The step under way (its single-use
//! `mfa_token`, device `challenge_token` or `change_token`) is kept in an `HttpOnly`
//! cookie, as the desktop app keeps it in memory.
//!
//! No error is ever redirected to an address that is not a registered redirect URI of
//! the client named: an unknown client or a wrong redirect URI gets an error page.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::HeaderMap;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_proto::{
    Channel, Device, DeviceVerifyRequest, ErrorCode, ForcedChangeRequest, LoginRequest,
    LoginResponse, MfaMethod, MfaRequest, PasswordChangeReason, ResetCompleteRequest,
    ResetStartRequest, ResetVerifyRequest, Secret, Session,
};
use serde::{Deserialize, Serialize};

use super::text::{duration, t, tf, Lang};
use super::web::{self, Field, Form, Link, Page};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ClientIp};
use crate::oidc::approvals::{self, ALLOWED, DENIED, MISMATCH, PENDING};
use crate::oidc::clients::{self, Client};
use crate::oidc::grants::{self, AuthRequest};
use crate::oidc::sso::{self, Sso};
use crate::oidc::{Amr, ACR_TWO_FACTOR, SCOPES};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oidc/authorize", get(authorize_get).post(authorize_post))
        .route("/oidc/signin/{rid}", get(signin_page).post(signin_post))
        .route("/oidc/consent/{rid}", get(consent_page).post(consent_post))
        .route("/oidc/logout", get(logout_page).post(logout_post))
        .route("/oidc/launch", get(launch))
}

/// Longest `state` and `nonce` accepted.
const MAX_STATE_CHARS: usize = 2048;
/// How long the step cookie lives.
const FLOW_TTL_SECONDS: u64 = 15 * 60;

// ---------------------------------------------------------------- authorize

async fn authorize_get(State(app): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let query = uri.query().unwrap_or("").to_owned();
    authorize(
        &app,
        &headers,
        query.as_bytes(),
        &format!("/oidc/authorize?{query}"),
    )
    .await
}

async fn authorize_post(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    authorize(&app, &headers, &body, "/oidc/authorize").await
}

/// The error answer of a checked redirect URI: `error`, `error_description`, `state`,
/// `iss` (RFC 9207) in its query.
fn redirect_error(req: &AuthRequest, iss: &str, error: &str, description: &str) -> Response {
    web::see_other(
        &with_query(
            &req.redirect_uri,
            &[
                ("error", Some(error)),
                ("error_description", Some(description)),
                ("state", req.state.as_deref()),
                ("iss", Some(iss)),
            ],
        ),
        vec![],
    )
}

fn with_query(base: &str, pairs: &[(&str, Option<&str>)]) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    if let Some(v) = v {
                        q.append_pair(k, v);
                    }
                }
            }
            url.to_string()
        }
        Err(_) => base.to_owned(),
    }
}

fn error_page(
    lang: Lang,
    path: &str,
    status: StatusCode,
    key: &str,
    cookies: Vec<String>,
) -> Response {
    Page::error(lang, path, t(lang, key)).respond(status, cookies)
}

async fn authorize(app: &AppState, headers: &HeaderMap, raw: &[u8], path: &str) -> Response {
    // `lang` (the page's own switch) and `ui_locales` choose the language of the pages
    // shown here (errors, maintenance).
    let parsed = web::parse_form(raw);
    let asked = parsed.as_ref();
    let (lang, _) = web::language(
        app,
        headers,
        asked.and_then(|p| p.get("lang")).map(String::as_str),
        asked.and_then(|p| p.get("ui_locales")).map(String::as_str),
    );
    let Some(iss) = app.config().oidc.issuer().map(str::to_owned) else {
        return error_page(lang, path, StatusCode::NOT_FOUND, "web.bad_client", vec![]);
    };
    let Some(p) = parsed.as_ref() else {
        return error_page(
            lang,
            path,
            StatusCode::BAD_REQUEST,
            "web.bad_request",
            vec![],
        );
    };
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let client = match get("client_id") {
        Some(id) if id.len() <= clients::MAX_ID_CHARS => clients::get(&app.db, id).await,
        _ => Ok(None),
    };
    let client = match client {
        Ok(Some(c)) => c,
        Ok(None) => {
            return error_page(
                lang,
                path,
                StatusCode::BAD_REQUEST,
                "web.bad_client",
                vec![],
            )
        }
        Err(e) => return internal(lang, path, e),
    };
    let redirect_uri = match get("redirect_uri") {
        Some(uri) if client.redirect_allowed(uri) => uri.to_owned(),
        _ => {
            return error_page(
                lang,
                path,
                StatusCode::BAD_REQUEST,
                "web.bad_redirect",
                vec![],
            )
        }
    };
    // From here on, errors go back to the application.
    let mut req = AuthRequest {
        client_id: client.id.clone(),
        redirect_uri,
        state: get("state").map(str::to_owned),
        ..AuthRequest::default()
    };
    if req
        .state
        .as_ref()
        .is_some_and(|s| s.len() > MAX_STATE_CHARS)
    {
        req.state = None;
        return redirect_error(&req, &iss, "invalid_request", "state is too long");
    }
    match check_request(&client, p, &mut req) {
        Ok(()) => {}
        Err((error, description)) => return redirect_error(&req, &iss, error, description),
    }
    let now = app.now();
    match app.switches().await {
        // The IT console stays open, so that IT can end maintenance from the browser.
        Ok(s) if s.maintenance.is_some() && client.id != crate::http::console::CLIENT_ID => {
            if req.prompt.iter().any(|x| x == "none") {
                return redirect_error(&req, &iss, "temporarily_unavailable", "maintenance");
            }
            return maintenance_page(app, lang, path).await;
        }
        Ok(_) => {}
        Err(e) => return internal(lang, path, e),
    }
    let sso = match current_sso(app, headers, now).await {
        Ok(s) => s,
        Err(e) => return internal(lang, path, e),
    };
    let forced_login = req.prompt.iter().any(|x| x == "login");
    if let Some(s) = &sso {
        if !forced_login && satisfies(&req, s, now) {
            return proceed(app, lang, None, &req, &client, s, vec![]).await;
        }
    }
    if req.prompt.iter().any(|x| x == "none") {
        let error = if sso.is_some() {
            "interaction_required"
        } else {
            "login_required"
        };
        return redirect_error(&req, &iss, error, "the person must sign in");
    }
    match grants::save_request(&app.db, &req, &app.config().oidc, now).await {
        Ok(rid) => web::see_other(&format!("/oidc/signin/{rid}"), vec![]),
        Err(e) => internal(lang, path, e),
    }
}

/// Checks an authorization request's parameters (the client and the redirect URI are
/// checked already) and fills `req`.
fn check_request(
    client: &Client,
    p: &HashMap<String, String>,
    req: &mut AuthRequest,
) -> Result<(), (&'static str, &'static str)> {
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    if get("request").is_some() {
        return Err(("request_not_supported", "request objects are not supported"));
    }
    if get("request_uri").is_some() {
        return Err(("request_uri_not_supported", "request_uri is not supported"));
    }
    match get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err((
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
        None => return Err(("invalid_request", "response_type is missing")),
    }
    if get("response_mode").is_some_and(|m| m != "query") {
        return Err(("invalid_request", "only response_mode=query is supported"));
    }
    let scope: Vec<String> = get("scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| SCOPES.contains(s))
        .map(str::to_owned)
        .collect();
    if !scope.iter().any(|s| s == "openid") {
        return Err(("invalid_scope", "the scope must include openid"));
    }
    let mut unique: Vec<String> = Vec::new();
    for s in scope {
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    req.scope = unique;
    req.nonce = get("nonce").map(str::to_owned);
    if req
        .nonce
        .as_ref()
        .is_some_and(|n| n.len() > MAX_STATE_CHARS)
    {
        return Err(("invalid_request", "nonce is too long"));
    }
    match (get("code_challenge"), get("code_challenge_method")) {
        (Some(c), Some("S256"))
            if c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            req.code_challenge = Some(c.to_owned());
        }
        (Some(_), Some("S256")) => return Err(("invalid_request", "code_challenge is malformed")),
        (Some(_), _) => return Err(("invalid_request", "code_challenge_method must be S256")),
        (None, Some(_)) => return Err(("invalid_request", "code_challenge is missing")),
        (None, None) if client.is_public() => {
            return Err(("invalid_request", "a public client must use PKCE (S256)"))
        }
        (None, None) => {}
    }
    let prompt: Vec<String> = get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if prompt
        .iter()
        .any(|x| !matches!(x.as_str(), "none" | "login" | "consent" | "select_account"))
    {
        return Err(("invalid_request", "unknown prompt value"));
    }
    if prompt.iter().any(|x| x == "none") && prompt.len() > 1 {
        return Err(("invalid_request", "prompt=none cannot be combined"));
    }
    req.prompt = prompt;
    req.max_age = match get("max_age") {
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => return Err(("invalid_request", "max_age must be a number of seconds")),
        },
        None => None,
    };
    req.require_2fa = client.require_2fa
        || get("acr_values").is_some_and(|v| v.split(' ').any(|a| a == ACR_TWO_FACTOR));
    req.ui_locales = get("ui_locales").map(|s| s.chars().take(100).collect());
    Ok(())
}

/// Whether a single sign-on is good enough for `req`: recent enough for `max_age`,
/// and with a second factor when the application requires one.
fn satisfies(req: &AuthRequest, s: &Sso, now: i64) -> bool {
    let fresh = req
        .max_age
        .is_none_or(|age| now - s.auth_time <= age * 1000);
    let strong = !req.require_2fa || s.amr.has_second_factor();
    fresh && strong
}

async fn current_sso(
    app: &AppState,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<Sso>, sqlx::Error> {
    match web::cookie(headers, web::SSO_COOKIE) {
        Some(c) => sso::find(&app.db, c, now).await,
        None => Ok(None),
    }
}

/// The person is signed in, well enough: consent if it is needed, else the code goes
/// back to the application.
async fn proceed(
    app: &AppState,
    lang: Lang,
    rid: Option<&str>,
    req: &AuthRequest,
    client: &Client,
    s: &Sso,
    mut cookies: Vec<String>,
) -> Response {
    let iss = app.config().oidc.issuer().unwrap_or_default().to_owned();
    let now = app.now();
    let consent = match needs_consent(app, client, req, &s.user_id).await {
        Ok(c) => c,
        Err(e) => return internal(lang, "/oidc/authorize", e),
    };
    if consent {
        if req.prompt.iter().any(|x| x == "none") {
            return redirect_error(req, &iss, "consent_required", "the person must consent");
        }
        let rid = match rid {
            Some(r) => r.to_owned(),
            None => match grants::save_request(&app.db, req, &app.config().oidc, now).await {
                Ok(r) => r,
                Err(e) => return internal(lang, "/oidc/authorize", e),
            },
        };
        return web::see_other(&format!("/oidc/consent/{rid}"), cookies);
    }
    let code = grants::issue_code(&app.db, &app.config().oidc, req, s, now).await;
    let code = match code {
        Ok(c) => c,
        Err(e) => return internal(lang, "/oidc/authorize", e),
    };
    if let Some(rid) = rid {
        if let Err(e) = grants::finish_request(&app.db, rid).await {
            return internal(lang, "/oidc/authorize", e);
        }
        cookies.push(web::clear_cookie(app, web::FLOW_COOKIE, "/oidc"));
    }
    tracing::info!(client = %client.id, user = %s.user_id, "authorization code issued");
    web::see_other(
        &with_query(
            &req.redirect_uri,
            &[
                ("code", Some(code.expose())),
                ("state", req.state.as_deref()),
                ("iss", Some(&iss)),
            ],
        ),
        cookies,
    )
}

async fn needs_consent(
    app: &AppState,
    client: &Client,
    req: &AuthRequest,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    // Asked for, the consent page is shown even to a first-party application.
    if req.prompt.iter().any(|x| x == "consent") {
        return Ok(true);
    }
    if client.first_party {
        return Ok(false);
    }
    let given: Option<String> =
        sqlx::query_scalar("SELECT scope FROM oidc_consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(&client.id)
            .fetch_optional(&app.db)
            .await?;
    let given: Vec<&str> = given.as_deref().unwrap_or("").split(' ').collect();
    Ok(!req.scope.iter().all(|s| given.contains(&s.as_str())))
}

/// A page that could not be made. A database that cannot be used right now (a
/// PostgreSQL restart, a full disk) is told as such — `503` with `Retry-After`, as the
/// API's `server_unavailable` — so that the person tries again in a moment rather than
/// calling IT about an "unexpected problem"; anything else is a bug, `500`.
fn internal(lang: Lang, path: &str, cause: impl PageFailure) -> Response {
    if cause.unavailable() {
        tracing::warn!(error = %cause.describe(), "a sign-in page: database unavailable");
        let mut r = Page::error(lang, path, t(lang, "errors.server_unavailable"))
            .respond(StatusCode::SERVICE_UNAVAILABLE, vec![]);
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(crate::error::UNAVAILABLE_RETRY_AFTER),
        );
        return r;
    }
    tracing::error!(error = %cause.describe(), "a sign-in page failed");
    Page::error(lang, path, t(lang, "errors.internal"))
        .respond(StatusCode::INTERNAL_SERVER_ERROR, vec![])
}

/// What [`internal`] was given: whether it is the database being out of reach.
trait PageFailure {
    fn unavailable(&self) -> bool;
    fn describe(&self) -> String;
}

impl PageFailure for sqlx::Error {
    fn unavailable(&self) -> bool {
        crate::db::is_unavailable(self)
    }
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl PageFailure for ApiError {
    fn unavailable(&self) -> bool {
        self.code() == ErrorCode::ServerUnavailable
    }
    fn describe(&self) -> String {
        self.body.message.clone()
    }
}

impl PageFailure for &str {
    fn unavailable(&self) -> bool {
        false
    }
    fn describe(&self) -> String {
        (*self).to_owned()
    }
}

async fn maintenance_page(app: &AppState, lang: Lang, path: &str) -> Response {
    let maintenance = app
        .switches()
        .await
        .ok()
        .and_then(|s| s.maintenance.clone());
    let until = maintenance.as_ref().and_then(|m| m.until.clone());
    let mut page = Page::new(lang, path, t(lang, "maintenance.title"));
    page.lead = Some(tf(
        lang,
        "maintenance.lead",
        &[("name", &app.config().server_name)],
    ));
    // IT's own words, when it gave some.
    if let Some(m) = maintenance.filter(|m| !m.message.trim().is_empty()) {
        page.items = vec![m.message];
    }
    page.notice = Some(match until {
        Some(u) => tf(lang, "maintenance.until", &[("time", &readable_time(&u))]),
        None => t(lang, "maintenance.until_unknown"),
    });
    page.refresh_after = Some(60);
    page.respond(StatusCode::SERVICE_UNAVAILABLE, vec![])
}

/// An RFC 3339 time as people read it: `2030-01-01 08:00 (UTC+08:00)`.
fn readable_time(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(rfc3339, &Rfc3339) {
        Ok(t) => {
            let (h, m, _) = t.offset().as_hms();
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} (UTC{}{:02}:{:02})",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                if h < 0 || m < 0 { '-' } else { '+' },
                h.unsigned_abs(),
                m.unsigned_abs()
            )
        }
        Err(_) => rfc3339.to_owned(),
    }
}

// ---------------------------------------------------------------- the sign-in steps

/// The step under way, kept in the `HttpOnly` step cookie for one request id.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Flow {
    rid: String,
    step: Step,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Step {
    SecondFactor {
        token: Secret,
    },
    Device {
        token: Secret,
        destination: String,
        channel: Channel,
    },
    Change {
        token: Secret,
        reason: PasswordChangeReason,
        needs_code: bool,
    },
    /// Forgot password: who (no cookie needed; shown by `?reset=1`).
    ResetStart,
    /// The reset code sent to the account.
    ResetCode {
        recovery_id: String,
        identifier: String,
        expires_in: u64,
    },
    /// A verified reset code: the new password.
    ResetPassword {
        token: Secret,
        needs_code: bool,
    },
    /// Waiting for the desktop app to approve (`approvals`).
    Approval {
        id: String,
        number: u8,
    },
}

fn flow_of(headers: &HeaderMap, rid: &str) -> Option<Step> {
    let raw = web::cookie(headers, web::FLOW_COOKIE)?;
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let flow: Flow = serde_json::from_slice(&bytes).ok()?;
    (flow.rid == rid).then_some(flow.step)
}

fn flow_cookie(app: &AppState, rid: &str, step: Step) -> String {
    let json = serde_json::to_vec(&Flow {
        rid: rid.to_owned(),
        step,
    })
    .unwrap_or_default();
    web::set_cookie(
        app,
        web::FLOW_COOKIE,
        &URL_SAFE_NO_PAD.encode(json),
        "/oidc",
        Some(FLOW_TTL_SECONDS),
    )
}

/// This browser as a device: a random id kept in a cookie (a new browser gets the
/// device code, like a new computer), and its kind from the User-Agent.
fn browser(app: &AppState, headers: &HeaderMap) -> (Device, Option<String>) {
    let (id, cookie) = match web::cookie(headers, web::DEVICE_COOKIE) {
        Some(v)
            if v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            (v.to_owned(), None)
        }
        _ => {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            let id = URL_SAFE_NO_PAD.encode(bytes);
            let c = web::set_cookie(app, web::DEVICE_COOKIE, &id, "/oidc", Some(400 * 86_400));
            (id, Some(c))
        }
    };
    let ua = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let kind = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        "Browser"
    };
    let device = Device {
        id,
        name: format!("Web browser ({kind})"),
        platform: "web".into(),
    };
    (device, cookie)
}

struct Ctx {
    issuer: String,
    /// The browser's single sign-on cookie when it came with one.
    old_sso: Option<String>,
    lang: Lang,
    rid: String,
    req: AuthRequest,
    client: Client,
    csrf: String,
    cookies: Vec<String>,
}

impl Ctx {
    fn path(&self) -> String {
        format!("/oidc/signin/{}", self.rid)
    }

    fn page(&self, title_key: &str) -> Page {
        let mut p = Page::new(self.lang, &self.path(), t(self.lang, title_key));
        p.subtitle = Some(web::app_text(
            self.lang,
            "web.continue_to",
            &self.client.name,
        ));
        p
    }

    fn form(&self, step: &str, fields: Vec<Field>, submit_key: &str) -> Form {
        Form {
            action: self.path(),
            csrf: self.csrf.clone(),
            hidden: vec![("step".into(), step.into())],
            fields,
            submit: t(self.lang, submit_key),
            submit_value: None,
            secondary: None,
        }
    }
}

/// Loads what every sign-in page needs; an expired request gets its page.
async fn context(
    app: &AppState,
    headers: &HeaderMap,
    rid: &str,
    query_lang: Option<&str>,
) -> Result<Ctx, Response> {
    let now = app.now();
    let (lang, _) = web::language(app, headers, query_lang, None);
    let path = format!("/oidc/signin/{rid}");
    let req = match grants::load_request(&app.db, rid, now).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Err(error_page(
                lang,
                &path,
                StatusCode::NOT_FOUND,
                "web.expired",
                vec![],
            ))
        }
        Err(e) => return Err(internal(lang, &path, e)),
    };
    let client = match clients::get(&app.db, &req.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Err(error_page(
                lang,
                &path,
                StatusCode::NOT_FOUND,
                "web.expired",
                vec![],
            ))
        }
        Err(e) => return Err(internal(lang, &path, e)),
    };
    let (lang, lang_cookie) = web::language(app, headers, query_lang, req.ui_locales.as_deref());
    let (csrf, csrf_cookie) = web::csrf_token(app, headers);
    Ok(Ctx {
        issuer: app.config().oidc.issuer().unwrap_or_default().to_owned(),
        old_sso: web::cookie(headers, web::SSO_COOKIE).map(str::to_owned),
        lang,
        rid: rid.to_owned(),
        req,
        client,
        csrf,
        cookies: lang_cookie.into_iter().chain(csrf_cookie).collect(),
    })
}

async fn signin_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(rid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut ctx = match context(&app, &headers, &rid, q.get("lang").map(String::as_str)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let step = if q.contains_key("restart") {
        ctx.cookies
            .push(web::clear_cookie(&app, web::FLOW_COOKIE, "/oidc"));
        None
    } else if q.contains_key("reset") {
        Some(Step::ResetStart)
    } else {
        flow_of(&headers, &rid)
    };
    if let Some(Step::Approval { id, .. }) = &step {
        return approval_status(&app, &headers, ctx, id, step.clone()).await;
    }
    let recovery = q.get("method").is_some_and(|m| m == "recovery_code");
    render(ctx, step.as_ref(), None, recovery, StatusCode::OK)
}

/// The browser waiting for the app: still waiting, signed in, or told why not.
async fn approval_status(
    app: &AppState,
    headers: &HeaderMap,
    mut ctx: Ctx,
    id: &str,
    step: Option<Step>,
) -> Response {
    let lang = ctx.lang;
    let now = app.now();
    let approval = match approvals::get(&app.db, id).await {
        Ok(a) => a,
        Err(e) => return internal(lang, &ctx.path(), e),
    };
    let over = |ctx: Ctx, key: &str| {
        let mut ctx = ctx;
        ctx.cookies
            .push(web::clear_cookie(app, web::FLOW_COOKIE, "/oidc"));
        render(
            ctx,
            None,
            Some(Refused::msg(t(lang, key))),
            false,
            StatusCode::OK,
        )
    };
    let Some(approval) = approval.filter(|a| a.request_id == ctx.rid) else {
        return over(ctx, "web.approval_expired");
    };
    match approval.status.as_str() {
        PENDING if approval.expires_at > now => {
            render(ctx, step.as_ref(), None, false, StatusCode::OK)
        }
        PENDING => over(ctx, "web.approval_expired"),
        DENIED => over(ctx, "web.approval_denied"),
        MISMATCH => over(ctx, "web.approval_mismatch"),
        ALLOWED => {
            let taken = match approvals::take(&app.db, &approval.id).await {
                Ok(t) => t,
                Err(e) => return internal(lang, &ctx.path(), e),
            };
            let user = match approval.user_id.as_deref() {
                Some(u) => crate::users::by_id(&app.db, u).await.ok().flatten(),
                None => None,
            };
            let (Some(user), true) = (user.filter(|u| !u.is_disabled()), taken) else {
                return over(ctx, "web.approval_expired");
            };
            let (device, device_cookie) = browser(app, headers);
            ctx.cookies.extend(device_cookie);
            let ip = approval.ip.clone();
            let issued = match crate::signin::complete(
                app,
                &user,
                &device,
                ip.as_deref(),
                now,
                None,
            )
            .await
            {
                Ok(i) => i,
                Err(e) => return internal(lang, &ctx.path(), e),
            };
            let amr = if user.mfa_on() {
                Amr::two_factor(true)
            } else {
                Amr::password()
            };
            open_sso(app, ctx, &issued.session_id, &user.id, amr).await
        }
        _ => over(ctx, "web.approval_expired"),
    }
}

/// `GET /oidc/launch?ticket=…`: the desktop app's launcher opens an application; the
/// one-time ticket signs this browser in, then the browser goes to the application.
async fn launch(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (lang, _) = web::language(&app, &headers, None, None);
    let path = "/oidc/launch";
    let now = app.now();
    let used = match q.get("ticket") {
        Some(t) => approvals::use_ticket(&app.db, t, now).await,
        None => Ok(None),
    };
    let (client_id, user_id, _session) = match used {
        Ok(Some(u)) => u,
        Ok(None) => return error_page(lang, path, StatusCode::GONE, "web.launch_invalid", vec![]),
        Err(e) => return internal(lang, path, e),
    };
    let client = clients::get(&app.db, &client_id).await.ok().flatten();
    let user = crate::users::by_id(&app.db, &user_id).await.ok().flatten();
    let (Some(client), Some(user)) = (client, user) else {
        return error_page(lang, path, StatusCode::GONE, "web.launch_invalid", vec![]);
    };
    let Some(target) = client.launch_url.clone() else {
        return error_page(lang, path, StatusCode::GONE, "web.launch_invalid", vec![]);
    };
    let (device, device_cookie) = browser(&app, &headers);
    let issued = match crate::signin::complete(&app, &user, &device, ip.as_deref(), now, None).await
    {
        Ok(i) => i,
        Err(e) => return internal(lang, path, e),
    };
    let amr = if user.mfa_on() {
        Amr::two_factor(true)
    } else {
        Amr::password()
    };
    let ttl = app.config().oidc.sso_ttl_seconds;
    let cookie = match sso::create(&app.db, &issued.session_id, &user.id, &amr, ttl, now).await {
        Ok(c) => c,
        Err(e) => return internal(lang, path, e),
    };
    if let Err(e) = replace_old_sso(
        &app,
        web::cookie(&headers, web::SSO_COOKIE),
        cookie.expose(),
        &user.id,
        now,
    )
    .await
    {
        return internal(lang, path, e);
    }
    let mut cookies: Vec<String> = device_cookie.into_iter().collect();
    cookies.push(web::set_cookie(
        &app,
        web::SSO_COOKIE,
        cookie.expose(),
        "/",
        Some(ttl),
    ));
    tracing::info!(user = %user.id, client = %client.id, "launched from the desktop app");
    web::see_other(&target, cookies)
}

/// The page of `step` (the password form when there is none), with `error`.
fn render(
    ctx: Ctx,
    step: Option<&Step>,
    error: Option<Refused>,
    recovery: bool,
    status: StatusCode,
) -> Response {
    let lang = ctx.lang;
    let mut page = match step {
        None => {
            let mut page = ctx.page("signin.title");
            let mut id = Field::new(
                "identifier",
                t(lang, "signin.identifier"),
                "text",
                "username",
            );
            id.autofocus = true;
            if let Some(Refused {
                identifier: Some(v),
                ..
            }) = &error
            {
                id.value = v.clone();
                id.autofocus = false;
            }
            let mut pw = Field::new(
                "password",
                t(lang, "signin.password"),
                "password",
                "current-password",
            );
            pw.autofocus = error.as_ref().is_some_and(|e| e.identifier.is_some());
            let mut form = ctx.form("password", vec![id, pw], "signin.submit");
            form.secondary = Some(("app", t(lang, "web.continue_with_app")));
            page.form = Some(form);
            page.links.push(Link {
                href: format!("{}?reset=1", ctx.path()),
                label: t(lang, "signin.forgot"),
            });
            page
        }
        Some(Step::SecondFactor { .. }) => {
            let mut page = ctx.page("mfa.title");
            let (lead, label, hint, method, other, other_key) = if recovery {
                (
                    "mfa.recovery_lead",
                    "mfa.recovery_label",
                    "mfa.recovery_hint",
                    "recovery_code",
                    "totp",
                    "mfa.use_totp",
                )
            } else {
                (
                    "mfa.totp_lead",
                    "mfa.totp_label",
                    "mfa.totp_hint",
                    "totp",
                    "recovery_code",
                    "mfa.use_recovery",
                )
            };
            page.lead = Some(t(lang, lead));
            let mut code = Field::code("code", t(lang, label));
            code.hint = Some(t(lang, hint));
            if recovery {
                code.inputmode = None;
            }
            let mut form = ctx.form("second_factor", vec![code], "mfa.submit");
            form.hidden.push(("method".into(), method.into()));
            page.form = Some(form);
            page.links.push(Link {
                href: format!("{}?method={other}", ctx.path()),
                label: t(lang, other_key),
            });
            page
        }
        Some(Step::Device {
            destination,
            channel,
            ..
        }) => {
            let mut page = ctx.page("device.title");
            page.lead = Some(t(lang, "web.device_lead"));
            let channel_key = match channel {
                Channel::Email => "channel.email",
                Channel::Sms => "channel.sms",
            };
            page.notice = Some(tf(
                lang,
                "device.sent_to",
                &[
                    ("channel", &t(lang, channel_key)),
                    ("destination", destination),
                ],
            ));
            page.form = Some(ctx.form(
                "device",
                vec![Field::code("code", t(lang, "device.code_label"))],
                "device.submit",
            ));
            page
        }
        Some(Step::Change {
            reason, needs_code, ..
        }) => {
            let mut page = ctx.page("forced.title");
            page.lead = Some(t(
                lang,
                match reason {
                    PasswordChangeReason::Temporary => "forced.reason.temporary",
                    PasswordChangeReason::Expired => "forced.reason.expired",
                },
            ));
            let fields = new_password_fields(lang, *needs_code, "forced.totp_hint");
            page.form = Some(ctx.form("change", fields, "forced.submit"));
            page
        }
        Some(Step::ResetStart) => {
            let mut page = ctx.page("reset_start.title");
            page.lead = Some(t(lang, "reset_start.lead"));
            let mut id = Field::new(
                "identifier",
                t(lang, "signin.identifier"),
                "text",
                "username",
            );
            id.autofocus = true;
            if let Some(Refused {
                identifier: Some(v),
                ..
            }) = &error
            {
                id.value = v.clone();
            }
            page.form = Some(ctx.form("reset_start", vec![id], "reset_start.submit"));
            page
        }
        Some(Step::ResetCode {
            identifier,
            expires_in,
            ..
        }) => {
            let mut page = ctx.page("reset_code.title");
            page.lead = Some(tf(
                lang,
                "web.reset_code_lead",
                &[
                    ("identifier", identifier),
                    ("time", &duration(lang, *expires_in)),
                ],
            ));
            let mut form = ctx.form(
                "reset_code",
                vec![Field::code("code", t(lang, "code.legend"))],
                "reset_code.submit",
            );
            form.secondary = Some(("resend", t(lang, "reset_code.resend")));
            page.form = Some(form);
            page.links.push(Link {
                href: format!("{}?reset=1", ctx.path()),
                label: t(lang, "reset_code.start_over"),
            });
            page
        }
        Some(Step::Approval { id, number }) => {
            let mut page = ctx.page("web.approval_title");
            page.lead = Some(t(lang, "web.approval_lead"));
            page.number = Some(number.to_string());
            page.notice = Some(t(lang, "web.approval_waiting"));
            let issuer = ctx.issuer.clone();
            page.links.push(Link {
                href: with_query(
                    "latchkey://approve",
                    &[("id", Some(id)), ("server", Some(&issuer))],
                ),
                label: t(lang, "web.approval_open"),
            });
            page.refresh_after = Some(2);
            page
        }
        Some(Step::ResetPassword { needs_code, .. }) => {
            let mut page = ctx.page("reset.title");
            page.lead = Some(t(lang, "reset.lead"));
            let fields = new_password_fields(lang, *needs_code, "reset.second_factor_hint");
            page.form = Some(ctx.form("reset_password", fields, "reset.submit"));
            page
        }
    };
    if let Some(step) = step {
        let key = match step {
            Step::ResetStart | Step::ResetCode { .. } | Step::ResetPassword { .. } => {
                "common.back_to_sign_in"
            }
            _ => "common.cancel_sign_in",
        };
        page.links.push(Link {
            href: format!("{}?restart=1", ctx.path()),
            label: t(lang, key),
        });
    }
    if let Some(e) = error {
        if let Some(until) = &e.locked_until {
            page.title = t(lang, "locked.title");
            page.lead = Some(t(lang, "locked.lead"));
            page.notice = Some(tf(lang, "web.locked_until", &[("time", until)]));
        }
        if e.notice {
            page.notice = Some(e.message);
            return page.respond(status, ctx.cookies);
        }
        page.error = Some(e.message);
        page.items = e.items;
        page.refresh_after = e.refresh_after;
    }
    page.respond(status, ctx.cookies)
}

/// The fields of a new password (the forced change, the reset): the password and its
/// confirmation, and a TOTP code when the account has two-step verification.
fn new_password_fields(lang: Lang, needs_code: bool, code_hint: &str) -> Vec<Field> {
    let mut new = Field::new(
        "new_password",
        t(lang, "newpassword.label"),
        "password",
        "new-password",
    );
    new.hint = Some(t(lang, "newpassword.hint"));
    new.autofocus = true;
    let confirm = Field::new(
        "confirm_password",
        t(lang, "newpassword.confirm"),
        "password",
        "new-password",
    );
    let mut fields = vec![new, confirm];
    if needs_code {
        let mut code = Field::code("code", t(lang, "mfa.totp_label"));
        code.autofocus = false;
        code.hint = Some(t(lang, code_hint));
        fields.push(code);
    }
    fields
}

/// A refused step, as the page shows it.
struct Refused {
    message: String,
    items: Vec<String>,
    refresh_after: Option<u64>,
    /// The identifier to fill in again.
    identifier: Option<String>,
    /// Good news rather than an error (shown as a status, not an alert).
    notice: bool,
    /// Locked: until when (UTC, `HH:MM`); the page becomes the locked page.
    locked_until: Option<String>,
}

impl Refused {
    fn msg(message: String) -> Self {
        Self {
            message,
            items: vec![],
            refresh_after: None,
            identifier: None,
            notice: false,
            locked_until: None,
        }
    }
}

fn refused(lang: Lang, e: &ApiError) -> Refused {
    let body = &e.body;
    let key = format!("errors.{}", e.code().app_code().as_str());
    let time = body.retry_after.map(|s| duration(lang, s));
    let message = if super::text::has(&key) {
        tf(lang, &key, &[("time", time.as_deref().unwrap_or(""))])
    } else {
        body.message.clone()
    };
    let items = body
        .reasons
        .iter()
        .flatten()
        .map(|r| {
            let name = serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let key = format!("strength.reason.{name}");
            if super::text::has(&key) {
                t(lang, &key)
            } else {
                t(lang, "strength.reason.unknown")
            }
        })
        .collect();
    // Locked: the page reloads when the wait is over (a countdown without script).
    let refresh_after = match e.code() {
        ErrorCode::AccountLocked | ErrorCode::RateLimited => {
            body.retry_after.map(|s| s.clamp(1, 3600))
        }
        _ => None,
    };
    Refused {
        message,
        items,
        refresh_after,
        identifier: None,
        notice: false,
        locked_until: match e.code() {
            ErrorCode::AccountLocked => body.retry_after.map(|s| {
                let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(s as i64);
                format!("{:02}:{:02}", at.hour(), at.minute())
            }),
            _ => None,
        },
    }
}

async fn signin_post(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path(rid): Path<String>,
    body: Bytes,
) -> Response {
    let mut ctx = match context(&app, &headers, &rid, None).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    let current = flow_of(&headers, &rid);
    let Some(form) = web::parse_form(&body) else {
        let e = Refused::msg(t(lang, "web.bad_request"));
        return render(
            ctx,
            current.as_ref(),
            Some(e),
            false,
            StatusCode::BAD_REQUEST,
        );
    };
    if !web::csrf_ok(&headers, form.get("csrf").map(String::as_str)) {
        let e = Refused::msg(t(lang, "web.csrf"));
        return render(ctx, current.as_ref(), Some(e), false, StatusCode::FORBIDDEN);
    }
    match app.switches().await {
        Ok(s) if s.maintenance.is_some() && ctx.client.id != crate::http::console::CLIENT_ID => {
            return maintenance_page(&app, lang, &ctx.path()).await
        }
        Ok(_) => {}
        Err(e) => return internal(lang, &ctx.path(), e),
    }
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let step_name = field("step");
    let (device, device_cookie) = browser(&app, &headers);
    ctx.cookies.extend(device_cookie);
    let ip = ClientIp(ip.0.clone());
    // Which API step this post is; a post for a step that is not the one under way
    // (an old tab) starts again at the password.
    let outcome = match (step_name.as_str(), &current) {
        ("password", _) if field("decision") == "app" => {
            // The account, when one was typed: only it may approve.
            let typed = field("identifier");
            let user_id = if typed.trim().is_empty() {
                None
            } else {
                match crate::http::auth::resolve(&app, &typed).await {
                    Ok((user, _)) => Some(user.map(|u| u.id).unwrap_or_else(|| "none".into())),
                    Err(_) => None,
                }
            };
            match approvals::create(
                &app.db,
                &ctx.rid,
                user_id.as_deref(),
                &device.name,
                ip.as_deref(),
                app.now(),
            )
            .await
            {
                Ok(a) => Ok(Next::Step(Step::Approval {
                    id: a.id,
                    number: a.number,
                })),
                Err(e) => return internal(lang, &ctx.path(), e),
            }
        }
        ("password", _) => {
            let identifier = field("identifier");
            let req = LoginRequest {
                identifier: identifier.clone(),
                password: Secret::new(field("password")),
                device,
                client_version: None,
            };
            let answer = crate::http::auth::login(State(app.clone()), ip, ApiJson(req)).await;
            match answer {
                Ok(Json(r)) => after_login(&app, &ctx.rid, r, Amr::password()),
                Err(e) => {
                    let mut r = refused(lang, &e);
                    r.identifier = Some(identifier);
                    ctx.cookies
                        .push(web::clear_cookie(&app, web::FLOW_COOKIE, "/oidc"));
                    return render(ctx, None, Some(r), false, e.status);
                }
            }
        }
        ("second_factor", Some(Step::SecondFactor { token })) => {
            let method = if field("method") == "recovery_code" {
                MfaMethod::RecoveryCode
            } else {
                MfaMethod::Totp
            };
            let req = MfaRequest {
                mfa_token: token.clone(),
                method,
                code: Secret::new(field("code")),
            };
            match crate::http::mfa::second_factor(State(app.clone()), ip, ApiJson(req)).await {
                Ok(Json(session)) => Ok(Next::Session(
                    Box::new(session),
                    Amr::two_factor(method == MfaMethod::Totp),
                )),
                Err(e) => Err((e, method == MfaMethod::RecoveryCode)),
            }
        }
        ("device", Some(Step::Device { token, .. })) => {
            let req = DeviceVerifyRequest {
                challenge_token: token.clone(),
                code: Secret::new(field("code")),
            };
            match crate::http::device::verify(State(app.clone()), ip, ApiJson(req)).await {
                Ok(Json(session)) => Ok(Next::Session(Box::new(session), Amr::password())),
                Err(e) if e.code() == ErrorCode::PasswordChangeRequired => {
                    let b = &e.body;
                    match (&b.change_token, b.reason) {
                        (Some(token), Some(reason)) => Ok(Next::Step(Step::Change {
                            token: token.clone(),
                            reason,
                            needs_code: b.mfa_methods.as_ref().is_some_and(|m| !m.is_empty()),
                        })),
                        _ => Err((e, false)),
                    }
                }
                Err(e) => Err((e, false)),
            }
        }
        (
            "change",
            Some(Step::Change {
                token, needs_code, ..
            }),
        ) => {
            let (new, confirm) = (field("new_password"), field("confirm_password"));
            if new != confirm {
                let e = Refused::msg(t(lang, "errors.password_mismatch"));
                return render(
                    ctx,
                    current.as_ref(),
                    Some(e),
                    false,
                    StatusCode::BAD_REQUEST,
                );
            }
            let code = Some(field("code")).filter(|c| *needs_code && !c.is_empty());
            let totp = code.is_some();
            let req = ForcedChangeRequest {
                change_token: token.clone(),
                new_password: Secret::new(new),
                totp_code: code.map(Secret::new),
                recovery_code: None,
                device: Some(device),
            };
            match crate::http::auth::forced_change(State(app.clone()), ip, ApiJson(req)).await {
                Ok(Json(session)) => Ok(Next::Session(
                    Box::new(session),
                    if totp {
                        Amr::two_factor(true)
                    } else {
                        Amr::password()
                    },
                )),
                Err(e) => Err((e, false)),
            }
        }
        ("reset_start", _) => {
            let identifier = field("identifier");
            match start_reset(&app, &ip, lang, &identifier).await {
                Ok(step) => Ok(Next::Step(step)),
                Err(e) => {
                    let mut r = refused(lang, &e);
                    r.identifier = Some(identifier);
                    return render(ctx, Some(&Step::ResetStart), Some(r), false, e.status);
                }
            }
        }
        (
            "reset_code",
            Some(Step::ResetCode {
                recovery_id,
                identifier,
                ..
            }),
        ) => {
            if field("decision") == "resend" {
                match start_reset(&app, &ip, lang, identifier).await {
                    Ok(step) => {
                        ctx.cookies.push(flow_cookie(&app, &ctx.rid, step.clone()));
                        let mut r = Refused::msg(t(lang, "reset_code.resent"));
                        r.notice = true;
                        return render(ctx, Some(&step), Some(r), false, StatusCode::OK);
                    }
                    Err(e) => Err((e, false)),
                }
            } else {
                let req = ResetVerifyRequest {
                    recovery_id: recovery_id.clone(),
                    code: Secret::new(field("code")),
                };
                match crate::http::reset::verify(State(app.clone()), ip, ApiJson(req)).await {
                    Ok(Json(v)) => Ok(Next::Step(Step::ResetPassword {
                        token: v.reset_token,
                        needs_code: v.second_factor_required,
                    })),
                    Err(e) => Err((e, false)),
                }
            }
        }
        ("reset_password", Some(Step::ResetPassword { token, needs_code })) => {
            let (new, confirm) = (field("new_password"), field("confirm_password"));
            if new != confirm {
                let e = Refused::msg(t(lang, "errors.password_mismatch"));
                return render(
                    ctx,
                    current.as_ref(),
                    Some(e),
                    false,
                    StatusCode::BAD_REQUEST,
                );
            }
            let code = Some(field("code")).filter(|c| *needs_code && !c.is_empty());
            let req = ResetCompleteRequest {
                reset_token: token.clone(),
                new_password: Secret::new(new),
                totp_code: code.map(Secret::new),
                recovery_code: None,
            };
            match crate::http::reset::complete(State(app.clone()), ip, ApiJson(req)).await {
                Ok(_) => {
                    // Done: sign in with the new password.
                    ctx.cookies
                        .push(web::clear_cookie(&app, web::FLOW_COOKIE, "/oidc"));
                    let mut r = Refused::msg(t(lang, "reset.done"));
                    r.notice = true;
                    return render(ctx, None, Some(r), false, StatusCode::OK);
                }
                Err(e) => Err((e, false)),
            }
        }
        _ => {
            ctx.cookies
                .push(web::clear_cookie(&app, web::FLOW_COOKIE, "/oidc"));
            let e = Refused::msg(t(lang, "web.expired"));
            return render(ctx, None, Some(e), false, StatusCode::CONFLICT);
        }
    };
    match outcome {
        Ok(Next::Step(step)) => {
            ctx.cookies.push(flow_cookie(&app, &ctx.rid, step.clone()));
            let path = ctx.path();
            web::see_other(&path, ctx.cookies)
        }
        Ok(Next::Session(session, amr)) => signed_in(&app, ctx, *session, amr).await,
        Err((e, recovery)) => {
            // A token used up or expired ends the step: back to the password.
            let over = matches!(
                e.code(),
                ErrorCode::TokenInvalid
                    | ErrorCode::TooManyAttempts
                    | ErrorCode::AccountLocked
                    | ErrorCode::AccountDisabled
            );
            let r = refused(lang, &e);
            if over {
                ctx.cookies
                    .push(web::clear_cookie(&app, web::FLOW_COOKIE, "/oidc"));
                render(ctx, None, Some(r), false, e.status)
            } else {
                render(ctx, current.as_ref(), Some(r), recovery, e.status)
            }
        }
    }
}

/// Sends a reset code to `identifier`'s account (if there is one: the answer is the
/// same either way).
async fn start_reset(
    app: &AppState,
    ip: &ClientIp,
    lang: Lang,
    identifier: &str,
) -> Result<Step, ApiError> {
    let req = ResetStartRequest {
        identifier: identifier.to_owned(),
        channel: None,
        locale: Some(lang.tag().to_owned()),
    };
    let (_, Json(started)) =
        crate::http::reset::start(State(app.clone()), ClientIp(ip.0.clone()), ApiJson(req)).await?;
    Ok(Step::ResetCode {
        recovery_id: started.recovery_id,
        identifier: identifier.to_owned(),
        expires_in: started.expires_in,
    })
}

enum Next {
    Step(Step),
    Session(Box<Session>, Amr),
}

fn after_login(
    _app: &AppState,
    _rid: &str,
    r: LoginResponse,
    amr: Amr,
) -> Result<Next, (ApiError, bool)> {
    Ok(match r {
        LoginResponse::Ok { session } => Next::Session(Box::new(session), amr),
        LoginResponse::MfaRequired { mfa_token, .. } => {
            Next::Step(Step::SecondFactor { token: mfa_token })
        }
        LoginResponse::DeviceVerificationRequired {
            challenge_token,
            destination,
            channel,
            ..
        } => Next::Step(Step::Device {
            token: challenge_token,
            destination,
            channel,
        }),
        LoginResponse::PasswordChangeRequired {
            change_token,
            reason,
            mfa_methods,
        } => Next::Step(Step::Change {
            token: change_token,
            reason,
            needs_code: !mfa_methods.is_empty(),
        }),
    })
}

/// The sign-in ended in a session: the browser's single sign-on opens on it, and the
/// authorization goes on.
async fn signed_in(app: &AppState, ctx: Ctx, session: Session, amr: Amr) -> Response {
    open_sso(app, ctx, &session.session_id, &session.user.id, amr).await
}

/// The browser signed in again (`prompt=login`, `max_age`, another account, the
/// launcher): its previous single sign-on ends ([`sso::supersede`]).
async fn replace_old_sso(
    app: &AppState,
    old_cookie: Option<&str>,
    new_cookie: &str,
    user_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let Some(old) = old_cookie else { return Ok(()) };
    if let Some(old) = sso::find(&app.db, old, now).await? {
        let new_hash = crate::tokens::hash_token(new_cookie);
        sso::supersede(&app.db, &old, &new_hash, user_id, now).await?;
    }
    Ok(())
}

/// Opens the browser's single sign-on on `session_id`, then the authorization goes on.
async fn open_sso(
    app: &AppState,
    mut ctx: Ctx,
    session_id: &str,
    user_id: &str,
    amr: Amr,
) -> Response {
    let now = app.now();
    let ttl = app.config().oidc.sso_ttl_seconds;
    let cookie = match sso::create(&app.db, session_id, user_id, &amr, ttl, now).await {
        Ok(c) => c,
        Err(e) => return internal(ctx.lang, &ctx.path(), e),
    };
    if let Err(e) =
        replace_old_sso(app, ctx.old_sso.as_deref(), cookie.expose(), user_id, now).await
    {
        return internal(ctx.lang, &ctx.path(), e);
    }
    ctx.cookies.push(web::set_cookie(
        app,
        web::SSO_COOKIE,
        cookie.expose(),
        "/",
        Some(ttl),
    ));
    ctx.cookies
        .push(web::clear_cookie(app, web::FLOW_COOKIE, "/oidc"));
    let s = match sso::find(&app.db, cookie.expose(), now).await {
        Ok(Some(s)) => s,
        Ok(None) => return internal(ctx.lang, &ctx.path(), "the new single sign-on is not live"),
        Err(e) => return internal(ctx.lang, &ctx.path(), e),
    };
    tracing::info!(user = %s.user_id, client = %ctx.client.id, "signed in in a browser");
    // The organisation's requirement (`[two_factor]`), its grace period over.
    let policy = match crate::two_factor::due(app, user_id, now).await {
        Ok(due) => due.is_some_and(|d| d.now),
        Err(e) => return internal(ctx.lang, &ctx.path(), e),
    };
    if (ctx.req.require_2fa || policy) && !s.amr.has_second_factor() {
        // The account has no second factor to give: it must be turned on first.
        let lang = ctx.lang;
        let mut page = Page::new(lang, &ctx.path(), t(lang, "web.error_title"));
        let why = if policy {
            "web.policy_needs_2fa"
        } else {
            "web.needs_2fa"
        };
        page.lead = Some(web::app_text(lang, why, &ctx.client.name));
        let iss = app.live.base().oidc.issuer().unwrap_or_default();
        page.links.push(Link {
            href: with_query(
                &ctx.req.redirect_uri,
                &[
                    ("error", Some("access_denied")),
                    (
                        "error_description",
                        Some("two-step verification is required"),
                    ),
                    ("state", ctx.req.state.as_deref()),
                    ("iss", Some(iss)),
                ],
            ),
            label: t(lang, "web.back_to_app"),
        });
        page.links.push(Link {
            href: format!("{}?restart=1", ctx.path()),
            label: t(lang, "web.sign_in_again"),
        });
        return page.respond(StatusCode::FORBIDDEN, ctx.cookies);
    }
    proceed(
        app,
        ctx.lang,
        Some(&ctx.rid),
        &ctx.req,
        &ctx.client,
        &s,
        ctx.cookies,
    )
    .await
}

// ---------------------------------------------------------------- consent

async fn consent_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(rid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ctx = match context(&app, &headers, &rid, q.get("lang").map(String::as_str)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    render_consent(&app, ctx, &headers, None).await
}

async fn render_consent(
    app: &AppState,
    ctx: Ctx,
    headers: &HeaderMap,
    error: Option<String>,
) -> Response {
    let lang = ctx.lang;
    let path = format!("/oidc/consent/{}", ctx.rid);
    let Ok(Some(s)) = current_sso(app, headers, app.now()).await else {
        return web::see_other(&ctx.path(), ctx.cookies);
    };
    let mut page = Page::new(
        lang,
        &path,
        web::app_text(lang, "web.consent_title", &ctx.client.name),
    );
    page.lead = Some(web::app_text(lang, "web.consent_lead", &ctx.client.name));
    page.items = ctx
        .req
        .scope
        .iter()
        .map(|s| t(lang, &format!("web.scope.{s}")))
        .collect();
    if let Ok(Some(user)) = crate::users::by_id(&app.db, &s.user_id).await {
        page.subtitle = Some(tf(lang, "web.signed_in_as", &[("name", user.label())]));
    }
    page.error = error;
    page.form = Some(Form {
        action: path,
        csrf: ctx.csrf.clone(),
        hidden: vec![],
        fields: vec![],
        submit: t(lang, "web.allow"),
        submit_value: Some("allow"),
        secondary: Some(("deny", t(lang, "web.deny"))),
    });
    page.respond(StatusCode::OK, ctx.cookies)
}

async fn consent_post(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(rid): Path<String>,
    body: Bytes,
) -> Response {
    let ctx = match context(&app, &headers, &rid, None).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let form = web::parse_form(&body).unwrap_or_default();
    if !web::csrf_ok(&headers, form.get("csrf").map(String::as_str)) {
        let message = t(ctx.lang, "web.csrf");
        return render_consent(&app, ctx, &headers, Some(message)).await;
    }
    let now = app.now();
    let Ok(Some(s)) = current_sso(&app, &headers, now).await else {
        return web::see_other(&ctx.path(), ctx.cookies);
    };
    let iss = app.config().oidc.issuer().unwrap_or_default().to_owned();
    if form.get("decision").map(String::as_str) != Some("allow") {
        let _ = grants::finish_request(&app.db, &rid).await;
        return redirect_error(
            &ctx.req,
            &iss,
            "access_denied",
            "the person did not allow it",
        );
    }
    let saved = sqlx::query(
        "INSERT INTO oidc_consents (user_id, client_id, scope, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, created_at = excluded.created_at",
    )
    .bind(&s.user_id)
    .bind(&ctx.client.id)
    .bind(ctx.req.scope.join(" "))
    .bind(now)
    .execute(&app.db)
    .await;
    if let Err(e) = saved {
        return internal(ctx.lang, &ctx.path(), e);
    }
    let mut req = ctx.req.clone();
    req.prompt.retain(|p| p != "consent");
    proceed(
        &app,
        ctx.lang,
        Some(&rid),
        &req,
        &ctx.client,
        &s,
        ctx.cookies,
    )
    .await
}

// ---------------------------------------------------------------- end-session

/// `GET /oidc/logout` (RP-initiated logout 1.0): asks the person to confirm, so that
/// another site cannot sign them out with a link; `id_token_hint`,
/// `post_logout_redirect_uri` (a registered redirect URI of the client the hint names)
/// and `state` travel in the form.
async fn logout_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let (lang, lang_cookie) = web::language(
        &app,
        &headers,
        q.get("lang").map(String::as_str),
        q.get("ui_locales").map(String::as_str),
    );
    if q.contains_key("done") {
        let mut page = Page::new(lang, "/oidc/logout?done=1", t(lang, "web.signed_out_title"));
        page.lead = Some(t(lang, "web.signed_out_lead"));
        return page.respond(StatusCode::OK, lang_cookie.into_iter().collect());
    }
    let path = format!("/oidc/logout?{}", uri.query().unwrap_or(""));
    let (csrf, csrf_cookie) = web::csrf_token(&app, &headers);
    let cookies: Vec<String> = lang_cookie.into_iter().chain(csrf_cookie).collect();
    let mut page = Page::new(lang, &path, t(lang, "web.logout_title"));
    page.lead = Some(t(lang, "web.logout_lead"));
    let hidden = [
        "id_token_hint",
        "post_logout_redirect_uri",
        "state",
        "client_id",
    ]
    .into_iter()
    .filter_map(|k| {
        q.get(k)
            .map(|v| (k.to_owned(), v.chars().take(8192).collect()))
    })
    .collect();
    page.form = Some(Form {
        action: "/oidc/logout".into(),
        csrf,
        hidden,
        fields: vec![],
        submit: t(lang, "web.logout_submit"),
        submit_value: None,
        secondary: None,
    });
    page.respond(StatusCode::OK, cookies)
}

async fn logout_post(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (lang, _) = web::language(&app, &headers, None, None);
    let form = web::parse_form(&body).unwrap_or_default();
    if !web::csrf_ok(&headers, form.get("csrf").map(String::as_str)) {
        return error_page(
            lang,
            "/oidc/logout",
            StatusCode::FORBIDDEN,
            "web.csrf",
            vec![],
        );
    }
    let now = app.now();
    if let Ok(Some(s)) = current_sso(&app, &headers, now).await {
        if let Err(e) = sso::end(&app.db, &s, now).await {
            return internal(lang, "/oidc/logout", e);
        }
        tracing::info!(user = %s.user_id, "signed out in a browser");
    }
    let cookies = vec![
        web::clear_cookie(&app, web::SSO_COOKIE, "/"),
        web::clear_cookie(&app, web::FLOW_COOKIE, "/oidc"),
    ];
    // Back to the application only to an address it registered.
    let target = match form
        .get("post_logout_redirect_uri")
        .filter(|u| !u.is_empty())
    {
        Some(uri) => {
            let client_id = match form.get("client_id").filter(|c| !c.is_empty()) {
                Some(c) => Some(c.clone()),
                None => form.get("id_token_hint").and_then(|h| audience_of(h)),
            };
            match client_id {
                Some(id) => match clients::get(&app.db, &id).await {
                    Ok(Some(c)) if c.redirect_allowed(uri) => Some(uri.clone()),
                    _ => None,
                },
                None => None,
            }
        }
        None => None,
    };
    match target {
        Some(uri) => web::see_other(
            &with_query(&uri, &[("state", form.get("state").map(String::as_str))]),
            cookies,
        ),
        None => {
            let mut page = Page::new(lang, "/oidc/logout?done=1", t(lang, "web.signed_out_title"));
            page.lead = Some(t(lang, "web.signed_out_lead"));
            page.respond(StatusCode::OK, cookies)
        }
    }
}

/// The `aud` of an ID token hint. Its signature is not checked: it only names the
/// client whose registered redirect URIs the post-logout address must be one of, so a
/// forged hint can send the browser to no address that IT did not register.
fn audience_of(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims["aud"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::super::text;

    /// Every catalog key this file names (string literals such as area.key) exists in both
    /// languages: a key renamed in the app's catalogs fails here, not on a page.
    #[test]
    fn every_key_the_pages_use_exists_in_both_languages() {
        let source = include_str!("pages.rs");
        let mut keys = Vec::new();
        for literal in source.split('"').skip(1).step_by(2) {
            let looks_like_key = literal.contains('.')
                && !literal.contains(' ')
                && literal.split('.').all(|p| {
                    !p.is_empty()
                        && p.bytes()
                            .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
                });
            if looks_like_key && !literal.ends_with(".rs") {
                keys.push(literal);
            }
        }
        assert!(keys.len() > 20, "{keys:?}");
        let missing: Vec<_> = keys.iter().filter(|k| !text::has(k)).collect();
        assert!(missing.is_empty(), "missing in a catalog: {missing:?}");
    }
}

//! The OpenID Connect endpoints: discovery, JWKS, token, userinfo, revocation,
//! introspection (JSON, for applications and resource servers), and the browser side —
//! authorize, the sign-in pages, consent and end-session ([`pages`]).
//!
//! Everything answers 404 while `[oidc] issuer` is unset.

mod pages;
pub mod text;
pub(crate) mod web;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::oidc::clients::{self, Client};
use crate::oidc::grants::{self, Grant, Issued};
use crate::oidc::keys::Alg;
use crate::oidc::{claims, ACR_PASSWORD, ACR_TWO_FACTOR, SCOPES};
use crate::state::AppState;
use crate::users;

pub use web::parse_form;

/// The provider's browser routes (pages and the style sheet).
pub fn routes() -> Router<AppState> {
    // The JSON endpoints are routed with the OpenAPI document (`http::api`).
    Router::new()
        .route("/oidc/static/page.css", get(style))
        .merge(pages::routes())
}

/// The body of an OAuth error (RFC 6749 §5.2), for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // described, built as JSON by `OAuthError`
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`,
    /// `invalid_token`, `temporarily_unavailable`, `server_error`, `not_found`.
    error: String,
    error_description: String,
}

/// An OAuth error answer (RFC 6749 §5.2): `{error, error_description}`.
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = match error {
            "invalid_client" | "invalid_token" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            "not_found" => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    fn server(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "OpenID Connect endpoint failed");
        Self::new(
            "server_error",
            "The server could not answer; try again later.",
        )
    }
}

impl From<sqlx::Error> for OAuthError {
    /// A database that cannot be used right now is `temporarily_unavailable` (503,
    /// `Retry-After`), as `server_unavailable` is on the v1 API.
    fn from(e: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return Self::new(
                "temporarily_unavailable",
                "The server cannot reach its database right now; try again in a moment.",
            );
        }
        Self::server(format_args!("database: {e}"))
    }
}

impl From<crate::oidc::keys::KeyError> for OAuthError {
    fn from(e: crate::oidc::keys::KeyError) -> Self {
        Self::server(e)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self.error {
            "invalid_client" => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"latchkey\""),
                );
            }
            "invalid_token" => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            "temporarily_unavailable" => {
                h.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(crate::error::UNAVAILABLE_RETRY_AFTER),
                );
            }
            _ => {}
        }
        r
    }
}

type OAuthResult<T> = Result<T, OAuthError>;

fn issuer(app: &AppState) -> OAuthResult<&str> {
    app.live.base().oidc.issuer().ok_or_else(|| {
        OAuthError::new(
            "not_found",
            "The OpenID Connect provider is not configured ([oidc] issuer).",
        )
    })
}

fn no_store(v: Value) -> Response {
    let mut r = Json(v).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// `GET /.well-known/openid-configuration` (Discovery 1.0).
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oidc",
    responses(
        (status = 200, description = "The provider's metadata (OpenID Connect Discovery 1.0)", body = Object),
        (status = 404, description = "`not_found`: the provider is off (no `[oidc] issuer`)", body = OAuthErrorBody),
    ))]
pub async fn discovery(State(app): State<AppState>) -> OAuthResult<Json<Value>> {
    let iss = issuer(&app)?;
    Ok(Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oidc/authorize"),
        "token_endpoint": format!("{iss}/oidc/token"),
        "userinfo_endpoint": format!("{iss}/oidc/userinfo"),
        "jwks_uri": format!("{iss}/oidc/jwks"),
        "end_session_endpoint": format!("{iss}/oidc/logout"),
        "revocation_endpoint": format!("{iss}/oidc/revoke"),
        "introspection_endpoint": format!("{iss}/oidc/introspect"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": Alg::ALL.map(Alg::name),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr",
            "azp", "at_hash", "name", "preferred_username", "locale", "email", "email_verified",
            "phone_number", "phone_number_verified"],
        "acr_values_supported": [ACR_PASSWORD, ACR_TWO_FACTOR],
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": ["en", "zh-CN"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })))
}

/// `GET /oidc/jwks`: the public keys, current and recently replaced.
#[utoipa::path(get, path = "/oidc/jwks", tag = "oidc",
    responses(
        (status = 200, description = "The JWK set: RS256 and EdDSA keys, current and those replaced less than an ID token's lifetime ago", body = Object),
        (status = 404, description = "`not_found`: the provider is off", body = OAuthErrorBody),
    ))]
pub async fn jwks(State(app): State<AppState>) -> OAuthResult<Response> {
    issuer(&app)?;
    let keys = app.oidc_keys.get(&app).await?;
    let mut r = Json(keys.jwks.clone()).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60"),
    );
    Ok(r)
}

async fn style() -> Response {
    let mut r = include_str!("page.css").into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    r
}

type Params = std::collections::HashMap<String, String>;

/// The form of a POST: `application/x-www-form-urlencoded`, no parameter twice
/// (RFC 6749 §3.2).
fn form(headers: &HeaderMap, body: &[u8]) -> OAuthResult<Params> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::new(
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        ));
    }
    parse_form(body)
        .ok_or_else(|| OAuthError::new("invalid_request", "A parameter is given more than once."))
}

fn param<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// The client a request authenticates as: `client_secret_basic`, `client_secret_post`,
/// or, for a public client, its `client_id` alone (RFC 6749 §2.3).
async fn authenticate(app: &AppState, headers: &HeaderMap, p: &Params) -> OAuthResult<Client> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    let (id, secret) = match basic {
        Some(b64) => {
            if p.contains_key("client_secret") {
                return Err(OAuthError::new(
                    "invalid_request",
                    "Use one way of client authentication, not two.",
                ));
            }
            let decoded = STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| OAuthError::new("invalid_client", "Malformed Basic credentials."))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::new("invalid_client", "Malformed Basic credentials."))?;
            let dec = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            (dec(id), Some(dec(secret)))
        }
        None => (
            param(p, "client_id").unwrap_or_default().to_owned(),
            param(p, "client_secret").map(str::to_owned),
        ),
    };
    if let Some(form_id) = param(p, "client_id") {
        if form_id != id {
            return Err(OAuthError::new(
                "invalid_client",
                "client_id differs from the credentials.",
            ));
        }
    }
    let refused = || OAuthError::new("invalid_client", "Unknown client or wrong credentials.");
    if id.is_empty() || id.len() > clients::MAX_ID_CHARS {
        return Err(refused());
    }
    let client = clients::get(&app.db, &id).await?.ok_or_else(refused)?;
    let ok = match (&secret, client.is_public()) {
        (None, true) => true,
        (Some(s), false) => client.secret_matches(s),
        _ => false,
    };
    if !ok {
        tracing::info!(client = %client.id, "client authentication failed");
        return Err(refused());
    }
    Ok(client)
}

/// `POST /oidc/token`: `authorization_code` and `refresh_token` grants.
#[utoipa::path(post, path = "/oidc/token", tag = "oidc",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`grant_type=authorization_code` with `code`, `redirect_uri`, `code_verifier`; or `grant_type=refresh_token` with `refresh_token`. Client authentication: HTTP Basic, or `client_id` (+ `client_secret`) in the form"),
    responses(
        (status = 200, description = "`access_token`, `token_type`, `expires_in`, `scope`, `id_token` (with `openid`), `refresh_token` (with `offline_access`)", body = Object),
        (status = 400, description = "`invalid_request`, `invalid_grant` (unknown, expired, replayed or foreign code; wrong PKCE verifier or redirect_uri; used refresh token), `unsupported_grant_type`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
        (status = 503, description = "`temporarily_unavailable`: maintenance, or the database cannot be reached (with `Retry-After`)", body = OAuthErrorBody),
    ))]
pub async fn token(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match token_inner(&app, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn token_inner(app: &AppState, headers: &HeaderMap, body: &[u8]) -> OAuthResult<Response> {
    let iss = issuer(app)?.to_owned();
    let switches = app.switches().await?;
    if switches.maintenance.is_some() {
        return Err(OAuthError::new(
            "temporarily_unavailable",
            "The server is under maintenance.",
        ));
    }
    let p = form(headers, body)?;
    let client = authenticate(app, headers, &p).await?;
    let now = app.now();
    let cfg = &app.config().oidc;
    let outcome = match param(&p, "grant_type") {
        Some("authorization_code") => {
            let code = param(&p, "code")
                .ok_or_else(|| OAuthError::new("invalid_request", "code is missing."))?;
            let verifier = param(&p, "code_verifier");
            if client.is_public() && verifier.is_none() {
                return Err(OAuthError::new(
                    "invalid_request",
                    "A public client must send code_verifier (PKCE).",
                ));
            }
            grants::redeem_code(
                &app.db,
                cfg,
                code,
                &client.id,
                param(&p, "redirect_uri"),
                verifier,
                now,
            )
            .await?
        }
        Some("refresh_token") => {
            let refresh = param(&p, "refresh_token")
                .ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is missing."))?;
            grants::refresh(&app.db, cfg, refresh, &client.id, now).await?
        }
        Some(_) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                "Only authorization_code and refresh_token are supported.",
            ))
        }
        None => return Err(OAuthError::new("invalid_request", "grant_type is missing.")),
    };
    let (grant, issued) = outcome.map_err(|why| OAuthError::new("invalid_grant", why))?;
    let refreshed = param(&p, "grant_type") == Some("refresh_token");
    let id_token = id_token(app, &iss, &client, &grant, &issued, now, !refreshed).await?;
    let mut answer = json!({
        "access_token": issued.access_token.expose(),
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": grant.scope.join(" "),
    });
    if let Some(id_token) = id_token {
        answer["id_token"] = json!(id_token);
    }
    if let Some(r) = &issued.refresh_token {
        answer["refresh_token"] = json!(r.expose());
    }
    tracing::info!(client = %client.id, grant = %grant.id, refreshed, "tokens issued");
    Ok(no_store(answer))
}

async fn id_token(
    app: &AppState,
    iss: &str,
    client: &Client,
    grant: &Grant,
    issued: &Issued,
    now: i64,
    with_nonce: bool,
) -> OAuthResult<Option<String>> {
    if !grant.has_scope("openid") {
        return Ok(None);
    }
    let user = users::by_id(&app.db, &grant.user_id)
        .await?
        .ok_or_else(|| OAuthError::new("invalid_grant", "The account no longer exists."))?;
    let keys = app.oidc_keys.get(app).await?;
    let signer = keys
        .signer(client.id_token_alg)
        .ok_or_else(|| OAuthError::server("no signing key"))?;
    let claims = claims::id_token(
        iss,
        &user,
        grant,
        client.id_token_alg,
        issued.access_token.expose(),
        now,
        app.config().oidc.id_token_ttl_seconds,
        with_nonce,
    );
    Ok(Some(signer.sign(&claims)?))
}

/// `GET|POST /oidc/userinfo` with `Authorization: Bearer <access token>`.
#[utoipa::path(method(get, post), path = "/oidc/userinfo", tag = "oidc",
    security(("bearer" = [])),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "Optional: `access_token` in the form (RFC 6750 §2.2) instead of the header"),
    responses(
        (status = 200, description = "The claims of the token's scopes (`sub` always)", body = Object),
        (status = 401, description = "`invalid_token`", body = OAuthErrorBody),
    ))]
pub async fn userinfo(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let run = async {
        issuer(&app)?;
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .map(str::to_owned);
        let token = match bearer {
            Some(t) => t,
            None => {
                // RFC 6750 §2.2: the token in a form body.
                let p = parse_form(&body).unwrap_or_default();
                param(&p, "access_token")
                    .map(str::to_owned)
                    .ok_or_else(|| OAuthError::new("invalid_token", "No access token."))?
            }
        };
        let live = grants::live(&app.db, &token, app.now())
            .await?
            .filter(|l| l.kind == "access" && l.grant.has_scope("openid"))
            .ok_or_else(|| OAuthError::new("invalid_token", "The access token is not valid."))?;
        let user = users::by_id(&app.db, &live.grant.user_id)
            .await?
            .ok_or_else(|| OAuthError::new("invalid_token", "The account no longer exists."))?;
        Ok::<_, OAuthError>(no_store(Value::Object(claims::profile(&user, &live.grant))))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /oidc/revoke` (RFC 7009): always 200 for a known client.
#[utoipa::path(post, path = "/oidc/revoke", tag = "oidc",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`token`, with the client's authentication"),
    responses(
        (status = 200, description = "Revoked (a refresh token ends its grant), or unknown", body = Object),
        (status = 400, description = "`invalid_request`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
    ))]
pub async fn revoke(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let run = async {
        issuer(&app)?;
        let p = form(&headers, &body)?;
        let client = authenticate(&app, &headers, &p).await?;
        let token = param(&p, "token")
            .ok_or_else(|| OAuthError::new("invalid_request", "token is missing."))?;
        grants::revoke(&app.db, token, &client.id, app.now()).await?;
        Ok::<_, OAuthError>(no_store(json!({})))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /oidc/introspect` (RFC 7662), for resource servers registered as
/// confidential clients.
#[utoipa::path(post, path = "/oidc/introspect", tag = "oidc",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`token`, with a confidential client's authentication"),
    responses(
        (status = 200, description = "`{active: false}`, or `active: true` with `scope`, `client_id`, `sub`, `exp`, `iat`, `token_type`, `acr`, `amr`", body = Object),
        (status = 400, description = "`invalid_request`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
    ))]
pub async fn introspect(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let run = async {
        let iss = issuer(&app)?.to_owned();
        let p = form(&headers, &body)?;
        let client = authenticate(&app, &headers, &p).await?;
        if client.is_public() {
            return Err(OAuthError::new(
                "invalid_client",
                "A public client cannot introspect.",
            ));
        }
        let token = param(&p, "token")
            .ok_or_else(|| OAuthError::new("invalid_request", "token is missing."))?;
        let Some(live) = grants::live(&app.db, token, app.now()).await? else {
            return Ok(no_store(json!({"active": false})));
        };
        let mut answer = json!({
            "active": true,
            "scope": live.grant.scope.join(" "),
            "client_id": live.grant.client_id,
            "sub": live.grant.user_id,
            "aud": live.grant.client_id,
            "iss": iss,
            "iat": live.issued_at / 1000,
            "exp": live.expires_at / 1000,
            "auth_time": live.grant.auth_time / 1000,
            "acr": live.grant.amr.acr(),
            "amr": live.grant.amr.0,
        });
        if live.kind == "access" {
            answer["token_type"] = json!("Bearer");
        } else {
            answer["token_type"] = json!("refresh_token");
        }
        Ok(no_store(answer))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

//! The v1 HTTP API: routes, the OpenAPI document generated from the same handler
//! annotations (so the two cannot drift), and the layers every request passes:
//! body limit, panic catcher, maintenance and client-version guard, JSON fallbacks.

mod admin;
mod approvals;
mod auth;
mod console;
mod device;
mod extract;
mod guard;
mod health;
mod idempotency;
mod me;
mod meta;
mod mfa;
pub mod oidc;
mod password;
mod reset;
mod update;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderName;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use latchkey_proto::{Device, ErrorCode, Secret};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::ops::{self, request_id};
use crate::state::AppState;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest password accepted in any field; the policy maximum is lower (128), this is
/// only the bound beyond which input is not even looked at.
pub const MAX_SECRET_CHARS: usize = 1024;
/// Longest wait for a request body to arrive.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// Longest device id, name or platform.
pub const MAX_DEVICE_CHARS: usize = 200;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey auth API",
        description = "Sign-in, sessions and password policy for the Latchkey desktop client. \
                       Every error is `{code, message, ...}` with a stable snake_case code."
    ),
    modifiers(&BearerAuth),
    components(schemas(latchkey_proto::ErrorCode, latchkey_proto::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The routes and their OpenAPI description, built together.
fn api() -> OpenApiRouter<AppState> {
    let open = OpenApiRouter::new()
        .routes(routes!(meta::meta))
        .routes(routes!(meta::openapi_json))
        .routes(routes!(password::check))
        .routes(routes!(update::manifest));
    let guarded = OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::forced_change))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(mfa::second_factor))
        .routes(routes!(device::verify))
        .routes(routes!(reset::start))
        .routes(routes!(reset::verify))
        .routes(routes!(reset::link))
        .routes(routes!(reset::complete))
        .routes(routes!(me::me))
        .routes(routes!(me::change_password))
        .routes(routes!(me::sessions))
        .routes(routes!(me::revoke_session))
        .routes(routes!(me::activity))
        .routes(routes!(mfa::enroll))
        .routes(routes!(mfa::confirm))
        .routes(routes!(mfa::disable))
        .routes(routes!(mfa::regenerate_recovery_codes))
        .routes(routes!(approvals::view, approvals::decide))
        .routes(routes!(approvals::launcher))
        .routes(routes!(approvals::launch))
        .routes(routes!(approvals::applications))
        .routes(routes!(approvals::sign_out_of));
    let provider = OpenApiRouter::new()
        .routes(routes!(oidc::discovery))
        .routes(routes!(oidc::jwks))
        .routes(routes!(oidc::token))
        .routes(routes!(oidc::userinfo))
        .routes(routes!(oidc::revoke))
        .routes(routes!(oidc::introspect));
    // IT's admin API (issue 18): outside the maintenance guard (not under /v1/).
    let admin = OpenApiRouter::new()
        .routes(routes!(admin::me))
        .routes(routes!(admin::search, admin::create))
        .routes(routes!(admin::import))
        .routes(routes!(admin::show, admin::update, admin::delete))
        .routes(routes!(admin::unlock))
        .routes(routes!(admin::set_temporary_password))
        .routes(routes!(admin::reset_two_factor))
        .routes(routes!(admin::revoke_sessions))
        .routes(routes!(admin::disable))
        .routes(routes!(admin::enable))
        .routes(routes!(admin::audit_trail))
        .routes(routes!(admin::maintenance_on, admin::maintenance_off))
        .routes(routes!(admin::policies, admin::set_policies))
        .routes(routes!(
            admin::min_client_version_set,
            admin::min_client_version_clear
        ));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(open)
        .merge(guarded)
        .merge(provider)
        .merge(admin)
}

/// The generated OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

/// The routes and their document, with what the annotations cannot say of each
/// operation (the `Idempotency-Key` header) added.
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, mut doc) = api().split_for_parts();
    idempotency::describe(&mut doc);
    (routes, doc)
}

/// The whole application, ready to serve.
pub fn router(state: AppState) -> Router {
    let (routes, doc) = parts();
    routes
        .merge(oidc::routes())
        .merge(console::routes())
        .merge(health::routes())
        // Inside the guard: an answer of maintenance or an outdated client is not stored.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(Arc::new(doc)))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A client that announces a body and stalls must not hold a task forever.
        .layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            ApiError::new(ErrorCode::Internal).into_response()
        }))
        .layer(provider_cors())
        // Metrics by route template, and the request id for the records written.
        .layer(axum::middleware::from_fn(ops::observe))
        // The span names the route template only: a query can carry a secret (the
        // launcher's one-time ticket), and secrets never reach a log. It is at `info`
        // so that every line of the request carries its id; the answer is one line.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                    tracing::info_span!(
                        "request",
                        request_id = %request_id::of(req),
                        method = %req.method(),
                        route = %ops::route_of(req),
                    )
                })
                .on_response(
                    |res: &Response, latency: std::time::Duration, _: &tracing::Span| {
                        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
                        tracing::info!(status = res.status().as_u16(), latency_ms, "answered");
                    },
                )
                // A 5xx is in the `answered` line; its cause was logged where it arose.
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(HeaderName::from_static(
            request_id::HEADER,
        )))
        .layer(SetRequestIdLayer::new(
            HeaderName::from_static(request_id::HEADER),
            request_id::MakeId,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_id::screen,
        ))
        .with_state(state)
}

/// Browser applications on other origins (public clients, single-page applications)
/// call the provider's JSON endpoints directly: CORS for any origin there, without
/// cookies (they use none). Other routes get no CORS header, so browsers keep other
/// sites' scripts out of them as before.
fn provider_cors() -> tower_http::cors::CorsLayer {
    use axum::http::{header, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    const PATHS: &[&str] = &[
        "/.well-known/openid-configuration",
        "/oidc/jwks",
        "/oidc/token",
        "/oidc/userinfo",
        "/oidc/revoke",
        "/oidc/introspect",
    ];
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(|_, parts| {
            PATHS.contains(&parts.uri.path())
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600))
}

async fn not_found() -> Response {
    ApiError::new(ErrorCode::NotFound).into_response()
}

async fn method_not_allowed() -> Response {
    let mut r = ApiError::new(ErrorCode::MethodNotAllowed).into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

/// A password-like field: present, not absurdly long (checked before any hashing).
pub(crate) fn check_secret(field: &str, value: &Secret) -> Result<(), ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("The field `{field}` is empty."),
        ));
    }
    if value.expose().chars().count() > MAX_SECRET_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("The field `{field}` is longer than {MAX_SECRET_CHARS} characters."),
        ));
    }
    Ok(())
}

pub(crate) fn check_device(device: &Device) -> Result<(), ApiError> {
    for (field, value) in [
        ("device.id", &device.id),
        ("device.name", &device.name),
        ("device.platform", &device.platform),
    ] {
        if value.chars().count() > MAX_DEVICE_CHARS || value.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                field,
                format!("The field `{field}` is too long or has control characters."),
            ));
        }
    }
    Ok(())
}

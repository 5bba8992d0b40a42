//! `GET /v1/meta` and `GET /v1/openapi.json`.

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use latchkey_proto::{Channel, Meta, API_VERSION};

use crate::error::ApiResult;
use crate::state::AppState;

/// Server name, policy, support contacts, maintenance and version rules.
#[utoipa::path(get, path = "/v1/meta", tag = "meta",
    responses((status = 200, description = "What a client needs before sign-in", body = Meta)))]
pub async fn meta(State(app): State<AppState>) -> ApiResult<Json<Meta>> {
    // The same (cached) switches the guard applies, so that meta never says anything
    // else than what sign-in does.
    let switches = app.switches().await?;
    let c = &app.config();
    let mut channels = vec![Channel::Email];
    if c.delivery.sms_webhook_url.is_some() {
        channels.push(Channel::Sms);
    }
    Ok(Json(Meta {
        server_name: c.server_name.clone(),
        api_version: API_VERSION.to_owned(),
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        min_client_version: switches.min_client_version.clone(),
        download_url: switches.download_url.clone(),
        maintenance: switches.maintenance.clone(),
        support: c.support.clone(),
        password_policy: c.password.clone(),
        offline: c.offline.clone(),
        recovery_channels: channels,
        default_region: Some(app.config().default_region.clone()),
    }))
}

/// This API's OpenAPI 3 document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json")))]
pub async fn openapi_json(
    Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<Arc<utoipa::openapi::OpenApi>> {
    Json(doc)
}

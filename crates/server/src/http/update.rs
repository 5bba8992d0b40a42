//! `GET /v1/client/update/{target}/{arch}/{current_version}`: the update manifest the
//! desktop app's updater reads (Tauri's dynamic-server format), from the releases IT
//! published ([`crate::releases`]). Open like `/v1/meta`: an outdated client, or one
//! that meets maintenance, must still be able to update.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_proto::{ErrorBody, UpdateManifest};
use serde::Deserialize;

use super::extract::{ApiPath, ApiQuery};
use crate::error::{ApiError, ApiResult};
use crate::releases::{self, ARCHES, OSES};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpdateQuery {
    /// The client's installer (`nsis`, `msi`, `appimage`, `deb`, `rpm`, `app`), the
    /// updater's `{{bundle_type}}`: releases published for it win over those for the
    /// os and arch alone. Anything else is ignored.
    bundle_type: Option<String>,
}

/// The newest release for this platform that is newer than `current_version`.
#[utoipa::path(get, path = "/v1/client/update/{target}/{arch}/{current_version}", tag = "meta",
    params(
        ("target" = String, Path, description = "`windows`, `linux` or `darwin`"),
        ("arch" = String, Path, description = "`x86_64`, `aarch64`, `i686` or `armv7`"),
        ("current_version" = String, Path, description = "The running app's version (semver)"),
        UpdateQuery,
    ),
    responses(
        (status = 200, description = "A newer release to install", body = UpdateManifest),
        (status = 204, description = "Nothing newer for this platform"),
        (status = 400, description = "`invalid_request`: unknown target or arch, or current_version is not semver", body = ErrorBody),
    ))]
pub async fn manifest(
    State(app): State<AppState>,
    ApiPath((target, arch, current)): ApiPath<(String, String, String)>,
    ApiQuery(query): ApiQuery<UpdateQuery>,
) -> ApiResult<Response> {
    if !OSES.contains(&target.as_str()) {
        return Err(ApiError::invalid(
            "target",
            format!("The target must be one of {}.", OSES.join(", ")),
        ));
    }
    if !ARCHES.contains(&arch.as_str()) {
        return Err(ApiError::invalid(
            "arch",
            format!("The arch must be one of {}.", ARCHES.join(", ")),
        ));
    }
    let current = semver::Version::parse(&current).map_err(|_| {
        ApiError::invalid(
            "current_version",
            "The current_version must be a version like 1.4.0.",
        )
    })?;
    let found = releases::newer_than(
        &app.db,
        &target,
        &arch,
        query.bundle_type.as_deref(),
        &current,
    )
    .await?;
    let Some(r) = found else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    Ok(Json(UpdateManifest {
        pub_date: rfc3339(r.published),
        version: r.version,
        notes: r.notes,
        url: r.url,
        signature: r.signature,
        required: r.required.is_set(),
    })
    .into_response())
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

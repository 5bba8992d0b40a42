//! The app's routes: `/` (sign-in button, or who is signed in), `/login`, `/callback`
//! and `/logout`, and the cookies that tie a browser to its sign-in and its session.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use axum::extract::{Query, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use openidconnect::CsrfToken;

use crate::{page, App, Error};

/// The `state` of the sign-in this browser started (login CSRF: a callback that does
/// not carry it was not started here).
const LOGIN_COOKIE: &str = "office_login";
const SESSION_COOKIE: &str = "office_session";
/// The `state` of this browser's sign-out at the provider, to recognise its return.
const LOGOUT_COOKIE: &str = "office_logout";

/// The whole application, over a started [`App`].
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", post(logout))
        .with_state(app)
}

async fn home(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Html<String> {
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        let sessions = app.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(signed_in) = sessions.get(id) {
            return Html(page::signed_in(signed_in));
        }
    }
    let back_from_logout = matches!(
        (query.get("state"), cookie(&headers, LOGOUT_COOKIE)),
        (Some(state), Some(expected)) if state == expected
    );
    Html(page::signed_out(back_from_logout))
}

async fn login(State(app): State<Arc<App>>) -> impl IntoResponse {
    let (url, state, pending) = app.rp.start();
    let set = set_cookie(&app, LOGIN_COOKIE, state.secret(), 600);
    app.remember(state.secret().clone(), pending);
    (
        AppendHeaders([(SET_COOKIE, set)]),
        Redirect::to(url.as_str()),
    )
}

#[derive(serde::Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    /// RFC 9207: the provider names itself in its answer.
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(back): Query<Callback>,
) -> Result<Response, Error> {
    let state = back.state.ok_or(Error::UnknownSignIn)?;
    if cookie(&headers, LOGIN_COOKIE) != Some(state.as_str()) {
        return Err(Error::UnknownSignIn);
    }
    let pending = app.take(&state).ok_or(Error::UnknownSignIn)?;
    if back
        .iss
        .as_deref()
        .is_some_and(|iss| !app.rp.is_issuer(iss))
    {
        return Err(Error::Refused("the answer came from another issuer".into()));
    }
    if let Some(error) = back.error {
        let description = back.error_description.unwrap_or_default();
        return Err(Error::Refused(
            format!("{error} {description}").trim().into(),
        ));
    }
    let code = back.code.ok_or(Error::UnknownSignIn)?;
    let signed_in = app.rp.finish(pending, code).await?;
    let id = CsrfToken::new_random().secret().clone();
    let set = set_cookie(&app, SESSION_COOKIE, &id, 8 * 3600);
    app.sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, signed_in);
    let clear = set_cookie(&app, LOGIN_COOKIE, "", 0);
    Ok((
        AppendHeaders([(SET_COOKIE, set), (SET_COOKIE, clear)]),
        Redirect::to("/"),
    )
        .into_response())
}

/// A POST (a button), not a link: another site cannot sign the person out.
async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let signed_in = cookie(&headers, SESSION_COOKIE).and_then(|id| {
        app.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
    });
    let clear = set_cookie(&app, SESSION_COOKIE, "", 0);
    let state = CsrfToken::new_random();
    match signed_in.and_then(|s| app.rp.logout_url(&s, state.clone())) {
        Some(url) => {
            let set = set_cookie(&app, LOGOUT_COOKIE, state.secret(), 600);
            (
                AppendHeaders([(SET_COOKIE, clear), (SET_COOKIE, set)]),
                Redirect::to(url.as_str()),
            )
                .into_response()
        }
        None => (AppendHeaders([(SET_COOKIE, clear)]), Redirect::to("/")).into_response(),
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        tracing::warn!(error = %self, "sign-in failed");
        let status = match self {
            Error::UnknownSignIn | Error::Refused(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::BAD_GATEWAY,
        };
        (status, Html(page::error(&self))).into_response()
    }
}

/// The value of cookie `name` in the request.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: host-only, not readable by scripts, not sent on cross-site
/// requests other than top-level navigations (the provider's redirect back is one).
fn set_cookie(app: &App, name: &str, value: &str, max_age: u32) -> String {
    let secure = if app.secure_cookies { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_cookie_is_found_by_its_exact_name() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("x_office_login=no; office_login=abc"),
        );
        headers.append(COOKIE, HeaderValue::from_static("office_session=s1"));
        assert_eq!(cookie(&headers, LOGIN_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("s1"));
        assert_eq!(cookie(&headers, LOGOUT_COOKIE), None);
    }
}

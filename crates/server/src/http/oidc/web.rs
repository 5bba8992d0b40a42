//! What every browser page shares: the page model and its rendering (askama, escaped),
//! the language, cookies, CSRF protection and the security headers.

use askama::Template;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::text::{t, tf, Lang};
use crate::state::AppState;

pub const SSO_COOKIE: &str = "latchkey_sso";
pub const CSRF_COOKIE: &str = "latchkey_csrf";
pub const LANG_COOKIE: &str = "latchkey_lang";
pub const FLOW_COOKIE: &str = "latchkey_flow";
pub const DEVICE_COOKIE: &str = "latchkey_browser";

/// A form field.
pub struct Field {
    pub name: &'static str,
    pub label: String,
    pub kind: &'static str,
    pub autocomplete: &'static str,
    pub inputmode: Option<&'static str>,
    pub value: String,
    pub hint: Option<String>,
    pub maxlength: usize,
    pub autofocus: bool,
}

impl Field {
    pub fn new(
        name: &'static str,
        label: String,
        kind: &'static str,
        autocomplete: &'static str,
    ) -> Self {
        Self {
            name,
            label,
            kind,
            autocomplete,
            inputmode: None,
            value: String::new(),
            hint: None,
            maxlength: 256,
            autofocus: false,
        }
    }

    /// A one-time code field (TOTP, device code): digits on phones, the
    /// `one-time-code` token for password managers and OS autofill.
    pub fn code(name: &'static str, label: String) -> Self {
        Self {
            inputmode: Some("numeric"),
            maxlength: 64,
            autofocus: true,
            ..Self::new(name, label, "text", "one-time-code")
        }
    }
}

pub struct Form {
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    pub fields: Vec<Field>,
    pub submit: String,
    /// Sent as `decision=<value>` by the main button, when set.
    pub submit_value: Option<&'static str>,
    /// A second button: `decision=<value>`, label.
    pub secondary: Option<(&'static str, String)>,
}

pub struct LangLink {
    pub tag: &'static str,
    pub label: String,
    pub href: String,
    pub current: bool,
}

pub struct Link {
    pub href: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "oidc/page.html")]
pub struct Page {
    pub lang: &'static str,
    pub language_label: String,
    pub languages: Vec<LangLink>,
    pub title: String,
    pub subtitle: Option<String>,
    pub lead: Option<String>,
    pub error: Option<String>,
    pub notice: Option<String>,
    /// A number shown large (the approval's number to pick in the app).
    pub number: Option<String>,
    pub items: Vec<String>,
    pub form: Option<Form>,
    pub links: Vec<Link>,
    pub refresh_after: Option<u64>,
}

impl Page {
    /// A page in `lang` whose language switch links to `path` (a path of this server
    /// with its query, if any).
    pub fn new(lang: Lang, path: &str, title: String) -> Self {
        let sep = if path.contains('?') { '&' } else { '?' };
        let languages = [Lang::En, Lang::ZhCn]
            .into_iter()
            .map(|l| LangLink {
                tag: l.tag(),
                label: t(l, &format!("locale.{}", l.tag())),
                href: format!("{path}{sep}lang={}", l.tag()),
                current: l == lang,
            })
            .collect();
        Self {
            lang: lang.tag(),
            language_label: t(lang, "language.label"),
            languages,
            title,
            subtitle: None,
            lead: None,
            error: None,
            notice: None,
            number: None,
            items: vec![],
            form: None,
            links: vec![],
            refresh_after: None,
        }
    }

    /// An error page: no form, no redirect.
    pub fn error(lang: Lang, path: &str, message: String) -> Self {
        let mut p = Self::new(lang, path, t(lang, "web.error_title"));
        p.error = Some(message);
        p
    }

    pub fn respond(self, status: StatusCode, cookies: Vec<String>) -> Response {
        let body = match self.render() {
            Ok(html) => html,
            Err(e) => {
                tracing::error!(error = %e, "a sign-in page did not render");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let mut r = (status, body).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        secure_headers(h);
        for c in cookies {
            if let Ok(v) = HeaderValue::from_str(&c) {
                h.append(header::SET_COOKIE, v);
            }
        }
        r
    }
}

/// Headers of every page: no caching, no framing (clickjacking), no referrer (the
/// URL carries the request id), and a content policy that allows this server's style
/// sheet and nothing else — no script at all.
pub fn secure_headers(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
}

/// A 303 to `location`, with cookies.
pub fn see_other(location: &str, cookies: Vec<String>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    secure_headers(h);
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    r
}

/// A cookie's value from the request (the first of that name).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Secure` when the issuer is
/// https. `value` is made by this server (base64url, hex or a language tag).
pub fn set_cookie(
    app: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<u64>,
) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if app.config().oidc.secure_cookies() {
        c.push_str("; Secure");
    }
    c
}

/// A `Set-Cookie` that deletes `name`.
pub fn clear_cookie(app: &AppState, name: &str, path: &str) -> String {
    set_cookie(app, name, "", path, Some(0))
}

/// The page language: `?lang=`, else the cookie, else `ui_locales`, else
/// `Accept-Language`, else English. Returns the cookie to set when `?lang=` chose.
pub fn language(
    app: &AppState,
    headers: &HeaderMap,
    query_lang: Option<&str>,
    ui_locales: Option<&str>,
) -> (Lang, Option<String>) {
    if let Some(l) = query_lang.and_then(Lang::parse) {
        return (
            l,
            Some(set_cookie(
                app,
                LANG_COOKIE,
                l.tag(),
                "/",
                Some(400 * 86_400),
            )),
        );
    }
    let from_cookie = cookie(headers, LANG_COOKIE).and_then(Lang::parse);
    let from_request = ui_locales.and_then(Lang::negotiate);
    let from_browser = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::negotiate);
    (
        from_cookie
            .or(from_request)
            .or(from_browser)
            .unwrap_or(Lang::En),
        None,
    )
}

/// The CSRF token of this browser (double submit: an `HttpOnly` cookie and the same
/// value in every form), and the cookie to set if it had none.
pub fn csrf_token(app: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, CSRF_COOKIE) {
        Some(v) if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (v.to_owned(), None)
        }
        _ => {
            let token = crate::tokens::new_id();
            let c = set_cookie(app, CSRF_COOKIE, &token, "/oidc", None);
            (token, Some(c))
        }
    }
}

/// Whether a form post carries this browser's CSRF token and was not sent by another
/// site (`Sec-Fetch-Site`, where the browser sends it).
pub fn csrf_ok(headers: &HeaderMap, form_token: Option<&str>) -> bool {
    csrf_matches(headers, CSRF_COOKIE, form_token)
}

/// Whether the form's token equals the cookie `cookie_name` of this browser (32
/// characters, compared in constant time) and the request is not cross-site: the
/// double-submit check of the sign-in pages and of the console (each its own cookie).
pub fn csrf_matches(headers: &HeaderMap, cookie_name: &str, form_token: Option<&str>) -> bool {
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site");
    let (Some(cookie), Some(form)) = (cookie(headers, cookie_name), form_token) else {
        return false;
    };
    !cross_site && cookie.len() == 32 && bool::from(cookie.as_bytes().ct_eq(form.as_bytes()))
}

/// `{app}` filled with the application's name.
pub fn app_text(lang: Lang, key: &str, app_name: &str) -> String {
    tf(lang, key, &[("app", app_name)])
}

/// A form's fields, parsed; a field given twice is refused (None).
pub fn parse_form(body: &[u8]) -> Option<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; latchkey_csrf=abc; b=2"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), Some("3"));
        assert_eq!(cookie(&h, "d"), None);
    }

    #[test]
    fn csrf_needs_the_same_token_in_cookie_and_form() {
        let token = "0123456789abcdef0123456789abcdef";
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("latchkey_csrf={token}")).unwrap(),
        );
        assert!(csrf_ok(&h, Some(token)));
        assert!(!csrf_ok(&h, Some("0123456789abcdef0123456789abcdee")));
        assert!(!csrf_ok(&h, None));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!csrf_ok(&h, Some(token)));
        assert!(!csrf_ok(&HeaderMap::new(), Some(token)));
    }

    #[test]
    fn pages_escape_what_they_show() {
        let mut p = Page::new(Lang::En, "/oidc/x?a=1", "<b>Title</b>".into());
        p.error = Some("\"><script>alert(1)</script>".into());
        let html = p.render().unwrap();
        assert!(!html.contains("<script>"));
        assert!(
            !html.contains("<b>") && html.contains("Title"),
            "escaped: {html}"
        );
        assert!(html.contains("lang=zh-CN"));
    }

    #[test]
    fn duplicate_form_fields_are_refused() {
        assert!(parse_form(b"a=1&b=2").is_some());
        assert!(parse_form(b"a=1&a=2").is_none());
        assert_eq!(parse_form(b"a=%E4%BD%A0").unwrap()["a"], "你");
    }
}

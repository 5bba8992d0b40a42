//! IT's console at `/admin` (issue 18): server-rendered pages in English and Chinese,
//! no script (the sign-in pages' content policy), for the helpdesk: find a person, see
//! at a glance why they cannot sign in, and fix it with one confirmed click; and for
//! admins, the audit trail.
//!
//! Signing in to the console is Latchkey's own browser sign-in: the console is an
//! application of the provider (`latchkey-console`, registered on first use, two-step
//! verification required), and a signed-in browser's single sign-on (`latchkey_sso`)
//! names the admin. Every action runs through the admin API's code
//! ([`super::admin::run`]), with its role checks and audit record; forms carry a CSRF
//! token (double submit, a cookie of `/admin`).

mod text;

use axum::extract::{Path, Query, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use latchkey_proto::{AdminRole, ErrorCode, Secret};
use serde::Deserialize;

use super::admin::{self as api, Action, Admin};
use super::extract::ClientIp;
use super::oidc::text::{t, Lang};
use super::oidc::web::{self, LangLink, Link};
use crate::error::ApiError;
use crate::oidc::clients::{self, NewClient};
use crate::oidc::sso;
use crate::state::AppState;
use text::{c, cf};

/// The console's own application at the provider.
pub const CLIENT_ID: &str = "latchkey-console";
const CSRF_COOKIE: &str = "latchkey_console_csrf";
const STATE_COOKIE: &str = "latchkey_console_state";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(users))
        .route("/admin/users/{id}", get(user))
        .route("/admin/users/{id}/{action}", get(confirm).post(act))
        .route("/admin/audit", get(audit))
        .route("/admin/policies", get(policies_page).post(save_policies))
        .route(
            "/admin/maintenance",
            get(maintenance_page).post(set_maintenance),
        )
        .route("/admin/new", get(new_account).post(create_account))
        .route("/admin/import", get(import_page).post(import_accounts))
        .route("/admin/sign-in", get(sign_in))
        .route("/admin/callback", get(callback))
        .route("/admin/sign-out", axum::routing::post(sign_out))
        .route("/admin/static/console.css", get(style))
}

#[derive(askama::Template)]
#[template(path = "console/page.html")]
struct Page {
    lang: &'static str,
    brand: String,
    nav_label: String,
    nav: Vec<Link>,
    language_label: String,
    languages: Vec<LangLink>,
    who: Option<String>,
    csrf: String,
    sign_out: String,
    title: String,
    lead: Option<String>,
    error: Option<String>,
    notice: Option<String>,
    secret: Option<(String, String)>,
    search: Option<Search>,
    facts: Vec<(String, String, bool)>,
    actions_title: String,
    actions: Vec<ActionLink>,
    confirm: Option<Confirm>,
    form: Option<EditForm>,
    tables: Vec<Table>,
    links: Vec<Link>,
}

struct EditForm {
    action: String,
    fields: Vec<FormField>,
    submit: String,
    cancel_href: String,
    cancel: String,
}

struct FormField {
    name: &'static str,
    label: String,
    value: String,
    /// `text`, `email`, `tel`, `textarea` or `checkbox`.
    kind: &'static str,
    hint: Option<String>,
}

struct Search {
    label: String,
    value: String,
    button: String,
}

struct ActionLink {
    id: &'static str,
    href: String,
    label: String,
}

struct Confirm {
    action: String,
    explain: String,
    submit: String,
    danger: bool,
    cancel_href: String,
    cancel: String,
}

struct Table {
    caption: String,
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
    empty: String,
}

struct Cell {
    text: String,
    href: Option<String>,
}

fn cell(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        href: None,
    }
}

/// A request's context: the language, the cookies to set, the CSRF token.
struct Ctx {
    lang: Lang,
    cookies: Vec<String>,
    csrf: String,
    path: String,
}

impl Ctx {
    fn new(app: &AppState, headers: &HeaderMap, query_lang: Option<&str>, path: &str) -> Self {
        let (lang, lang_cookie) = web::language(app, headers, query_lang, None);
        let mut cookies: Vec<String> = lang_cookie.into_iter().collect();
        let csrf = match web::cookie(headers, CSRF_COOKIE) {
            Some(v) if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => v.to_owned(),
            _ => {
                let token = crate::tokens::new_id();
                cookies.push(web::set_cookie(app, CSRF_COOKIE, &token, "/admin", None));
                token
            }
        };
        Self {
            lang,
            cookies,
            csrf,
            path: path.to_owned(),
        }
    }

    fn page(&self, title: String, admin: Option<&Admin>) -> Page {
        let lang = self.lang;
        let sep = if self.path.contains('?') { '&' } else { '?' };
        let languages = [Lang::En, Lang::ZhCn]
            .into_iter()
            .map(|l| LangLink {
                tag: l.tag(),
                label: t(l, &format!("locale.{}", l.tag())),
                href: format!("{}{sep}lang={}", self.path, l.tag()),
                current: l == lang,
            })
            .collect();
        let mut nav = Vec::new();
        if let Some(a) = admin {
            nav.push(Link {
                href: "/admin".into(),
                label: c(lang, "nav.users"),
            });
            if a.role.allows(AdminRole::Admin) {
                nav.push(Link {
                    href: "/admin/audit".into(),
                    label: c(lang, "nav.audit"),
                });
                nav.push(Link {
                    href: "/admin/policies".into(),
                    label: c(lang, "nav.policies"),
                });
                nav.push(Link {
                    href: "/admin/maintenance".into(),
                    label: c(lang, "nav.maintenance"),
                });
            }
        }
        Page {
            lang: lang.tag(),
            brand: c(lang, "brand"),
            nav_label: c(lang, "nav"),
            nav,
            language_label: t(lang, "language.label"),
            languages,
            who: admin.map(|a| {
                cf(
                    lang,
                    "signed_in_as",
                    &[
                        ("who", a.user.label()),
                        ("role", &c(lang, &format!("role.{}", a.role.as_str()))),
                    ],
                )
            }),
            csrf: self.csrf.clone(),
            sign_out: c(lang, "sign_out"),
            title,
            lead: None,
            error: None,
            notice: None,
            secret: None,
            search: None,
            facts: vec![],
            actions_title: c(lang, "actions"),
            actions: vec![],
            confirm: None,
            form: None,
            tables: vec![],
            links: vec![],
        }
    }

    fn respond(self, page: Page, status: StatusCode) -> Response {
        use askama::Template;
        let body = match page.render() {
            Ok(html) => html,
            Err(e) => {
                tracing::error!(error = %e, "a console page did not render");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let mut r = (status, body).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        web::secure_headers(h);
        for cookie in self.cookies {
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                h.append(header::SET_COOKIE, v);
            }
        }
        r
    }

    /// An error page: the message, a way back.
    fn error(self, admin: Option<&Admin>, status: StatusCode, message: String) -> Response {
        let mut page = self.page(c(self.lang, "error.title"), admin);
        page.error = Some(message);
        page.links.push(Link {
            href: "/admin".into(),
            label: c(self.lang, "back_to_users"),
        });
        self.respond(page, status)
    }

    /// The page for a refusal of the admin API's code.
    fn refused(self, admin: Option<&Admin>, e: &ApiError) -> Response {
        let lang = self.lang;
        let (status, key) = match e.code() {
            ErrorCode::Forbidden if admin.is_none() => (StatusCode::FORBIDDEN, "error.no_role"),
            ErrorCode::Forbidden => (StatusCode::FORBIDDEN, "error.forbidden"),
            ErrorCode::TwoFactorRequired => (StatusCode::FORBIDDEN, "error.two_factor"),
            ErrorCode::ResourceNotFound => (StatusCode::NOT_FOUND, "error.not_found"),
            ErrorCode::Conflict => (StatusCode::CONFLICT, "error.own_account"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, ""),
        };
        let message = if key.is_empty() {
            cf(lang, "error.other", &[("code", e.code().as_str())])
        } else {
            c(lang, key)
        };
        self.error(admin, status, message)
    }
}

/// [`signed_in`], refused unless the admin's role allows `needed`.
async fn signed_in_as(
    app: &AppState,
    headers: &HeaderMap,
    ip: &ClientIp,
    ctx: Ctx,
    needed: AdminRole,
) -> Result<(Admin, Ctx), Response> {
    let (admin, ctx) = signed_in(app, headers, ip, ctx).await?;
    match admin.needs(needed) {
        Ok(()) => Ok((admin, ctx)),
        Err(e) => Err(ctx.refused(Some(&admin), &e)),
    }
}

/// A form posted by the signed-in admin: its fields, once its CSRF token is this
/// browser's.
async fn posted(
    app: &AppState,
    headers: &HeaderMap,
    ip: &ClientIp,
    ctx: Ctx,
    body: &[u8],
) -> Result<(Admin, Ctx, std::collections::HashMap<String, String>), Response> {
    let (admin, ctx) = signed_in(app, headers, ip, ctx).await?;
    let form = web::parse_form(body).unwrap_or_default();
    if !csrf_ok(headers, form.get("csrf").map(String::as_str)) {
        let lang = ctx.lang;
        return Err(ctx.error(Some(&admin), StatusCode::FORBIDDEN, c(lang, "error.csrf")));
    }
    Ok((admin, ctx, form))
}

/// The signed-in admin of this browser, or the response that stands instead: the
/// sign-in (no single sign-on), or a refusal (no role, no two-step verification).
async fn signed_in(
    app: &AppState,
    headers: &HeaderMap,
    ip: &ClientIp,
    ctx: Ctx,
) -> Result<(Admin, Ctx), Response> {
    let now = app.now();
    let sso = match web::cookie(headers, web::SSO_COOKIE) {
        Some(cookie) => match sso::find(&app.db, cookie, now).await {
            Ok(s) => s,
            Err(e) => return Err(ctx.refused(None, &ApiError::from(e))),
        },
        None => None,
    };
    let Some(sso) = sso else {
        return Err(web::see_other("/admin/sign-in", ctx.cookies));
    };
    match Admin::for_user(app, &sso.user_id, ip.0.clone()).await {
        Ok(admin) => Ok((admin, ctx)),
        Err(e) if e.code() == ErrorCode::Unauthenticated => {
            Err(web::see_other("/admin/sign-in", ctx.cookies))
        }
        Err(e) => Err(ctx.refused(None, &e)),
    }
}

#[derive(Debug, Deserialize)]
struct UsersQuery {
    q: Option<String>,
    page: Option<u32>,
    done: Option<String>,
    lang: Option<String>,
}

/// `GET /admin`: the search, and its results.
async fn users(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Query(q): Query<UsersQuery>,
) -> Response {
    let text = q.q.clone().unwrap_or_default();
    let page_no = q.page.unwrap_or(1).max(1);
    let path = if text.is_empty() {
        "/admin".to_owned()
    } else {
        format!("/admin?q={}", urlencode(&text))
    };
    let ctx = Ctx::new(&app, &headers, q.lang.as_deref(), &path);
    let (admin, ctx) = match signed_in(&app, &headers, &ip, ctx).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    let mut page = ctx.page(c(lang, "users.title"), Some(&admin));
    page.lead = Some(c(lang, "users.lead"));
    if q.done.as_deref() == Some("delete") {
        page.notice = Some(c(lang, "action.delete.done"));
    }
    if admin.role.allows(AdminRole::Admin) {
        page.actions_title = String::new();
        for (id, href, key) in [
            ("new", "/admin/new", "new.link"),
            ("import", "/admin/import", "import.link"),
        ] {
            page.actions.push(ActionLink {
                id,
                href: href.into(),
                label: c(lang, key),
            });
        }
    }
    page.search = Some(Search {
        label: c(lang, "search.label"),
        value: text.clone(),
        button: c(lang, "search.button"),
    });
    let found = match api::find(&app, &text, page_no, 20).await {
        Ok(f) => f,
        Err(e) => return ctx.refused(Some(&admin), &e),
    };
    let mut rows = Vec::new();
    for u in &found.users {
        let name = u.user.name.clone().unwrap_or_default();
        let label = u
            .user
            .email
            .clone()
            .or(u.user.username.clone())
            .or(u.user.phone.clone())
            .unwrap_or_default();
        rows.push(vec![
            Cell {
                text: if name.is_empty() { label } else { name },
                href: Some(format!("/admin/users/{}", u.user.id)),
            },
            cell(u.user.email.clone().unwrap_or_default()),
            cell(u.user.phone.clone().unwrap_or_default()),
            cell(u.user.username.clone().unwrap_or_default()),
            cell(status_line(lang, &u.status).join(" · ")),
        ]);
    }
    page.tables.push(Table {
        caption: cf(
            lang,
            "users.caption",
            &[("total", &found.total.to_string())],
        ),
        headers: [
            "col.name",
            "col.email",
            "col.phone",
            "col.username",
            "col.status",
        ]
        .iter()
        .map(|k| c(lang, k))
        .collect(),
        rows,
        empty: c(lang, "users.empty"),
    });
    let q = urlencode(&text);
    if page_no > 1 {
        page.links.push(Link {
            href: format!("/admin?q={q}&page={}", page_no - 1),
            label: c(lang, "page.previous"),
        });
    }
    if u64::from(page_no) * 20 < found.total {
        page.links.push(Link {
            href: format!("/admin?q={q}&page={}", page_no + 1),
            label: c(lang, "page.next"),
        });
    }
    ctx.respond(page, StatusCode::OK)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A time for people: `2026-12-06 11:32` (UTC+8 in Chinese, as the messages say).
fn when(lang: Lang, rfc: &str) -> String {
    let Ok(t) = time::OffsetDateTime::parse(rfc, &time::format_description::well_known::Rfc3339)
    else {
        return rfc.to_owned();
    };
    let (t, zone) = match lang {
        Lang::ZhCn => (
            t.to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC)),
            "",
        ),
        Lang::En => (t, " UTC"),
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}{zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Why the account can or cannot sign in, line by line.
fn status_line(lang: Lang, s: &latchkey_proto::UserStatus) -> Vec<String> {
    let mut out = Vec::new();
    if s.maintenance {
        out.push(c(lang, "status.maintenance"));
    }
    if s.disabled {
        out.push(c(lang, "status.disabled"));
    }
    if let Some(until) = &s.locked_until {
        out.push(cf(lang, "status.locked", &[("time", &when(lang, until))]));
    }
    if s.must_change_password {
        out.push(c(lang, "status.temporary"));
    }
    if s.password_expired {
        out.push(c(lang, "status.expired"));
    }
    if s.recovery_codes_left == Some(0) {
        out.push(c(lang, "status.no_codes"));
    }
    if let Some(by) = &s.two_factor_required_by {
        out.push(cf(
            lang,
            "status.two_factor_due",
            &[("time", &when(lang, by))],
        ));
    }
    if let Some(until) = &s.device_code_waiting_until {
        out.push(cf(
            lang,
            "status.device_code",
            &[("time", &when(lang, until))],
        ));
    }
    if out.is_empty() {
        out.push(c(lang, "status.ok"));
    }
    out
}

#[derive(Debug, Deserialize)]
struct UserQuery {
    done: Option<String>,
    lang: Option<String>,
}

/// `GET /admin/users/{id}`: the account, why it can or cannot sign in, what to do.
async fn user(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<UserQuery>,
) -> Response {
    let path = format!("/admin/users/{}", urlencode(&id));
    let ctx = Ctx::new(&app, &headers, q.lang.as_deref(), &path);
    let (admin, ctx) = match signed_in(&app, &headers, &ip, ctx).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let detail = match api::detail(&app, &admin, &id).await {
        Ok(d) => d,
        Err(e) => return ctx.refused(Some(&admin), &e),
    };
    let lang = ctx.lang;
    let s = &detail.summary;
    let label = s
        .user
        .email
        .clone()
        .or(s.user.username.clone())
        .or(s.user.phone.clone())
        .unwrap_or_default();
    let title = s.user.name.clone().unwrap_or_else(|| label.clone());
    let mut page = ctx.page(title, Some(&admin));
    if let Some(action) = q.done.as_deref().and_then(Action::parse) {
        page.notice = Some(c(lang, &format!("action.{}.done", action.path())));
    }
    if q.done.as_deref() == Some("edit") {
        page.notice = Some(c(lang, "action.edit.done"));
    }
    let dash = || "—".to_owned();
    page.facts = vec![
        (
            c(lang, "col.email"),
            s.user.email.clone().unwrap_or_else(dash),
            false,
        ),
        (
            c(lang, "col.phone"),
            s.user.phone.clone().unwrap_or_else(dash),
            false,
        ),
        (
            c(lang, "col.username"),
            s.user.username.clone().unwrap_or_else(dash),
            false,
        ),
        (
            c(lang, "fact.status"),
            status_line(lang, &s.status).join(" · "),
            !s.can_sign_in || s.status.must_change_password,
        ),
        (
            c(lang, "fact.two_factor"),
            if s.status.mfa_enabled {
                cf(
                    lang,
                    "fact.two_factor_on",
                    &[(
                        "left",
                        &s.status.recovery_codes_left.unwrap_or(0).to_string(),
                    )],
                )
            } else {
                c(lang, "fact.two_factor_off")
            },
            false,
        ),
        (
            c(lang, "fact.password_expires"),
            s.status
                .password_expires_at
                .as_deref()
                .map(|e| when(lang, e))
                .unwrap_or_else(|| c(lang, "fact.never")),
            s.status.password_expired,
        ),
        (
            c(lang, "fact.role"),
            s.role
                .map(|r| c(lang, &format!("role.{}", r.as_str())))
                .unwrap_or_else(|| c(lang, "fact.none")),
            false,
        ),
        (c(lang, "fact.created"), when(lang, &s.created_at), false),
    ];
    for action in Action::ALL {
        let fits = match action {
            Action::Unlock => s.status.locked_until.is_some(),
            Action::ResetTwoFactor => s.status.mfa_enabled,
            Action::Disable => !s.status.disabled && s.user.id != admin.user.id,
            Action::Enable => s.status.disabled,
            Action::TemporaryPassword | Action::RevokeSessions => true,
        };
        if fits && admin.role.allows(action.role()) {
            page.actions.push(ActionLink {
                id: action.path(),
                href: format!("/admin/users/{}/{}", s.user.id, action.path()),
                label: c(lang, &format!("action.{}", action.path())),
            });
        }
    }
    if admin.role.allows(AdminRole::Admin) {
        page.actions.push(ActionLink {
            id: "edit",
            href: format!("/admin/users/{}/edit", s.user.id),
            label: c(lang, "action.edit"),
        });
        if s.user.id != admin.user.id {
            page.actions.push(ActionLink {
                id: "delete",
                href: format!("/admin/users/{}/delete", s.user.id),
                label: c(lang, "action.delete"),
            });
        }
    }
    page.tables.push(Table {
        caption: c(lang, "sessions.caption"),
        headers: ["col.device", "col.address", "col.since", "col.last_used"]
            .iter()
            .map(|k| c(lang, k))
            .collect(),
        rows: detail
            .sessions
            .iter()
            .map(|x| {
                vec![
                    cell(format!("{} ({})", x.device.name, x.device.platform)),
                    cell(x.ip.clone().unwrap_or_default()),
                    cell(when(lang, &x.created_at)),
                    cell(when(lang, &x.last_used_at)),
                ]
            })
            .collect(),
        empty: c(lang, "sessions.empty"),
    });
    page.tables.push(Table {
        caption: c(lang, "activity.caption"),
        headers: [
            "col.when",
            "col.what",
            "col.result",
            "col.device",
            "col.address",
        ]
        .iter()
        .map(|k| c(lang, k))
        .collect(),
        rows: detail
            .activity
            .iter()
            .map(|a| {
                vec![
                    cell(when(lang, &a.at)),
                    cell(a.kind.clone()),
                    cell(a.result.clone()),
                    cell(a.device.name.clone()),
                    cell(a.ip.clone().unwrap_or_default()),
                ]
            })
            .collect(),
        empty: c(lang, "activity.empty"),
    });
    page.links.push(Link {
        href: "/admin".into(),
        label: c(lang, "back_to_users"),
    });
    ctx.respond(page, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// `GET /admin/users/{id}/{action}`: what the action does, and the button to do it.
async fn confirm(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path((id, action)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
) -> Response {
    let path = format!("/admin/users/{}/{}", urlencode(&id), urlencode(&action));
    let ctx = Ctx::new(&app, &headers, q.lang.as_deref(), &path);
    let (admin, ctx) = match signed_in(&app, &headers, &ip, ctx).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    if action == "edit" || action == "delete" {
        return admin_page(&app, admin, ctx, &id, &action, None).await;
    }
    let Some(action) = Action::parse(&action) else {
        return ctx.error(
            Some(&admin),
            StatusCode::NOT_FOUND,
            c(lang, "error.not_found"),
        );
    };
    if let Err(e) = admin.needs(action.role()) {
        return ctx.refused(Some(&admin), &e);
    }
    let user = match api::target(&app, &id).await {
        Ok(u) => u,
        Err(e) => return ctx.refused(Some(&admin), &e),
    };
    let who = user.label().to_owned();
    let key = format!("action.{}", action.path());
    let mut page = ctx.page(
        cf(lang, &format!("{key}.question"), &[("who", &who)]),
        Some(&admin),
    );
    page.confirm = Some(Confirm {
        action: format!("/admin/users/{}/{}", user.id, action.path()),
        explain: c(lang, &format!("{key}.explain")),
        submit: c(lang, &key),
        danger: matches!(action, Action::Disable | Action::ResetTwoFactor),
        cancel_href: format!("/admin/users/{}", user.id),
        cancel: c(lang, "cancel"),
    });
    ctx.respond(page, StatusCode::OK)
}

/// `POST /admin/users/{id}/{action}`: does it (CSRF checked); back to the account with
/// a notice, or the temporary password shown once.
async fn act(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let path = format!("/admin/users/{}", urlencode(&id));
    let ctx = Ctx::new(&app, &headers, None, &path);
    let (admin, ctx, form) = match posted(&app, &headers, &ip, ctx, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    if action == "edit" {
        let field = |k: &str| form.get(k).cloned();
        let req = latchkey_proto::UpdateUserRequest {
            name: field("name"),
            email: field("email"),
            phone: field("phone"),
            username: field("username"),
        };
        return match api::update_account(&app, &admin, &id, req).await {
            Ok(_) => web::see_other(
                &format!("/admin/users/{}?done=edit", urlencode(&id)),
                ctx.cookies,
            ),
            Err(e) if matches!(e.code(), ErrorCode::InvalidRequest | ErrorCode::Conflict) => {
                admin_page(&app, admin, ctx, &id, "edit", Some((form, e))).await
            }
            Err(e) => ctx.refused(Some(&admin), &e),
        };
    }
    if action == "delete" {
        return match api::delete_account(&app, &admin, &id).await {
            Ok(()) => web::see_other("/admin?done=delete", ctx.cookies),
            Err(e) => ctx.refused(Some(&admin), &e),
        };
    }
    let Some(action) = Action::parse(&action) else {
        return ctx.error(
            Some(&admin),
            StatusCode::NOT_FOUND,
            c(lang, "error.not_found"),
        );
    };
    match api::run(&app, &admin, &id, action).await {
        Ok(Some(password)) => {
            let who = match api::target(&app, &id).await {
                Ok(u) => u.label().to_owned(),
                Err(_) => String::new(),
            };
            let mut page = ctx.page(c(lang, "action.temporary-password"), Some(&admin));
            page.secret = Some((
                cf(lang, "action.temporary-password.done", &[("who", &who)]),
                Secret::expose(&password).to_owned(),
            ));
            page.links.push(Link {
                href: format!("/admin/users/{id}"),
                label: c(lang, "back_to_users"),
            });
            ctx.respond(page, StatusCode::OK)
        }
        Ok(None) => web::see_other(
            &format!("/admin/users/{}?done={}", urlencode(&id), action.path()),
            ctx.cookies,
        ),
        Err(e) => ctx.refused(Some(&admin), &e),
    }
}

fn csrf_ok(headers: &HeaderMap, form: Option<&str>) -> bool {
    web::csrf_matches(headers, CSRF_COOKIE, form)
}

/// `GET /admin/audit`: the newest actions (admins only).
async fn audit(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Query(q): Query<LangQuery>,
) -> Response {
    let ctx = Ctx::new(&app, &headers, q.lang.as_deref(), "/admin/audit");
    let (admin, ctx) = match signed_in_as(&app, &headers, &ip, ctx, AdminRole::Admin).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    let entries = match crate::audit::recent(&app.db, None, 200).await {
        Ok(e) => e,
        Err(e) => return ctx.refused(Some(&admin), &ApiError::from(e)),
    };
    let mut page = ctx.page(c(lang, "audit.title"), Some(&admin));
    page.lead = Some(c(lang, "audit.lead"));
    page.tables.push(Table {
        caption: cf(lang, "audit.caption", &[("n", &entries.len().to_string())]),
        headers: [
            "col.when",
            "col.who",
            "col.what",
            "col.account",
            "col.changes",
        ]
        .iter()
        .map(|k| c(lang, k))
        .collect(),
        rows: entries
            .iter()
            .map(|e| {
                let who = match (&e.actor, e.role) {
                    (Some(a), Some(r)) => {
                        format!("{a} ({})", c(lang, &format!("role.{}", r.as_str())))
                    }
                    (Some(a), None) => a.clone(),
                    _ => c(lang, "audit.command_line"),
                };
                let changes: Vec<String> = e
                    .changes
                    .iter()
                    .map(|ch| {
                        format!(
                            "{}: {} → {}",
                            ch.field,
                            ch.before.as_deref().unwrap_or("—"),
                            ch.after.as_deref().unwrap_or("—")
                        )
                    })
                    .collect();
                vec![
                    cell(when(lang, &e.at)),
                    cell(who),
                    cell(e.action.clone()),
                    Cell {
                        text: e.target.clone().or(e.target_id.clone()).unwrap_or_default(),
                        href: e.target_id.as_ref().map(|id| format!("/admin/users/{id}")),
                    },
                    cell(changes.join("; ")),
                ]
            })
            .collect(),
        empty: c(lang, "audit.empty"),
    });
    ctx.respond(page, StatusCode::OK)
}

/// The console's application at the provider, registered on first use.
async fn ensure_client(app: &AppState, issuer: &str) -> Result<(), ApiError> {
    let redirect = format!("{issuer}/admin/callback");
    let existing = clients::get(&app.db, CLIENT_ID)
        .await
        .map_err(ApiError::internal)?;
    if let Some(existing) = existing {
        if existing.redirect_uris.contains(&redirect) {
            return Ok(());
        }
        // The issuer changed: register again.
        clients::remove(&app.db, CLIENT_ID, app.now())
            .await
            .map_err(ApiError::internal)?;
    }
    let new = NewClient {
        id: CLIENT_ID.into(),
        name: "Latchkey console".into(),
        redirect_uris: vec![redirect],
        first_party: true,
        require_2fa: true,
        ..NewClient::default()
    };
    match clients::add(&app.db, &new, app.now()).await {
        Ok(_) => Ok(()),
        // Another process registered it meanwhile.
        Err(clients::ClientError::Exists(_)) => Ok(()),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// `GET /admin/sign-in`: to the provider's sign-in page, for the console.
async fn sign_in(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let ctx = Ctx::new(&app, &headers, q.lang.as_deref(), "/admin/sign-in");
    let lang = ctx.lang;
    let Some(issuer) = app.config().oidc.issuer().map(str::to_owned) else {
        return ctx.error(
            None,
            StatusCode::SERVICE_UNAVAILABLE,
            c(lang, "error.no_issuer"),
        );
    };
    if let Err(e) = ensure_client(&app, &issuer).await {
        return ctx.refused(None, &e);
    }
    let state = crate::tokens::new_id();
    let mut cookies = ctx.cookies;
    cookies.push(web::set_cookie(
        &app,
        STATE_COOKIE,
        &state,
        "/admin",
        Some(600),
    ));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", &format!("{issuer}/admin/callback"))
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", &state)
        .append_pair("ui_locales", lang.tag())
        .finish();
    web::see_other(&format!("/oidc/authorize?{query}"), cookies)
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
}

/// `GET /admin/callback`: back from the sign-in. The browser's single sign-on is what
/// the console reads; the code is not needed (it expires unused).
async fn callback(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let ctx = Ctx::new(&app, &headers, None, "/admin");
    let lang = ctx.lang;
    let expected = web::cookie(&headers, STATE_COOKIE);
    let fine =
        matches!((expected, q.state.as_deref()), (Some(a), Some(b)) if a == b) && q.code.is_some();
    if !fine {
        return ctx.error(None, StatusCode::BAD_REQUEST, c(lang, "error.sign_in"));
    }
    let mut cookies = ctx.cookies;
    cookies.push(web::clear_cookie(&app, STATE_COOKIE, "/admin"));
    web::see_other("/admin", cookies)
}

/// `POST /admin/sign-out`: ends this browser's single sign-on.
async fn sign_out(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let ctx = Ctx::new(&app, &headers, None, "/admin");
    let lang = ctx.lang;
    let form = web::parse_form(&body).unwrap_or_default();
    if !csrf_ok(&headers, form.get("csrf").map(String::as_str)) {
        return ctx.error(None, StatusCode::FORBIDDEN, c(lang, "error.csrf"));
    }
    let now = app.now();
    if let Some(cookie) = web::cookie(&headers, web::SSO_COOKIE) {
        if let Ok(Some(s)) = sso::find(&app.db, cookie, now).await {
            if let Err(e) = sso::end(&app.db, &s, now).await {
                return ctx.refused(None, &ApiError::from(e));
            }
        }
    }
    let mut page = ctx.page(c(lang, "sign_out"), None);
    page.notice = Some(c(lang, "signed_out"));
    page.links.push(Link {
        href: "/admin".into(),
        label: c(lang, "sign_in_again"),
    });
    let mut ctx = ctx;
    ctx.cookies
        .push(web::clear_cookie(&app, web::SSO_COOKIE, "/"));
    ctx.respond(page, StatusCode::OK)
}

async fn style() -> Response {
    let mut r = include_str!("console.css").into_response();
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

/// What a refused form says: the field at fault, or that another account has it.
fn form_error(lang: Lang, e: &ApiError) -> String {
    match (e.code(), e.body.field.as_deref()) {
        (ErrorCode::Conflict, _) => c(lang, "error.exists"),
        (_, Some(field)) => cf(
            lang,
            "error.invalid",
            &[
                ("field", field),
                (
                    "why",
                    e.body
                        .message
                        .split_once(": ")
                        .map_or(&*e.body.message, |(_, w)| w),
                ),
            ],
        ),
        _ => e.body.message.clone(),
    }
}

/// The admin's pages about one account: its edit form (with what was typed and why it
/// was refused, after a refusal) or the confirmation of its deletion.
async fn admin_page(
    app: &AppState,
    admin: Admin,
    ctx: Ctx,
    id: &str,
    which: &str,
    refused: Option<(std::collections::HashMap<String, String>, ApiError)>,
) -> Response {
    let lang = ctx.lang;
    if let Err(e) = admin.needs(AdminRole::Admin) {
        return ctx.refused(Some(&admin), &e);
    }
    let user = match api::target(app, id).await {
        Ok(u) => u,
        Err(e) => return ctx.refused(Some(&admin), &e),
    };
    let who = user.label().to_owned();
    if which == "delete" {
        if user.id == admin.user.id {
            return ctx.error(
                Some(&admin),
                StatusCode::CONFLICT,
                c(lang, "error.own_account"),
            );
        }
        let mut page = ctx.page(
            cf(lang, "action.delete.question", &[("who", &who)]),
            Some(&admin),
        );
        page.confirm = Some(Confirm {
            action: format!("/admin/users/{}/delete", user.id),
            explain: c(lang, "action.delete.explain"),
            submit: c(lang, "action.delete"),
            danger: true,
            cancel_href: format!("/admin/users/{}", user.id),
            cancel: c(lang, "cancel"),
        });
        return ctx.respond(page, StatusCode::OK);
    }
    let mut page = ctx.page(c(lang, "action.edit"), Some(&admin));
    page.lead = Some(c(lang, "action.edit.lead"));
    let typed = refused.as_ref().map(|(f, _)| f);
    let value = |name: &str, now: &Option<String>| {
        typed
            .and_then(|f| f.get(name).cloned())
            .unwrap_or_else(|| now.clone().unwrap_or_default())
    };
    page.form = Some(EditForm {
        action: format!("/admin/users/{}/edit", user.id),
        fields: vec![
            FormField {
                name: "name",
                label: c(lang, "col.name"),
                value: value("name", &user.name),
                kind: "text",
                hint: None,
            },
            FormField {
                name: "email",
                label: c(lang, "col.email"),
                value: value("email", &user.email),
                kind: "email",
                hint: None,
            },
            FormField {
                name: "phone",
                label: c(lang, "col.phone"),
                value: value("phone", &user.phone),
                kind: "tel",
                hint: None,
            },
            FormField {
                name: "username",
                label: c(lang, "col.username"),
                value: value("username", &user.username),
                kind: "text",
                hint: None,
            },
        ],
        submit: c(lang, "action.edit.submit"),
        cancel_href: format!("/admin/users/{}", user.id),
        cancel: c(lang, "cancel"),
    });
    let status = match &refused {
        Some((_, e)) => {
            page.error = Some(form_error(lang, e));
            StatusCode::from_u16(e.code().http_status()).unwrap_or(StatusCode::BAD_REQUEST)
        }
        None => StatusCode::OK,
    };
    ctx.respond(page, status)
}

fn new_form(lang: Lang, typed: &std::collections::HashMap<String, String>) -> EditForm {
    let v = |k: &str| typed.get(k).cloned().unwrap_or_default();
    EditForm {
        action: "/admin/new".into(),
        fields: vec![
            FormField {
                name: "email",
                label: c(lang, "col.email"),
                value: v("email"),
                kind: "email",
                hint: None,
            },
            FormField {
                name: "phone",
                label: c(lang, "col.phone"),
                value: v("phone"),
                kind: "tel",
                hint: None,
            },
            FormField {
                name: "username",
                label: c(lang, "col.username"),
                value: v("username"),
                kind: "text",
                hint: None,
            },
            FormField {
                name: "name",
                label: c(lang, "col.name"),
                value: v("name"),
                kind: "text",
                hint: None,
            },
            FormField {
                name: "organisation",
                label: c(lang, "field.organisation"),
                value: v("organisation"),
                kind: "text",
                hint: None,
            },
            FormField {
                name: "locale",
                label: c(lang, "field.locale"),
                value: v("locale"),
                kind: "text",
                hint: None,
            },
        ],
        submit: c(lang, "new.submit"),
        cancel_href: "/admin".into(),
        cancel: c(lang, "cancel"),
    }
}

/// `GET /admin/new`: the form of a new account (admins).
async fn new_account(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Query(q): Query<LangQuery>,
) -> Response {
    let ctx = Ctx::new(&app, &headers, q.lang.as_deref(), "/admin/new");
    let (admin, ctx) = match signed_in_as(&app, &headers, &ip, ctx, AdminRole::Admin).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    let mut page = ctx.page(c(lang, "new.title"), Some(&admin));
    page.lead = Some(c(lang, "new.lead"));
    page.form = Some(new_form(lang, &Default::default()));
    ctx.respond(page, StatusCode::OK)
}

/// `POST /admin/new`: creates it; its temporary password is shown once.
async fn create_account(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Response {
    let ctx = Ctx::new(&app, &headers, None, "/admin/new");
    let (admin, ctx, form) = match posted(&app, &headers, &ip, ctx, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    let field = |k: &str| form.get(k).cloned().filter(|v| !v.trim().is_empty());
    let req = latchkey_proto::CreateUserRequest {
        email: field("email"),
        phone: field("phone"),
        username: field("username"),
        name: field("name"),
        organisation: field("organisation"),
        locale: field("locale"),
    };
    match api::create_account(&app, &admin, req).await {
        Ok(created) => {
            let who = created
                .user
                .email
                .clone()
                .or(created.user.username.clone())
                .or(created.user.phone.clone())
                .unwrap_or_default();
            let mut page = ctx.page(c(lang, "new.title"), Some(&admin));
            page.secret = Some((
                cf(lang, "new.done", &[("who", &who)]),
                created.password.expose().to_owned(),
            ));
            page.links.push(Link {
                href: format!("/admin/users/{}", created.user.id),
                label: who,
            });
            ctx.respond(page, StatusCode::CREATED)
        }
        Err(e)
            if matches!(
                e.code(),
                ErrorCode::InvalidRequest | ErrorCode::Conflict | ErrorCode::PasswordRejected
            ) =>
        {
            let mut page = ctx.page(c(lang, "new.title"), Some(&admin));
            page.lead = Some(c(lang, "new.lead"));
            page.error = Some(form_error(lang, &e));
            page.form = Some(new_form(lang, &form));
            let status =
                StatusCode::from_u16(e.code().http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            ctx.respond(page, status)
        }
        Err(e) => ctx.refused(Some(&admin), &e),
    }
}

/// The maintenance page: its state, and the form that turns it on, or the button that
/// turns it off.
async fn maintenance_view(
    app: &AppState,
    admin: &Admin,
    ctx: &Ctx,
    typed: &std::collections::HashMap<String, String>,
) -> Result<Page, ApiError> {
    let lang = ctx.lang;
    let switches = app.switches().await?;
    let mut page = ctx.page(c(lang, "maintenance.title"), Some(admin));
    match &switches.maintenance {
        Some(m) => {
            page.lead = Some(cf(lang, "maintenance.on_lead", &[("message", &m.message)]));
            page.confirm = Some(Confirm {
                action: "/admin/maintenance".into(),
                explain: c(lang, "maintenance.off_explain"),
                submit: c(lang, "maintenance.off"),
                danger: false,
                cancel_href: "/admin".into(),
                cancel: c(lang, "cancel"),
            });
        }
        None => {
            page.lead = Some(c(lang, "maintenance.off_lead"));
            let v = |k: &str| typed.get(k).cloned().unwrap_or_default();
            page.form = Some(EditForm {
                action: "/admin/maintenance".into(),
                fields: vec![
                    FormField {
                        name: "message",
                        label: c(lang, "maintenance.message"),
                        value: v("message"),
                        kind: "text",
                        hint: None,
                    },
                    FormField {
                        name: "until",
                        label: c(lang, "maintenance.until"),
                        value: v("until"),
                        kind: "text",
                        hint: None,
                    },
                ],
                submit: c(lang, "maintenance.on"),
                cancel_href: "/admin".into(),
                cancel: c(lang, "cancel"),
            });
        }
    }
    Ok(page)
}

/// `GET /admin/maintenance` (admins).
async fn maintenance_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Query(q): Query<LangQuery>,
) -> Response {
    let ctx = Ctx::new(&app, &headers, q.lang.as_deref(), "/admin/maintenance");
    let (admin, ctx) = match signed_in_as(&app, &headers, &ip, ctx, AdminRole::Admin).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match maintenance_view(&app, &admin, &ctx, &Default::default()).await {
        Ok(page) => ctx.respond(page, StatusCode::OK),
        Err(e) => ctx.refused(Some(&admin), &e),
    }
}

/// `POST /admin/maintenance`: on with the message typed (a form with `message`), or
/// off (the confirmation, which has none).
async fn set_maintenance(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Response {
    let ctx = Ctx::new(&app, &headers, None, "/admin/maintenance");
    let (admin, ctx, form) = match posted(&app, &headers, &ip, ctx, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    let on = form.get("message").map(|m| latchkey_proto::Maintenance {
        message: m.trim().to_owned(),
        until: form
            .get("until")
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty()),
    });
    let outcome = api::change_maintenance(&app, &admin, on).await;
    let (typed, error) = match outcome {
        Ok(()) => (Default::default(), None),
        Err(e) if e.code() == ErrorCode::InvalidRequest => (form, Some(e)),
        Err(e) => return ctx.refused(Some(&admin), &e),
    };
    match maintenance_view(&app, &admin, &ctx, &typed).await {
        Ok(mut page) => {
            let status = match &error {
                Some(e) => {
                    page.error = Some(form_error(lang, e));
                    StatusCode::BAD_REQUEST
                }
                None => StatusCode::OK,
            };
            ctx.respond(page, status)
        }
        Err(e) => ctx.refused(Some(&admin), &e),
    }
}

/// The policies form: one field a key, holding the console's own value (empty: not
/// set here), with what is in force and where it comes from.
fn policies_form(lang: Lang, entries: &[crate::policy::Entry]) -> EditForm {
    let shown = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let fields = entries
        .iter()
        .map(|e| {
            let source = match e.source {
                crate::policy::EntrySource::Default => "policies.source.default",
                crate::policy::EntrySource::Console => "policies.source.console",
                crate::policy::EntrySource::File => "policies.source.file",
                crate::policy::EntrySource::Environment => "policies.source.environment",
            };
            FormField {
                name: crate::policy::KEYS
                    .iter()
                    .find(|k| **k == e.key)
                    .copied()
                    .unwrap_or(""),
                label: format!("{} ({})", c(lang, &format!("policy.{}", e.key)), e.key),
                value: e.console.as_ref().map(shown).unwrap_or_default(),
                kind: "text",
                hint: Some(cf(lang, source, &[("value", &shown(&e.value))])),
            }
        })
        .collect();
    EditForm {
        action: "/admin/policies".into(),
        fields,
        submit: c(lang, "policies.submit"),
        cancel_href: "/admin".into(),
        cancel: c(lang, "cancel"),
    }
}

/// `GET /admin/policies` (admins): the policies, what is in force and from where.
async fn policies_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Query(q): Query<LangQuery>,
) -> Response {
    let ctx = Ctx::new(&app, &headers, q.lang.as_deref(), "/admin/policies");
    let (admin, ctx) = match signed_in_as(&app, &headers, &ip, ctx, AdminRole::Admin).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let stored = match app.switches().await {
        Ok(s) => crate::policy::parse(s.policy.as_deref()),
        Err(e) => return ctx.refused(Some(&admin), &ApiError::from(e)),
    };
    let lang = ctx.lang;
    let mut page = ctx.page(c(lang, "policies.title"), Some(&admin));
    page.lead = Some(c(lang, "policies.lead"));
    page.form = Some(policies_form(lang, &app.live.describe(&stored)));
    ctx.respond(page, StatusCode::OK)
}

/// `POST /admin/policies`: every field at once; an empty one gives the key back to
/// the default. A value that does not fit is refused with its key, and nothing is
/// stored.
async fn save_policies(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Response {
    let ctx = Ctx::new(&app, &headers, None, "/admin/policies");
    let (admin, ctx, form) = match posted(&app, &headers, &ip, ctx, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    // A number or true/false as such, anything else as text.
    let changes: crate::policy::Stored = crate::policy::KEYS
        .iter()
        .filter_map(|k| {
            let raw = form.get(*k)?.trim();
            let value = if raw.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::from_str::<serde_json::Value>(raw)
                    .ok()
                    .filter(|v| v.is_number() || v.is_boolean())
                    .unwrap_or_else(|| serde_json::Value::String(raw.to_owned()))
            };
            Some(((*k).to_owned(), value))
        })
        .collect();
    match api::change_policies(&app, &admin, &changes).await {
        Ok(entries) => {
            let mut page = ctx.page(c(lang, "policies.title"), Some(&admin));
            page.lead = Some(c(lang, "policies.lead"));
            page.notice = Some(c(lang, "policies.saved"));
            page.form = Some(policies_form(lang, &entries));
            ctx.respond(page, StatusCode::OK)
        }
        Err(e) if e.code() == ErrorCode::InvalidRequest => {
            let stored = match app.switches().await {
                Ok(s) => crate::policy::parse(s.policy.as_deref()),
                Err(e) => return ctx.refused(Some(&admin), &ApiError::from(e)),
            };
            let mut page = ctx.page(c(lang, "policies.title"), Some(&admin));
            page.lead = Some(c(lang, "policies.lead"));
            page.error = Some(form_error(lang, &e));
            let mut form_entries = app.live.describe(&stored);
            // What was typed stays in the form.
            for entry in &mut form_entries {
                entry.console = changes.get(&entry.key).filter(|v| !v.is_null()).cloned();
            }
            page.form = Some(policies_form(lang, &form_entries));
            ctx.respond(page, StatusCode::BAD_REQUEST)
        }
        Err(e) => ctx.refused(Some(&admin), &e),
    }
}

fn import_form(lang: Lang, csv: String, dry_run: bool) -> EditForm {
    EditForm {
        action: "/admin/import".into(),
        fields: vec![
            FormField {
                name: "csv",
                label: c(lang, "import.csv"),
                value: csv,
                kind: "textarea",
                hint: Some(c(lang, "import.lead")),
            },
            FormField {
                name: "dry_run",
                label: c(lang, "import.dry_run"),
                value: if dry_run { "1".into() } else { String::new() },
                kind: "checkbox",
                hint: None,
            },
        ],
        submit: c(lang, "import.submit"),
        cancel_href: "/admin".into(),
        cancel: c(lang, "cancel"),
    }
}

/// `GET /admin/import`: the CSV form (admins).
async fn import_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Query(q): Query<LangQuery>,
) -> Response {
    let ctx = Ctx::new(&app, &headers, q.lang.as_deref(), "/admin/import");
    let (admin, ctx) = match signed_in_as(&app, &headers, &ip, ctx, AdminRole::Admin).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    let mut page = ctx.page(c(lang, "import.title"), Some(&admin));
    page.form = Some(import_form(lang, "email,phone,name\n".into(), true));
    ctx.respond(page, StatusCode::OK)
}

/// `POST /admin/import`: the report line by line, and the form again (to fix the file
/// and run it for real).
async fn import_accounts(
    State(app): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Response {
    let ctx = Ctx::new(&app, &headers, None, "/admin/import");
    let (admin, ctx, form) = match posted(&app, &headers, &ip, ctx, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = ctx.lang;
    let csv = form.get("csv").cloned().unwrap_or_default();
    let dry_run = form.get("dry_run").is_some_and(|v| v == "1");
    let req = latchkey_proto::ImportRequest {
        csv: csv.clone(),
        dry_run,
    };
    let mut page = ctx.page(c(lang, "import.title"), Some(&admin));
    match api::import_accounts(&app, &admin, req).await {
        Ok(report) => {
            let would = report
                .lines
                .iter()
                .filter(|l| l.status == latchkey_proto::ImportStatus::WouldCreate)
                .count();
            let (created, existing, errors) = (
                report.created.to_string(),
                report.existing.to_string(),
                report.errors.to_string(),
            );
            let summary = if report.created == 0 && (dry_run || report.errors > 0) {
                cf(
                    lang,
                    "import.summary_dry",
                    &[
                        ("would", &would.to_string()),
                        ("existing", &existing),
                        ("errors", &errors),
                    ],
                )
            } else {
                cf(
                    lang,
                    "import.summary",
                    &[
                        ("created", &created),
                        ("existing", &existing),
                        ("errors", &errors),
                    ],
                )
            };
            if report.errors > 0 {
                page.error = Some(summary);
            } else {
                page.notice = Some(summary);
            }
            page.tables.push(Table {
                caption: c(lang, "import.caption"),
                headers: ["col.line", "col.account", "col.status", "col.password"]
                    .iter()
                    .map(|k| c(lang, k))
                    .collect(),
                rows: report
                    .lines
                    .iter()
                    .map(|l| {
                        let status = serde_json::to_value(l.status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default();
                        let mut said = c(lang, &format!("import.status.{status}"));
                        if let Some(m) = &l.message {
                            said = format!(
                                "{said}: {}{m}",
                                l.field
                                    .as_deref()
                                    .map(|f| format!("{f}: "))
                                    .unwrap_or_default()
                            );
                        }
                        vec![
                            cell(l.line.to_string()),
                            cell(l.label.clone().unwrap_or_default()),
                            cell(said),
                            cell(
                                l.password
                                    .as_ref()
                                    .map(|p| p.expose().to_owned())
                                    .unwrap_or_default(),
                            ),
                        ]
                    })
                    .collect(),
                empty: String::new(),
            });
            page.form = Some(import_form(
                lang,
                if report.created > 0 {
                    String::new()
                } else {
                    csv
                },
                dry_run && report.created == 0,
            ));
            ctx.respond(page, StatusCode::OK)
        }
        Err(e) => {
            page.error = Some(form_error(lang, &e));
            page.form = Some(import_form(lang, csv, dry_run));
            ctx.respond(page, StatusCode::BAD_REQUEST)
        }
    }
}

//! Every form of the sign-in pages needs this browser's CSRF token, not only the
//! password, consent and sign-out forms (`refusals.rs`): the second factor, the
//! new-device code, the forced change and each step of a password reset. A form
//! posted without it, or with another token, is refused with 403 and changes nothing:
//! the same answers with the right token then go through.

use latchkey_server::admin::AddUser;
use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend, TestServer};

use super::*;

on_both!(
    the_second_factor_form_needs_the_csrf_token,
    the_device_code_form_needs_the_csrf_token,
    the_forced_change_form_needs_the_csrf_token,
    the_reset_forms_need_the_csrf_token,
);

/// A missing token, and one that is well formed but not this browser's.
const FORGED: [&str; 2] = ["", "0123456789abcdef0123456789abcdef"];

/// Posts `page`'s form with `fields`, as `Browser::submit` does but with `csrf` as its
/// CSRF field; asserts the refusal.
async fn refused(browser: &mut Browser, page: &Got, fields: &[(&str, &str)]) {
    for csrf in FORGED {
        let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf.into())];
        for name in ["step", "method"] {
            if let Some(v) = page.input(name) {
                form.push((name.into(), v));
            }
        }
        form.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let got = browser.post(&page.action(), &pairs).await;
        assert_eq!(got.status, 403, "{csrf:?}: {}", got.body);
        assert!(got.location.is_none(), "{csrf:?}: {:?}", got.location);
    }
}

const NEW: &str = "Quiet-orchard-7731";

async fn the_second_factor_form_needs_the_csrf_token(b: Backend) {
    let Some(srv) = crate::api::totp::start(b).await else {
        return;
    };
    let enabled = crate::api::totp::enabled_user(&srv, "li@corp.cn").await;
    register(&srv, "crm", |_| {}).await;
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let step = browser.password(&page, "li@corp.cn", PASSWORD).await;
    assert_eq!(step.field_with("one-time-code").as_deref(), Some("code"));
    let code = crate::api::totp::code(&srv, &enabled.secret, 0);
    refused(&mut browser, &step, &[("code", &code)]).await;
    assert!(!browser.cookies.contains_key("latchkey_sso"));
    // The refused posts used neither the code nor a try.
    let done = browser.submit(&step, &[("code", &code)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.redirect_params().contains_key("code"));
}

async fn the_device_code_form_needs_the_csrf_token(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("zhao@corp.cn", PASSWORD).await;
    register(&srv, "crm", |_| {}).await;
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let before = srv.smtp.messages().len();
    let step = browser.password(&page, "zhao@corp.cn", PASSWORD).await;
    assert_eq!(step.field_with("one-time-code").as_deref(), Some("code"));
    let code = srv.smtp.code_after(before).await;
    refused(&mut browser, &step, &[("code", &code)]).await;
    assert!(!browser.cookies.contains_key("latchkey_sso"));
    let done = browser.submit(&step, &[("code", &code)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
}

async fn the_forced_change_form_needs_the_csrf_token(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add(
        AddUser {
            email: Some("qiao@corp.cn".into()),
            temporary: true,
            ..AddUser::default()
        },
        "Lantern-harbor-2026x",
    )
    .await;
    register(&srv, "crm", |_| {}).await;
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let change = browser
        .password(&page, "qiao@corp.cn", "Lantern-harbor-2026x")
        .await;
    assert_eq!(
        change.field_with("new-password").as_deref(),
        Some("new_password")
    );
    let fields = [("new_password", NEW), ("confirm_password", NEW)];
    refused(&mut browser, &change, &fields).await;
    // The password is still the temporary one.
    let (_, body) = srv.login_raw("qiao@corp.cn", NEW).await;
    assert_eq!(body["code"], "invalid_credentials", "{body}");
    let done = browser.submit(&change, &fields).await;
    assert_eq!(done.status, 303, "{}", done.body);
    srv.login("qiao@corp.cn", NEW).await;
}

async fn the_reset_forms_need_the_csrf_token(b: Backend) {
    let Some(srv) = TestServer::start(b, |c| c.devices.verify_new = false).await else {
        return;
    };
    srv.add_user("sun@corp.cn", PASSWORD).await;
    register(&srv, "crm", |_| {}).await;
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let start = browser.get(&format!("{}?reset=1", page.action())).await;
    assert_eq!(start.field_with("username").as_deref(), Some("identifier"));
    // Asking for a code: nothing is sent.
    let before = srv.smtp.messages().len();
    refused(&mut browser, &start, &[("identifier", "sun@corp.cn")]).await;
    let sent = browser
        .submit(&start, &[("identifier", "sun@corp.cn")])
        .await;
    let code_page = browser.follow_local(sent).await;
    let code = srv.smtp.code_after(before).await;
    assert_eq!(
        srv.smtp.messages().len(),
        before + 1,
        "one code, for the real post"
    );
    // The code: not taken from a forged form.
    assert_eq!(
        code_page.field_with("one-time-code").as_deref(),
        Some("code")
    );
    refused(&mut browser, &code_page, &[("code", &code)]).await;
    let verified = browser.submit(&code_page, &[("code", &code)]).await;
    let new_page = browser.follow_local(verified).await;
    // The new password: not set from a forged form.
    assert_eq!(
        new_page.field_with("new-password").as_deref(),
        Some("new_password")
    );
    let fields = [("new_password", NEW), ("confirm_password", NEW)];
    refused(&mut browser, &new_page, &fields).await;
    let (_, body) = srv.login_raw("sun@corp.cn", NEW).await;
    assert_eq!(body["code"], "invalid_credentials", "{body}");
    let done = browser.submit(&new_page, &fields).await;
    assert_eq!(done.status, 200, "{}", done.body);
    srv.login("sun@corp.cn", NEW).await;
}

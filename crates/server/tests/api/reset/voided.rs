//! A password set by any path voids the account's outstanding reset links and codes
//! (issue 13): the admin command `user reset-password`, the console's temporary
//! password, the forced change, and `demo` (which puts the demo password back). The
//! account page's change is in `review.rs`.

use latchkey_proto::AdminRole;
use latchkey_server::admin::{DEMO_EMAIL, DEMO_PASSWORD};
use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::smtp::SmtpSink;
use latchkey_testkit::{on_both, Backend, TestServer};
use reqwest::Method;
use serde_json::json;

use super::super::admin::grant;
use super::super::admin_cli::cli;
use super::super::totp::enabled_user;
use super::{code_mail, complete, link_token, started_id, verify, with_smtp};

on_both!(
    the_admin_command_voids_reset_links_and_codes,
    a_temporary_password_voids_reset_links_and_codes,
    a_forced_change_voids_reset_links_and_codes,
    demo_voids_reset_links_and_codes,
);

const TEMP_PASSWORD: &str = "Saffron-glacier-pelican-58";

/// A reset of `identifier` in flight: its id, the mailed code and the link's token.
struct Outstanding {
    id: String,
    code: String,
    link: String,
}

/// Starts a reset of `identifier`; its mail is the `n`-th with a code.
async fn outstanding(srv: &TestServer, sink: &SmtpSink, identifier: &str, n: usize) -> Outstanding {
    let id = started_id(srv, identifier).await;
    let mail = code_mail(sink, n).await;
    Outstanding {
        id,
        code: mail.code().unwrap(),
        link: link_token(&mail),
    }
}

/// Neither the code nor the link of `reset` works any more.
async fn void(srv: &TestServer, reset: &Outstanding) {
    let (s, body) = verify(srv, &reset.id, &reset.code).await;
    assert_error(s, &body, 401, "token_invalid");
    let (s, body) = complete(srv, &reset.link, "Yet-another-passphrase-51").await;
    assert_error(s, &body, 401, "token_invalid");
}

async fn reset_password(srv: &TestServer, email: &str) {
    cli(
        srv,
        &[
            "user",
            "reset-password",
            "--identifier",
            email,
            "--password-stdin",
        ],
        Some(&format!("{TEMP_PASSWORD}\n")),
    )
    .await
    .ok();
}

async fn the_admin_command_voids_reset_links_and_codes(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user("cli-void@corp.cn", PASSWORD).await;
    let reset = outstanding(&srv, &sink, "cli-void@corp.cn", 1).await;
    reset_password(&srv, "cli-void@corp.cn").await;
    void(&srv, &reset).await;
}

async fn a_temporary_password_voids_reset_links_and_codes(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    let admin = enabled_user(&srv, "it@corp.cn").await;
    grant(&srv, &admin.user_id, AdminRole::Helpdesk).await;
    let id = srv.add_user("temp-void@corp.cn", PASSWORD).await.id;
    let reset = outstanding(&srv, &sink, "temp-void@corp.cn", 1).await;
    let (s, body) = srv
        .call(
            Method::POST,
            &format!("/admin/v1/users/{id}/temporary-password"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    void(&srv, &reset).await;
}

async fn a_forced_change_voids_reset_links_and_codes(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user("forced-void@corp.cn", PASSWORD).await;
    reset_password(&srv, "forced-void@corp.cn").await;
    let reset = outstanding(&srv, &sink, "forced-void@corp.cn", 1).await;
    let (s, body) = srv.login_raw("forced-void@corp.cn", TEMP_PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "password_change_required", "{body}");
    let change_token = body["change_token"].as_str().unwrap();
    let (s, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": change_token, "new_password": OTHER_PASSWORD}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    void(&srv, &reset).await;
}

async fn demo_voids_reset_links_and_codes(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    cli(&srv, &["demo"], None).await.ok();
    let reset = outstanding(&srv, &sink, DEMO_EMAIL, 1).await;
    cli(&srv, &["demo"], None).await.ok();
    void(&srv, &reset).await;
    srv.login(DEMO_EMAIL, DEMO_PASSWORD).await;
}

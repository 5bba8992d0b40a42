//! The applications of the OpenID Connect provider from the CLI (issue 15): `client
//! show`, `client rotate-secret` (the old secret is refused at the token endpoint at
//! once) and `client remove` (what the application was issued stops working), each
//! effect checked over HTTP as the application would meet it. `client add` and
//! `client list` are in `roles.rs`.

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend, TestServer};
use reqwest::StatusCode;

use super::{cli_env, Run};
use crate::api::oidc::{exchange_code, server, Browser, REDIRECT};

on_both!(show_rotate_secret_and_remove_an_application);

async fn run(srv: &TestServer, args: &[&str]) -> Run {
    let base = srv.base();
    let env = [
        ("LATCHKEY_SECRET_KEY", crate::api::totp::KEY),
        ("LATCHKEY_OIDC__ISSUER", base.as_str()),
    ];
    cli_env(srv, args, None, &env).await
}

/// The `client_secret: …` line of a command's output.
fn secret_of(run: &Run) -> String {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap_or_else(|| panic!("no secret printed: {run:#?}"))
        .trim()
        .to_owned()
}

/// A fresh code for `crm` from a browser signed in already.
async fn code(browser: &mut Browser) -> String {
    let got = browser.authorize("crm", &[]).await;
    got.redirect_params()["code"].clone()
}

async fn show_rotate_secret_and_remove_an_application(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("he@corp.cn", PASSWORD).await;
    let added = run(
        &srv,
        &[
            "client",
            "add",
            "--id",
            "crm",
            "--name",
            "CRM 客户管理",
            "--redirect-uri",
            REDIRECT,
            "--first-party",
        ],
    )
    .await;
    let first = secret_of(added.ok());
    run(
        &srv,
        &[
            "client",
            "add",
            "--id",
            "desk",
            "--name",
            "Desk",
            "--redirect-uri",
            "http://127.0.0.1/callback",
            "--public",
        ],
    )
    .await
    .ok();

    // show: what was registered, and never a secret.
    let shown = run(&srv, &["client", "show", "--id", "crm"]).await;
    shown
        .ok()
        .stdout_has("client_id: crm")
        .stdout_has("name: CRM 客户管理")
        .stdout_has("type: confidential")
        .stdout_has(&format!("redirect_uri: {REDIRECT}"))
        .stdout_has("first_party: true")
        .stdout_has("require_2fa: false")
        .hides(&first);
    assert!(!shown.stdout.contains("secret"), "{shown:#?}");
    run(&srv, &["client", "show", "--id", "desk"])
        .await
        .ok()
        .stdout_has("type: public");
    run(&srv, &["client", "show", "--id", "nobody"])
        .await
        .failed()
        .stderr_has("nobody");

    let mut browser = Browser::new(&srv);
    let page = browser
        .authorize("crm", &[("scope", "openid offline_access")])
        .await;
    let got = browser.password(&page, "he@corp.cn", PASSWORD).await;
    let (status, tokens) =
        exchange_code(&srv, "crm", Some(&first), &got.redirect_params()["code"]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();

    // rotate-secret: a new secret, printed once; the old one is refused at once.
    let rotated = run(&srv, &["client", "rotate-secret", "--id", "crm"]).await;
    let second = secret_of(rotated.ok());
    assert_ne!(second, first);
    let (status, body) = exchange_code(&srv, "crm", Some(&first), &code(&mut browser).await).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    let (status, body) = exchange_code(&srv, "crm", Some(&second), &code(&mut browser).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    run(&srv, &["client", "show", "--id", "crm"])
        .await
        .ok()
        .hides(&second);
    // A public application has no secret to rotate.
    run(&srv, &["client", "rotate-secret", "--id", "desk"])
        .await
        .failed()
        .stderr_has("public");

    // remove: gone from the list and the sign-in, and what it was issued is revoked.
    run(&srv, &["client", "remove", "--id", "crm"]).await.ok();
    let r = reqwest::Client::new()
        .get(format!("{}/oidc/userinfo", srv.base()))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    run(&srv, &["client", "show", "--id", "crm"]).await.failed();
    let listed = run(&srv, &["client", "list"]).await;
    assert!(!listed.ok().stdout.contains("crm"), "{listed:#?}");
    let page = browser.authorize("crm", &[]).await;
    assert!(page.location.is_none(), "no redirect for an unknown client");
    assert!(page.status.is_client_error(), "{}", page.status);
    run(&srv, &["client", "remove", "--id", "crm"])
        .await
        .failed();
}

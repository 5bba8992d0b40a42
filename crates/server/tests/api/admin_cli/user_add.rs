//! `user add`: signing in afterwards, its refusals, the password only on stdin.

use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

use super::{add_user, cli, cli_env, listed, TEMP_PASSWORD};

on_both!(
    user_add_then_sign_in,
    user_add_refusals,
    user_add_requires_password_stdin,
);

async fn user_add_then_sign_in(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "li.na@corp.example";
    add_user(&srv, email, PASSWORD).await.ok().stdout_has(email);
    let session = srv.login(email, PASSWORD).await;
    assert_eq!(session.user.email.as_deref(), Some(email));
    assert_eq!(session.user.name.as_deref(), Some("Li Na 李娜"));
    let line = listed(&srv, email).await;
    assert!(line.contains("active"), "{line}");
    assert!(line.contains("李娜"), "{line}");
    // Mixed-case input is the same account.
    srv.login("Li.Na@Corp.Example", PASSWORD).await;

    // Phone and username only; a password given without a trailing newline.
    let run = cli(
        &srv,
        &[
            "user",
            "add",
            "--phone",
            "138 0013 8001",
            "--username",
            "zhang.wei",
            "--password-stdin",
        ],
        Some(OTHER_PASSWORD),
    )
    .await;
    run.ok().hides(OTHER_PASSWORD);
    srv.login("zhang.wei", OTHER_PASSWORD).await;
    srv.login("+8613800138001", OTHER_PASSWORD).await;

    // Even at the most verbose log level, no password is printed.
    let run = cli_env(
        &srv,
        &[
            "user",
            "add",
            "--email",
            "verbose@corp.example",
            "--password-stdin",
        ],
        Some(&format!("{TEMP_PASSWORD}\n")),
        &[("LATCHKEY_LOG", "trace")],
    )
    .await;
    run.ok().hides(TEMP_PASSWORD);
    srv.login("verbose@corp.example", TEMP_PASSWORD).await;
}

async fn user_add_refusals(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "dup@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    // The same account again, by any spelling of its e-mail.
    add_user(&srv, email, OTHER_PASSWORD)
        .await
        .failed()
        .stderr_has("already exists");
    add_user(&srv, "DUP@Corp.Example", OTHER_PASSWORD)
        .await
        .failed()
        .stderr_has("already exists");
    // The first password still signs in; the second was never set.
    srv.login(email, PASSWORD).await;
    let (status, body) = srv.login_raw(email, OTHER_PASSWORD).await;
    assert_error(status, &body, 401, "invalid_credentials");

    // Weak passwords are refused with the reason, and not echoed.
    add_user(&srv, "weak@corp.example", "Qz9!x")
        .await
        .failed()
        .stderr_has("too_short");
    add_user(&srv, "weak@corp.example", "woaini5201314")
        .await
        .failed()
        .stderr_has("policy");
    add_user(&srv, "weak@corp.example", "weak@corp.example1")
        .await
        .failed()
        .stderr_has("policy");
    let (status, body) = srv.login_raw("weak@corp.example", "woaini5201314").await;
    assert_error(status, &body, 401, "invalid_credentials");

    // An empty password on stdin, or none at all.
    cli(
        &srv,
        &[
            "user",
            "add",
            "--email",
            "empty@corp.example",
            "--password-stdin",
        ],
        Some("\n"),
    )
    .await
    .failed()
    .stderr_has("no password");
    cli(
        &srv,
        &[
            "user",
            "add",
            "--email",
            "empty@corp.example",
            "--password-stdin",
        ],
        None,
    )
    .await
    .failed()
    .stderr_has("no password");
    // Malformed identifiers, or none.
    cli(
        &srv,
        &["user", "add", "--email", "not-an-email", "--password-stdin"],
        Some(PASSWORD),
    )
    .await
    .failed()
    .stderr_has("--email")
    .hides(PASSWORD);
    cli(
        &srv,
        &["user", "add", "--name", "Nobody", "--password-stdin"],
        Some(PASSWORD),
    )
    .await
    .failed()
    .stderr_has("--email")
    .hides(PASSWORD);
    let list = cli(&srv, &["user", "list"], None).await;
    list.ok();
    assert!(
        !list.stdout.contains("weak@") && !list.stdout.contains("empty@"),
        "{list:#?}"
    );
}

async fn user_add_requires_password_stdin(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "argv@corp.example";
    // Without --password-stdin: a usage error, even with a password on stdin.
    let run = cli(&srv, &["user", "add", "--email", email], Some(PASSWORD)).await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    run.stderr_has("--password-stdin").hides(PASSWORD);
    // A password as an argument is not an option at all (and is not echoed back).
    let run = cli(
        &srv,
        &["user", "add", "--email", email, "--password", PASSWORD],
        None,
    )
    .await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    run.hides(PASSWORD);
    let run = cli(
        &srv,
        &["user", "reset-password", "--identifier", email],
        Some(PASSWORD),
    )
    .await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    run.stderr_has("--password-stdin");
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 401, "invalid_credentials");
    // Unknown commands and a missing subcommand are usage errors too.
    assert_eq!(cli(&srv, &["user", "frobnicate"], None).await.code, Some(2));
    assert_eq!(cli(&srv, &["user"], None).await.code, Some(2));
    assert_eq!(cli(&srv, &["maintenance", "on"], None).await.code, Some(2));
}

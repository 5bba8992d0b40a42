//! Password changes of directory accounts go to the directory (checked with an
//! independent `ldapwhoami`): the account page's change (as the person), the password
//! reset and the forced change after a temporary password (by the service account).
//! Latchkey's policy applies first; the directory's own refusal comes back readable.

use latchkey_proto::Secret;
use latchkey_server::admin;
use latchkey_testkit::api::assert_error;
use latchkey_testkit::slapd::DIRECTORY_MIN_LENGTH;
use latchkey_testkit::{on_both, Backend};
use serde_json::json;

use super::{dn, with_directory, EMAIL, NEW_PASSWORD, PASSWORD, UID};

on_both!(
    the_account_page_change_is_written_to_the_directory,
    the_reset_and_the_forced_change_are_written_to_the_directory,
);

/// Strong for Latchkey, one character short of the directory's minimum.
const SHORT_FOR_THE_DIRECTORY: &str = "Quokka-ferns-83";

async fn the_account_page_change_is_written_to_the_directory(b: Backend) {
    let Some((srv, slapd, _sink)) = with_directory(b, false, |_| {}).await else {
        return;
    };
    assert!(SHORT_FOR_THE_DIRECTORY.len() < DIRECTORY_MIN_LENGTH);
    let session = srv.login(UID, PASSWORD).await;
    let token = session.access_token.expose().to_owned();
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    // Latchkey's policy first: the directory is not asked.
    let (s, body) = srv
        .call(
            reqwest::Method::POST,
            "/v1/me/password",
            Some(&token),
            Some(change(PASSWORD, "password123")),
        )
        .await;
    assert_error(s, &body, 422, "password_rejected");
    assert!(
        !body["reasons"].to_string().contains("directory_policy"),
        "{body}"
    );
    // A wrong current password is checked by the directory, under Latchkey's lockout.
    let (s, body) = srv
        .call(
            reqwest::Method::POST,
            "/v1/me/password",
            Some(&token),
            Some(change(NEW_PASSWORD, NEW_PASSWORD)),
        )
        .await;
    assert_error(s, &body, 403, "current_password_invalid");
    // The directory's own rule (ppolicy's minimum length): its refusal, readable.
    let (s, body) = srv
        .call(
            reqwest::Method::POST,
            "/v1/me/password",
            Some(&token),
            Some(change(PASSWORD, SHORT_FOR_THE_DIRECTORY)),
        )
        .await;
    assert_error(s, &body, 422, "password_rejected");
    assert_eq!(body["reasons"], json!(["directory_policy"]), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("quality"),
        "the directory's words: {body}"
    );
    assert!(slapd.bind_ok(&dn(UID), PASSWORD), "nothing was written");
    // Accepted by both: written to the directory, as the person.
    let (s, body) = srv
        .call(
            reqwest::Method::POST,
            "/v1/me/password",
            Some(&token),
            Some(change(PASSWORD, NEW_PASSWORD)),
        )
        .await;
    assert_eq!(s, 204, "{body}");
    assert!(slapd.bind_ok(&dn(UID), NEW_PASSWORD));
    assert!(!slapd.bind_ok(&dn(UID), PASSWORD));
    // The directory's history (ppolicy keeps the last 3) refuses going back.
    let (s, body) = srv
        .call(
            reqwest::Method::POST,
            "/v1/me/password",
            Some(&token),
            Some(change(NEW_PASSWORD, PASSWORD)),
        )
        .await;
    assert_error(s, &body, 422, "password_rejected");
    assert!(
        body["message"].as_str().unwrap().contains("history"),
        "{body}"
    );
    srv.login(EMAIL, NEW_PASSWORD).await;
}

async fn the_reset_and_the_forced_change_are_written_to_the_directory(b: Backend) {
    let Some((srv, slapd, sink)) = with_directory(b, false, |_| {}).await else {
        return;
    };
    // Reset: the account exists once the person signed in (or `directory sync` ran).
    srv.login(UID, PASSWORD).await;
    let (s, body) = srv
        .post("/v1/recovery/start", json!({"identifier": EMAIL}))
        .await;
    assert_eq!(s, 202, "{body}");
    let id = body["recovery_id"].as_str().unwrap().to_owned();
    let code = sink.code_after(0).await;
    let (s, body) = srv
        .post(
            "/v1/recovery/verify",
            json!({"recovery_id": id, "code": code}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let reset_token = body["reset_token"].as_str().unwrap().to_owned();
    let (s, body) = srv
        .post(
            "/v1/recovery/complete",
            json!({"reset_token": reset_token, "new_password": SHORT_FOR_THE_DIRECTORY}),
        )
        .await;
    assert_error(s, &body, 422, "password_rejected");
    assert_eq!(body["reasons"], json!(["directory_policy"]), "{body}");
    let (s, body) = srv
        .post(
            "/v1/recovery/complete",
            json!({"reset_token": reset_token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(s, 204, "{body}");
    assert!(slapd.bind_ok(&dn(UID), NEW_PASSWORD));
    assert!(!slapd.bind_ok(&dn(UID), PASSWORD));

    // IT sets a temporary password (written to the directory by the service account);
    // the forced change at the next sign-in is written there too.
    let temporary = "Saffron-glacier-pelican-58";
    admin::reset_password(&srv.state, UID, &Secret::from(temporary))
        .await
        .unwrap();
    assert!(slapd.bind_ok(&dn(UID), temporary));
    let (s, body) = srv.login_raw(UID, temporary).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "password_change_required", "{body}");
    let change_token = body["change_token"].as_str().unwrap().to_owned();
    let final_password = "Walnut-comet-harbor-2026";
    let (s, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": change_token, "new_password": final_password}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(slapd.bind_ok(&dn(UID), final_password));
    assert!(!slapd.bind_ok(&dn(UID), temporary));
    let session = srv.login(UID, final_password).await;
    assert_eq!(session.user.email.as_deref(), Some(EMAIL));
}

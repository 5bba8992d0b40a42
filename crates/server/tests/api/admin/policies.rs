//! Policies IT sets in the console (issue 18): the admin API reads and changes them,
//! every server process on the database applies a change within a second (a second
//! server here, with its own state and pool), each change is in the audit trail, and
//! values that do not fit are refused with the key named. The two-factor requirement:
//! after its grace period a session without TOTP may only set it up.

use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend};
use reqwest::Method;
use serde_json::{json, Value};

use super::{console, grant, person, Console};
use crate::api::totp::{code, post_auth};

on_both!(
    policies_set_in_the_console_apply_in_every_process,
    policies_that_do_not_fit_are_refused,
    two_factor_is_required_after_the_grace_period,
    two_factor_for_admins_only,
    the_oldest_app_version_is_set_and_cleared,
    the_audit_trail_is_kept_as_long_as_it_says,
    the_status_says_what_waits_on_the_person,
);

impl Console {
    async fn put_policies(&self, body: Value) -> (reqwest::StatusCode, Value) {
        self.srv
            .call(
                Method::PUT,
                "/admin/v1/policies",
                Some(&self.admin),
                Some(body),
            )
            .await
    }
}

/// The entry of `key` in a policies answer.
fn entry<'a>(entries: &'a Value, key: &str) -> &'a Value {
    entries
        .as_array()
        .expect("a list")
        .iter()
        .find(|e| e["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {entries}"))
}

async fn policies_set_in_the_console_apply_in_every_process(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    let other = c.srv.sibling(|_| {}).await;
    person(&c.srv, "wu.fang@corp.cn").await;
    let (s, entries) = c.call(&c.helpdesk, Method::GET, "/admin/v1/policies").await;
    assert_eq!(s, 200, "{entries}");
    let threshold = entry(&entries, "lockout.threshold");
    assert_eq!(threshold["value"], 5);
    assert_eq!(threshold["source"], "default");
    assert_eq!(threshold["console"], Value::Null);

    let (s, entries) = c.put_policies(json!({"lockout.threshold": 2})).await;
    assert_eq!(s, 200, "{entries}");
    let threshold = entry(&entries, "lockout.threshold");
    assert_eq!(
        (threshold["value"].clone(), threshold["source"].clone()),
        (json!(2), json!("console"))
    );
    // The other server, within its second: the second wrong password locks (with the
    // default of 5 it would be judged like the first).
    other.let_settings_expire();
    let (s, body) = other.login_raw("wu.fang@corp.cn", "Wrong-password-1").await;
    assert_error(s, &body, 401, "invalid_credentials");
    let (s, body) = other.login_raw("wu.fang@corp.cn", "Wrong-password-1").await;
    assert_error(s, &body, 423, "account_locked");

    // In the trail: who, and the value before and after.
    let (_, trail) = c.call(&c.admin, Method::GET, "/admin/v1/audit").await;
    let change = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "policies")
        .unwrap_or_else(|| panic!("no policies entry in {trail}"));
    assert_eq!(change["actor_id"], c.admin_id.as_str(), "{change}");
    assert_eq!(change["changes"][0]["field"], "lockout.threshold");
    assert_eq!(change["changes"][0]["before"], Value::Null);
    assert_eq!(change["changes"][0]["after"], "2");

    // Given back to the default: the other server too.
    let (s, entries) = c.put_policies(json!({"lockout.threshold": null})).await;
    assert_eq!(s, 200, "{entries}");
    assert_eq!(entry(&entries, "lockout.threshold")["source"], "default");
    other.let_settings_expire();
    let (s, meta) = other.get("/v1/meta", "").await;
    assert_eq!(s, 200, "{meta}");
    assert_eq!(other.state.config().lockout.threshold, 5);
}

async fn policies_that_do_not_fit_are_refused(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    for (body, named) in [
        (json!({"bind": "0.0.0.0:80"}), "bind"),
        (json!({"delivery.secret_key": "00"}), "delivery.secret_key"),
        (json!({"lockout.threshold": "many"}), "lockout.threshold"),
        (json!({"lockout.threshold": 0}), "lockout.threshold"),
        (json!({"password.min_length": 4}), "password.min_length"),
        (
            json!({"two_factor.required": "sometimes"}),
            "two_factor.required",
        ),
        (
            json!({"sessions.refresh_ttl_seconds": -1}),
            "sessions.refresh_ttl_seconds",
        ),
    ] {
        let (s, answer) = c.put_policies(body.clone()).await;
        assert_error(s, &answer, 400, "invalid_request");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{body}: {message}");
    }
    let (s, answer) = c.put_policies(json!(["lockout.threshold", 3])).await;
    assert_error(s, &answer, 400, "invalid_request");
    // Nothing of it was stored.
    let (_, entries) = c.call(&c.admin, Method::GET, "/admin/v1/policies").await;
    for e in entries.as_array().unwrap() {
        assert_eq!(e["source"], "default", "{e}");
    }
    assert_eq!(c.srv.state.config().lockout.threshold, 5);
}

/// Turns TOTP on for the session `token` of an account with [`PASSWORD`].
async fn set_up_totp(c: &Console, token: &str) {
    let (s, enrol) = post_auth(
        &c.srv,
        "/v1/me/totp/enroll",
        token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{enrol}");
    let secret = latchkey_testkit::totp::base32_decode(enrol["secret"].as_str().unwrap());
    let (s, body) = post_auth(
        &c.srv,
        "/v1/me/totp/confirm",
        token,
        json!({"code": code(&c.srv, &secret, 0)}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
}

async fn two_factor_is_required_after_the_grace_period(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    person(&c.srv, "early@corp.cn").await;
    let (s, body) = c
        .put_policies(json!({"two_factor.required": "everyone", "two_factor.grace_days": 7}))
        .await;
    assert_eq!(s, 200, "{body}");
    // In the grace period: signed in as before, and told until when.
    let token = c.srv.login("early@corp.cn", PASSWORD).await.access_token;
    let (s, me) = c.srv.get("/v1/me", token.expose()).await;
    assert_eq!(s, 200, "{me}");
    let by = me["two_factor_required_by"]
        .as_str()
        .expect("a date")
        .to_owned();
    let (s, _) = c.srv.get("/v1/me/sessions", token.expose()).await;
    assert_eq!(s, 200);
    // An account with TOTP is not concerned.
    let (_, me) = c.srv.get("/v1/me", &c.helpdesk).await;
    assert_eq!(me["two_factor_required_by"], Value::Null, "{me}");

    // Eight days later the sign-in still works, but the session may only set TOTP up.
    c.srv.advance(8 * 86_400);
    let token = c.srv.login("early@corp.cn", PASSWORD).await.access_token;
    let token = token.expose();
    for path in ["/v1/me/sessions", "/v1/me/activity"] {
        let (s, body) = c.srv.get(path, token).await;
        assert_error(s, &body, 403, "two_factor_setup_required");
    }
    let (s, me) = c.srv.get("/v1/me", token).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["two_factor_required_by"], by.as_str(), "the same date");
    set_up_totp(&c, token).await;
    let (s, body) = c.srv.get("/v1/me/sessions", token).await;
    assert_eq!(s, 200, "{body}");
    let (_, me) = c.srv.get("/v1/me", token).await;
    assert_eq!(me["two_factor_required_by"], Value::Null);
}

async fn two_factor_for_admins_only(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    person(&c.srv, "staff@corp.cn").await;
    let lax = person(&c.srv, "lax.admin@corp.cn").await;
    grant(&c.srv, &lax, latchkey_proto::AdminRole::Helpdesk).await;
    let (s, body) = c
        .put_policies(json!({"two_factor.required": "admins", "two_factor.grace_days": 0}))
        .await;
    assert_eq!(s, 200, "{body}");
    let staff = c.srv.login("staff@corp.cn", PASSWORD).await.access_token;
    let (s, _) = c.srv.get("/v1/me/sessions", staff.expose()).await;
    assert_eq!(s, 200, "staff are not asked");
    let admin = c
        .srv
        .login("lax.admin@corp.cn", PASSWORD)
        .await
        .access_token;
    let (s, body) = c.srv.get("/v1/me/sessions", admin.expose()).await;
    assert_error(s, &body, 403, "two_factor_setup_required");
    // Signing out is still allowed.
    let (s, body) = post_auth(
        &c.srv,
        "/v1/auth/logout",
        admin.expose(),
        json!({"all": false}),
    )
    .await;
    assert!(s.is_success(), "{s} {body}");
    // Off again: nobody is asked.
    let (s, _) = c.put_policies(json!({"two_factor.required": "off"})).await;
    assert_eq!(s, 200);
    let admin = c
        .srv
        .login("lax.admin@corp.cn", PASSWORD)
        .await
        .access_token;
    let (s, _) = c.srv.get("/v1/me/sessions", admin.expose()).await;
    assert_eq!(s, 200);
}

async fn the_oldest_app_version_is_set_and_cleared(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    let put = |body: Value| {
        let c = &c;
        async move {
            c.srv
                .call(
                    Method::PUT,
                    "/admin/v1/min-client-version",
                    Some(&c.admin),
                    Some(body),
                )
                .await
        }
    };
    for (body, field) in [
        (json!({"min_version": "soon"}), "min_version"),
        (
            json!({"min_version": "2.0.0", "download_url": "http://evil.example/app.exe"}),
            "download_url",
        ),
    ] {
        let (s, answer) = put(body).await;
        assert_error(s, &answer, 400, "invalid_request");
        assert_eq!(answer["field"], field, "{answer}");
    }
    let (s, body) =
        put(json!({"min_version": "99.0.0", "download_url": "https://it.corp.example/latchkey"}))
            .await;
    assert_eq!(s, 204, "{body}");
    c.srv.let_settings_expire();
    let (_, meta) = c.srv.get("/v1/meta", "").await;
    assert_eq!(meta["min_client_version"], "99.0.0");
    assert_eq!(meta["download_url"], "https://it.corp.example/latchkey");
    let (s, body) = c
        .srv
        .call(
            Method::DELETE,
            "/admin/v1/min-client-version",
            Some(&c.admin),
            None,
        )
        .await;
    assert_eq!(s, 204, "{body}");
    c.srv.let_settings_expire();
    let (_, meta) = c.srv.get("/v1/meta", "").await;
    assert_eq!(meta["min_client_version"], Value::Null, "{meta}");
    let (_, trail) = c.call(&c.admin, Method::GET, "/admin/v1/audit").await;
    let changes: Vec<&Value> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "min_client_version")
        .collect();
    assert_eq!(changes.len(), 2, "{trail}");
    assert_eq!(changes[1]["changes"][0]["after"], "99.0.0");
}

async fn the_audit_trail_is_kept_as_long_as_it_says(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    let count = || c.srv.scalar("SELECT COUNT(*) FROM audit");
    let now = c.srv.state.now();
    let day = 86_400_000;
    let prune = |at: i64| latchkey_server::retention::prune(&c.srv.state, at);
    let (s, _) = c.put_policies(json!({"retention.audit_days": 30})).await;
    assert_eq!(s, 200);
    prune(now + 29 * day).await.unwrap();
    assert_eq!(count().await, 1);
    // By default it is kept for good.
    let (s, _) = c.put_policies(json!({"retention.audit_days": null})).await;
    assert_eq!(s, 200);
    prune(now + 400 * day).await.unwrap();
    assert_eq!(count().await, 2);
    // 30 days again (as the console stores it): older records go.
    latchkey_server::settings::set_policy(&c.srv.state.db, Some(r#"{"retention.audit_days": 30}"#))
        .await
        .unwrap();
    c.srv.let_settings_expire();
    c.srv.state.switches().await.unwrap();
    prune(now + 31 * day).await.unwrap();
    assert_eq!(count().await, 0);
}

/// At a glance: a new-device code waiting to be typed, and the two-step verification IT
/// requires by a date.
async fn the_status_says_what_waits_on_the_person(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    let id = person(&c.srv, "new.laptop@corp.cn").await;
    let path = format!("/admin/v1/users/{id}");
    let (_, before) = c.call(&c.helpdesk, Method::GET, &path).await;
    let before = &before["status"];
    assert!(before.is_object(), "{before}");
    assert_eq!(before["device_code_waiting_until"], Value::Null, "{before}");
    assert_eq!(before["two_factor_required_by"], Value::Null, "{before}");
    // New-device codes turned on from the console; a sign-in from a new device: the
    // code is mailed and waits.
    let (s, _) = c.put_policies(json!({"devices.verify_new": true})).await;
    assert_eq!(s, 200);
    let (s, body) = c.srv.login_raw("new.laptop@corp.cn", PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "device_verification_required", "{body}");
    let (s, _) = c
        .put_policies(json!({"two_factor.required": "everyone", "two_factor.grace_days": 3}))
        .await;
    assert_eq!(s, 200);
    let (_, after) = c.call(&c.helpdesk, Method::GET, &path).await;
    let after = &after["status"];
    assert!(after["device_code_waiting_until"].is_string(), "{after}");
    assert!(after["two_factor_required_by"].is_string(), "{after}");
}

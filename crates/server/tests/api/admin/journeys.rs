//! The helpdesk's journeys through the admin API, each checked afterwards through the
//! public API as the person meets it: a locked user found by the phone number as they
//! read it out; a forgotten password replaced by a temporary one; a lost phone with
//! its recovery codes; a stolen laptop (sign out everywhere); a leaver disabled. No
//! secret is ever in the audit trail.

use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend};
use reqwest::Method;
use serde_json::json;

use super::console;
use crate::api::totp::{enabled_user, mfa_token};

on_both!(
    a_locked_user_found_by_phone_is_unlocked,
    a_temporary_password_is_shown_once_and_must_be_changed,
    lost_phone_and_codes_then_signed_out_everywhere_then_disabled,
);

async fn a_locked_user_found_by_phone_is_unlocked(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    let user = c
        .srv
        .add(
            latchkey_server::admin::AddUser {
                phone: Some("+8613912345678".into()),
                name: Some("Zhang Wei 张伟".into()),
                ..Default::default()
            },
            PASSWORD,
        )
        .await;
    for _ in 0..5 {
        c.srv.login_raw("+8613912345678", "Wrong-password-1").await;
    }
    let (s, body) = c.srv.login_raw("+8613912345678", PASSWORD).await;
    assert_error(s, &body, 423, "account_locked");

    // Found by the number as read out over the phone, and by the name.
    for q in ["139%201234%205678", "%E5%BC%A0%E4%BC%9F"] {
        let (s, page) = c
            .call(&c.helpdesk, Method::GET, &format!("/admin/v1/users?q={q}"))
            .await;
        assert_eq!(s, 200, "{page}");
        assert_eq!(page["total"], 1, "{q}: {page}");
        let found = &page["users"][0];
        assert_eq!(found["user"]["id"], user.id.as_str());
        assert_eq!(found["can_sign_in"], false, "{found}");
        assert!(found["status"]["locked_until"].is_string(), "{found}");
    }
    let (s, body) = c
        .call(
            &c.helpdesk,
            Method::POST,
            &format!("/admin/v1/users/{}/unlock", user.id),
        )
        .await;
    assert_eq!(s, 204, "{body}");
    let (s, body) = c.srv.login_raw("+8613912345678", PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    let (_, detail) = c
        .call(
            &c.helpdesk,
            Method::GET,
            &format!("/admin/v1/users/{}", user.id),
        )
        .await;
    assert_eq!(detail["can_sign_in"], true, "{detail}");
    assert!(detail["status"]["locked_until"].is_null(), "{detail}");
    assert!(
        detail["activity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["result"] == "invalid_credentials"),
        "the failed sign-ins are in the activity: {detail}"
    );
    assert_eq!(detail["sessions"].as_array().unwrap().len(), 1, "{detail}");

    let trail = c.audit_of(&user.id).await;
    assert_eq!(trail.len(), 1, "{trail:#?}");
    assert_eq!(trail[0]["action"], "unlock");
    assert_eq!(trail[0]["actor"], "helpdesk@corp.cn");
    assert_eq!(trail[0]["changes"][0]["field"], "locked_until");
    assert!(trail[0]["changes"][0]["before"].is_string());
    assert!(trail[0]["changes"][0]["after"].is_null());
}

async fn a_temporary_password_is_shown_once_and_must_be_changed(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    let id = c.srv.add_user("li.na@corp.cn", PASSWORD).await.id;
    let old_session = c.srv.login("li.na@corp.cn", PASSWORD).await;
    let (s, body) = c
        .call(
            &c.helpdesk,
            Method::POST,
            &format!("/admin/v1/users/{id}/temporary-password"),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let temporary = body["password"].as_str().unwrap().to_owned();
    assert_eq!(temporary.len(), 19, "{temporary}");
    // The person's old password and sessions are over.
    let (s, body) = c.srv.login_raw("li.na@corp.cn", PASSWORD).await;
    assert_error(s, &body, 401, "invalid_credentials");
    let (s, body) = c.srv.get("/v1/me", old_session.access_token.expose()).await;
    assert_eq!(s, 401, "{body}");
    // The temporary one signs in only to choose a new one.
    let (s, body) = c.srv.login_raw("li.na@corp.cn", &temporary).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "password_change_required", "{body}");
    let (_, detail) = c
        .call(&c.helpdesk, Method::GET, &format!("/admin/v1/users/{id}"))
        .await;
    assert_eq!(detail["status"]["must_change_password"], true, "{detail}");
    // Never in the trail.
    let trail = c.audit_of(&id).await;
    assert_eq!(trail[0]["action"], "temporary_password");
    assert!(!serde_json::to_string(&trail).unwrap().contains(&temporary));
}

async fn lost_phone_and_codes_then_signed_out_everywhere_then_disabled(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    let user = enabled_user(&c.srv, "chen.jie@corp.cn").await;
    mfa_token(&c.srv, "chen.jie@corp.cn").await;
    let (s, body) = c
        .call(
            &c.helpdesk,
            Method::POST,
            &format!("/admin/v1/users/{}/reset-two-factor", user.user_id),
        )
        .await;
    assert_eq!(s, 204, "{body}");
    // The password alone signs in now; the person sets TOTP up again from there.
    let (s, body) = c.srv.login_raw("chen.jie@corp.cn", PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    let fresh = body["session"]["access_token"].as_str().unwrap().to_owned();
    let (s, me) = c.srv.get("/v1/me", &fresh).await;
    assert_eq!(s, 200);
    assert_eq!(me["user"]["mfa_enabled"], false, "{me}");
    let (s, body) = c
        .srv
        .call(
            Method::POST,
            "/v1/me/totp/enroll",
            Some(&fresh),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // The person is told (a notice queued to their address).
    let notices: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM messages WHERE kind = 'totp_disabled' AND recipient = $1",
    )
    .bind("chen.jie@corp.cn")
    .fetch_one(&c.srv.state.db)
    .await
    .unwrap();
    assert_eq!(notices, 1);

    // The laptop was stolen too: every session ends.
    let (s, body) = c
        .call(
            &c.helpdesk,
            Method::POST,
            &format!("/admin/v1/users/{}/revoke-sessions", user.user_id),
        )
        .await;
    assert_eq!(s, 204, "{body}");
    for token in [&fresh, &user.token] {
        let (s, _) = c.srv.get("/v1/me", token).await;
        assert_eq!(s, 401);
    }

    // A leaver: the helpdesk may not disable, the admin may.
    let path = format!("/admin/v1/users/{}/disable", user.user_id);
    let (s, body) = c.call(&c.helpdesk, Method::POST, &path).await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = c.call(&c.admin, Method::POST, &path).await;
    assert_eq!(s, 204, "{body}");
    let (s, body) = c.srv.login_raw("chen.jie@corp.cn", PASSWORD).await;
    assert_error(s, &body, 403, "account_disabled");
    let (_, found) = c
        .call(&c.helpdesk, Method::GET, "/admin/v1/users?q=chen.jie")
        .await;
    assert_eq!(found["users"][0]["status"]["disabled"], true, "{found}");

    let trail = c.audit_of(&user.user_id).await;
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["disable", "revoke_sessions", "reset_two_factor"],
        "{trail:#?}"
    );
}

on_both!(
    a_changed_email_tells_the_old_address,
    a_leaver_is_deleted_with_their_data,
    an_account_made_by_it_starts_with_a_temporary_password,
);

async fn count(srv: &latchkey_testkit::TestServer, sql: &str, bind: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(&srv.state.db)
        .await
        .unwrap()
}

async fn a_changed_email_tells_the_old_address(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    let id = c.srv.add_user("wang.fang@corp.cn", PASSWORD).await.id;
    c.srv.add_user("taken@corp.cn", PASSWORD).await;
    let path = format!("/admin/v1/users/{id}");
    let patch = |body: serde_json::Value| {
        let path = path.clone();
        let srv = &c.srv;
        let token = c.admin.clone();
        async move {
            srv.call(Method::PATCH, &path, Some(&token), Some(body))
                .await
        }
    };
    let (s, body) = patch(json!({"email": "Wang.Fang@NewCorp.cn", "phone": "139 0000 1111"})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["user"]["email"], "wang.fang@newcorp.cn");
    assert_eq!(body["user"]["phone"], "+8613900001111");
    // The new address signs in, the old one no longer names the account.
    let (s, body) = c.srv.login_raw("wang.fang@newcorp.cn", PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = c.srv.login_raw("wang.fang@corp.cn", PASSWORD).await;
    assert_error(s, &body, 401, "invalid_credentials");
    // The old address is told; the new one is not.
    let told = "SELECT COUNT(*) FROM messages WHERE kind = 'contact_changed' AND recipient = $1";
    assert_eq!(count(&c.srv, told, "wang.fang@corp.cn").await, 1);
    assert_eq!(count(&c.srv, told, "wang.fang@newcorp.cn").await, 0);
    let trail = c.audit_of(&id).await;
    assert_eq!(trail[0]["action"], "update");
    assert_eq!(
        trail[0]["changes"],
        json!([
            {"field": "email", "before": "wang.fang@corp.cn", "after": "wang.fang@newcorp.cn"},
            {"field": "phone", "before": null, "after": "+8613900001111"},
        ])
    );

    // Refusals: another account's address, nothing left to sign in with, bad values,
    // unknown fields; nothing changes.
    let (s, body) = patch(json!({"email": "taken@corp.cn"})).await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = patch(json!({"email": "", "phone": ""})).await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = patch(json!({"email": "not an address"})).await;
    assert_error(s, &body, 400, "invalid_request");
    assert_eq!(body["field"], "email", "{body}");
    let (s, body) = patch(json!({"password": "x"})).await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = patch(json!({"name": "名".repeat(201)})).await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = c.srv.login_raw("wang.fang@newcorp.cn", PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(c.audit_of(&id).await.len(), 1);
}

async fn a_leaver_is_deleted_with_their_data(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    let leaver = enabled_user(&c.srv, "leaver@corp.cn").await;
    c.srv.login_raw("leaver@corp.cn", "Wrong-password-2").await;
    // Something about them in the trail before.
    let (s, _) = c
        .call(
            &c.helpdesk,
            Method::POST,
            &format!("/admin/v1/users/{}/unlock", leaver.user_id),
        )
        .await;
    assert_eq!(s, 204);
    let (s, body) = c
        .call(
            &c.admin,
            Method::DELETE,
            &format!("/admin/v1/users/{}", leaver.user_id),
        )
        .await;
    assert_eq!(s, 204, "{body}");

    let (s, body) = c.srv.login_raw("leaver@corp.cn", PASSWORD).await;
    assert_error(s, &body, 401, "invalid_credentials");
    let (s, _) = c.srv.get("/v1/me", &leaver.token).await;
    assert_eq!(s, 401);
    let (s, _) = c
        .call(
            &c.admin,
            Method::GET,
            &format!("/admin/v1/users/{}", leaver.user_id),
        )
        .await;
    assert_eq!(s, 404);
    for table in [
        "users WHERE id",
        "sessions WHERE user_id",
        "activity WHERE user_id",
        "known_devices WHERE user_id",
        "totp_secrets WHERE user_id",
        "recovery_codes WHERE user_id",
        "password_history WHERE user_id",
        "admin_roles WHERE user_id",
    ] {
        let n = count(
            &c.srv,
            &format!("SELECT COUNT(*) FROM {table} = $1"),
            &leaver.user_id,
        )
        .await;
        assert_eq!(n, 0, "{table}");
    }
    let n = count(
        &c.srv,
        "SELECT COUNT(*) FROM messages WHERE recipient = $1",
        "leaver@corp.cn",
    )
    .await;
    assert_eq!(n, 0, "messages");
    // The trail keeps what was done, without naming them.
    let trail = c.audit_of(&leaver.user_id).await;
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["delete", "unlock"]);
    assert!(trail.iter().all(|e| e["target"].is_null()), "{trail:#?}");
    assert!(!serde_json::to_string(&trail)
        .unwrap()
        .contains("leaver@corp.cn"));
    // The address is free for someone else.
    c.srv.add_user("leaver@corp.cn", PASSWORD).await;
}

async fn an_account_made_by_it_starts_with_a_temporary_password(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    let (s, body) = c
        .srv
        .call(
            Method::POST,
            "/admin/v1/users",
            Some(&c.admin),
            Some(json!({"email": "new.hire@corp.cn", "phone": "138 0013 9000", "name": "Xu Li 徐丽", "locale": "zh-CN"})),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let password = body["password"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["phone"], "+8613800139000");
    let (s, body) = c.srv.login_raw("new.hire@corp.cn", &password).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "password_change_required", "{body}");
    for (bad, status, code) in [
        (json!({"email": "new.hire@corp.cn"}), 409, "conflict"),
        (
            json!({"name": "nobody to sign in as"}),
            400,
            "invalid_request",
        ),
        (
            json!({"email": "x@corp.cn", "locale": "fr"}),
            400,
            "invalid_request",
        ),
        (
            json!({"email": "x@corp.cn", "password": "mine"}),
            400,
            "invalid_request",
        ),
        (json!({"email": 7}), 400, "invalid_request"),
    ] {
        let (s, body) = c
            .srv
            .call(
                Method::POST,
                "/admin/v1/users",
                Some(&c.admin),
                Some(bad.clone()),
            )
            .await;
        assert_error(s, &body, status, code);
    }
    let (s, body) = c
        .srv
        .call(
            Method::POST,
            "/admin/v1/users",
            Some(&c.helpdesk),
            Some(json!({"email": "y@corp.cn"})),
        )
        .await;
    assert_error(s, &body, 403, "forbidden");
}

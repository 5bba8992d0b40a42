//! Every admin route refuses whoever may not use it: no token (401), an account
//! without a console role (403 `forbidden`), an admin without two-step verification
//! (403 `two_factor_required`), the helpdesk on an admin's route (403 `forbidden`);
//! and answers the roles that may. Then bad input: pages, sizes, searches, ids.

use latchkey_proto::AdminRole;
use latchkey_testkit::api::assert_error;
use latchkey_testkit::{on_both, Backend};
use reqwest::Method;
use serde_json::{json, Value};

use super::{console, grant, person};
use crate::api::totp::enabled_user;

on_both!(
    every_route_checks_the_role_and_two_step_verification,
    bad_input_gets_clear_refusals,
);

/// Each route, the least role that may use it, and a body it accepts. `victim` is
/// deleted.
fn routes(target: &str, victim: &str) -> Vec<(Method, String, AdminRole, Option<Value>)> {
    let user = |action: &str| format!("/admin/v1/users/{target}/{action}");
    let helpdesk = AdminRole::Helpdesk;
    let admin = AdminRole::Admin;
    vec![
        (Method::GET, "/admin/v1/me".into(), helpdesk, None),
        (Method::GET, "/admin/v1/users?q=corp".into(), helpdesk, None),
        (
            Method::GET,
            format!("/admin/v1/users/{target}"),
            helpdesk,
            None,
        ),
        (Method::POST, user("unlock"), helpdesk, None),
        (Method::POST, user("temporary-password"), helpdesk, None),
        (Method::POST, user("reset-two-factor"), helpdesk, None),
        (Method::POST, user("revoke-sessions"), helpdesk, None),
        (Method::POST, user("disable"), admin, None),
        (Method::POST, user("enable"), admin, None),
        (
            Method::PATCH,
            format!("/admin/v1/users/{target}"),
            admin,
            Some(json!({"name": "Zhou Min 周敏"})),
        ),
        (
            Method::POST,
            "/admin/v1/users".into(),
            admin,
            Some(json!({"email": "new.hire@corp.cn", "name": "New Hire"})),
        ),
        (
            Method::DELETE,
            format!("/admin/v1/users/{victim}"),
            admin,
            None,
        ),
        (
            Method::PUT,
            "/admin/v1/maintenance".into(),
            admin,
            Some(json!({"message": "Upgrade", "until": null})),
        ),
        (Method::DELETE, "/admin/v1/maintenance".into(), admin, None),
        (Method::GET, "/admin/v1/audit".into(), admin, None),
        (Method::GET, "/admin/v1/policies".into(), helpdesk, None),
        (
            Method::PUT,
            "/admin/v1/min-client-version".into(),
            admin,
            Some(
                json!({"min_version": "0.0.1", "download_url": "https://it.corp.example/latchkey"}),
            ),
        ),
        (
            Method::DELETE,
            "/admin/v1/min-client-version".into(),
            admin,
            None,
        ),
        (
            Method::PUT,
            "/admin/v1/policies".into(),
            admin,
            Some(json!({"lockout.threshold": 6})),
        ),
    ]
}

async fn every_route_checks_the_role_and_two_step_verification(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    let target = person(&c.srv, "zhou.min@corp.cn").await;
    let victim = person(&c.srv, "leaver@corp.cn").await;
    // Two-step verification on, but no role.
    let plain = enabled_user(&c.srv, "staff@corp.cn").await.token;
    // A role, but no two-step verification.
    let lax = c
        .srv
        .add_user("lax.admin@corp.cn", latchkey_testkit::api::PASSWORD)
        .await;
    grant(&c.srv, &lax.id, AdminRole::Admin).await;
    let lax = c
        .srv
        .login("lax.admin@corp.cn", latchkey_testkit::api::PASSWORD)
        .await
        .access_token
        .expose()
        .to_owned();

    for (method, path, least, sent) in routes(&target, &victim) {
        let call = |token: Option<String>| {
            let (method, path, sent) = (method.clone(), path.clone(), sent.clone());
            let srv = &c.srv;
            async move { srv.call(method, &path, token.as_deref(), sent).await }
        };
        let (s, body) = call(None).await;
        assert_error(s, &body, 401, "unauthenticated");
        let (s, body) = call(Some(plain.clone())).await;
        assert_error(s, &body, 403, "forbidden");
        let (s, body) = call(Some(lax.clone())).await;
        assert_error(s, &body, 403, "two_factor_required");
        let (s, body) = call(Some(c.helpdesk.clone())).await;
        if least == AdminRole::Admin {
            assert_error(s, &body, 403, "forbidden");
        } else {
            assert!(s.is_success(), "helpdesk {method} {path}: {s} {body}");
        }
        let (s, body) = call(Some(c.admin.clone())).await;
        assert!(s.is_success(), "admin {method} {path}: {s} {body}");
    }
    // What the refused calls would have done did not happen: one new account, one
    // deletion, and maintenance is off.
    let (_, found) = c
        .call(&c.admin, Method::GET, "/admin/v1/users?q=new.hire")
        .await;
    assert_eq!(found["total"], 1, "{found}");
    let (_, found) = c
        .call(&c.admin, Method::GET, "/admin/v1/users?q=leaver")
        .await;
    assert_eq!(found["total"], 0, "{found}");
    let (s, _) = c
        .srv
        .login_raw("zhou.min@corp.cn", "Wrong-password-9")
        .await;
    assert_eq!(s, 401);

    // Each action is in the trail, with who did it and with which role.
    let trail = c.audit_of(&target).await;
    let mut seen: Vec<(String, String)> = trail
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let mut want: Vec<(String, String)> = Vec::new();
    for action in [
        "unlock",
        "temporary_password",
        "reset_two_factor",
        "revoke_sessions",
    ] {
        want.push((action.into(), "helpdesk".into()));
        want.push((action.into(), "admin".into()));
    }
    for action in ["disable", "enable", "update"] {
        want.push((action.into(), "admin".into()));
    }
    want.sort();
    assert_eq!(seen, want, "{trail:#?}");
    for e in &trail {
        assert!(e["actor"].as_str().unwrap().ends_with("@corp.cn"), "{e}");
        assert_eq!(e["target"], "zhou.min@corp.cn", "{e}");
        assert!(e["ip"].as_str().is_some_and(|ip| ip == "127.0.0.1"), "{e}");
    }
    // Each record names the request that made it (issue 22): one id per action.
    let ids: std::collections::BTreeSet<&str> = trail
        .iter()
        .map(|e| e["request_id"].as_str().expect("request_id"))
        .collect();
    assert_eq!(ids.len(), trail.len(), "{trail:#?}");
    // Refused attempts change nothing and are not actions.
    let (s, body) = c.call(&c.admin, Method::GET, "/admin/v1/audit").await;
    assert_eq!(s, 200);
    assert!(body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["role"] == "admin" || e["role"] == "helpdesk"));
}

async fn bad_input_gets_clear_refusals(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    person(&c.srv, "wu_100%@corp.cn").await;
    person(&c.srv, "wu1100x@corp.cn").await;
    for bad in [
        "/admin/v1/users?page=0",
        "/admin/v1/users?page=abc",
        "/admin/v1/users?per_page=0",
        "/admin/v1/users?per_page=101",
        "/admin/v1/users?per_page=-1",
        "/admin/v1/audit?limit=0",
        "/admin/v1/audit?limit=501",
        "/admin/v1/audit?user_id=../etc",
    ] {
        let (s, body) = c.call(&c.admin, Method::GET, bad).await;
        assert_error(s, &body, 400, "invalid_request");
    }
    let long = "x".repeat(201);
    let (s, body) = c
        .call(&c.admin, Method::GET, &format!("/admin/v1/users?q={long}"))
        .await;
    assert_error(s, &body, 400, "invalid_request");
    for id in ["nobody", "%00", "a%2Fb", &"f".repeat(65), "'%20OR%201=1"] {
        for path in [
            format!("/admin/v1/users/{id}"),
            format!("/admin/v1/users/{id}/unlock"),
        ] {
            let method = if path.ends_with("unlock") {
                Method::POST
            } else {
                Method::GET
            };
            let (s, body) = c.call(&c.admin, method, &path).await;
            assert!(s == 404 || s == 400, "{path}: {s} {body}");
            assert!(body["code"] == "resource_not_found" || body["code"] == "invalid_request");
        }
    }
    // `%` and `_` in a search are themselves, not wildcards.
    let (s, body) = c
        .call(&c.admin, Method::GET, "/admin/v1/users?q=wu_100%25")
        .await;
    assert_eq!(s, 200, "{body}");
    let found: Vec<&str> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["wu_100%@corp.cn"], "{body}");
    // An admin cannot disable their own account (they would lock IT out).
    let (s, body) = c
        .call(
            &c.admin,
            Method::POST,
            &format!("/admin/v1/users/{}/disable", c.admin_id),
        )
        .await;
    assert_error(s, &body, 409, "conflict");
}

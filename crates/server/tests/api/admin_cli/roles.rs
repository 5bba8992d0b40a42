//! Console roles and the audit trail from the CLI (issue 18): `admin grant|revoke|list`
//! (and `--json`), `user list --json`, and `audit export --since` as JSON lines; each
//! effect checked through the admin API.

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend};
use reqwest::Method;
use serde_json::Value;

use super::{cli, cli_env};
use crate::api::totp::{enabled_user, start};

on_both!(
    grant_list_and_revoke_a_role,
    the_audit_trail_exports_as_json_lines,
    applications_and_keys_list_as_json,
);

async fn grant_list_and_revoke_a_role(b: Backend) {
    let Some(srv) = start(b).await else {
        return;
    };
    let it = enabled_user(&srv, "it@corp.cn").await;
    srv.add_user("no2fa@corp.cn", PASSWORD).await;
    let (s, _) = srv.get("/admin/v1/me", &it.token).await;
    assert_eq!(s, 403);

    cli(
        &srv,
        &[
            "admin",
            "grant",
            "--identifier",
            "it@corp.cn",
            "--role",
            "helpdesk",
        ],
        None,
    )
    .await
    .ok()
    .stdout_has("helpdesk");
    let (s, me) = srv.get("/admin/v1/me", &it.token).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["role"], "helpdesk");
    cli(
        &srv,
        &[
            "admin",
            "grant",
            "--identifier",
            "it@corp.cn",
            "--role",
            "admin",
        ],
        None,
    )
    .await
    .ok();
    let (_, me) = srv.get("/admin/v1/me", &it.token).await;
    assert_eq!(me["role"], "admin");
    // An account without two-step verification is told it cannot act yet.
    cli(
        &srv,
        &[
            "admin",
            "grant",
            "--identifier",
            "no2fa@corp.cn",
            "--role",
            "admin",
        ],
        None,
    )
    .await
    .ok()
    .stderr_has("two-step verification");
    // Bad roles and unknown accounts are refused.
    cli(
        &srv,
        &[
            "admin",
            "grant",
            "--identifier",
            "it@corp.cn",
            "--role",
            "root",
        ],
        None,
    )
    .await
    .failed();
    cli(
        &srv,
        &[
            "admin",
            "grant",
            "--identifier",
            "nobody@corp.cn",
            "--role",
            "admin",
        ],
        None,
    )
    .await
    .failed();

    let run = cli(&srv, &["admin", "list", "--json"], None).await;
    run.ok();
    let listed: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let mut roles: Vec<(String, String, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["label"].as_str().unwrap().to_owned(),
                r["role"].as_str().unwrap().to_owned(),
                r["mfa_enabled"].as_bool().unwrap(),
            )
        })
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        [
            ("it@corp.cn".to_owned(), "admin".to_owned(), true),
            ("no2fa@corp.cn".to_owned(), "admin".to_owned(), false)
        ]
    );
    cli(&srv, &["admin", "list"], None)
        .await
        .ok()
        .stdout_has("no2fa@corp.cn");

    cli(
        &srv,
        &["admin", "revoke", "--identifier", "it@corp.cn"],
        None,
    )
    .await
    .ok();
    let (s, body) = srv.get("/admin/v1/me", &it.token).await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["code"], "forbidden");

    let run = cli(&srv, &["user", "list", "--json"], None).await;
    run.ok();
    let users: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let it_row = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "it@corp.cn")
        .expect("listed");
    assert_eq!(it_row["mfa_enabled"], true);
    assert_eq!(it_row["disabled"], false);
}

async fn the_audit_trail_exports_as_json_lines(b: Backend) {
    let Some(srv) = start(b).await else {
        return;
    };
    let it = enabled_user(&srv, "it@corp.cn").await;
    let target = srv.add_user("leaver@corp.cn", PASSWORD).await;
    cli(
        &srv,
        &[
            "admin",
            "grant",
            "--identifier",
            "it@corp.cn",
            "--role",
            "admin",
        ],
        None,
    )
    .await
    .ok();
    let (s, _) = srv
        .call(
            Method::POST,
            &format!("/admin/v1/users/{}/disable", target.id),
            Some(&it.token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    cli(
        &srv,
        &["user", "enable", "--identifier", "leaver@corp.cn"],
        None,
    )
    .await
    .ok();

    let run = cli(
        &srv,
        &["audit", "export", "--since", "2000-01-01T00:00:00Z"],
        None,
    )
    .await;
    run.ok();
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
        .collect();
    // Oldest first. (The test server's clock runs 30 s ahead of the command's since
    // `enabled_user`, so the console's action sorts last.)
    let at: Vec<&str> = lines.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{}", run.stdout);
    let actions: Vec<(&str, Option<&str>)> = lines
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("grant_role", None),
            ("enable", None),
            ("disable", Some("it@corp.cn"))
        ],
        "{}",
        run.stdout
    );
    let disable = &lines[2];
    assert_eq!(disable["target"], "leaver@corp.cn");
    assert_eq!(disable["role"], "admin");
    assert_eq!(disable["ip"], "127.0.0.1");
    // Nothing from the future; a bad date is refused.
    let run = cli(
        &srv,
        &["audit", "export", "--since", "2999-01-01T00:00:00Z"],
        None,
    )
    .await;
    run.ok();
    assert!(run.stdout.is_empty(), "{run:#?}");
    cli(&srv, &["audit", "export", "--since", "yesterday"], None)
        .await
        .failed()
        .stderr_has("RFC 3339");
}

async fn applications_and_keys_list_as_json(b: Backend) {
    let Some(srv) = start(b).await else {
        return;
    };
    let base = srv.base();
    let env = [
        ("LATCHKEY_SECRET_KEY", crate::api::totp::KEY),
        ("LATCHKEY_OIDC__ISSUER", base.as_str()),
    ];
    let add = [
        "client",
        "add",
        "--id",
        "crm",
        "--name",
        "CRM 客户管理",
        "--redirect-uri",
        "https://crm.corp.example/callback",
        "--first-party",
        "--require-2fa",
    ];
    cli_env(&srv, &add, None, &env).await.ok();
    let run = cli_env(&srv, &["client", "list", "--json"], None, &env).await;
    run.ok();
    let listed: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let crm = &listed.as_array().unwrap()[0];
    assert_eq!(crm["client_id"], "crm");
    assert_eq!(crm["name"], "CRM 客户管理");
    assert_eq!(crm["type"], "confidential");
    assert_eq!(crm["require_2fa"], true);
    assert_eq!(crm["redirect_uris"][0], "https://crm.corp.example/callback");
    // No secret in a listing.
    assert!(!run.stdout.contains("secret"), "{}", run.stdout);

    cli_env(&srv, &["keys", "rotate"], None, &env).await.ok();
    let run = cli_env(&srv, &["keys", "list", "--json"], None, &env).await;
    run.ok();
    let keys: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let keys = keys.as_array().unwrap();
    assert!(!keys.is_empty(), "{}", run.stdout);
    assert!(keys
        .iter()
        .all(|k| k["kid"].is_string() && k["made"].is_string()));
    assert!(keys.iter().any(|k| k["retired"].is_null()));
}

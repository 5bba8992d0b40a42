//! The desktop app approves a browser sign-in (number matching), opens applications
//! signed in (launch tickets), and lists and signs out of applications (issue 16).

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend, TestServer};
use reqwest::Method;

use super::*;

on_both!(
    the_app_approves_a_browser_sign_in_once,
    deny_wrong_number_timeout_and_another_account,
    a_two_factor_application_needs_a_two_factor_account,
    the_launcher_opens_an_application_signed_in,
    the_app_lists_and_signs_out_of_applications
);

/// Clicks "Continue with the Latchkey app" (with `identifier` typed, or none); returns
/// the waiting page, the approval id and the number it shows.
async fn ask_the_app(browser: &mut Browser, page: &Got, identifier: &str) -> (String, String, u8) {
    let id_field = page.field_with("username").unwrap();
    let got = browser
        .post(
            &page.action(),
            &[
                ("csrf", &page.input("csrf").unwrap()),
                ("step", "password"),
                (&id_field, identifier),
                ("decision", "app"),
            ],
        )
        .await;
    let waiting = browser.follow_local(got).await;
    assert_eq!(waiting.status, 200, "{}", waiting.body);
    assert!(
        waiting.body.contains("http-equiv=\"refresh\""),
        "the page polls"
    );
    let link = waiting
        .body
        .split("href=\"latchkey://approve?")
        .nth(1)
        .expect("a latchkey://approve link")
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let params: HashMap<String, String> = url::form_urlencoded::parse(link.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let number: u8 = waiting
        .body
        .split("class=\"number\" role=\"status\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (page.action(), params["id"].clone(), number)
}

async fn app_call(
    srv: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    srv.call(method, path, Some(token), body).await
}

async fn the_app_approves_a_browser_sign_in_once(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    let user = srv.add_user("lin@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let desktop = srv.login("lin@corp.cn", PASSWORD).await;
    let token = desktop.access_token.expose().to_owned();
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let (signin, id, number) = ask_the_app(&mut browser, &page, "").await;
    let waiting = browser.get(&signin).await;
    assert!(waiting.body.contains(&format!(
        "server={}",
        url::form_urlencoded::byte_serialize(srv.base().as_bytes()).collect::<String>()
    )));
    // Still waiting: the page says so again.
    let again = browser.get(&signin).await;
    assert_eq!(again.status, 200);
    // The app reads the request: the application, the browser, three numbers.
    let (status, view) = app_call(
        &srv,
        &token,
        Method::GET,
        &format!("/v1/approvals/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["client_name"], "crm app");
    assert!(view["browser"].as_str().unwrap().starts_with("Web browser"));
    assert_eq!(view["same_network"], true);
    assert_eq!(view["needs_two_factor"], false);
    let numbers: Vec<u64> = view["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert_eq!(numbers.len(), 3);
    assert!(numbers.contains(&u64::from(number)));
    // The app's answer carries an Idempotency-Key; sent again with it (its answer was
    // lost on the way), it is told the same: allowed (issue 21).
    let key = "5b0c9a1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d";
    for replay in [false, true] {
        let answer = srv
            .http
            .post(srv.url(&format!("/v1/approvals/{id}")))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&serde_json::json!({"allow": true, "number": number}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 204);
        assert_eq!(
            answer.headers().get("idempotent-replayed").is_some(),
            replay
        );
    }
    // A second answer is refused.
    let (status, body) = app_call(
        &srv,
        &token,
        Method::POST,
        &format!("/v1/approvals/{id}"),
        Some(serde_json::json!({"allow": true, "number": number})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (404, Some("approval_invalid"))
    );
    // The browser lands in the application, signed in as the app's account.
    let done = browser.get(&signin).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let (status, tokens) =
        exchange_code(&srv, "crm", Some(&secret), &done.redirect_params()["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verified_claims(&srv, tokens["id_token"].as_str().unwrap(), "crm").await;
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    // The approval is in the account's activity.
    let (_, activity) = srv.get("/v1/me/activity", &token).await;
    assert!(activity.to_string().contains("\"approval\""), "{activity}");
}

async fn deny_wrong_number_timeout_and_another_account(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("lin@corp.cn", PASSWORD).await;
    srv.add_user("other@corp.cn", PASSWORD).await;
    register(&srv, "crm", |_| {}).await;
    let token = srv
        .login("lin@corp.cn", PASSWORD)
        .await
        .access_token
        .expose()
        .to_owned();
    let other = srv
        .login("other@corp.cn", PASSWORD)
        .await
        .access_token
        .expose()
        .to_owned();
    let mut browser = Browser::new(&srv);
    let decide = |id: &str, allow: bool, number: u8| {
        (
            format!("/v1/approvals/{id}"),
            serde_json::json!({"allow": allow, "number": number}),
        )
    };
    // Denied.
    let page = browser.authorize("crm", &[]).await;
    let (signin, id, number) = ask_the_app(&mut browser, &page, "").await;
    let (path, body) = decide(&id, false, number);
    assert_eq!(
        app_call(&srv, &token, Method::POST, &path, Some(body))
            .await
            .0,
        204
    );
    let told = browser.get(&signin).await;
    assert!(told.error().contains("denied"), "{}", told.error());
    assert!(
        told.field_with("current-password").is_some(),
        "the password still works"
    );
    // A wrong number cancels.
    let (signin, id, number) = ask_the_app(&mut browser, &told, "").await;
    let wrong = if number == 99 { 98 } else { number + 1 };
    let (path, body) = decide(&id, true, wrong);
    let (status, answer) = app_call(&srv, &token, Method::POST, &path, Some(body)).await;
    assert_eq!(
        (status.as_u16(), answer["code"].as_str()),
        (400, Some("approval_mismatch"))
    );
    let (path, body) = decide(&id, true, number);
    assert_eq!(
        app_call(&srv, &token, Method::POST, &path, Some(body))
            .await
            .0,
        404,
        "one try"
    );
    let told = browser.get(&signin).await;
    assert!(told.error().contains("cancelled"), "{}", told.error());
    // Timeout: two minutes.
    let (signin, id, number) = ask_the_app(&mut browser, &told, "").await;
    srv.advance(121);
    let (status, _) = app_call(
        &srv,
        &token,
        Method::GET,
        &format!("/v1/approvals/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (path, body) = decide(&id, true, number);
    assert_eq!(
        app_call(&srv, &token, Method::POST, &path, Some(body))
            .await
            .0,
        404
    );
    let told = browser.get(&signin).await;
    assert!(told.error().contains("in time"), "{}", told.error());
    // Typed for one account, the request cannot be answered by another.
    let (_, id, number) = ask_the_app(&mut browser, &told, "lin@corp.cn").await;
    let (status, _) = app_call(
        &srv,
        &other,
        Method::GET,
        &format!("/v1/approvals/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (path, body) = decide(&id, true, number);
    assert_eq!(
        app_call(&srv, &other, Method::POST, &path, Some(body.clone()))
            .await
            .0,
        404
    );
    assert_eq!(
        app_call(&srv, &token, Method::POST, &path, Some(body))
            .await
            .0,
        204
    );
    // Without a session, nothing.
    let (status, _) = srv
        .call(Method::GET, &format!("/v1/approvals/{id}"), None, None)
        .await;
    assert_eq!(status, 401);
}

async fn a_two_factor_application_needs_a_two_factor_account(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("lin@corp.cn", PASSWORD).await;
    let secret = register(&srv, "vault", |c| c.require_2fa = true)
        .await
        .unwrap();
    let token = srv
        .login("lin@corp.cn", PASSWORD)
        .await
        .access_token
        .expose()
        .to_owned();
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("vault", &[]).await;
    let (_, id, number) = ask_the_app(&mut browser, &page, "").await;
    let (_, view) = app_call(
        &srv,
        &token,
        Method::GET,
        &format!("/v1/approvals/{id}"),
        None,
    )
    .await;
    assert_eq!(view["needs_two_factor"], true);
    let (status, body) = app_call(
        &srv,
        &token,
        Method::POST,
        &format!("/v1/approvals/{id}"),
        Some(serde_json::json!({"allow": true, "number": number})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (403, Some("two_factor_required"))
    );
    // An account with two-step verification: the approval counts as two-factor.
    let enabled = crate::api::totp::enabled_user(&srv, "tfa@corp.cn").await;
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("vault", &[]).await;
    let (signin, id, number) = ask_the_app(&mut browser, &page, "tfa@corp.cn").await;
    let (status, body) = app_call(
        &srv,
        &enabled.token,
        Method::POST,
        &format!("/v1/approvals/{id}"),
        Some(serde_json::json!({"allow": true, "number": number})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let done = browser.get(&signin).await;
    let (_, tokens) = exchange_code(
        &srv,
        "vault",
        Some(&secret),
        &done.redirect_params()["code"],
    )
    .await;
    let claims = verified_claims(&srv, tokens["id_token"].as_str().unwrap(), "vault").await;
    assert_eq!(claims["acr"], "2");
}

async fn the_launcher_opens_an_application_signed_in(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("lin@corp.cn", PASSWORD).await;
    register(&srv, "crm", |c| {
        c.launch_url = Some("https://crm.corp.example/".into())
    })
    .await;
    register(&srv, "hidden", |_| {}).await;
    let token = srv
        .login("lin@corp.cn", PASSWORD)
        .await
        .access_token
        .expose()
        .to_owned();
    let (status, launcher) = app_call(&srv, &token, Method::GET, "/v1/launcher", None).await;
    assert_eq!(status, 200);
    let apps = launcher["apps"].as_array().unwrap();
    assert_eq!(
        apps.len(),
        1,
        "only applications with a launch URL: {launcher}"
    );
    assert_eq!(apps[0]["client_id"], "crm");
    let (status, body) = app_call(
        &srv,
        &token,
        Method::POST,
        "/v1/launch",
        Some(serde_json::json!({"client_id": "hidden"})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (404, Some("resource_not_found"))
    );
    let (status, ticket) = app_call(
        &srv,
        &token,
        Method::POST,
        "/v1/launch",
        Some(serde_json::json!({"client_id": "crm"})),
    )
    .await;
    assert_eq!(status, 200, "{ticket}");
    let url = ticket["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/oidc/launch?ticket=lkt_", srv.base())));
    let mut browser = Browser::new(&srv);
    let opened = browser.get(&url).await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    assert_eq!(
        opened.location.as_deref(),
        Some("https://crm.corp.example/")
    );
    assert!(browser.cookies.contains_key("latchkey_sso"));
    // The application's own sign-in then finds the browser signed in.
    assert_eq!(
        browser.authorize("crm", &[("prompt", "none")]).await.status,
        303
    );
    // A ticket works once, and not after 30 s.
    let mut second = Browser::new(&srv);
    let reused = second.get(&url).await;
    assert_eq!(reused.status, 410);
    assert!(reused.location.is_none());
    let (_, ticket) = app_call(
        &srv,
        &token,
        Method::POST,
        "/v1/launch",
        Some(serde_json::json!({"client_id": "crm"})),
    )
    .await;
    srv.advance(31);
    assert_eq!(
        second.get(ticket["url"].as_str().unwrap()).await.status,
        410
    );
    assert!(!second.cookies.contains_key("latchkey_sso"));
}

async fn the_app_lists_and_signs_out_of_applications(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("lin@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let token = srv
        .login("lin@corp.cn", PASSWORD)
        .await
        .access_token
        .expose()
        .to_owned();
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let done = browser.password(&page, "lin@corp.cn", PASSWORD).await;
    let (_, tokens) =
        exchange_code(&srv, "crm", Some(&secret), &done.redirect_params()["code"]).await;
    let (status, list) = app_call(&srv, &token, Method::GET, "/v1/me/applications", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["apps"][0]["client_id"], "crm", "{list}");
    assert_eq!(list["apps"][0]["name"], "crm app");
    let (status, _) = app_call(
        &srv,
        &token,
        Method::DELETE,
        "/v1/me/applications/crm",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let r = reqwest::Client::new()
        .get(format!("{}/oidc/userinfo", srv.base()))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (_, list) = app_call(&srv, &token, Method::GET, "/v1/me/applications", None).await;
    assert_eq!(list["apps"].as_array().unwrap().len(), 0);
    let (status, _) = app_call(
        &srv,
        &token,
        Method::DELETE,
        "/v1/me/applications/crm",
        None,
    )
    .await;
    assert_eq!(status, 404);
}

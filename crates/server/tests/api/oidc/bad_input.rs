//! Bad input to the provider never gets a 5xx or a panic: garbage, non-UTF-8,
//! oversized and repeated parameters, wrong content types, malformed credentials and
//! cookies. The JSON endpoints answer an OAuth error (`{error, error_description}`);
//! the pages answer a page.

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend};
use reqwest::Method;

use super::*;

on_both!(garbage_never_gets_a_server_error);

const JSON_POSTS: &[&str] = &[
    "/oidc/token",
    "/oidc/revoke",
    "/oidc/introspect",
    "/oidc/userinfo",
];

async fn garbage_never_gets_a_server_error(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("ma@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    // A live sign-in page, to post garbage to.
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let signin = page.action();
    let rid = signin.rsplit('/').next().unwrap().to_owned();
    let consent = format!("/oidc/consent/{rid}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let long = "x".repeat(60_000);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/x-www-form-urlencoded", vec![]),
        (
            "application/x-www-form-urlencoded",
            vec![0xff, 0xfe, b'=', 0x80],
        ),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=authorization_code&grant_type=refresh_token".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"code=%ZZ&token=%00%00&csrf=\x00".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            format!("grant_type=authorization_code&code={long}&token={long}").into_bytes(),
        ),
        ("application/x-www-form-urlencoded", vec![b'a'; 70_000]),
        (
            "application/json",
            br#"{"grant_type":"authorization_code","code":1}"#.to_vec(),
        ),
        ("text/plain", b"\x00\x01\x02".to_vec()),
    ];
    let auths: Vec<Option<String>> = vec![
        None,
        Some("Basic !!!notbase64".into()),
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, b':', 0x80])
        )),
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("no-colon")
        )),
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("crm:{secret}"))
        )),
        Some("Bearer lkoa_".into()),
        Some(format!("Bearer {long}")),
    ];
    let cookies = [
        "",
        "latchkey_flow=!!!; latchkey_sso=lks_x; latchkey_csrf=zz",
        "latchkey_flow=eyJyaWQiOiJ4In0; latchkey_browser=%00; latchkey_lang=klingon",
    ];
    let mut posts: Vec<String> = JSON_POSTS.iter().map(|s| (*s).to_owned()).collect();
    posts.extend([
        signin.clone(),
        consent.clone(),
        "/oidc/logout".into(),
        "/oidc/authorize".into(),
    ]);
    for path in &posts {
        for (ct, body) in &bodies {
            for auth in &auths {
                for cookie in cookies {
                    let mut req = http
                        .request(Method::POST, format!("{}{path}", srv.base()))
                        .header("content-type", *ct)
                        .body(body.clone());
                    if let Some(a) = auth {
                        req = req.header("authorization", a);
                    }
                    if !cookie.is_empty() {
                        req = req.header("cookie", cookie);
                    }
                    let r = match req.send().await {
                        Ok(r) => r,
                        // A body over the limit may be refused before it is all sent:
                        // the connection closes under the client (no 5xx, no panic).
                        Err(_) if body.len() > latchkey_server::MAX_BODY_BYTES => continue,
                        Err(e) => panic!("POST {path}: {e}"),
                    };
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    assert!(
                        status.as_u16() < 500,
                        "POST {path} {ct} {auth:?} {cookie}: {status} {text}"
                    );
                    if JSON_POSTS.contains(&path.as_str()) && status != 200 && status != 413 {
                        let v: Value = serde_json::from_str(&text)
                            .unwrap_or_else(|e| panic!("POST {path}: not JSON ({e}): {text}"));
                        assert!(v["error"].is_string(), "POST {path}: {text}");
                    }
                }
            }
        }
    }
    // GETs with garbage queries and cookies.
    let queries = [
        "",
        "?%ff%fe",
        "?client_id=crm&client_id=crm",
        "?lang=%00&method=%ff&restart&reset",
        "?client_id=crm&redirect_uri=https%3A%2F%2Fcrm.corp.example%2Fcallback&response_type=code&scope=openid&code_challenge_method=S256&code_challenge=%00&max_age=99999999999999999999&prompt=%ff",
    ];
    for path in [
        "/oidc/authorize",
        signin.as_str(),
        consent.as_str(),
        "/oidc/logout",
        "/oidc/signin/zz",
        "/oidc/consent/0123",
        "/oidc/jwks",
        "/oidc/userinfo",
        "/.well-known/openid-configuration",
    ] {
        for q in queries {
            for cookie in cookies {
                let mut req = http.get(format!("{}{path}{q}", srv.base()));
                if !cookie.is_empty() {
                    req = req.header("cookie", cookie);
                }
                let r = req.send().await.unwrap();
                assert!(
                    r.status().as_u16() < 500,
                    "GET {path}{q} {cookie}: {}",
                    r.status()
                );
                if let Some(loc) = r.headers().get("location") {
                    let loc = loc.to_str().unwrap();
                    assert!(
                        loc.starts_with('/') || loc.starts_with(REDIRECT),
                        "an open redirect: {loc}"
                    );
                }
            }
        }
    }
}

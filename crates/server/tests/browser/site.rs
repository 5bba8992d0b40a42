//! What the browser signs in to: a real `latchkey-server` on 127.0.0.1 (latchkey-testkit),
//! applications registered as IT registers them, with a loopback redirect URI served by
//! a tiny application of their own (it only says "signed in"; the test reads the code
//! off the browser's address and exchanges it), and the words the pages must show.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_server::oidc::clients::{self, NewClient};
use latchkey_testkit::{Backend, TestServer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use latchkey_testkit::chromium::Lang;

pub use latchkey_testkit::api::PASSWORD;
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The server and the applications' callback.
pub struct Site {
    pub srv: TestServer,
    /// `http://127.0.0.1:<port>/callback`: every application's redirect URI.
    pub callback: String,
    app: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.app.abort();
    }
}

/// A server set up as an office runs it (new-device codes by e-mail to the SMTP sink,
/// a secret key for TOTP and the provider's keys), with `tweak`.
pub async fn deployed(
    b: Backend,
    tweak: impl FnOnce(&mut latchkey_server::Config),
) -> Option<Site> {
    let srv = TestServer::start(b, tweak).await?;
    Some(Site::around(srv).await)
}

/// A server without new-device codes (a browser is known at once).
pub async fn known_browsers(b: Backend) -> Option<Site> {
    deployed(b, |c| c.devices.verify_new = false).await
}

impl Site {
    async fn around(srv: TestServer) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the application");
        let addr = listener.local_addr().expect("addr");
        let router = axum::Router::new().route(
            "/callback",
            axum::routing::get(|| async {
                axum::response::Html(
                    "<!doctype html><html lang=\"en\"><title>Office app</title>\
                     <h1>Back at the application</h1>",
                )
            }),
        );
        let app = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            srv,
            callback: format!("http://{addr}/callback"),
            app,
        }
    }

    pub fn base(&self) -> String {
        self.srv.base()
    }

    /// Registers an application (first party unless `tweak` says otherwise) whose
    /// redirect URI is the callback; returns its secret.
    pub async fn register(
        &self,
        id: &str,
        name: &str,
        tweak: impl FnOnce(&mut NewClient),
    ) -> String {
        let mut new = NewClient {
            id: id.into(),
            name: name.into(),
            redirect_uris: vec![self.callback.clone()],
            first_party: true,
            ..NewClient::default()
        };
        tweak(&mut new);
        clients::add(&self.srv.state.db, &new, self.srv.state.now())
            .await
            .expect("register an application")
            .expect("a confidential application has a secret")
            .expose()
            .to_owned()
    }

    /// The address an application sends the browser to (code flow, PKCE S256).
    pub fn authorize(&self, client_id: &str, extra: &[(&str, &str)]) -> String {
        self.authorize_to(client_id, &self.callback, extra)
    }

    /// [`Site::authorize`] with another redirect URI.
    pub fn authorize_to(
        &self,
        client_id: &str,
        redirect_uri: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid profile email")
            .append_pair("state", &format!("state-{client_id}"))
            .append_pair("nonce", "nonce-1")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        format!("{}/oidc/authorize?{}", self.base(), q.finish())
    }

    /// The application's side of a landing at its callback: the state and issuer are
    /// checked, the code exchanged; returns the ID token's claims (their signature is
    /// checked by the API tests and by an independent library in examples/office-app).
    pub async fn exchange(&self, landed: &url::Url, client_id: &str, secret: &str) -> Value {
        let p: HashMap<String, String> = landed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            p.get("state").map(String::as_str),
            Some(&*format!("state-{client_id}")),
            "{landed}"
        );
        assert_eq!(p.get("iss"), Some(&self.base()), "{landed}");
        let code = p
            .get("code")
            .unwrap_or_else(|| panic!("no code in {landed}"));
        let r = reqwest::Client::new()
            .post(format!("{}/oidc/token", self.base()))
            .basic_auth(client_id, Some(secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.callback),
                ("code_verifier", VERIFIER),
            ])
            .send()
            .await
            .expect("the token endpoint");
        assert_eq!(r.status(), 200, "the code is exchanged");
        let tokens: Value = r.json().await.expect("tokens");
        let id_token = tokens["id_token"].as_str().expect("an ID token");
        let payload = id_token.split('.').nth(1).expect("a JWT");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
            .expect("claims")
    }

    /// An account with TOTP turned on through the API; returns its key. The clock is
    /// then moved to the next 30 s step, so the next code is not the confirming one.
    pub async fn totp_user(&self, email: &str) -> Vec<u8> {
        let srv = &self.srv;
        srv.add_user(email, PASSWORD).await;
        // The totp_user servers know every device: one call signs in.
        let session = srv.login(email, PASSWORD).await;
        let token = session.access_token.expose().to_owned();
        let (s, enrol) = srv
            .call(
                reqwest::Method::POST,
                "/v1/me/totp/enroll",
                Some(&token),
                Some(json!({"password": PASSWORD})),
            )
            .await;
        assert_eq!(s, 200, "{enrol}");
        let key = latchkey_testkit::totp::base32_decode(enrol["secret"].as_str().unwrap());
        let (s, body) = srv
            .call(
                reqwest::Method::POST,
                "/v1/me/totp/confirm",
                Some(&token),
                Some(json!({"code": self.totp(&key)})),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        srv.advance(30);
        key
    }

    /// The TOTP code of `key` at the server's time, taken early enough in its 30 s step
    /// that it is still that step's when the browser has sent it.
    pub fn totp(&self, key: &[u8]) -> String {
        if self.srv.state.now() % 30_000 > 20_000 {
            self.srv.advance(11);
        }
        latchkey_testkit::totp::hotp(key, self.srv.now_secs() / 30, 6)
    }
}

/// The words the pages show, from the app's catalogs (`ui/src/i18n/`) or, for what
/// only the browser pages say, as the provider says them.
pub fn text(lang: Lang, key: &str) -> String {
    let json = match lang {
        Lang::En => include_str!("../../../../ui/src/i18n/en.json"),
        Lang::ZhCn => include_str!("../../../../ui/src/i18n/zh-CN.json"),
    };
    let catalog: HashMap<String, String> = serde_json::from_str(json).expect("a catalog");
    if let Some(t) = catalog.get(key) {
        return t.clone();
    }
    let (en, zh) = match key {
        "web.error_title" => ("Sign-in cannot continue", "无法继续登录"),
        "web.logout_title" => ("Sign out?", "退出登录？"),
        "web.signed_out_title" => ("Signed out", "已退出登录"),
        "web.consent_title" => ("Allow {app}?", "允许 {app} 访问？"),
        "web.continue_to" => ("to continue to {app}", "以继续使用 {app}"),
        "web.approval_title" => ("Approve in the Latchkey app", "在 Latchkey 应用中批准"),
        other => panic!("no text for {other}"),
    };
    match lang {
        Lang::En => en.to_owned(),
        Lang::ZhCn => zh.to_owned(),
    }
}

//! The OpenID Connect provider, driven as a browser and an application would: the
//! browser's requests carry its cookies and follow no redirect by themselves (each
//! `Location` is looked at), the application exchanges codes at the token endpoint.
//! The full flow in a real browser is in `tests/browser` (Chromium); the tokens are
//! checked by an independent relying-party library in `examples/office-app`.

mod approvals;
mod bad_input;
mod bursts;
mod csrf;
mod flows;
mod log;
mod refusals;
mod sso;
mod tokens;

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_server::oidc::clients::{self, NewClient};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use latchkey_testkit::TestServer;

pub const REDIRECT: &str = "https://crm.corp.example/callback";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A server whose provider can sign (it needs `LATCHKEY_SECRET_KEY` for its keys),
/// without new-device codes.
pub async fn server(b: latchkey_testkit::Backend) -> Option<TestServer> {
    TestServer::bare_with(b, |c| {
        c.delivery.secret_key = Some(crate::api::totp::KEY.into());
    })
    .await
}

/// Registers an application; returns its secret (confidential ones).
pub async fn register(
    srv: &TestServer,
    id: &str,
    tweak: impl FnOnce(&mut NewClient),
) -> Option<String> {
    let mut new = NewClient {
        id: id.into(),
        name: format!("{id} app"),
        redirect_uris: vec![REDIRECT.into()],
        first_party: true,
        ..NewClient::default()
    };
    tweak(&mut new);
    clients::add(&srv.state.db, &new, srv.state.now())
        .await
        .unwrap()
        .map(|s| s.expose().to_owned())
}

/// A browser: a cookie jar, no automatic redirects.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub cookies: HashMap<String, String>,
    /// Every `Set-Cookie` the server sent, as sent.
    pub set_cookies: Vec<String>,
    pub accept_language: &'static str,
}

/// An answer as the browser got it.
pub struct Got {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Got {
    /// The `Location`'s query parameters.
    pub fn redirect_params(&self) -> HashMap<String, String> {
        let loc = self.location.as_deref().expect("a redirect");
        url::Url::parse(loc)
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The value of a hidden or filled input named `name` of the page's form.
    pub fn input(&self, name: &str) -> Option<String> {
        let key = format!("name=\"{name}\"");
        let start = self.body.find(&key)?;
        let tag_start = self.body[..start].rfind('<')?;
        let tag_end = start + self.body[start..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        let v = tag.split("value=\"").nth(1)?.split('"').next()?;
        Some(html_unescape(v))
    }

    /// The `name` of the input with `autocomplete="<token>"`.
    pub fn field_with(&self, token: &str) -> Option<String> {
        let key = format!("autocomplete=\"{token}\"");
        let at = self.body.find(&key)?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag = &self.body[tag_start..at];
        Some(tag.split("name=\"").nth(1)?.split('"').next()?.to_owned())
    }

    /// The form's action.
    pub fn action(&self) -> String {
        let v = self
            .body
            .split("<form method=\"post\" action=\"")
            .nth(1)
            .expect("a form");
        html_unescape(v.split('"').next().unwrap())
    }

    /// The text of the alert region.
    pub fn error(&self) -> String {
        self.body
            .split("id=\"error\">")
            .nth(1)
            .and_then(|s| s.split("</div>").next())
            .map(html_unescape)
            .unwrap_or_default()
    }
}

fn html_unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Browser {
    pub fn new(srv: &TestServer) -> Self {
        Self::for_base(&srv.base())
    }

    /// A browser for a server at `base` (`http://127.0.0.1:PORT`).
    pub fn for_base(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookies: HashMap::new(),
            set_cookies: Vec::new(),
            accept_language: "en-GB,en;q=0.9",
        }
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    fn jar(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Got {
        let mut req = req.header("accept-language", self.accept_language);
        if !self.cookies.is_empty() {
            req = req.header(COOKIE, self.jar());
        }
        let r = req.send().await.unwrap();
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            self.set_cookies.push(c.to_owned());
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        Got {
            status: r.status(),
            location: r
                .headers()
                .get(LOCATION)
                .map(|v| v.to_str().unwrap().to_owned()),
            body: r.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path_or_url: &str) -> Got {
        let req = self.http.get(self.url(path_or_url));
        self.send(req).await
    }

    pub async fn post(&mut self, path_or_url: &str, form: &[(&str, &str)]) -> Got {
        let req = self.http.post(self.url(path_or_url)).form(form);
        self.send(req).await
    }

    /// Fills the page's form: its hidden fields (the CSRF token among them) and
    /// `fields`, then posts it.
    pub async fn submit(&mut self, page: &Got, fields: &[(&str, &str)]) -> Got {
        let mut form: Vec<(String, String)> = ["csrf", "step", "method"]
            .iter()
            .filter_map(|n| page.input(n).map(|v| ((*n).to_owned(), v)))
            .collect();
        form.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let action = page.action();
        self.post(&action, &pairs).await
    }

    /// `authorize` with PKCE and the given extra parameters; follows the redirect to
    /// the sign-in page if there is one.
    pub async fn authorize(&mut self, client_id: &str, extra: &[(&str, &str)]) -> Got {
        let c = challenge(VERIFIER);
        let defaults = [
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid profile email"),
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("code_challenge", c.as_str()),
            ("code_challenge_method", "S256"),
        ];
        // `extra` replaces a default of the same name, or comes after them.
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in defaults {
            let v = extra.iter().find(|(e, _)| *e == k).map_or(v, |(_, ev)| *ev);
            q.append_pair(k, v);
        }
        for (k, v) in extra {
            if !defaults.iter().any(|(d, _)| d == k) {
                q.append_pair(k, v);
            }
        }
        let got = self.get(&format!("/oidc/authorize?{}", q.finish())).await;
        match &got.location {
            Some(loc) if loc.starts_with("/oidc/") => {
                let loc = loc.clone();
                self.get(&loc).await
            }
            _ => got,
        }
    }

    /// Signs in on the password page; follows a redirect within the server.
    pub async fn password(&mut self, page: &Got, identifier: &str, password: &str) -> Got {
        let id = page.field_with("username").expect("a username field");
        let pw = page
            .field_with("current-password")
            .expect("a password field");
        let got = self
            .submit(page, &[(&id, identifier), (&pw, password)])
            .await;
        self.follow_local(got).await
    }

    /// Follows a redirect that stays on this server.
    pub async fn follow_local(&mut self, got: Got) -> Got {
        match &got.location {
            Some(loc) if loc.starts_with("/oidc/") => {
                let loc = loc.clone();
                self.get(&loc).await
            }
            _ => got,
        }
    }
}

/// The application's side: exchanges a code (client_secret_basic when `secret`).
pub async fn exchange(
    srv: &TestServer,
    client_id: &str,
    secret: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().post(format!("{}/oidc/token", srv.base()));
    match secret {
        Some(s) => req = req.basic_auth(client_id, Some(s)),
        None => {
            let mut f: Vec<(&str, &str)> = form.to_vec();
            f.push(("client_id", client_id));
            let r = req.form(&f).send().await.unwrap();
            return (r.status(), r.json().await.unwrap_or(Value::Null));
        }
    }
    let r = req.form(form).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// `code` exchanged with the standard parameters.
pub async fn exchange_code(
    srv: &TestServer,
    client_id: &str,
    secret: Option<&str>,
    code: &str,
) -> (StatusCode, Value) {
    exchange(
        srv,
        client_id,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

/// The claims of a JWT, its signature checked against the server's JWKS.
pub async fn verified_claims(srv: &TestServer, jwt: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let kid = header.kid.expect("a kid");
    let jwks: Value = reqwest::get(format!("{}/oidc/jwks", srv.base()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("the kid is published");
    let key = match header.alg {
        jsonwebtoken::Algorithm::RS256 => jsonwebtoken::DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap(),
        jsonwebtoken::Algorithm::EdDSA => {
            jsonwebtoken::DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap()
        }
        other => panic!("unexpected alg {other:?}"),
    };
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[audience]);
    v.set_issuer(&[srv.base()]);
    jsonwebtoken::decode::<Value>(jwt, &key, &v).unwrap().claims
}

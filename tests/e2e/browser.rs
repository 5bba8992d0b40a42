//! A browser on the provider's sign-in pages, as far as the desktop app's journeys
//! need one: its cookies, each redirect looked at (none followed by itself), and
//! "Continue with the Latchkey app" on the sign-in page of a registered application.

use std::collections::HashMap;

use latchkey_testkit::TestServer;

/// Where the test application receives its code.
pub const REDIRECT: &str = "https://crm.corp.example/callback";

pub struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The value of the attribute `attr` of the tag that contains `marker`.
    fn attr_of(&self, marker: &str, attr: &str) -> Option<String> {
        let at = self.body.find(marker)?;
        let start = self.body[..at].rfind('<')?;
        let end = at + self.body[at..].find('>')?;
        let tag = &self.body[start..end];
        let value = tag.split(&format!("{attr}=\"")).nth(1)?.split('"').next()?;
        Some(unescape(value))
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

impl Browser {
    pub fn new(srv: &TestServer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
            base: srv.base(),
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let r = req
            .header("accept-language", "en")
            .header("cookie", jar.join("; "))
            .send()
            .await
            .expect("the server answers");
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().expect("a cookie");
            let (name, value) = c
                .split(';')
                .next()
                .and_then(|pair| pair.split_once('='))
                .expect("name=value");
            if c.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: r.text().await.expect("a body"),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn follow(&mut self, mut page: Page) -> Page {
        while let Some(loc) = page.location.clone().filter(|l| l.starts_with('/')) {
            page = self.get(&loc).await;
        }
        page
    }

    /// `client_id`'s sign-in, then "Continue with the Latchkey app" with no account
    /// typed: the waiting page's `latchkey://approve` link, the number it shows, and
    /// the page's path (polled for the outcome).
    pub async fn ask_the_app(&mut self, client_id: &str) -> (String, u8, String) {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid profile")
            .append_pair("state", "st")
            .append_pair("nonce", "n")
            .finish();
        let got = self.get(&format!("/oidc/authorize?{query}")).await;
        let page = self.follow(got).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let action = page
            .attr_of("<form method=\"post\"", "action")
            .expect("a form");
        let csrf = page
            .attr_of("name=\"csrf\"", "value")
            .expect("a CSRF token");
        let username = page
            .attr_of("autocomplete=\"username\"", "name")
            .expect("a username field");
        let form = [
            ("csrf", csrf.as_str()),
            ("step", "password"),
            (username.as_str(), ""),
            ("decision", "app"),
        ];
        let req = self.http.post(format!("{}{action}", self.base)).form(&form);
        let got = self.send(req).await;
        let waiting = self.follow(got).await;
        assert_eq!(waiting.status, 200, "{}", waiting.body);
        let link = waiting
            .attr_of("latchkey://approve", "href")
            .expect("a latchkey://approve link");
        let number = shown_number(&waiting.body);
        (link, number, action)
    }
}

/// The number the waiting page shows (large, `class="number"`).
fn shown_number(body: &str) -> u8 {
    body.split("class=\"number\"")
        .nth(1)
        .and_then(|s| s.split_once('>'))
        .and_then(|(_, s)| s.split('<').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no number on the waiting page: {body}"))
}

use std::collections::HashMap;

use latchkey_client::{ApprovalRequest, ClientError, Code, Step};
use latchkey_server::oidc::clients::{self, NewClient};
use latchkey_testkit::{on_both, Backend, TestServer};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use super::common::*;

on_both!(
    the_app_approves_a_browser_sign_in_once,
    a_wrong_number_cancels_and_deny_says_no,
    links_the_app_does_not_answer,
    offline_the_app_says_so_then_answers_once_back_online,
    the_launcher_opens_an_application_signed_in,
    the_app_lists_and_signs_out_of_applications,
);

const REDIRECT: &str = "https://crm.corp.example/callback";
const LAUNCH: &str = "https://crm.corp.example/";

/// Registers the CRM application, in the launcher; returns its secret.
async fn register_crm(srv: &TestServer) -> String {
    let new = NewClient {
        id: "crm".into(),
        name: "CRM".into(),
        redirect_uris: vec![REDIRECT.into()],
        first_party: true,
        launch_url: Some(LAUNCH.into()),
        ..NewClient::default()
    };
    clients::add(&srv.state.db, &new, srv.state.now())
        .await
        .unwrap()
        .unwrap()
        .expose()
        .to_owned()
}

/// A browser on the provider's pages: its cookies, no redirect followed by itself.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
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
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Browser {
    fn new(srv: &TestServer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
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
        let req = req
            .header("accept-language", "en")
            .header(COOKIE, jar.join("; "));
        let r = req.send().await.unwrap();
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
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
                .get(LOCATION)
                .map(|v| v.to_str().unwrap().to_owned()),
            body: r.text().await.unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(self.url(path));
        self.send(req).await
    }

    /// Follows redirects that stay on the server.
    async fn follow(&mut self, mut page: Page) -> Page {
        while let Some(loc) = page.location.clone().filter(|l| l.starts_with('/')) {
            page = self.get(&loc).await;
        }
        page
    }

    /// The CRM's sign-in: authorize, then "Continue with the Latchkey app" with no
    /// account typed. The waiting page's `latchkey://approve` link, the number it
    /// shows, and the page's address (polled for the outcome).
    async fn ask_the_app(&mut self) -> (String, u8, String) {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", "crm")
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid profile")
            .append_pair("state", "st")
            .append_pair("nonce", "n")
            .finish();
        let got = self.get(&format!("/oidc/authorize?{query}")).await;
        let page = self.follow(got).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let action = page.attr_of("<form method=\"post\"", "action").unwrap();
        let csrf = page.attr_of("name=\"csrf\"", "value").unwrap();
        let username = page.attr_of("autocomplete=\"username\"", "name").unwrap();
        let form = [
            ("csrf", csrf.as_str()),
            ("step", "password"),
            (username.as_str(), ""),
            ("decision", "app"),
        ];
        let req = self.http.post(self.url(&action)).form(&form);
        let got = self.send(req).await;
        let waiting = self.follow(got).await;
        assert_eq!(waiting.status, 200, "{}", waiting.body);
        let link = waiting.attr_of("latchkey://approve", "href").unwrap();
        let number = shown_number(&waiting.body);
        (link, number, action)
    }
}

/// A signed-in app on `srv` for a new account `email`.
async fn signed_in_app(srv: &TestServer, email: &str) -> App {
    srv.add_user(email, PASSWORD).await;
    let mut app = App::on(srv);
    signed_in(&mut app, srv, email, PASSWORD, false).await;
    app
}

fn shown(request: ApprovalRequest) -> latchkey_proto::ApprovalView {
    match request {
        ApprovalRequest::Shown(view) => view,
        other => panic!("{other:?}"),
    }
}

/// The link opens the request (the application, the browser, three numbers with the
/// browser's among them); Allow with that number lets the browser into the application
/// as the app's account; the same link again is over.
async fn the_app_approves_a_browser_sign_in_once(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    register_crm(&srv).await;
    let mut app = signed_in_app(&srv, "lin@corp.cn").await;
    let mut browser = Browser::new(&srv);
    let (link, number, page) = browser.ask_the_app().await;
    assert!(link.starts_with("latchkey://approve?id="), "{link}");

    let view = shown(app.client.open_approval(&link).await.unwrap());
    assert_eq!(view.client_name, "CRM");
    assert!(view.browser.starts_with("Web browser"), "{}", view.browser);
    assert!(view.same_network);
    assert!(!view.needs_two_factor);
    assert_eq!(view.numbers.len(), 3);
    assert!(view.numbers.contains(&number));
    assert!(view.expires_in > 60 && view.expires_in <= 120);

    app.client
        .decide_approval(true, Some(number))
        .await
        .unwrap();
    let landed = browser.get(&page).await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    let to = landed.location.unwrap();
    assert!(to.starts_with(REDIRECT) && to.contains("code="), "{to}");

    // Answered: nothing left to answer, and the link is over.
    let e = app
        .client
        .decide_approval(true, Some(number))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::WrongStep, "{e:?}");
    let e = app.client.open_approval(&link).await.unwrap_err();
    assert_eq!(e.code(), Code::ApprovalInvalid, "{e:?}");
    // Still signed in.
    assert!(matches!(app.client.step(), Step::SignedIn { .. }));
}

/// Only the numbers shown can be picked (no call otherwise); a wrong one of them
/// cancels the request; Deny tells the browser; a request left too long is over.
async fn a_wrong_number_cancels_and_deny_says_no(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    register_crm(&srv).await;
    let mut app = signed_in_app(&srv, "wu@corp.cn").await;
    let mut browser = Browser::new(&srv);

    let (link, number, page) = browser.ask_the_app().await;
    let view = shown(app.client.open_approval(&link).await.unwrap());
    let e = app
        .client
        .decide_approval(true, Some(100))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidInput, "{e:?}");
    let e = app.client.decide_approval(true, None).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidInput, "{e:?}");
    let wrong = view.numbers.iter().copied().find(|n| *n != number).unwrap();
    let e = app
        .client
        .decide_approval(true, Some(wrong))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ApprovalMismatch, "{e:?}");
    let told = browser.get(&page).await;
    assert_ne!(told.status, 303, "a cancelled request signs nobody in");
    let e = app.client.open_approval(&link).await.unwrap_err();
    assert_eq!(e.code(), Code::ApprovalInvalid, "{e:?}");

    let (link, _, page) = browser.ask_the_app().await;
    shown(app.client.open_approval(&link).await.unwrap());
    app.client.decide_approval(false, None).await.unwrap();
    let told = browser.get(&page).await;
    assert_ne!(told.status, 303, "a denied request signs nobody in");

    let (link, _, _) = browser.ask_the_app().await;
    srv.advance(121);
    let e = app.client.open_approval(&link).await.unwrap_err();
    assert_eq!(e.code(), Code::ApprovalInvalid, "{e:?}");
}

/// Another server's link, a malformed one, and one that comes while nobody is signed
/// in are not answered; signing out drops the request on screen.
async fn links_the_app_does_not_answer(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    register_crm(&srv).await;
    let mut browser = Browser::new(&srv);
    let (link, number, _) = browser.ask_the_app().await;

    srv.add_user("zhou@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    app.client.start().await;
    assert_eq!(
        app.client.open_approval(&link).await.unwrap(),
        ApprovalRequest::NotSignedIn
    );
    signed_in(&mut app, &srv, "zhou@corp.cn", PASSWORD, false).await;

    let id = link.split("id=").nth(1).unwrap().split('&').next().unwrap();
    let foreign = format!("latchkey://approve?id={id}&server=https%3A%2F%2Fauth.evil.example");
    assert_eq!(
        app.client.open_approval(&foreign).await.unwrap(),
        ApprovalRequest::WrongServer {
            server: "https://auth.evil.example".into()
        }
    );
    for bad in [
        "latchkey://approve?server=x".to_owned(),
        format!("latchkey://approve?id=..%2Fme&server={}", srv.base()),
        format!("latchkey://reset?id={id}&server={}", srv.base()),
    ] {
        let e = app.client.open_approval(&bad).await.unwrap_err();
        assert!(
            matches!(e, ClientError::InvalidInput("link")),
            "{bad}: {e:?}"
        );
    }

    shown(app.client.open_approval(&link).await.unwrap());
    app.client.sign_out().await.unwrap();
    let e = app
        .client
        .decide_approval(true, Some(number))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::WrongStep, "{e:?}");
}

/// Signed in offline with the server down: the link says so (the browser keeps its
/// password). Once the server is back the same link opens, the session online again.
async fn offline_the_app_says_so_then_answers_once_back_online(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    register_crm(&srv).await;
    srv.add_user("he@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    signed_in(&mut app, &srv, "he@corp.cn", PASSWORD, true).await;
    let mut browser = Browser::new(&srv);
    let (link, number, page) = browser.ask_the_app().await;

    srv.stop().await;
    app.relaunch();
    app.client.start().await;
    let step = app.client.sign_in(secret(PASSWORD), true).await.unwrap();
    assert!(
        matches!(step, Step::SignedIn { offline: true, .. }),
        "{step:?}"
    );
    assert_eq!(
        app.client.open_approval(&link).await.unwrap(),
        ApprovalRequest::Offline
    );
    assert_eq!(
        app.client.launcher().await.unwrap_err().code(),
        Code::NetworkError
    );

    srv.restart().await;
    shown(app.client.open_approval(&link).await.unwrap());
    assert!(matches!(
        app.client.step(),
        Step::SignedIn { offline: false, .. }
    ));
    app.client
        .decide_approval(true, Some(number))
        .await
        .unwrap();
    assert_eq!(browser.get(&page).await.status, 303);
}

/// The launcher lists the CRM; launching gives a one-time address on this server that
/// signs a browser in and opens the CRM; an unknown application is refused.
async fn the_launcher_opens_an_application_signed_in(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    register_crm(&srv).await;
    let plain = NewClient {
        id: "wiki".into(),
        name: "Wiki".into(),
        redirect_uris: vec![REDIRECT.into()],
        ..NewClient::default()
    };
    clients::add(&srv.state.db, &plain, srv.state.now())
        .await
        .unwrap();
    let mut app = signed_in_app(&srv, "sun@corp.cn").await;

    let apps = app.client.launcher().await.unwrap();
    let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["CRM"], "only applications with a launch URL");
    assert_eq!(apps[0].client_id, "crm");
    assert_eq!(apps[0].launch_url, LAUNCH);

    let url = app.client.launch("crm").await.unwrap();
    let url = url.expose().to_owned();
    assert!(
        url.starts_with(&format!("{}/oidc/launch?", srv.base())),
        "{url}"
    );
    let mut browser = Browser::new(&srv);
    let opened = browser.get(&url).await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    assert_eq!(opened.location.as_deref(), Some(LAUNCH));
    // One use.
    assert_ne!(Browser::new(&srv).get(&url).await.status, 303);

    let e = app.client.launch("wiki").await.unwrap_err();
    assert_eq!(e.code(), Code::ServerRejected, "{e:?}");
    let e = app.client.launch("../me").await.unwrap_err();
    assert!(matches!(e, ClientError::InvalidInput("client_id")), "{e:?}");
}

/// An application the browser signed in to through the app is listed; signing out of
/// it removes it.
async fn the_app_lists_and_signs_out_of_applications(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    let secret_key = register_crm(&srv).await;
    let mut app = signed_in_app(&srv, "ma@corp.cn").await;
    assert!(app.client.signed_in_apps().await.unwrap().is_empty());

    let mut browser = Browser::new(&srv);
    let (link, number, page) = browser.ask_the_app().await;
    shown(app.client.open_approval(&link).await.unwrap());
    app.client
        .decide_approval(true, Some(number))
        .await
        .unwrap();
    let landed = browser.get(&page).await;
    let to = url::Url::parse(&landed.location.unwrap()).unwrap();
    let code = to
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // The CRM exchanges its code: a live grant.
    let tokens = reqwest::Client::new()
        .post(format!("{}/oidc/token", srv.base()))
        .basic_auth("crm", Some(&secret_key))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), 200, "{}", tokens.text().await.unwrap());

    let apps = app.client.signed_in_apps().await.unwrap();
    assert_eq!(apps.len(), 1, "{apps:?}");
    assert_eq!(apps[0].client_id, "crm");
    assert_eq!(apps[0].name, "CRM");
    assert!(apps[0].scopes.iter().any(|s| s == "openid"));
    assert!(apps[0].last_at >= apps[0].first_at);

    app.client.sign_out_of_app("crm").await.unwrap();
    assert!(app.client.signed_in_apps().await.unwrap().is_empty());
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

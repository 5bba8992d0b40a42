//! A browser as small as the sign-in pages allow: it keeps cookies, follows redirects
//! one by one (so that a test can stop at the application's callback), and submits
//! HTML forms as a person with a password manager would — fields found by their
//! `autocomplete` token, every hidden input sent back as it came (the CSRF field). No
//! JavaScript: the pages must work without it.

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::header::LOCATION;
use reqwest::{StatusCode, Url};

use super::form::{forms, Form};

/// What the person types, by `autocomplete` token.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    pub username: Option<String>,
    pub password: Option<String>,
    pub one_time_code: Option<String>,
}

impl Answers {
    pub fn password(username: &str, password: &str) -> Self {
        Self {
            username: Some(username.into()),
            password: Some(password.into()),
            one_time_code: None,
        }
    }

    fn for_token(&self, autocomplete: &str) -> Option<&str> {
        let tokens: Vec<&str> = autocomplete.split_whitespace().collect();
        let has = |t: &str| tokens.contains(&t);
        if has("username") || has("email") || has("tel") {
            self.username.as_deref()
        } else if has("current-password") {
            self.password.as_deref()
        } else if has("one-time-code") {
            self.one_time_code.as_deref()
        } else {
            None
        }
    }
}

/// A page the browser stopped on.
#[derive(Debug)]
pub struct Page {
    pub url: Url,
    pub status: StatusCode,
    pub body: String,
}

/// Where a walk ended.
#[derive(Debug)]
pub enum Stop {
    /// A page that asks nothing the answers can fill.
    Page(Page),
    /// A redirect to a URL that starts with the prefix the walk was told to stop at:
    /// the application's callback, with the code.
    Redirect(Url),
}

impl Stop {
    #[track_caller]
    pub fn redirect(self) -> Url {
        match self {
            Stop::Redirect(url) => url,
            Stop::Page(page) => panic!(
                "stopped on a page, not a redirect: {} {}\n{}",
                page.status, page.url, page.body
            ),
        }
    }

    #[track_caller]
    pub fn page(self) -> Page {
        match self {
            Stop::Page(page) => page,
            Stop::Redirect(url) => panic!("stopped at a redirect to {url}, not a page"),
        }
    }
}

pub struct Browser {
    http: reqwest::Client,
    /// How many forms the walks filled in: none when single sign-on answered.
    filled: AtomicUsize,
}

/// More steps than any sign-in takes: a loop is a bug.
const MAX_STEPS: usize = 30;

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            filled: AtomicUsize::new(0),
        }
    }

    /// How many forms the walks have filled in so far.
    pub fn filled(&self) -> usize {
        self.filled.load(Ordering::Relaxed)
    }

    /// Opens `url` and goes on as the person would: follows every redirect, fills and
    /// submits each form that asks for something in `answers`; stops on a page that
    /// asks nothing of them, or at a redirect to `stop_at`.
    pub async fn walk(&self, url: &str, answers: &Answers, stop_at: Option<&str>) -> Stop {
        let mut next = self.http.get(url);
        // The form last submitted: shown again at once, it refused the answers.
        let mut last: Option<String> = None;
        for _ in 0..MAX_STEPS {
            let response = next.send().await.expect("request");
            let url = response.url().clone();
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or_else(|| panic!("{status} without Location from {url}"));
                let target = url.join(location).expect("Location is a URL");
                if stop_at.is_some_and(|prefix| target.as_str().starts_with(prefix)) {
                    return Stop::Redirect(target);
                }
                next = self.http.get(target);
                continue;
            }
            let body = response.text().await.expect("body");
            let page = Page { url, status, body };
            match forms(&page.body).into_iter().find(|f| {
                f.inputs
                    .iter()
                    .any(|i| answers.for_token(&i.autocomplete).is_some())
            }) {
                Some(form) => {
                    let key = form.key();
                    if last.as_deref() == Some(key.as_str()) {
                        return Stop::Page(page);
                    }
                    next = self.submit_request(&page, &form, answers);
                    self.filled.fetch_add(1, Ordering::Relaxed);
                    last = Some(key);
                }
                None => return Stop::Page(page),
            }
        }
        panic!("more than {MAX_STEPS} steps from {url}")
    }

    /// Submits the only form of `page` that is sent with `method="post"` (a consent or
    /// a sign-out confirmation), then walks on.
    pub async fn submit_post_form(&self, page: &Page, stop_at: Option<&str>) -> Stop {
        let posts: Vec<Form> = forms(&page.body)
            .into_iter()
            .filter(|f| f.method.eq_ignore_ascii_case("post"))
            .collect();
        assert_eq!(
            posts.len(),
            1,
            "not one POST form on {}:\n{}",
            page.url,
            page.body
        );
        let request = self.submit_request(page, &posts[0], &Answers::default());
        let response = request.send().await.expect("submit");
        let url = response.url().clone();
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .expect("Location");
            let target = url.join(location).expect("Location is a URL");
            if stop_at.is_some_and(|prefix| target.as_str().starts_with(prefix)) {
                return Stop::Redirect(target);
            }
            return self
                .walk(target.as_str(), &Answers::default(), stop_at)
                .await;
        }
        let status = response.status();
        let body = response.text().await.expect("body");
        Stop::Page(Page { url, status, body })
    }

    /// A plain POST without a body (the example app's sign-out button), then a walk.
    pub async fn post(&self, url: &str, stop_at: Option<&str>) -> Stop {
        let response = self.http.post(url).send().await.expect("post");
        assert!(
            response.status().is_redirection(),
            "POST {url} answered {}",
            response.status()
        );
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .expect("Location");
        let target = response.url().join(location).expect("Location is a URL");
        if stop_at.is_some_and(|prefix| target.as_str().starts_with(prefix)) {
            return Stop::Redirect(target);
        }
        self.walk(target.as_str(), &Answers::default(), stop_at)
            .await
    }

    fn submit_request(
        &self,
        page: &Page,
        form: &Form,
        answers: &Answers,
    ) -> reqwest::RequestBuilder {
        let action = page.url.join(&form.action).expect("form action is a URL");
        let mut fields: Vec<(String, String)> = Vec::new();
        for input in &form.inputs {
            if input.name.is_empty() {
                continue;
            }
            let value = match answers.for_token(&input.autocomplete) {
                Some(v) => v.to_owned(),
                None => match input.kind.as_str() {
                    "checkbox" | "radio" if !input.checked => continue,
                    "submit" | "button" | "image" | "reset" => continue,
                    _ => input.value.clone(),
                },
            };
            fields.push((input.name.clone(), value));
        }
        // The first submit button is the one Enter presses (the form's default
        // button); it adds its name and value only if it has a name.
        if let Some(Some(button)) = form.buttons.first() {
            fields.push(button.clone());
        }
        if form.method.eq_ignore_ascii_case("post") {
            self.http.post(action).form(&fields)
        } else {
            self.http.get(action).query(&fields)
        }
    }
}

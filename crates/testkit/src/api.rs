//! The server's API as its own tests call it: JSON in, `(StatusCode, serde_json::Value)`
//! out, so that a test can look at any answer, also a wrong one; sign-in shortcuts; and
//! the check that an error answer is a proper one.

use latchkey_proto::{Device, LoginResponse, Session};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::TestServer;

/// A password the policy accepts.
pub const PASSWORD: &str = "Plum-orchard-violin-73";
/// Another password the policy accepts.
pub const OTHER_PASSWORD: &str = "Quartz-meadow-lantern-19";

impl TestServer {
    /// This server's URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base(), path)
    }

    /// Sends JSON (or nothing) with an optional bearer token; returns status and body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, value)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, None, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// Signs in from device `dev-1`; returns the answer, whatever it is.
    pub async fn login_raw(&self, identifier: &str, password: &str) -> (StatusCode, Value) {
        self.login_device(identifier, password, "dev-1").await
    }

    /// Signs in from `device`; returns the answer, whatever it is.
    pub async fn login_device(
        &self,
        identifier: &str,
        password: &str,
        device: &str,
    ) -> (StatusCode, Value) {
        self.post(
            "/v1/auth/login",
            json!({
                "identifier": identifier,
                "password": password,
                "device": {"id": device, "name": format!("{device} name"), "platform": "linux"},
                "client_version": "1.0.0",
            }),
        )
        .await
    }

    /// Signs in and expects `ok`.
    pub async fn login(&self, identifier: &str, password: &str) -> Session {
        let (status, body) = self.login_raw(identifier, password).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        match serde_json::from_value::<LoginResponse>(body).expect("login response") {
            LoginResponse::Ok { session } => session,
            other => panic!("expected ok, got {other:?}"),
        }
    }
}

/// The device `id`, as [`TestServer::login_device`] describes it.
pub fn device(id: &str) -> Device {
    Device {
        id: id.into(),
        name: format!("{id} name"),
        platform: "linux".into(),
    }
}

/// Asserts an error answer: status, code, and that the body is a proper error.
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

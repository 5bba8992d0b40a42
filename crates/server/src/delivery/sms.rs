//! SMS through an HTTP webhook, so that any gateway (Aliyun, Tencent Cloud, Twilio, an
//! in-house relay) can be plugged in with a small adapter:
//!
//! ```text
//! POST <LATCHKEY_SMS_WEBHOOK_URL>
//! Content-Type: application/json
//! Idempotency-Key: <message id>
//!
//! { "to": "+8613800138000", "text": "...", "locale": "zh-CN", "kind": "recovery_code" }
//! ```
//!
//! (`kind` is the message's stable name: `recovery_code` is a password reset code,
//! `device_code` a device code.)
//!
//! Any 2xx answer means sent; anything else (or no answer within 10 s) is retried
//! later. The same message keeps its `Idempotency-Key` across retries, so a gateway
//! that remembers keys can drop a repeat.

use std::time::Duration;

use serde::Serialize;

use super::DeliveryError;

pub const TIMEOUT: Duration = Duration::from_secs(10);

pub struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
}

#[derive(Serialize)]
struct Body<'a> {
    to: &'a str,
    text: &'a str,
    locale: &'a str,
    kind: &'a str,
}

impl Webhook {
    /// Checks the URL; `http://` only to this machine unless `allow_insecure` (the
    /// body carries the code, and the URL often a gateway key).
    pub fn new(url: &str, allow_insecure: bool) -> Result<Self, DeliveryError> {
        let url = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                DeliveryError::Config("LATCHKEY_SMS_WEBHOOK_URL: expected an http(s) URL".into())
            })?;
        if url.scheme() == "http" && !allow_insecure && !super::is_loopback(&url) {
            return Err(DeliveryError::Config(
                "LATCHKEY_SMS_WEBHOOK_URL: a gateway on another machine needs https://; set \
                 [delivery] allow_insecure = true to send codes in clear text anyway"
                    .into(),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("latchkey-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliveryError::Config(format!("HTTP client: {e}")))?;
        Ok(Self { client, url })
    }

    pub async fn send(
        &self,
        to: &str,
        id: &str,
        text: &str,
        locale: &str,
        kind: &str,
    ) -> Result<(), DeliveryError> {
        let body = Body {
            to,
            text,
            locale,
            kind,
        };
        let response = self
            .client
            .post(self.url.clone())
            .header("idempotency-key", id)
            .json(&body)
            .send()
            .await
            // The URL may carry a gateway key in its query: keep it out of the error.
            .map_err(|e| DeliveryError::Transient(format!("SMS webhook: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            // Only the status: a gateway may echo the request (and the code) in its body.
            Err(DeliveryError::Transient(format!(
                "SMS webhook answered {status}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls() {
        assert!(Webhook::new("https://sms.corp.cn/send?key=k", false).is_ok());
        assert!(Webhook::new("http://127.0.0.1:9000/", false).is_ok());
        assert!(Webhook::new("http://localhost:9000/", false).is_ok());
        assert!(Webhook::new("ftp://x", true).is_err());
        assert!(Webhook::new("nonsense", true).is_err());
    }

    #[test]
    fn plain_http_to_another_machine_is_refused_unless_allowed() {
        let e = Webhook::new("http://sms.corp.cn/send?key=k", false)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("https://") && e.contains("allow_insecure") && !e.contains("key=k"));
        assert!(Webhook::new("http://sms.corp.cn/send", true).is_ok());
    }
}

//! Secrets never print: [`redact_url`] and the hand-written `Debug` of the
//! configuration, used by the start-up log line and by `config check`.

use super::{Config, DeliveryConfig};

/// A URL for display: the password of `scheme://user:pass@host` and the value of
/// every query parameter (an SMS gateway's `?key=…`, PostgreSQL's `?password=…`) are
/// replaced, except parameters known to hold no secret (`tls`, `sslmode`, `mode`).
pub fn redact_url(url: &str) -> String {
    let (url, fragment) = match url.split_once('#') {
        Some((u, _)) => (u, "#<redacted>"),
        None => (url, ""),
    };
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split(':').next().unwrap_or_default();
                    format!("{scheme}://{user}:<redacted>@{host}{path}")
                }
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    let Some(query) = query else {
        return format!("{base}{fragment}");
    };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if matches!(k, "tls" | "sslmode" | "mode") => format!("{k}={v}"),
            Some((k, _)) => format!("{k}=<redacted>"),
            None => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}{fragment}", params.join("&"))
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field("server_name", &self.server_name)
            .field("default_region", &self.default_region)
            .field("worker_threads", &self.worker_threads)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("password", &self.password)
            .field("argon2", &self.argon2)
            .field("lockout", &self.lockout)
            .field("sessions", &self.sessions)
            .field("offline", &self.offline)
            .field("delivery", &self.delivery)
            .field("recovery", &self.password_reset)
            .field("devices", &self.devices)
            .field("retention", &self.retention)
            .field("limits", &self.limits)
            .field("metrics", &self.metrics)
            .field("shutdown", &self.shutdown)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for DeliveryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryConfig")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field(
                "sms_webhook_url",
                &self.sms_webhook_url.as_deref().map(redact_url),
            )
            .field("outbox_dir", &self.outbox_dir)
            .field("dispatcher", &self.dispatcher)
            .field("allow_insecure", &self.allow_insecure)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secrets() {
        let mut c = Config {
            database_url: "postgres://lk:hunter2@db/latchkey".into(),
            ..Config::default()
        };
        c.delivery.smtp_url = Some("smtp://mail:pw123@relay:25".into());
        c.delivery.secret_key = Some("ab".repeat(32));
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2") && !s.contains("pw123") && !s.contains("abab"));
        assert!(s.contains("postgres://lk:<redacted>@db/latchkey"));
    }

    #[test]
    fn query_values_of_urls_are_redacted() {
        let mut c = Config {
            database_url: "postgres://db/latchkey?user=lk&password=hunter2&sslmode=require".into(),
            ..Config::default()
        };
        c.delivery.sms_webhook_url = Some("https://sms.corp.cn/send?key=s3cr3t#tok=x1".into());
        c.delivery.smtp_url = Some("smtp://relay:587?tls=required".into());
        let s = format!("{c:?}");
        assert!(
            !s.contains("hunter2") && !s.contains("s3cr3t") && !s.contains("x1"),
            "{s}"
        );
        assert!(
            s.contains("password=<redacted>") && s.contains("sslmode=require"),
            "{s}"
        );
        assert!(
            s.contains("key=<redacted>") && s.contains("tls=required"),
            "{s}"
        );
        assert_eq!(redact_url("smtp://relay:25"), "smtp://relay:25");
        assert_eq!(redact_url("not a url?x"), "not a url?x");
    }
}

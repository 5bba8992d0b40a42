//! E-mail over SMTP with lettre. The URL says how: `smtp://host:port` is a plain relay
//! (a loopback MTA), `smtp://host?tls=required` upgrades with STARTTLS and refuses a
//! server that cannot, `smtps://host` speaks TLS from the first byte; credentials go
//! in the URL (`smtp://user:pass@host`). The message is multipart: text and HTML.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::templates::Rendered;
use super::DeliveryError;

/// Sender used when `LATCHKEY_MAIL_FROM` is not set.
pub const DEFAULT_FROM: &str = "Latchkey <no-reply@localhost>";
/// Longest wait for any step of an SMTP conversation.
pub const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    /// Checks the URL and the sender; connects only when sending. A relay that is not
    /// on this machine must be reached over TLS (`smtps://` or `?tls=required`), unless
    /// `allow_insecure`: a plain connection would carry reset codes in clear text.
    pub fn new(url: &str, from: Option<&str>, allow_insecure: bool) -> Result<Self, DeliveryError> {
        let parsed = url::Url::parse(url)
            .map_err(|e| DeliveryError::Config(format!("LATCHKEY_SMTP_URL: {e}")))?;
        let tls = parsed.scheme() == "smtps"
            || parsed
                .query_pairs()
                .any(|(k, v)| k == "tls" && v == "required");
        if !tls && !allow_insecure && !super::is_loopback(&parsed) {
            return Err(DeliveryError::Config(
                "LATCHKEY_SMTP_URL: a relay on another machine needs TLS (smtps://host, or \
                 smtp://host?tls=required); set [delivery] allow_insecure = true to send \
                 codes in clear text anyway"
                    .into(),
            ));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| DeliveryError::Config(format!("LATCHKEY_SMTP_URL: {e}")))?
            .timeout(Some(TIMEOUT))
            .build();
        let from = from
            .unwrap_or(DEFAULT_FROM)
            .parse()
            .map_err(|e| DeliveryError::Config(format!("LATCHKEY_MAIL_FROM: {e}")))?;
        Ok(Self { transport, from })
    }

    /// Sends one message; `id` becomes part of the Message-ID, so a mail log can be
    /// matched to the queue row.
    pub async fn send(&self, to: &str, id: &str, msg: &Rendered) -> Result<(), DeliveryError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| DeliveryError::Rejected("not a valid e-mail address".into()))?;
        let domain = self.from.email.domain().to_owned();
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.clone())
            .message_id(Some(format!("<{id}@{domain}>")))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(msg.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(msg.html.clone()),
                    ),
            )
            .map_err(|e| DeliveryError::Rejected(format!("cannot build the e-mail: {e}")))?;
        self.transport.send(email).await.map_err(|e| {
            // lettre's messages hold the server's reply, never our body.
            if e.is_permanent() {
                DeliveryError::Rejected(format!("SMTP: {e}"))
            } else {
                DeliveryError::Transient(format!("SMTP: {e}"))
            }
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_senders_are_checked() {
        assert!(Smtp::new("smtp://127.0.0.1:2525", None, false).is_ok());
        assert!(Smtp::new("smtp://localhost:25", None, false).is_ok());
        assert!(Smtp::new("smtp://[::1]:25", None, false).is_ok());
        let corp = Some("IT <it@corp.cn>");
        assert!(Smtp::new("smtp://relay.corp.cn?tls=required", corp, false).is_ok());
        assert!(Smtp::new("smtps://user:pw@relay.corp.cn", None, false).is_ok());
        assert!(Smtp::new("http://relay", None, true).is_err());
        assert!(Smtp::new("smtp://relay?tls=required", Some("not an address"), false).is_err());
    }

    #[test]
    fn a_remote_relay_without_tls_is_refused_unless_allowed() {
        for url in [
            "smtp://relay.corp.cn",
            "smtp://relay.corp.cn?tls=opportunistic",
            "smtp://10.0.0.5:25",
        ] {
            let e = Smtp::new(url, None, false).err().expect(url).to_string();
            assert!(
                e.contains("needs TLS") && e.contains("allow_insecure"),
                "{e}"
            );
            assert!(Smtp::new(url, None, true).is_ok(), "{url}");
        }
    }
}

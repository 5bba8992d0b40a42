//! The words of every message, in zh-CN and en: a subject, a plain-text and an HTML
//! body for e-mail, and a short text for SMS. Anything the user controls (a device
//! name) is stripped of control characters, and escaped in HTML.

use time::{OffsetDateTime, UtcOffset};

use super::MessageKind;

mod en;
mod zh_cn;

/// A message ready for a transport.
#[derive(Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sms: String,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bodies may carry a code.
        f.debug_struct("Rendered")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Renders `kind` in `locale` (`zh*` → Chinese, else English); `product` is the
/// configured server name.
pub fn render(kind: &MessageKind, locale: &str, product: &str) -> Rendered {
    let zh = super::normalize_locale(locale) == "zh-CN";
    let product = clean(product);
    let t = if zh {
        zh_cn::texts(kind)
    } else {
        en::texts(kind)
    };
    let subject = format!("[{product}] {}", t.title);
    let mut text = String::new();
    let mut html = String::new();
    for p in &t.paragraphs {
        text.push_str(p.plain());
        text.push_str("\n\n");
        html.push_str(&p.html());
        html.push('\n');
    }
    text.push_str(t.footer);
    text.push_str("\n\n-- \n");
    text.push_str(&product);
    text.push('\n');
    let lang = if zh { "zh-CN" } else { "en" };
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <title>{title}</title></head>\n<body style=\"font-family:sans-serif\">\n\
         {html}<p style=\"color:#666\">{footer}</p>\n<p style=\"color:#666\">{product}</p>\n\
         </body></html>\n",
        title = escape(&subject),
        footer = escape(t.footer),
        product = escape(&product),
    );
    let sms = format!("[{product}] {}", t.sms);
    Rendered {
        subject,
        text,
        html,
        sms,
    }
}

enum Para {
    Text(String),
    /// A code, shown large in HTML.
    Code(String),
    Link(String),
}

impl Para {
    fn plain(&self) -> &str {
        match self {
            Self::Text(s) | Self::Code(s) | Self::Link(s) => s,
        }
    }

    fn html(&self) -> String {
        match self {
            Self::Text(s) => format!("<p>{}</p>", escape(s)),
            Self::Code(s) => format!(
                "<p style=\"font-size:28px;font-weight:bold;letter-spacing:4px\">{}</p>",
                escape(s)
            ),
            Self::Link(s) => format!("<p><a href=\"{0}\">{0}</a></p>", escape(s)),
        }
    }
}

/// The words of one message in one language.
struct Texts {
    title: &'static str,
    paragraphs: Vec<Para>,
    footer: &'static str,
    sms: String,
}

/// HTML text and attribute escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// User-controlled text without control characters (no forged lines), at most 100
/// characters.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(100)
        .collect()
}

fn format_time(ms: i64, offset: UtcOffset) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return String::new();
    };
    let t = t.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Chinese readers get China Standard Time (UTC+8, no daylight saving).
fn beijing_time(ms: i64) -> String {
    format_time(ms, UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC))
}

fn utc_time(ms: i64) -> String {
    format!("{} UTC", format_time(ms, UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_proto::Secret;

    #[test]
    fn both_languages_carry_the_code() {
        let kind = MessageKind::ResetCode {
            code: Secret::from("493817"),
            link: Some(Secret::from("latchkey://reset?token=lkr_x")),
            minutes: 10,
        };
        let zh = render(&kind, "zh-CN", "Latchkey");
        assert_eq!(zh.subject, "[Latchkey] 密码重置验证码");
        assert!(zh.text.contains("493817") && zh.text.contains("10 分钟"));
        assert!(zh.html.contains("493817") && zh.html.contains("lang=\"zh-CN\""));
        assert!(zh.sms.contains("493817") && !zh.sms.contains("latchkey://"));
        let en = render(&kind, "de-DE", "Latchkey");
        assert_eq!(en.subject, "[Latchkey] Your password reset code");
        assert!(en.text.contains("latchkey://reset?token=lkr_x"));
        assert!(!format!("{en:?}").contains("493817"));
    }

    #[test]
    fn user_text_is_escaped_and_cleaned() {
        let kind = MessageKind::NewDeviceSignIn {
            device_name: "<b>Evil</b>\r\nSubject: x & \"y\"".into(),
            ip: Some("10.0.0.1".into()),
            at: 0,
        };
        let r = render(&kind, "en", "Corp <IT>");
        assert!(r.html.contains("&lt;b&gt;Evil&lt;/b&gt;"));
        assert!(r.html.contains("&amp; &quot;y&quot;"));
        assert!(!r.html.contains("<b>Evil"));
        assert!(r.html.contains("Corp &lt;IT&gt;"));
        assert!(!r.text.contains("\r\nSubject"));
        assert!(r.text.contains("1970-01-01 00:00 UTC"));
        let zh = render(&kind, "zh", "Latchkey");
        assert!(zh.text.contains("1970-01-01 08:00（北京时间）"));
    }

    #[test]
    fn every_kind_renders_in_both_languages() {
        for kind in [
            MessageKind::DeviceCode {
                code: Secret::from("1"),
                minutes: 10,
            },
            MessageKind::PasswordChanged,
            MessageKind::TotpEnabled,
            MessageKind::TotpDisabled,
            MessageKind::ContactChanged { phone: false },
            MessageKind::ContactChanged { phone: true },
            MessageKind::AccountLocked { minutes: 15 },
            MessageKind::LockSummary {
                accounts: vec!["a@corp.cn".into(), "b@corp.cn".into()],
            },
        ] {
            for locale in ["zh-CN", "en"] {
                let r = render(&kind, locale, "L");
                assert!(!r.subject.is_empty() && !r.text.is_empty() && !r.sms.is_empty());
                assert!(r.html.starts_with("<!DOCTYPE html>"));
            }
        }
    }
}

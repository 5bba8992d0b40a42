//! The server's log: standard error, filtered by `LATCHKEY_LOG` (default
//! `info,sqlx=warn`), as text or — `LATCHKEY_LOG_FORMAT=json` — one JSON object per
//! line for a log shipper.
//!
//! A JSON line has `timestamp`, `level`, `target`, the event's `fields` (its `message`
//! and values such as `status` and `latency_ms`), and `span`: the request's span with
//! its `request_id`, `method` and `route`, on every line written while a request is
//! answered. Secrets never reach it: the code logs none (`Secret`'s `Debug` is
//! `<redacted>`), and the span has the route template, not the path or the query.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    /// `LATCHKEY_LOG_FORMAT`: `text` (the default) or `json`.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim).unwrap_or_default() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "LATCHKEY_LOG_FORMAT is `text` or `json`, not `{}`",
                other.escape_debug()
            )),
        }
    }
}

/// Installs the process's subscriber (binaries only).
pub fn init(format: Format, filter: &str) {
    use std::io::IsTerminal;
    // Colours only for a person at a terminal, not in journald or a file.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        Format::Text => builder.init(),
        Format::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(Format::parse(None), Ok(Format::Text));
        assert_eq!(Format::parse(Some("json")), Ok(Format::Json));
        assert_eq!(Format::parse(Some(" text ")), Ok(Format::Text));
        let e = Format::parse(Some("xml")).unwrap_err();
        assert!(e.contains("`xml`"), "{e}");
    }
}

//! The app's three pages, as plain HTML. Everything that comes from the provider or
//! the request is escaped: a claim is data the person (or an admin) typed.

use crate::relying_party::SignedIn;
use crate::Error;

/// Not signed in: the button, and a note when the browser is back from signing out.
pub fn signed_out(back_from_logout: bool) -> String {
    let note = if back_from_logout {
        "<p role=\"status\">You are signed out of the office app and of Latchkey.</p>"
    } else {
        ""
    };
    layout(
        "Office app",
        &format!("{note}<p><a class=\"button\" href=\"/login\">Sign in with Latchkey</a></p>"),
    )
}

/// Signed in: the greeting, the claims, and the sign-out button.
pub fn signed_in(signed_in: &SignedIn) -> String {
    let rows: String = signed_in
        .claims
        .iter()
        .map(|(claim, value)| {
            format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                escape(claim),
                escape(value)
            )
        })
        .collect();
    layout(
        "Office app",
        &format!(
            "<p>Signed in as <strong id=\"who\">{}</strong></p>\
             <table><caption>What Latchkey told the app</caption>{rows}</table>\
             <form method=\"post\" action=\"/logout\"><button type=\"submit\">Sign out</button></form>",
            escape(&signed_in.name)
        ),
    )
}

/// A failed sign-in, with the reason, and a way to try again.
pub fn error(error: &Error) -> String {
    layout(
        "Sign-in failed",
        &format!(
            "<p role=\"alert\">{}</p><p><a href=\"/\">Back</a></p>",
            escape(&error.to_string())
        ),
    )
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title)
    )
}

/// Text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_claim_is_shown_as_text() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}

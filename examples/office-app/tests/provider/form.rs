//! The forms of a server-rendered page, read as a browser needs them to submit one:
//! the action and method, the inputs with their `autocomplete` tokens and values, and
//! the submit buttons in order. Not an HTML parser: enough for pages without script.

/// A form as the page declares it.
#[derive(Debug)]
pub struct Form {
    pub action: String,
    pub method: String,
    pub inputs: Vec<Input>,
    /// The submit buttons in order, with their name and value if they have a name.
    pub buttons: Vec<Option<(String, String)>>,
}

impl Form {
    /// The form's action and the fields it asks for.
    pub fn key(&self) -> String {
        let asked: Vec<&str> = self
            .inputs
            .iter()
            .map(|i| i.autocomplete.as_str())
            .collect();
        format!("{} {}", self.action, asked.join(","))
    }
}

#[derive(Debug)]
pub struct Input {
    pub name: String,
    pub kind: String,
    pub value: String,
    pub autocomplete: String,
    pub checked: bool,
}

/// The forms of a page: `<form>`, its `<input>`s and submit buttons. Enough for
/// server-rendered pages; not an HTML parser.
pub fn forms(html: &str) -> Vec<Form> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<form").map(|i| at + i) {
        let end = lower[start..]
            .find("</form")
            .map_or(html.len(), |i| start + i);
        let (open, _) = tag(html, start);
        let attrs = attributes(open);
        let mut form = Form {
            action: attr(&attrs, "action").unwrap_or_default(),
            method: attr(&attrs, "method").unwrap_or_else(|| "get".into()),
            inputs: Vec::new(),
            buttons: Vec::new(),
        };
        let mut i = start + open.len();
        while i < end {
            let Some(next) = lower[i..end].find('<').map(|j| i + j) else {
                break;
            };
            let (text, _) = tag(html, next);
            let name = lower[next + 1..next + text.len()]
                .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let attrs = attributes(text);
            let default_kind = if name == "button" { "submit" } else { "text" };
            let kind = attr(&attrs, "type")
                .unwrap_or_else(|| default_kind.into())
                .to_ascii_lowercase();
            match name.as_str() {
                "input" if kind == "submit" => {
                    let value = attr(&attrs, "value").unwrap_or_default();
                    form.buttons.push(attr(&attrs, "name").map(|n| (n, value)));
                }
                "input" => form.inputs.push(Input {
                    name: attr(&attrs, "name").unwrap_or_default(),
                    value: attr(&attrs, "value").unwrap_or_default(),
                    autocomplete: attr(&attrs, "autocomplete").unwrap_or_default(),
                    checked: attrs.iter().any(|(k, _)| k == "checked"),
                    kind,
                }),
                "button" if kind == "submit" => {
                    let value = attr(&attrs, "value").unwrap_or_default();
                    form.buttons.push(attr(&attrs, "name").map(|n| (n, value)));
                }
                _ => {}
            }
            i = next + text.len().max(1);
        }
        found.push(form);
        at = end.max(start + 1);
    }
    found
}

/// The tag that opens at `start` (up to its `>`, quotes respected) and its length.
fn tag(html: &str, start: usize) -> (&str, usize) {
    let mut quote = None;
    for (i, c) in html[start..].char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return (&html[start..=start + i], i + 1),
            _ => {}
        }
    }
    (&html[start..], html.len() - start)
}

/// The attributes of a tag, names lower-cased, values unescaped.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let inner = tag
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_end_matches('/');
    let mut chars = inner.char_indices().peekable();
    // Skip the element name.
    while chars.next_if(|(_, c)| !c.is_whitespace()).is_some() {}
    let mut out = Vec::new();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut name = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            name.push(c);
        }
        if name.is_empty() {
            break;
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '=').is_some() {
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            match chars.peek().map(|(_, c)| *c) {
                Some(q @ ('"' | '\'')) => {
                    chars.next();
                    for (_, c) in chars.by_ref() {
                        if c == q {
                            break;
                        }
                        value.push(c);
                    }
                }
                _ => {
                    while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                        value.push(c);
                    }
                }
            }
        }
        out.push((name.to_ascii_lowercase(), unescape(&value)));
    }
    out
}

fn attr(attrs: &[(String, String)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The character references a template engine writes in attribute values.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn a_form_is_read_with_its_hidden_field_and_autocomplete_tokens() {
    let html = r#"<html><body><form method="POST" action="/oidc/signin?r=a&amp;b=1">
        <input type="hidden" name="csrf" value="t&#x27;k">
        <label>Email <input name=login autocomplete="username" required></label>
        <input type="password" name="password" autocomplete='current-password'>
        <button type="submit">Sign in</button>
        <button type="submit" name="decision" value="app" formnovalidate>Use the app</button>
        </form><form action="/lang"><select name="lang"></select></form></body></html>"#;
    let forms = forms(html);
    assert_eq!(forms.len(), 2);
    let f = &forms[0];
    assert_eq!(f.action, "/oidc/signin?r=a&b=1");
    assert_eq!(f.method, "POST");
    assert_eq!(f.inputs.len(), 3);
    assert_eq!(f.inputs[0].value, "t'k");
    assert_eq!(f.inputs[1].autocomplete, "username");
    assert_eq!(f.inputs[2].autocomplete, "current-password");
    assert_eq!(
        f.buttons,
        [None, Some(("decision".to_owned(), "app".to_owned()))],
        "the default button first"
    );
    assert!(forms[1].inputs.is_empty());
}

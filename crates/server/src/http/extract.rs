//! Extractors that turn every malformed request into a JSON error with a code:
//! bodies (`ApiJson`, `OptionalJson`), query strings, paths, the client address and
//! the bearer token.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use latchkey_proto::{ErrorCode, Secret};
use serde::de::DeserializeOwned;

use super::MAX_BODY_BYTES;
use crate::error::ApiError;
use crate::session::{self, Authed, Lookup};
use crate::state::AppState;

/// A JSON body. Wrong content type → `unsupported_media_type`; over 64 KiB →
/// `payload_too_large`; not JSON, not UTF-8, wrong types or missing fields →
/// `invalid_request` naming the field. Values are never echoed back (they may be
/// passwords typed into the wrong field).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
        }
        let bytes = body(req, state).await?;
        parse(&bytes).map(Self)
    }
}

/// Like [`ApiJson`], but an empty body means `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let has_type = req.headers().contains_key(CONTENT_TYPE);
        let json = is_json(req.headers());
        let bytes = body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        if has_type && !json {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
        }
        parse(&bytes).map(Self)
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// How much of a refused body is read and dropped, and for how long at most.
const DRAIN_BYTES: usize = 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

async fn body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    // A body announced as too large is refused at once, without waiting for it (a
    // client may announce megabytes and send nothing). What it does send is read and
    // dropped in the background for a moment, so that it reads the answer instead of
    // meeting a connection reset.
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX)) {
        let rest = req.into_body();
        tokio::spawn(async move {
            let drain = axum::body::to_bytes(rest, DRAIN_BYTES);
            let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
        });
        return Err(ApiError::new(ErrorCode::PayloadTooLarge));
    }
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::PayloadTooLarge)
        } else {
            ApiError::new(ErrorCode::InvalidRequest).message("The request body could not be read.")
        }
    })
}

/// Parses a JSON body, naming the field at fault without echoing any value.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "",
            "The request body is empty; JSON is expected.",
        ));
    }
    // Every body is a JSON object. serde would also take a struct from an array
    // (`["a@b.cn", "pw"]`, or `[]` for an all-default body): refuse that shape.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid(
            "",
            "The request body must be a JSON object.",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let text = inner.to_string();
                // "missing field `x`" names a field of our schema, never a value.
                if let Some(rest) = text.strip_prefix("missing field `") {
                    let name = rest.split('`').next().unwrap_or_default();
                    let field = if path == "." {
                        name.to_owned()
                    } else {
                        format!("{path}.{name}")
                    };
                    ApiError::invalid(&field, format!("The field `{field}` is missing."))
                } else {
                    ApiError::invalid(
                        &path,
                        format!("The field `{path}` has the wrong type or value."),
                    )
                }
            }
            _ => ApiError::invalid(
                "",
                format!(
                    "The request body is not valid UTF-8 JSON (line {}, column {}).",
                    inner.line(),
                    inner.column()
                ),
            ),
        }
    })?;
    de.end()
        .map_err(|_| ApiError::invalid("", "The request body has data after the JSON value."))?;
    Ok(value)
}

/// A query string; bad values → `invalid_request`.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(_: QueryRejection) -> Self {
        ApiError::new(ErrorCode::InvalidRequest).message("The query string is malformed.")
    }
}

/// Path parameters; bad values → `invalid_request`.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::new(ErrorCode::InvalidRequest).message("The path is malformed.")
    }
}

/// The client's address: the socket peer or, behind trusted proxies
/// (`trust_forwarded_for`), the address the outermost trusted proxy saw: each proxy
/// appends the address it received from to `X-Forwarded-For`, so with `n` proxies it is
/// the `n`th entry from the right. The entries to its left were written by the client
/// and are never believed.
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

impl ClientIp {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The key a per-address throttle of `flow` counts under. An IPv6 client is counted
    /// per /64 (one customer's network: a host picks any address within it).
    pub fn bucket(&self, flow: &str) -> String {
        let net = match self.0.as_deref().map(str::parse::<IpAddr>) {
            Some(Ok(IpAddr::V6(v6))) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
            Some(Ok(IpAddr::V4(v4))) => v4.to_string(),
            _ => self.0.clone().unwrap_or_else(|| "unknown".to_owned()),
        };
        format!("{flow}:{net}")
    }
}

/// The client address in `X-Forwarded-For` headers, `proxies` hops from the right.
fn forwarded_for(headers: &HeaderMap, proxies: u32) -> Option<IpAddr> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let hops = usize::try_from(proxies.max(1)).unwrap_or(usize::MAX);
    // Fewer entries than proxies: every entry was written by a trusted proxy.
    let index = entries.len().saturating_sub(hops);
    entries.get(index)?.parse().ok()
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        if app.config().trust_forwarded_for {
            if let Some(ip) = forwarded_for(&parts.headers, app.config().trusted_proxies) {
                return Ok(Self(Some(ip.to_string())));
            }
        }
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string()),
        ))
    }
}

/// The bearer token of the request, resolved to its session.
impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token =
            bearer(&parts.headers).ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))?;
        let now = app.now();
        match session::authenticate(&app.db, token.expose(), now).await? {
            Lookup::Valid(authed) => {
                // The organisation's two-factor requirement, past its grace period:
                // only setting TOTP up (and signing out) until it is on.
                if !crate::two_factor::allowed_while_due(parts.uri.path())
                    && crate::two_factor::due(app, &authed.user_id, now)
                        .await?
                        .is_some_and(|d| d.now)
                {
                    return Err(ApiError::new(ErrorCode::TwoFactorSetupRequired));
                }
                Ok(authed)
            }
            Lookup::Expired => Err(ApiError::new(ErrorCode::TokenExpired)),
            Lookup::Unknown => Err(ApiError::new(ErrorCode::Unauthenticated)),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<Secret> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 256)
        .then(|| Secret::from(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_proto::LoginRequest;

    #[test]
    fn parse_names_the_field_and_hides_values() {
        let e = parse::<LoginRequest>(br#"{"identifier": "a", "password": 12345678}"#).unwrap_err();
        assert_eq!(e.body.code, ErrorCode::InvalidRequest);
        assert_eq!(e.body.field.as_deref(), Some("password"));
        assert!(!e.body.message.contains("12345678"));
        let e = parse::<LoginRequest>(br#"{"identifier": "a"}"#).unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("password"));
        let e =
            parse::<LoginRequest>(b"{\"identifier\": \"\xff\", \"password\": \"x\"}").unwrap_err();
        assert_eq!(e.body.code, ErrorCode::InvalidRequest);
        assert!(parse::<LoginRequest>(b"").is_err());
        assert!(parse::<LoginRequest>(br#"{"identifier":"a","password":"b"} x"#).is_err());
        assert!(parse::<LoginRequest>(br#"{"identifier":"a","password":"b"}"#).is_ok());
    }

    #[test]
    fn forwarded_for_takes_the_address_the_trusted_proxy_saw() {
        let mut h = HeaderMap::new();
        assert_eq!(forwarded_for(&h, 1), None);
        // The client wrote 6.6.6.6 itself; the one proxy appended what it saw.
        h.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        assert_eq!(forwarded_for(&h, 1), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(forwarded_for(&h, 2), Some("6.6.6.6".parse().unwrap()));
        assert_eq!(forwarded_for(&h, 3), Some("6.6.6.6".parse().unwrap()));
        h.append("x-forwarded-for", "10.0.0.2".parse().unwrap());
        assert_eq!(forwarded_for(&h, 1), Some("10.0.0.2".parse().unwrap()));
        assert_eq!(forwarded_for(&h, 2), Some("203.0.113.7".parse().unwrap()));
        h.insert(
            "x-forwarded-for",
            "1.2.3.4, not-an-address".parse().unwrap(),
        );
        assert_eq!(forwarded_for(&h, 1), None);
    }

    #[test]
    fn ipv6_clients_are_throttled_per_64() {
        let a = ClientIp(Some("2001:db8:1:2:aaaa::1".into()));
        let b = ClientIp(Some("2001:db8:1:2:ffff:1:2:3".into()));
        let c = ClientIp(Some("2001:db8:1:3::1".into()));
        assert_eq!(a.bucket("login"), b.bucket("login"));
        assert_ne!(a.bucket("login"), c.bucket("login"));
        assert_ne!(a.bucket("login"), a.bucket("recovery"));
        let v4 = ClientIp(Some("192.0.2.1".into()));
        assert_eq!(v4.bucket("login"), "login:192.0.2.1");
        let mapped = ClientIp(Some("::ffff:192.0.2.1".into()));
        assert_eq!(mapped.bucket("login"), "login:192.0.2.1");
        assert_eq!(ClientIp(None).bucket("login"), "login:unknown");
    }

    #[test]
    fn bearer_header_forms() {
        let mut h = HeaderMap::new();
        assert!(bearer(&h).is_none());
        h.insert(AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&h).unwrap().expose(), "abc");
        h.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(bearer(&h).is_none());
    }
}

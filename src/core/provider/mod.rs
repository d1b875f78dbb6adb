//! Provider REST clients: each turns a task id and a credential into a stream endpoint,
//! with the provider's errors as named variants.

pub mod agentstation;
pub mod chaser;
pub mod optexity;
pub mod waldiez;

use std::time::Duration;

use crate::core::redact;

/// Longest `Retry-After` any provider gets us to honour; a larger value is clamped.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Why a REST answer could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The request or the body transfer failed; the text is redacted.
    Network(String),
    /// The body was larger than the limit (status and limit).
    TooLarge { status: u16, max: usize },
    /// The server redirected to another origin (or too often); the redirect was not
    /// followed, so no credential went there.
    Redirected { status: u16, to: String },
}

/// What went wrong, in words: the network's reason, or what was refused in the answer.
impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Network(reason) => f.write_str(reason),
            BodyError::TooLarge { status, max } => {
                write!(f, "HTTP {status} body larger than {max} bytes")
            }
            BodyError::Redirected { status, to } => write!(
                f,
                "HTTP {status}: a redirect to {to} was not followed (credentials go only to \
                 the configured origin)"
            ),
        }
    }
}

/// A REST answer read whole: status, `Retry-After` when given, body.
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

/// Sends `req` and reads its answer, refusing a body over `max` bytes before storing it.
pub(crate) async fn send(req: reqwest::RequestBuilder, max: usize) -> Result<Answer, BodyError> {
    let network = |e: reqwest::Error| BodyError::Network(redact::url(&e.without_url().to_string()));
    let mut resp = req.send().await.map_err(network)?;
    let status = resp.status().as_u16();
    if resp.status().is_redirection() {
        let to = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| resp.url().join(l).ok())
            .map_or_else(
                || "an unknown place".to_string(),
                |u| u.origin().ascii_serialization(),
            );
        return Err(BodyError::Redirected { status, to });
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(parse_retry_after);
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge { status, max });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(network)? {
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge { status, max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// `Retry-After` as seconds (or an HTTP date, which we treat as "a while": 5 s), clamped to
/// [`MAX_RETRY_AFTER`].
pub(crate) fn parse_retry_after(v: &str) -> Duration {
    v.trim()
        .parse::<u64>()
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(5))
        .min(MAX_RETRY_AFTER)
}

/// The `detail`, `message` or `error` text of a JSON error body, cut to 200 characters and
/// redacted; "no detail" when there is none.
pub(crate) fn error_detail(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return "no detail".to_string();
    };
    ["message", "detail", "error"]
        .iter()
        .find_map(|k| value.get(k).and_then(|v| v.as_str()))
        .map(|d| redact::url(&d.chars().take(200).collect::<String>()))
        .unwrap_or_else(|| "no detail".to_string())
}

/// `base` with `segments` appended as path segments (each percent-encoded), or `None` when
/// `base` is not a URL that can have a path.
pub(crate) fn join(base: &str, segments: &[&str]) -> Option<url::Url> {
    let mut url = url::Url::parse(base).ok()?;
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(segments);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_clamped() {
        assert_eq!(parse_retry_after("7"), Duration::from_secs(7));
        assert_eq!(parse_retry_after("99999"), MAX_RETRY_AFTER);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn error_detail_prefers_message_and_redacts() {
        assert_eq!(
            error_detail(br#"{"error":"rate","message":"slow down"}"#),
            "slow down"
        );
        assert_eq!(
            error_detail(br#"{"detail":"Task not found"}"#),
            "Task not found"
        );
        assert_eq!(error_detail(b"<html>"), "no detail");
        let d = error_detail(br#"{"detail":"see https://x.example/?token=s3cret"}"#);
        assert!(!d.contains("s3cret"), "{d}");
    }

    /// A one-route-table HTTP server on loopback: answers each request by its path and
    /// records the requests it got (head only).
    async fn server(
        routes: fn(&str, std::net::SocketAddr) -> String,
    ) -> (
        std::net::SocketAddr,
        std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = vec![0; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                log.lock().unwrap().push(head);
                let _ = sock.write_all(routes(&path, addr).as_bytes()).await;
            }
        });
        (addr, seen)
    }

    fn respond(status: &str, extra: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
            body.len()
        )
    }

    #[tokio::test]
    async fn a_key_follows_redirects_only_within_its_origin() {
        use crate::core::provider::optexity::{OptexityClient, OptexityError};
        use crate::core::redact::Secret;
        use std::sync::OnceLock;
        static ELSEWHERE: OnceLock<std::net::SocketAddr> = OnceLock::new();
        let (other, got) =
            server(|_, _| respond("200 OK", "", r#"{"stream_url":"ws://127.0.0.1:9/x"}"#)).await;
        ELSEWHERE.set(other).unwrap();
        let (home, _) = server(|path, _| match path {
            // Within the origin: followed.
            "/moved/api/v1/tasks/t/stream" => respond(
                "307 Temporary Redirect",
                "Location: /api/v1/tasks/t/stream\r\n",
                "",
            ),
            "/api/v1/tasks/t/stream" => {
                respond("200 OK", "", r#"{"stream_url":"ws://127.0.0.1:9/ok"}"#)
            }
            // To another host:port: refused.
            _ => respond(
                "307 Temporary Redirect",
                &format!(
                    "Location: http://{}/api/v1/tasks/t/stream\r\n",
                    ELSEWHERE.get().unwrap()
                ),
                "",
            ),
        })
        .await;
        let key = Some(Secret::new("opx-key-never-elsewhere"));
        let http = crate::core::net::http_client().unwrap();
        let moved = OptexityClient::new(http.clone(), &format!("http://{home}/moved"), key.clone());
        assert_eq!(moved.stream_url("t").await.unwrap().path(), "/ok");
        let away = OptexityClient::new(http, &format!("http://{home}/away"), key);
        let err = away.stream_url("t").await.unwrap_err();
        assert!(
            matches!(&err, OptexityError::BadResponse(m)
                if m.contains("307") && m.contains(&format!("http://{other}")) && m.contains("not followed")),
            "{err}"
        );
        assert!(
            got.lock().unwrap().is_empty(),
            "nothing reached the other origin"
        );
    }

    #[tokio::test]
    async fn a_server_repeating_the_key_or_a_token_does_not_get_it_shown() {
        use crate::core::error::CoreError;
        use crate::core::provider::optexity::OptexityClient;
        use crate::core::redact::Secret;
        let (home, _) = server(|_, _| {
            respond(
                "401 Unauthorized",
                "",
                r#"{"detail":"key opx-echoed-key-77 is not valid; try wss://h/x?token=t0k3n"}"#,
            )
        })
        .await;
        let key = Secret::new("opx-echoed-key-77");
        let client = OptexityClient::new(
            crate::core::net::http_client().unwrap(),
            &format!("http://{home}"),
            Some(key),
        );
        let shown = CoreError::from(client.stream_url("t").await.unwrap_err()).user_message();
        assert!(shown.contains("(401)"), "{shown}");
        assert!(!shown.contains("opx-echoed-key-77"), "{shown}");
        assert!(!shown.contains("t0k3n"), "{shown}");
    }

    #[test]
    fn join_encodes_segments() {
        let u = join("http://h:1/base/", &["api", "v1", "tasks", "a b/c"]).unwrap();
        assert_eq!(u.as_str(), "http://h:1/base/api/v1/tasks/a%20b%2Fc");
        assert!(join("mailto:x", &["a"]).is_none());
    }
}

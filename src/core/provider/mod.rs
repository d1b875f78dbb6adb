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

    #[test]
    fn join_encodes_segments() {
        let u = join("http://h:1/base/", &["api", "v1", "tasks", "a b/c"]).unwrap();
        assert_eq!(u.as_str(), "http://h:1/base/api/v1/tasks/a%20b%2Fc");
        assert!(join("mailto:x", &["a"]).is_none());
    }
}

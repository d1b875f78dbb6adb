//! What a preview session writes to a recording (docs/recording-format.md): a `Connect`
//! `{"protocol":"preview"}` at each connection, one `Message` record per message as it was
//! applied (text redacted; frames when the decoder showed them, so frames it skipped for a
//! newer one are not kept) and an `Event` `{"type":"page_url"}` when the page's URL changes.

use std::sync::{Arc, Mutex};

use crate::core::record::TrackSink;
use crate::core::record::format::Kind;
use crate::core::record::replay_preview::{BINARY, TEXT, message_payload};
use crate::core::redact;

/// One WebSocket message as it came, kept to be recorded once it is applied.
#[derive(Clone, Debug)]
pub(super) enum Raw {
    Text(tokio_tungstenite::tungstenite::Utf8Bytes),
    Binary(bytes::Bytes),
}

/// Records a preview session's messages; shared by the session task and the decoder thread.
#[derive(Clone, Debug)]
pub(super) struct MessageRecorder {
    sink: TrackSink,
    /// Held while a record is stamped and queued, so the two threads' records go into the
    /// file in the order of their stamps; holds the last page URL recorded.
    last_url: Arc<Mutex<Option<String>>>,
}

impl MessageRecorder {
    pub fn new(sink: TrackSink) -> Self {
        MessageRecorder {
            sink,
            last_url: Arc::new(Mutex::new(None)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.last_url.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection began.
    pub fn connect(&self) {
        let _order = self.lock();
        self.sink
            .put_json(Kind::Connect, &serde_json::json!({"protocol": "preview"}));
    }

    /// A message was applied: text is redacted first.
    pub fn message(&self, raw: &Raw) {
        let payload = match raw {
            Raw::Text(text) => message_payload(TEXT, redacted(text.as_str()).as_bytes()),
            Raw::Binary(bytes) => message_payload(BINARY, bytes),
        };
        let _order = self.lock();
        self.sink.put(Kind::Message, payload);
    }

    /// The page's URL is `url` (already redacted): an `Event` if it changed.
    pub fn page_url(&self, url: &str) {
        let mut last = self.lock();
        if last.as_deref() == Some(url) {
            return;
        }
        *last = Some(url.to_string());
        self.sink.put_json(
            Kind::Event,
            &serde_json::json!({"type": "page_url", "url": url}),
        );
    }
}

/// A text message with its secrets masked: a `url` field as every URL Lookout shows
/// (`redact::url`), then the whole text as everything Lookout writes (`redact::text`).
fn redacted(text: &str) -> String {
    let url_message = text.len() < 64 * 1024 && text.contains("\"url\"");
    let text = match url_message {
        true => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(mut value) => {
                if let Some(url) = value.get_mut("url")
                    && let Some(s) = url.as_str()
                {
                    *url = serde_json::Value::String(redact::url(s));
                }
                value.to_string()
            }
            Err(_) => text.to_string(),
        },
        false => text.to_string(),
    };
    match redact::text(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(masked) => masked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_tokens_are_masked_and_frames_kept() {
        let url = r#"{"type":"url","url":"https://u:pw@x.example/p?token=abc123&q=1"}"#;
        let out = redacted(url);
        assert!(!out.contains("abc123") && !out.contains("pw@"), "{out}");
        assert!(out.contains("q=1"), "{out}");
        let status = r#"{"type":"status","note":"Bearer sekrit-value"}"#;
        assert!(!redacted(status).contains("sekrit"));
        let frame = r#"{"type":"frame","seq":3,"data":"/9j/4AAQSkZJRgABAQ=="}"#;
        assert_eq!(redacted(frame), frame);
    }
}

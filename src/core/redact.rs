//! Keeping secrets out of sight: URLs and strings made safe for logs, titles and errors.
//!
//! Every URL that reaches a log line, an error message or a window title goes through
//! [`url()`] first: query values whose key looks secret and any userinfo password become `***`.
//!
//! Beyond URLs, every [`Secret`] the process makes is remembered (a bounded set; the ones
//! the settings hold are pinned), and [`text()`] masks each of them wherever it appears in a
//! text, along with `token=`-style values, `Bearer` credentials and cookie values. It is the
//! one redaction point for text leaving the process: the diagnostics writer (every crate,
//! every level), error messages, window titles and notifications go through it.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Query keys whose values are never shown.
const SECRET_KEYS: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "api_key",
    "apikey",
    "key",
    "password",
    "secret",
    "sig",
    "signature",
    "auth",
];

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&key.as_str()) || key.ends_with("_token") || key.ends_with("_key")
}

/// A URL string with secrets replaced by `***`. Text that does not parse as a URL is
/// redacted conservatively: everything after a `?` is hidden.
pub fn url(raw: &str) -> String {
    let Ok(mut u) = url::Url::parse(raw) else {
        return match raw.split_once('?') {
            Some((head, _)) => format!("{head}?***"),
            None => raw.to_string(),
        };
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_key(&k) {
                    "***".to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
    }
    // `***` is percent-encoded by the serializer; show it plainly.
    u.to_string().replace("%2A%2A%2A", "***")
}

/// Secrets shorter than this are not searched for in text: masking every "a" or "12"
/// would garble the text and hide nothing.
pub const MIN_MASKED_CHARS: usize = 4;
/// How many secrets the process remembers besides the pinned ones (minted tokens and
/// answers come and go; the oldest is forgotten first).
const REMEMBERED: usize = 256;

/// The secrets the process holds, for [`text()`].
#[derive(Default)]
struct Known {
    /// The settings' keys and tokens: never forgotten.
    pinned: Vec<String>,
    recent: VecDeque<String>,
}

fn known() -> MutexGuard<'static, Known> {
    static KNOWN: OnceLock<Mutex<Known>> = OnceLock::new();
    KNOWN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn remember(value: &str) {
    if value.chars().count() < MIN_MASKED_CHARS {
        return;
    }
    let mut k = known();
    if k.pinned.iter().chain(&k.recent).any(|s| s == value) {
        return;
    }
    if k.recent.len() >= REMEMBERED {
        k.recent.pop_front();
    }
    k.recent.push_back(value.to_string());
}

/// Query keys, header names and cookie names whose values are masked in free text.
fn secret_assignment_len(rest: &str) -> usize {
    rest.find(|c: char| {
        c.is_whitespace() || matches!(c, '&' | '"' | '\'' | ';' | ',' | ')' | '<' | '>')
    })
    .unwrap_or(rest.len())
}

/// `text` with every known secret, `token=`-style value, `Bearer` credential and secret
/// cookie masked as `***`. Borrowed when there was nothing to mask.
pub fn text(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    {
        let k = known();
        for secret in k.pinned.iter().chain(&k.recent) {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), "***"));
            }
        }
    }
    match mask_assignments(&out) {
        Some(masked) => Cow::Owned(masked),
        None => out,
    }
}

/// Masks `key=value` and `key: value` where the key looks secret, and `Bearer value`;
/// `None` when there is none. Works on any text: every index it cuts at is a char boundary.
fn mask_assignments(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut copied = 0;
    for (i, c) in text.char_indices() {
        if i < copied {
            continue;
        }
        let Some(start) = value_start(text, i, c) else {
            continue;
        };
        let start = skip_auth_scheme(text, start);
        let len = secret_assignment_len(&text[start..]);
        if len > 0 && &text[start..start + len] != "***" {
            out.push_str(&text[copied..start]);
            out.push_str("***");
            copied = start + len;
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Where a credential starts at `c` (at byte `i`): after `key=` or `key: ` with a secret
/// key, or after a free-standing `Bearer `.
fn value_start(text: &str, i: usize, c: char) -> Option<usize> {
    if c == '=' || c == ':' {
        let key_start = text[..i]
            .char_indices()
            .rev()
            .find(|&(_, ch)| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '-'))
            .map_or(0, |(p, ch)| p + ch.len_utf8());
        let key = &text[key_start..i];
        let after = &text[i + 1..];
        let spaces = match c {
            ':' => after.len() - after.trim_start_matches(' ').len(),
            _ => 0,
        };
        // `key=v`, `token:v` and a header's `x-api-key: v`; but prose such as "the API
        // key: not valid" is a sentence, not a credential.
        let secret =
            !key.is_empty() && (is_secret_header(key) || (is_secret_key(key) && spaces == 0));
        return secret.then_some(i + 1 + spaces);
    }
    let word_start = !text[..i]
        .chars()
        .next_back()
        .is_some_and(|p| p.is_ascii_alphanumeric());
    let bearer = text
        .get(i..i + 7)
        .is_some_and(|w| w.eq_ignore_ascii_case("bearer "));
    (bearer && word_start).then_some(i + 7)
}

/// `Authorization: Bearer X` masks X, the credential, not the scheme's name.
fn skip_auth_scheme(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    ["bearer ", "basic "]
        .iter()
        .find(|scheme| {
            rest.get(..scheme.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(scheme))
        })
        .map_or(start, |scheme| start + scheme.len())
}

/// Header names whose values are credentials.
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "x-api-key" | "cookie" | "sec-websocket-protocol" | "client_secret"
    )
}

/// A secret string (API key, token, password) that prints as `***` in `Debug` and `Display`.
/// Each one made is remembered, so [`text()`] masks it wherever it appears.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        let s = s.into();
        remember(&s);
        Self(s)
    }

    /// Keeps this secret masked for the whole process (the settings' keys and tokens).
    pub fn pin(&self) {
        if self.0.chars().count() < MIN_MASKED_CHARS {
            return;
        }
        let mut k = known();
        k.recent.retain(|s| *s != self.0);
        if !k.pinned.contains(&self.0) {
            k.pinned.push(self.0.clone());
        }
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_token_query_values() {
        let got = url("wss://stream.example/tasks/7/websockify?token=abc.def&x=1");
        assert_eq!(got, "wss://stream.example/tasks/7/websockify?token=***&x=1");
        assert!(!got.contains("abc"));
    }

    #[test]
    fn hides_password_and_key_like_params() {
        let got = url("vnc://user:hunter2@host:5900/?api_key=K1&session_token=T2");
        assert!(!got.contains("hunter2"), "{got}");
        assert!(!got.contains("K1") && !got.contains("T2"), "{got}");
        assert!(got.contains("user:***@host"), "{got}");
    }

    #[test]
    fn unparsable_text_loses_its_query() {
        assert_eq!(url("not a url?token=zzz"), "not a url?***");
        assert_eq!(url("plain"), "plain");
    }

    #[test]
    fn text_masks_known_secrets_and_credential_shapes() {
        let key = Secret::new("sk-live-4242-abcdef");
        key.pin();
        let minted = Secret::new("tok_9f8e7d6c5b");
        let said = format!(
            "GET /x?token=abc.def&page=2 HTTP/1.1 x-api-key: {} \
             Sec-WebSocket-Protocol: tasks-api, {} Cookie: access_token=c00k1e; \
             Authorization: Bearer eyJhbGci.x.y detail: bad key sk-live-4242-abcdef",
            key.expose(),
            minted.expose()
        );
        let masked = text(&said);
        for leak in ["sk-live-4242", "tok_9f8e", "abc.def", "c00k1e", "eyJhbGci"] {
            assert!(!masked.contains(leak), "{leak} in {masked}");
        }
        assert!(masked.contains("page=2"), "{masked}");
        assert!(matches!(text("nothing secret here"), Cow::Borrowed(_)));
        // Any text, cut anywhere: never a panic on a char boundary.
        for t in [
            "é=ü Bearer",
            "ébearer ä",
            "x: ü",
            "token=",
            "Authorization: Bearer é€",
        ] {
            let _ = text(t);
        }
        // Prose about a key is not a key.
        assert_eq!(
            text("Optexity rejected the API key: not valid (401)"),
            "Optexity rejected the API key: not valid (401)"
        );
        assert_eq!(text("token:abc password=hunter2"), "token:*** password=***");
        // Too short to search for: left alone rather than garbling every "ab".
        let _short = Secret::new("ab");
        assert_eq!(text("abab"), "abab");
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("sk-live-123");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "sk-live-123");
    }
}

//! Keeping secrets out of sight: URLs and strings made safe for logs, titles and errors.
//!
//! Every URL that reaches a log line, an error message or a window title goes through
//! [`url()`] first: query values whose key looks secret and any userinfo password become `***`.

use std::fmt;

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

/// A secret string (API key, token, password) that prints as `***` in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
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
        Self(s)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
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
    fn secret_never_prints() {
        let s = Secret::new("sk-live-123");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "sk-live-123");
    }
}

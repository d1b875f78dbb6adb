//! Links that open tasks: what `lookout open LINK` and the desktop's
//! `x-scheme-handler/lookout` hand over, from an alert in a chat or a web dashboard.
//!
//! `lookout:optexity/TASK_ID`, `lookout:chaser/SESSION_ID`, `lookout:waldiez/TASK_ID`,
//! `lookout:agentstation/WORKSTATION_ID` (also written `lookout://provider/ID`).
//!
//! A link names a provider and a task, nothing more: where the provider is and the key to
//! it come from the operator's own settings, so a link cannot send Lookout, with the
//! operator's key, to a server of the link's choosing.
//!
//! `vnc://HOST[:PORT]` links (`x-scheme-handler/vnc`, where no other viewer is the
//! desktop's choice) do name their server, so they open as `vnc+link://HOST:PORT`: a source
//! to which the configured VNC password is never sent. Only a password the link itself
//! holds (`vnc://:PASSWORD@HOST`) is.

use std::fmt;

/// Why a link does not open a task.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error(
        "not a link Lookout opens: {0} (expected lookout:PROVIDER/ID, PROVIDER one of optexity, chaser, waldiez or agentstation, or vnc://HOST:PORT)"
    )]
    Unknown(Shown),
    #[error(
        "unknown provider {provider} in {link}: expected optexity, chaser, waldiez or agentstation"
    )]
    Provider { provider: Shown, link: Shown },
    #[error("no task id in {0}")]
    NoId(Shown),
    #[error("the task id in {0} holds characters no task id has")]
    BadId(Shown),
    #[error("not a VNC server link: {0} (expected vnc://HOST or vnc://HOST:PORT)")]
    BadVnc(Shown),
}

/// A piece of a link as an error message shows it: control characters escaped, and cut
/// short (a link is untrusted text).
#[derive(Debug, PartialEq, Eq)]
pub struct Shown(String);

impl Shown {
    fn of(text: &str) -> Self {
        const MAX: usize = 200;
        let mut shown: String = text
            .chars()
            .take(MAX)
            .flat_map(char::escape_debug)
            .collect();
        if text.chars().count() > MAX {
            shown.push('…');
        }
        Shown(format!("\"{shown}\""))
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The providers a `lookout:` link may name: the same words as a source's.
const PROVIDERS: [&str; 4] = ["optexity", "chaser", "waldiez", "agentstation"];

/// The longest task id taken, in bytes.
const MAX_ID: usize = 256;

/// The source (as `lookout view` takes it) that `link` opens.
pub fn source_of(link: &str) -> Result<String, LinkError> {
    let link = link.trim();
    if let Some(rest) = strip_scheme(link, "lookout") {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (provider, id) = rest
            .split_once('/')
            .ok_or_else(|| LinkError::NoId(Shown::of(link)))?;
        let provider = provider.to_ascii_lowercase();
        if !PROVIDERS.contains(&provider.as_str()) {
            return Err(LinkError::Provider {
                provider: Shown::of(&provider),
                link: Shown::of(link),
            });
        }
        // A trailing slash, query or fragment is decoration a browser may add.
        let id = id.split(['?', '#']).next().unwrap_or_default();
        let id = id.strip_suffix('/').unwrap_or(id);
        let id =
            super::source::percent_decode(id).ok_or_else(|| LinkError::BadId(Shown::of(link)))?;
        if id.is_empty() {
            return Err(LinkError::NoId(Shown::of(link)));
        }
        let fits = |c: char| c.is_ascii_alphanumeric() || "-_.:~@+=".contains(c);
        // Only dots would be a path step (`..`), not an id.
        if id.len() > MAX_ID || !id.chars().all(fits) || id.chars().all(|c| c == '.') {
            return Err(LinkError::BadId(Shown::of(link)));
        }
        return Ok(format!("{provider}:{id}"));
    }
    if let Some(rest) = strip_scheme(link, "vnc") {
        return vnc_source(link, rest);
    }
    Err(LinkError::Unknown(Shown::of(link)))
}

/// The source a `vnc://` link opens: its server, and the password it holds if any, as
/// `vnc+link://` (never answered with the configured VNC password).
fn vnc_source(link: &str, rest: &str) -> Result<String, LinkError> {
    let bad = || LinkError::BadVnc(Shown::of(link));
    let url = url::Url::parse(&format!("vnc:{rest}")).map_err(|_| bad())?;
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?;
    // A trailing slash, query or fragment is decoration; a path is not a VNC server.
    if !matches!(url.path(), "" | "/") {
        return Err(bad());
    }
    let port = url.port().unwrap_or(crate::core::source::DEFAULT_VNC_PORT);
    let password = url.password().map(|p| format!(":{p}@")).unwrap_or_default();
    Ok(format!("vnc+link://{password}{host}:{port}"))
}

/// What follows `scheme:` in `link`, the scheme in any case.
fn strip_scheme<'a>(link: &'a str, scheme: &str) -> Option<&'a str> {
    let (head, rest) = link.split_once(':')?;
    head.eq_ignore_ascii_case(scheme).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookout_link_names_a_provider_and_a_task() {
        for (link, source) in [
            ("lookout:optexity/task-42", "optexity:task-42"),
            ("lookout:chaser/sess_9", "chaser:sess_9"),
            ("lookout:waldiez/abc123", "waldiez:abc123"),
            ("lookout:agentstation/ws-demo", "agentstation:ws-demo"),
            ("lookout://optexity/task-42/", "optexity:task-42"),
            ("LOOKOUT:Optexity/T1?from=slack#x", "optexity:T1"),
            ("lookout:waldiez/a%2Db", "waldiez:a-b"),
            ("lookout:waldiez/v1.2", "waldiez:v1.2"),
        ] {
            assert_eq!(source_of(link).as_deref(), Ok(source), "{link}");
        }
    }

    #[test]
    fn a_vnc_link_opens_its_server_without_the_configured_password() {
        for (link, source) in [
            ("vnc://127.0.0.1:5901", "vnc+link://127.0.0.1:5901"),
            ("VNC://desk.example", "vnc+link://desk.example:5900"),
            (
                "vnc://desk.example:5902/?x=1#y",
                "vnc+link://desk.example:5902",
            ),
            ("vnc://[::1]:5901", "vnc+link://[::1]:5901"),
            ("vnc://user:pw%40x@h:5900", "vnc+link://:pw%40x@h:5900"),
        ] {
            assert_eq!(source_of(link).as_deref(), Ok(source), "{link}");
        }
        use crate::core::source::SourceSpec;
        let spec: SourceSpec = source_of("vnc://[::1]:5901").unwrap().parse().unwrap();
        assert!(matches!(
            &spec,
            SourceSpec::RfbTcp { host, port: 5901, password: None, linked: true } if host == "::1"
        ));
        assert_eq!(spec.label(), "vnc://[::1]:5901");
        let spec: SourceSpec = source_of("vnc://:pw%40x@h").unwrap().parse().unwrap();
        assert!(matches!(
            &spec,
            SourceSpec::RfbTcp { password: Some(p), linked: true, .. } if p.expose() == "pw@x"
        ));
    }

    #[test]
    fn a_link_carries_no_server_and_nothing_odd() {
        // A link may not choose where Lookout connects with the operator's key.
        assert!(matches!(
            source_of("lookout:rfb+ws/evil.example:80"),
            Err(LinkError::Provider { .. })
        ));
        assert!(matches!(
            source_of("lookout:optexity/"),
            Err(LinkError::NoId(_))
        ));
        assert!(matches!(
            source_of("lookout:optexity"),
            Err(LinkError::NoId(_))
        ));
        for bad in [
            "lookout:optexity/a/b",
            "lookout:optexity/a%2Fb",
            "lookout:optexity/a b",
            "lookout:optexity/%zz",
            "lookout:optexity/%ff",
            "lookout:optexity/a%0Ab",
            "lookout:agentstation/..",
            "lookout:optexity/.",
            "lookout:optexity/%2E%2E",
        ] {
            assert!(matches!(source_of(bad), Err(LinkError::BadId(_))), "{bad}");
        }
        let long = format!("lookout:optexity/{}", "a".repeat(MAX_ID + 1));
        assert!(matches!(source_of(&long), Err(LinkError::BadId(_))));
        for other in ["https://example.com", "optexity:task", "rfb+ws://h:1/x", ""] {
            assert!(
                matches!(source_of(other), Err(LinkError::Unknown(_))),
                "{other}"
            );
        }
        for bad in ["vnc://", "vnc://host/path", "vnc://host:99999", "vnc:///x"] {
            assert!(matches!(source_of(bad), Err(LinkError::BadVnc(_))), "{bad}");
        }
        // Untrusted text is shown escaped and cut short.
        let err = source_of("evil\u{1b}[31m\nlink").unwrap_err().to_string();
        assert!(!err.contains('\u{1b}') && !err.contains('\n'), "{err}");
        assert!(err.contains("\\u{1b}[31m\\nlink"), "{err}");
        let err = source_of(&"x".repeat(10_000)).unwrap_err().to_string();
        assert!(err.len() < 400 && err.contains('…'), "{}", err.len());
    }
}

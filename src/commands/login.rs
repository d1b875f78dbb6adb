//! `lookout login PROVIDER` and `lookout logout PROVIDER`: a provider's key in the desktop
//! keyring ([`keyring`]), per profile. The key is asked for with hidden input on a terminal
//! and read from standard input otherwise (`printf %s "$KEY" | lookout login optexity`);
//! it is never echoed, logged or written anywhere but the keyring.

use std::io::{IsTerminal as _, Read as _};
use std::path::Path;

use anyhow::{Context as _, bail};

use super::output::terminal_line;
use crate::cli::{KeyProvider, LoginArgs};
use crate::core::config::{self, ConfigFile};
use crate::core::keyring::{self, KeyName, KeyringError};
use crate::core::redact::Secret;

/// Longest key read from standard input.
const MAX_KEY_BYTES: u64 = 16 * 1024;

/// What a provider's key is called, and where else it can be kept: its config-file key and
/// its environment variable.
fn describe(provider: KeyProvider) -> (&'static str, &'static str, &'static str) {
    match provider {
        KeyProvider::Optexity => ("Optexity API key", "optexity_api_key", "OPTEXITY_API_KEY"),
        KeyProvider::Chaser => ("Chaser API key", "chaser_key", "CHASER_KEY"),
        KeyProvider::Waldiez => ("Waldiez Runner token", "waldiez_token", "WALDIEZ_TOKEN"),
        KeyProvider::Agentstation => (
            "AgentStation API token",
            "agentstation_token",
            "AGENTSTATION_TOKEN",
        ),
    }
}

/// The profile the key is kept under: `--profile`, `LOOKOUT_PROFILE`, the file's
/// `default_profile`, else [`keyring::DEFAULT_PROFILE`].
fn profile_of(args: &LoginArgs, file: &ConfigFile) -> String {
    config::profile_name(file, |k| std::env::var(k).ok(), args.profile.as_deref())
        .unwrap_or_else(|| keyring::DEFAULT_PROFILE.to_string())
}

/// The error when the keyring cannot be used, with where else the key can be kept.
fn no_keyring(why: KeyringError, provider: KeyProvider, path: &Path) -> anyhow::Error {
    let (_, file_key, env) = describe(provider);
    anyhow::anyhow!(
        "{why}. Without a desktop keyring, set {env}, or put `{file_key} = \"…\"` in {} and \
         `chmod 600` it",
        path.display()
    )
}

pub fn login(args: &LoginArgs) -> anyhow::Result<()> {
    let (path, file) = super::config_file(args.config.as_deref())?;
    let profile = profile_of(args, &file);
    let (what, _, _) = describe(args.provider);
    let shown = terminal_line(&profile);
    let key = read_key(&format!("{what} for profile {shown}: "))?;
    key.pin();
    let name = KeyName {
        provider: args.provider.name(),
        profile: profile.clone(),
    };
    keyring::store(&name, &key).map_err(|e| no_keyring(e, args.provider, &path))?;
    eprintln!("lookout: the {what} for profile {shown} is in the desktop keyring");
    if file
        .profiles
        .get(&profile)
        .is_some_and(|s| s.has_key(name.provider))
    {
        eprintln!(
            "lookout: note: {} also holds one for profile {shown}; the keyring's is used \
             from now on: remove the file's",
            path.display()
        );
    }
    Ok(())
}

pub fn logout(args: &LoginArgs) -> anyhow::Result<()> {
    let (path, file) = super::config_file(args.config.as_deref())?;
    let profile = profile_of(args, &file);
    let (what, _, _) = describe(args.provider);
    let shown = terminal_line(&profile);
    let name = KeyName {
        provider: args.provider.name(),
        profile,
    };
    match keyring::delete(&name).map_err(|e| no_keyring(e, args.provider, &path))? {
        true => {
            eprintln!("lookout: removed the {what} for profile {shown} from the desktop keyring")
        }
        false => eprintln!("lookout: the desktop keyring holds no {what} for profile {shown}"),
    }
    Ok(())
}

/// The key: asked for without echo on a terminal, else the first line of standard input.
fn read_key(prompt: &str) -> anyhow::Result<Secret> {
    let text = match std::io::stdin().is_terminal() {
        true => rpassword::prompt_password(prompt).context("cannot read the key")?,
        false => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .take(MAX_KEY_BYTES + 1)
                .read_to_end(&mut bytes)
                .context("cannot read the key from standard input")?;
            if bytes.len() as u64 > MAX_KEY_BYTES {
                bail!("the key on standard input is longer than {MAX_KEY_BYTES} bytes");
            }
            String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("the key on standard input is not UTF-8 text"))?
        }
    };
    first_line_key(&text)
}

/// The key in `text`: its first line, trimmed; an empty one is refused.
fn first_line_key(text: &str) -> anyhow::Result<Secret> {
    let key = text.lines().next().unwrap_or("").trim();
    if key.is_empty() {
        bail!("no key given (the first line is empty)");
    }
    if key.chars().any(char::is_control) {
        bail!("the key holds a control character");
    }
    Ok(Secret::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_first_line_trimmed_and_never_empty() {
        assert_eq!(first_line_key("k-123\n").unwrap().expose(), "k-123");
        assert_eq!(
            first_line_key("  k-123  \r\nrest").unwrap().expose(),
            "k-123"
        );
        assert!(first_line_key("\n").is_err());
        assert!(first_line_key("").is_err());
        let err = first_line_key("a\u{1b}b").unwrap_err().to_string();
        assert!(!err.contains('\u{1b}') && err.contains("control"), "{err}");
    }

    #[test]
    fn without_a_keyring_the_error_names_the_other_places_and_no_key() {
        let err = no_keyring(
            KeyringError::Unavailable("no bus".into()),
            KeyProvider::Chaser,
            Path::new("/home/u/.config/lookout/config.toml"),
        )
        .to_string();
        assert!(err.contains("no desktop keyring"), "{err}");
        assert!(err.contains("CHASER_KEY"), "{err}");
        assert!(err.contains("chaser_key = "), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
    }
}

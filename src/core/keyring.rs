//! Keys in the desktop keyring (the freedesktop Secret Service: GNOME Keyring, KWallet).
//!
//! `lookout login PROVIDER` stores a provider's key for a profile; the settings read it
//! after the flags and the environment and before the config file. Each key is one item
//! of the default collection, found by its attributes `service=lookout`,
//! `provider=PROVIDER`, `profile=PROFILE`. Nothing here prompts: a locked collection is
//! an error that says so. Every call gives up after [`TIMEOUT`], so a keyring that never
//! answers cannot hold up a start.
//!
//! The calls block the caller (on a thread and runtime of their own) for at most
//! [`TIMEOUT`].

use std::time::Duration;

use crate::core::redact::Secret;

/// `LOOKOUT_KEYRING=off` leaves the keyring alone: keys come from flags, the environment
/// and the config file only.
pub const SWITCH: &str = "LOOKOUT_KEYRING";

/// Whether `LOOKOUT_KEYRING` (read through `env`) turns the keyring off.
pub fn disabled(env: impl Fn(&str) -> Option<String>) -> bool {
    env(SWITCH).is_some_and(|v| matches!(v.trim(), "off" | "0" | "no" | "false"))
}

/// The profile a key is kept under when no profile is chosen.
pub const DEFAULT_PROFILE: &str = "default";

/// How long one keyring call may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The providers whose keys the keyring holds, as `lookout login` names them.
pub const PROVIDERS: [&str; 4] = ["optexity", "chaser", "waldiez", "agentstation"];

/// Why the keyring could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("no desktop keyring (Secret Service) answers: {0}")]
    Unavailable(String),
    #[error("the desktop keyring is locked: unlock it (log in to the desktop) and try again")]
    Locked,
    #[error("the desktop keyring did not answer within {} s", TIMEOUT.as_secs())]
    Timeout,
    #[error("the desktop keyring failed: {0}")]
    Failed(String),
}

/// One key's place: which provider, which profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyName {
    pub provider: &'static str,
    pub profile: String,
}

/// Stores `secret` as `name`'s key, replacing the one there.
pub fn store(name: &KeyName, secret: &Secret) -> Result<(), KeyringError> {
    service::store(name, secret)
}

/// `name`'s key, if the keyring holds one.
pub fn lookup(name: &KeyName) -> Result<Option<Secret>, KeyringError> {
    let mut found = lookup_many(&name.profile, &[name.provider])?;
    Ok(found.pop().map(|(_, key)| key))
}

/// The keys the keyring holds for `profile` among `providers`, over one connection.
pub fn lookup_many(
    profile: &str,
    providers: &[&'static str],
) -> Result<Vec<(&'static str, Secret)>, KeyringError> {
    service::lookup_many(profile, providers)
}

/// Removes `name`'s key; whether there was one.
pub fn delete(name: &KeyName) -> Result<bool, KeyringError> {
    service::delete(name)
}

/// Where keys are kept apart from the config file: the desktop keyring
/// ([`DesktopKeyring`]), or a stand-in in tests.
pub trait KeyStore {
    fn lookup(&self, name: &KeyName) -> Result<Option<Secret>, KeyringError>;
    fn store(&self, name: &KeyName, key: &Secret) -> Result<(), KeyringError>;
    fn delete(&self, name: &KeyName) -> Result<bool, KeyringError>;
}

/// The desktop keyring over the Secret Service.
pub struct DesktopKeyring;

impl KeyStore for DesktopKeyring {
    fn lookup(&self, name: &KeyName) -> Result<Option<Secret>, KeyringError> {
        lookup(name)
    }

    fn store(&self, name: &KeyName, key: &Secret) -> Result<(), KeyringError> {
        store(name, key)
    }

    fn delete(&self, name: &KeyName) -> Result<bool, KeyringError> {
        delete(name)
    }
}

/// The Secret Service client (feature `keyring`).
#[cfg(feature = "keyring")]
mod service {
    use std::collections::HashMap;

    use secret_service::{EncryptionType, SecretService};

    use super::{KeyName, KeyringError, TIMEOUT};
    use crate::core::redact::Secret;

    impl From<secret_service::Error> for KeyringError {
        fn from(e: secret_service::Error) -> Self {
            match e {
                secret_service::Error::Locked => KeyringError::Locked,
                secret_service::Error::Zbus(e) => KeyringError::Unavailable(e.to_string()),
                secret_service::Error::ZbusFdo(e) => KeyringError::Unavailable(e.to_string()),
                other => KeyringError::Failed(other.to_string()),
            }
        }
    }

    /// Runs `f` on a runtime of its own, on a thread of its own (so that it may be called from
    /// inside another runtime), within [`TIMEOUT`].
    fn blocking<T: Send>(
        f: impl std::future::Future<Output = Result<T, KeyringError>> + Send,
    ) -> Result<T, KeyringError> {
        std::thread::scope(|scope| {
            let run = scope.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| KeyringError::Failed(e.to_string()))?;
                rt.block_on(async {
                    tokio::time::timeout(TIMEOUT, f)
                        .await
                        .map_err(|_| KeyringError::Timeout)?
                })
            });
            run.join()
                .unwrap_or_else(|_| Err(KeyringError::Failed("the keyring call panicked".into())))
        })
    }

    pub(super) fn store(name: &KeyName, secret: &Secret) -> Result<(), KeyringError> {
        blocking(async {
            let ss = SecretService::connect(EncryptionType::Dh).await?;
            let collection = ss.get_default_collection().await?;
            collection.ensure_unlocked().await?;
            collection
                .create_item(
                    &name.label(),
                    name.attributes(),
                    secret.expose().as_bytes(),
                    true,
                    "text/plain",
                )
                .await?;
            Ok(())
        })
    }

    pub(super) fn lookup_many(
        profile: &str,
        providers: &[&'static str],
    ) -> Result<Vec<(&'static str, Secret)>, KeyringError> {
        blocking(async {
            let ss = SecretService::connect(EncryptionType::Dh).await?;
            let mut keys = Vec::new();
            for &provider in providers {
                let name = KeyName {
                    provider,
                    profile: profile.to_string(),
                };
                let found = ss.search_items(name.attributes()).await?;
                let Some(item) = found.unlocked.first().or(found.locked.first()) else {
                    continue;
                };
                item.ensure_unlocked().await?;
                let bytes = item.get_secret().await?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| KeyringError::Failed(format!("the {provider} key is not text")))?;
                keys.push((provider, Secret::new(text)));
            }
            Ok(keys)
        })
    }

    pub(super) fn delete(name: &KeyName) -> Result<bool, KeyringError> {
        blocking(async {
            let ss = SecretService::connect(EncryptionType::Dh).await?;
            let found = ss.search_items(name.attributes()).await?;
            let items: Vec<_> = found.unlocked.iter().chain(found.locked.iter()).collect();
            for item in &items {
                item.delete().await?;
            }
            Ok(!items.is_empty())
        })
    }

    impl KeyName {
        fn attributes(&self) -> HashMap<&str, &str> {
            HashMap::from([
                ("service", "lookout"),
                ("provider", self.provider),
                ("profile", self.profile.as_str()),
            ])
        }

        fn label(&self) -> String {
            format!("Lookout: {} key ({})", self.provider, self.profile)
        }
    }
}

/// A build without the keyring (no feature `keyring`): every call says so.
#[cfg(not(feature = "keyring"))]
mod service {
    use super::{KeyName, KeyringError};
    use crate::core::redact::Secret;

    fn absent() -> KeyringError {
        KeyringError::Unavailable("this build of Lookout has no keyring support".into())
    }

    pub(super) fn store(_: &KeyName, _: &Secret) -> Result<(), KeyringError> {
        Err(absent())
    }

    pub(super) fn lookup_many(
        _: &str,
        _: &[&'static str],
    ) -> Result<Vec<(&'static str, Secret)>, KeyringError> {
        Err(absent())
    }

    pub(super) fn delete(_: &KeyName) -> Result<bool, KeyringError> {
        Err(absent())
    }
}

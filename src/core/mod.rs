//! The headless core: sessions, sources, providers, frames. It builds without the GUI
//! (`--no-default-features`) and names no GUI crate; `packaging/test.sh` checks both.

pub mod audio;
pub mod config;
pub mod error;
pub mod event;
pub mod frame;
pub mod input;
pub mod instance;
pub mod jpeg;
pub mod keyring;
pub mod link;
pub mod listing;
pub mod log_slot;
pub mod net;
pub mod priority;
pub mod provider;
pub mod record;
pub mod redact;
pub mod session;
pub mod source;
pub mod untrusted;
pub mod workspace;

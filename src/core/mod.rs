//! The headless core: sessions, sources, providers, frames. Never names egui.

pub mod audio;
pub mod config;
pub mod error;
pub mod event;
pub mod frame;
pub mod input;
pub mod jpeg;
pub mod log_slot;
pub mod net;
pub mod provider;
pub mod redact;
pub mod session;
pub mod source;

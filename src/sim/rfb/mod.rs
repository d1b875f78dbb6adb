//! The simulator's RFB server: an independent implementation (it shares nothing with the
//! client in `core::source::rfb`, so each checks the other).
//!
//! An RFB session is a byte stream: a version and security handshake, ClientInit and
//! ServerInit, then client messages (pixel format, encodings, update requests, input) and
//! server `FramebufferUpdate`s made of encoded rectangles. `server` runs one connection
//! over a `transport::Transport` (TCP or WebSocket), with a per-connection
//! [`crate::sim::desktop::Desktop`] as the picture; [`encode`] holds the encoders (public
//! so benches can produce the same byte streams); [`pixel`] the pixel formats.

pub mod auth;
pub mod damage;
pub mod encode;
pub(crate) mod messages;
pub mod pixel;
pub(crate) mod server;
pub(crate) mod transport;

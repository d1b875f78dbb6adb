//! The simulator's RFB server: an independent implementation of the protocol's logic (its
//! parsing, encoders and handshake share no code with the client in `core::source::rfb`, so
//! each checks the other). What both sides must agree on by definition comes from the core:
//! message types, encoding numbers, security types, the Hextile, Tight and ZRLE constants
//! and the VNC Authentication response.
//!
//! An RFB session is a byte stream: a version and security handshake, ClientInit and
//! ServerInit, then client messages (pixel format, encodings, update requests, input) and
//! server `FramebufferUpdate`s made of encoded rectangles. `server` runs one connection
//! over a `transport::Transport` (TCP or WebSocket), with a per-connection
//! [`crate::sim::desktop::Desktop`] as the picture; [`encode`] holds the encoders (public
//! so benches can produce the same byte streams); [`pixel`] the pixel formats.

pub mod damage;
pub mod encode;
pub(crate) mod messages;
pub mod pixel;
pub(crate) mod server;
pub(crate) mod transport;

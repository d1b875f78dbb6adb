//! Lookout: watch, steer, record and replay the browser and desktop tasks of AI agents.
//!
//! # Architecture
//!
//! ```text
//! provider (REST: stream URL, token, status)   core::provider::{optexity, chaser, waldiez, agentstation}
//!   -> transport (TCP / WebSocket / HTTP)     core::net
//!   -> source (wire messages -> framebuffer)   core::source::{rfb, preview}
//!   -> FrameSlot (latest wins + dirty rects)   core::frame
//!   -> Waker -> front end (egui texture, PNG)  ui, cli
//! HLS (playlists, MPEG-TS segments)           core::source::hls::{playlist, fetch}
//!   -> decoder thread (FFmpeg H.264 / AAC)     core::source::hls::decode
//!   -> play-out clock (capture + delay)        core::source::hls::clock
//!   -> FrameSlot; sound -> AudioSink           core::frame, core::audio (ui::audio: cpal)
//! task-log source (runner JSON, SSE)           core::session (tasklog), core::source::tasklog
//!   -> LogSlot (capped, de-duplicated lines,   core::log_slot
//!      status, pending prompt; read under lock)
//!   -> Waker -> front end (log and prompt      ui::{log_view, log_panel, prompt_panel}, commands::logs
//!      panes, terminal)
//! front end input (interactive mode only)      ui::control -> Command::Input
//!   -> session -> source encoder -> socket     core::source::rfb::input, preview::PreviewInput
//! answers (Command::Answer)                    -> runner socket, or REST when it is down
//! ```
//!
//! * **Threads.** `main` builds the one multi-thread tokio runtime. Each session is one async
//!   task that owns its socket; picture decoding runs on one named blocking thread per
//!   connection (`rfb-decode`, fed by a bounded channel of socket bytes; `preview-decode`,
//!   fed the newest frame only; `hls-decode` and `hls-audio`, fed whole segments by the
//!   playlist follower, with FFmpeg's own frame threads under them). Sound plays from
//!   cpal's callback, fed by a bounded queue (`audio-out` holds the stream). The GUI runs
//!   on the main thread; on X11 a fitted picture is put on screen by `x11-present`, which
//!   the [`core::frame::FrameSlot`] notifies of new pictures instead of waking the GUI.
//! * **Boundary.** [`core::event`] is the whole interface between core and front ends:
//!   [`core::event::SessionEvent`] out, [`core::event::Command`] in, pixels through
//!   [`core::frame::FrameSlot`], log lines and prompts through [`core::log_slot::LogSlot`],
//!   counters through [`core::event::StreamStats`].
//! * **Errors.** Each source and provider has its own `thiserror` enum naming each failure,
//!   gathered in [`core::error::CoreError`] with `is_retryable()` and `user_message()`.
//!   Front ends use `anyhow`. Untrusted bytes never panic and never allocate without a bound.
//! * **Unsafe code** is denied everywhere except `ui::gl_picture`, which calls OpenGL (a C
//!   API) to draw the picture on software GL's fast path, and the SSE4.1 pass of
//!   `ui::resample` (x86-64 intrinsics, after a run-time CPU check); each block states why
//!   it is sound.
//! * **Secrets.** Keys and tokens are [`core::redact::Secret`]s; URLs pass through
//!   [`core::redact::url`] before they are shown anywhere.
//!
//! Modules: [`core`] (headless), `sim` (the built-in provider simulator, behind the `sim`
//! feature), `ui` (egui, behind the `gui` feature), [`cli`] (argument types).

pub mod cli;
pub mod commands;
pub mod core;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "gui")]
pub mod ui;

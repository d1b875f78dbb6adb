//! Lookout: watch, steer, record and replay the browser and desktop tasks of AI agents.
//!
//! # Architecture
//!
//! One shape for every source: a *driver* per source kind, one *runner* for all of them.
//!
//! ```text
//! front end (ui, commands) --Command--> session runner          core::session
//!                          <--SessionEvent (states, notices)--  (backoff, reconnect,
//!                                                               command routing, states)
//!                                                                   | drives one Driver
//! driver, beside its protocol, in core::source::<kind>::driver     v
//!   rfb      Optexity, rfb+ws://, vnc://   provider::optexity -> net -> rfb client
//!                                          (own thread, rfb-decode) -> FrameSlot
//!   preview  Chaser, preview+ws://         provider::chaser -> WebSocket -> JPEG/PNG
//!                                          (own thread, preview-decode) -> FrameSlot
//!   hls      AgentStation, https://…m3u8   provider::agentstation -> playlist follower
//!                                          -> FFmpeg (hls-decode, hls-audio) -> play-out
//!                                          clock -> FrameSlot, AudioSink
//!   tasklog  Waldiez, tasklog+ws://        provider::waldiez -> runner socket -> parse,
//!            (driver), AgentStation log    render, store -> LogSlot
//!            (sse_driver)
//! FrameSlot (latest wins + dirty rects) -> Waker -> ui::picture (egui texture, GL or X11,
//!                                                   chosen once) or a PNG (snapshot)
//! LogSlot (capped lines, status, prompt) -> Waker -> ui::{log_view, log_panel,
//!                                                   prompt_panel}, commands::logs
//! ```
//!
//! * **Drivers.** A driver resolves its endpoint through its provider, connects and runs
//!   one connection, owning its REST client and per-source state. The runner lends it the
//!   session's outputs and its commands already routed: Stop and Retry are the runner's,
//!   answers reach only sources that ask questions, input only sources that take it.
//!   Adding a source is one driver and one line in [`core::session::spawn`].
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
//!   gathered in [`core::error::CoreError`] with `kind()`, `is_retryable()` and
//!   `user_message()`. They cross to the front end as a [`core::event::SessionError`]:
//!   an [`core::event::ErrorKind`] the front end decides by (a Retry button, a hint to fix
//!   the key), the retryable flag and the message; never matched on as text. Front ends use
//!   `anyhow`. Untrusted bytes never panic and never allocate without a bound.
//! * **Settings.** [`core::config::Settings`] holds every setting, one group per provider;
//!   the same type is parsed from the flags, read from the environment and from each config
//!   profile, and merged once (flags over environment over file).
//! * **Unsafe code** is denied except where a block says why it is sound: OpenGL calls
//!   (`ui::picture::gl`), SIMD intrinsics after a run-time CPU check (`ui::picture::resample`,
//!   [`core::jpeg`]) and memory shared with the X server (`ui::picture::x11`).
//! * **Secrets.** Keys and tokens are [`core::redact::Secret`]s; URLs pass through
//!   [`core::redact::url`] before they are shown anywhere.
//! * **Many tasks.** The console (`ui::console`) is N tasks, each the same sessions and
//!   task view a single-task window has: a task off screen takes its sessions' news each
//!   frame, and its tile reads the picture from its `FrameSlot` without taking the change
//!   set (`FrameSlot::peek`), so opening it full-size loses nothing. The workspace it
//!   keeps is [`core::workspace`].
//!
//! Modules: [`core`] (headless: builds with `--no-default-features` and names no GUI
//! crate), `sim` (the built-in provider simulator, behind the `sim` feature), `ui` (egui,
//! behind the `gui` feature), [`commands`] (what each subcommand does), [`cli`] (argument
//! types). The provider contract the code follows is `docs/PROVIDERS.md`.

pub mod cli;
pub mod commands;
pub mod core;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "gui")]
pub mod ui;

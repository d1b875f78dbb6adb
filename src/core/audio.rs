//! Where decoded sound goes: the core decodes, a front end plays.
//!
//! The GUI implements [`AudioSink`] on the system's audio output (with the view's mute
//! and volume); headless commands pass none, and the decoder then skips sound entirely.

use std::fmt;
use std::time::Duration;

/// The output's sample format: interleaved `f32` at this rate and channel count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioFormat {
    pub rate: u32,
    pub channels: u16,
}

/// A sound output for one session.
pub trait AudioSink: Send + Sync + fmt::Debug {
    /// The output's format; `None` when there is no output device (not an error: the
    /// picture plays without sound).
    fn format(&self) -> Option<AudioFormat>;
    /// Queues interleaved samples in [`AudioSink::format`].
    fn push(&self, samples: &[f32]);
    /// How long queued samples wait before they are heard (the output's buffer), so the
    /// decoder can queue them that much ahead of their time.
    fn latency(&self) -> Duration;
    /// Drops everything queued (a jump to live, the end of the stream).
    fn clear(&self);
}

/// A sound output that hears nothing: sound that is recorded but has no device to play on
/// is still decoded on time, so that the recording says when it would have been heard.
#[derive(Debug)]
pub struct Unheard;

impl AudioSink for Unheard {
    fn format(&self) -> Option<AudioFormat> {
        Some(AudioFormat {
            rate: 48_000,
            channels: 2,
        })
    }
    fn push(&self, _: &[f32]) {}
    fn latency(&self) -> Duration {
        Duration::ZERO
    }
    fn clear(&self) {}
}

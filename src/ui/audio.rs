//! The speaker: a session's sound on the system's default output (cpal), with the view's
//! mute and volume.
//!
//! cpal's stream is not `Send`, so it lives on its own named thread for as long as the
//! [`Speaker`] does; the decoder pushes samples into a bounded queue the output callback
//! drains. No output device (a server, CI) is not an error: [`AudioSink::format`] is
//! then `None` and the decoder skips sound.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use crate::core::audio::{AudioFormat, AudioSink};

/// Most sound queued ahead of the speaker; more means we are behind, and the oldest goes.
const MAX_QUEUED: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<VecDeque<f32>>,
    muted: AtomicBool,
    /// Volume 0.0–1.0 as f32 bits.
    volume: AtomicU32,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, VecDeque<f32>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fills `out` from the queue (silence when muted or short).
    fn fill(&self, out: &mut [f32]) {
        let gain = if self.muted.load(Ordering::Relaxed) {
            0.0
        } else {
            f32::from_bits(self.volume.load(Ordering::Relaxed))
        };
        let mut q = self.queue();
        for s in out.iter_mut() {
            *s = q.pop_front().map_or(0.0, |v| v * gain);
        }
    }
}

/// A session's sound output.
#[derive(Debug)]
pub struct Speaker {
    shared: Arc<Shared>,
    format: Option<AudioFormat>,
    latency: Duration,
    /// Dropping it ends the thread that owns the output stream.
    _keep: Option<std::sync::mpsc::SyncSender<()>>,
}

impl Speaker {
    /// Opens the default output; a speaker with no format when there is none.
    pub fn open(muted: bool) -> Arc<Speaker> {
        let shared = Arc::new(Shared::default());
        shared.muted.store(muted, Ordering::Relaxed);
        shared.volume.store(0.8f32.to_bits(), Ordering::Relaxed);
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let (keep_tx, keep_rx) = std::sync::mpsc::sync_channel::<()>(0);
        let thread_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("audio-out".into())
            .spawn(move || {
                let stream = match open_stream(thread_shared) {
                    Ok((stream, format)) => {
                        let _ = ready_tx.send(Some(format));
                        stream
                    }
                    Err(why) => {
                        tracing::info!("no sound output: {why}");
                        let _ = ready_tx.send(None);
                        return;
                    }
                };
                // Hold the stream until the speaker is dropped.
                let _ = keep_rx.recv();
                drop(stream);
            });
        let format = match spawned {
            Ok(_) => ready_rx.recv_timeout(Duration::from_secs(5)).ok().flatten(),
            Err(e) => {
                tracing::warn!("cannot start the sound thread: {e}");
                None
            }
        };
        Arc::new(Speaker {
            shared,
            format,
            latency: Duration::from_millis(60),
            _keep: format.is_some().then_some(keep_tx),
        })
    }

    /// A speaker that plays nowhere but keeps what it is given, for tests.
    pub fn detached(format: AudioFormat, muted: bool) -> Arc<Speaker> {
        let shared = Arc::new(Shared::default());
        shared.muted.store(muted, Ordering::Relaxed);
        shared.volume.store(0.8f32.to_bits(), Ordering::Relaxed);
        Arc::new(Speaker {
            shared,
            format: Some(format),
            latency: Duration::from_millis(60),
            _keep: None,
        })
    }

    /// A speaker with no output device, as on a machine without sound.
    pub fn silent() -> Arc<Speaker> {
        Arc::new(Speaker {
            shared: Arc::new(Shared::default()),
            format: None,
            latency: Duration::ZERO,
            _keep: None,
        })
    }

    /// Whether there is an output to play on.
    pub fn has_output(&self) -> bool {
        self.format.is_some()
    }

    pub fn is_muted(&self) -> bool {
        self.shared.muted.load(Ordering::Relaxed)
    }

    pub fn set_muted(&self, muted: bool) {
        self.shared.muted.store(muted, Ordering::Relaxed);
    }

    /// The volume, 0.0–1.0.
    pub fn volume(&self) -> f32 {
        f32::from_bits(self.shared.volume.load(Ordering::Relaxed))
    }

    pub fn set_volume(&self, volume: f32) {
        let v = if volume.is_finite() {
            volume.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.shared.volume.store(v.to_bits(), Ordering::Relaxed);
    }

    /// Samples queued and not yet played.
    pub fn queued(&self) -> usize {
        self.shared.queue().len()
    }

    /// Plays `n` samples from the queue into `out` as the output would (tests).
    pub fn drain_into(&self, out: &mut [f32]) {
        self.shared.fill(out);
    }
}

impl AudioSink for Speaker {
    fn format(&self) -> Option<AudioFormat> {
        self.format
    }

    fn push(&self, samples: &[f32]) {
        let Some(f) = self.format else { return };
        let max =
            (f.rate as usize * usize::from(f.channels)) * MAX_QUEUED.as_millis() as usize / 1000;
        let mut q = self.shared.queue();
        q.extend(samples.iter().copied());
        if q.len() > max {
            // Behind: drop the oldest whole frames.
            let channels = usize::from(f.channels.max(1));
            let excess = ((q.len() - max).div_ceil(channels) * channels).min(q.len());
            q.drain(..excess);
        }
    }

    fn latency(&self) -> Duration {
        self.latency
    }

    fn clear(&self) {
        self.shared.queue().clear();
    }
}

/// Whether this machine plainly has no sound output: no ALSA card and no sound server
/// socket. ALSA prints its own errors to stderr when asked to open a device that is not
/// there, so we do not ask.
#[cfg(target_os = "linux")]
fn no_sound_hardware() -> bool {
    let cards = std::fs::read_to_string("/proc/asound/cards").unwrap_or_default();
    let no_cards = cards.trim().is_empty() || cards.contains("no soundcards");
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(std::path::PathBuf::from);
    let server = runtime.is_some_and(|dir| {
        ["pulse/native", "pipewire-0"]
            .iter()
            .any(|s| dir.join(s).exists())
    }) || std::env::var_os("PULSE_SERVER").is_some();
    no_cards && !server
}

#[cfg(not(target_os = "linux"))]
fn no_sound_hardware() -> bool {
    false
}

/// Whether a view of `pictures` tasks starts muted: several at once would talk over each
/// other, so only a lone task is heard from the start.
pub fn starts_muted(pictures: usize) -> bool {
    pictures > 1
}

/// Opens the default output device as an f32 (or i16) stream fed from `shared`.
fn open_stream(shared: Arc<Shared>) -> Result<(cpal::Stream, AudioFormat), String> {
    if no_sound_hardware() {
        return Err("no sound card or sound server".into());
    }
    let host = cpal::default_host();
    let device = host
        .default_output_device()
        .ok_or_else(|| "no default output device".to_string())?;
    let supported = device.default_output_config().map_err(|e| e.to_string())?;
    let format = AudioFormat {
        rate: supported.sample_rate(),
        channels: supported.channels(),
    };
    let config: cpal::StreamConfig = supported.config();
    let err = |e: cpal::Error| tracing::warn!("sound output: {e}");
    let stream = match supported.sample_format() {
        cpal::SampleFormat::F32 => device.build_output_stream(
            config,
            move |out: &mut [f32], _: &cpal::OutputCallbackInfo| shared.fill(out),
            err,
            None,
        ),
        cpal::SampleFormat::I16 => {
            let mut scratch = Vec::new();
            device.build_output_stream(
                config,
                move |out: &mut [i16], _: &cpal::OutputCallbackInfo| {
                    scratch.resize(out.len(), 0.0f32);
                    shared.fill(&mut scratch);
                    for (o, s) in out.iter_mut().zip(&scratch) {
                        *o = (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16;
                    }
                },
                err,
                None,
            )
        }
        other => return Err(format!("sample format {other:?} is not supported")),
    }
    .map_err(|e| e.to_string())?;
    stream.play().map_err(|e| e.to_string())?;
    Ok((stream, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lone_task_starts_with_sound() {
        assert!(!starts_muted(1));
        assert!(starts_muted(2));
    }

    #[test]
    fn mute_and_volume_shape_what_is_played_and_the_queue_is_bounded() {
        let s = Speaker::detached(
            AudioFormat {
                rate: 1_000,
                channels: 2,
            },
            true,
        );
        s.push(&[0.5; 8]);
        let mut out = [1.0f32; 4];
        s.drain_into(&mut out);
        assert_eq!(out, [0.0; 4], "muted plays silence");
        s.set_muted(false);
        s.set_volume(0.5);
        s.drain_into(&mut out);
        assert_eq!(out, [0.25; 4]);
        s.drain_into(&mut out);
        assert_eq!(out, [0.0; 4], "an empty queue plays silence");
        // 0.5 s at 1 kHz stereo is 1,000 samples: no more is kept.
        s.push(&vec![0.1; 5_000]);
        assert_eq!(s.queued(), 1_000);
        s.clear();
        assert_eq!(s.queued(), 0);
        s.set_volume(f32::NAN);
        assert_eq!(s.volume(), 0.0);
    }
}

//! `lookout snapshot`: connect headless, wait for the first complete picture, write a PNG.

use std::io::BufWriter;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::output::amount;
use crate::core::event::{Command, SessionEvent, SessionState, StatsSample};
use crate::core::frame::Framebuffer;
use crate::core::record;
use crate::core::session::{self, SessionConfig};
use crate::core::source::SourceSpec;

/// Watches `source` until its first complete picture (every pixel painted since the last
/// size change), then writes it to `out`.
/// Fails with the session's own message if it fails or ends first, or on timeout.
pub async fn run(
    source: SourceSpec,
    mut config: SessionConfig,
    out: &Path,
    timeout: Duration,
) -> anyhow::Result<()> {
    config.reconnect = false;
    let (notify, waker) = super::notify_waker();
    let label = source.label();
    let mut handle = session::spawn(&tokio::runtime::Handle::current(), source, config, waker);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut state = SessionState::Loading;
    let mut timed_out = false;
    let frame = loop {
        while let Some(event) = handle.try_recv_event() {
            if let SessionEvent::State(s) = event {
                match &s {
                    SessionState::Failed { error } => bail!("{label}: {error}"),
                    SessionState::Ended { reason, .. } => bail!("{label}: stream ended: {reason}"),
                    _ => state = s,
                }
            }
        }
        if handle.frames().is_complete()
            && let Some(frame) = handle.frames().snapshot()
        {
            break frame;
        }
        if timed_out {
            bail!(
                "{label}: no picture after {:.0} s (last state: {})",
                timeout.as_secs_f64(),
                describe(&state, &handle.stats().sample())
            );
        }
        tokio::select! {
            _ = notify.notified() => {}
            // One more look at what came meanwhile, then give up.
            _ = tokio::time::sleep_until(deadline) => timed_out = true,
        }
    };
    handle.send(Command::Stop);
    write_png(&frame, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// The last state in words, with what the stream had sent: a stream that is open but
/// has shown no picture yet (a video still buffering, a preview that sends nothing)
/// reports "connecting" until its first picture, which alone would say the connection
/// was never made.
fn describe(state: &SessionState, sample: &StatsSample) -> String {
    match state {
        SessionState::WaitingForTask { status } => format!("waiting for the task ({status})"),
        SessionState::Reconnecting { error, .. } => format!("reconnecting: {error}"),
        SessionState::Connecting { .. } if sample.bytes_in > 0 => {
            let mut text = format!(
                "connected, {} received, no picture yet",
                amount(sample.bytes_in)
            );
            if sample.skipped > 0 {
                text.push_str(&format!(", {} unusable parts skipped", sample.skipped));
            }
            text
        }
        SessionState::Live(_) if sample.updates == 0 => "live, no picture yet".into(),
        SessionState::Live(_) => "live, the picture is not complete yet".into(),
        other => other.label().to_string(),
    }
}

/// Whether `source` names a recording: an existing file (a source is never a path).
pub fn is_recording(source: &str) -> bool {
    Path::new(source).is_file()
}

/// Writes the picture of the recording at `path` at moment `at` (its end when `None`).
pub fn from_recording(path: &Path, at: Option<Duration>, out: &Path) -> anyhow::Result<()> {
    let at_us = at.map_or(u64::MAX, |d| {
        u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
    });
    let track = super::record::PICTURE_TRACK;
    let kind = track_kind(path, track).with_context(|| format!("{}", path.display()))?;
    let frame = match kind.as_deref() {
        None | Some("rfb") => record::replay::rfb_picture_at(path, track, at_us),
        Some("preview") => record::replay_preview::preview_picture_at(path, track, at_us),
        Some("hls-video") => record::replay_hls::hls_picture_at(path, track, at_us),
        Some(other) => bail!(
            "{}: its picture track is of kind {other:?}, which this Lookout cannot show",
            path.display()
        ),
    }
    .with_context(|| format!("{}", path.display()))?;
    write_png(&frame, out)
}

/// The kind of `track` as the recording's `Meta` record names it (`None` when it names
/// none: a recording made before Meta listed its tracks holds RFB).
fn track_kind(path: &Path, track: u8) -> anyhow::Result<Option<String>> {
    use record::format::Kind;
    let mut reader = record::reader::Reader::open(std::fs::File::open(path)?)?;
    let Some(first) = reader.next_record()? else {
        return Ok(None);
    };
    if first.head.known_kind() != Some(Kind::Meta) {
        return Ok(None);
    }
    let meta: serde_json::Value = serde_json::from_slice(&first.payload).map_err(|e| {
        record::replay::ReplayError::BadJson {
            offset: first.head.offset,
            detail: e.to_string(),
        }
    })?;
    let kind = meta["tracks"].as_array().and_then(|tracks| {
        tracks
            .iter()
            .find(|t| t["track"].as_u64() == Some(u64::from(track)))
            .and_then(|t| t["kind"].as_str())
    });
    Ok(kind.map(str::to_owned))
}

/// Writes an opaque picture as an 8-bit RGB PNG.
pub fn write_png(frame: &Framebuffer, path: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), frame.width(), frame.height());
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    let rgb: Vec<u8> = frame
        .pixels()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::frame::Rect;

    #[test]
    fn a_timeout_names_the_state_and_what_the_stream_sent() {
        let connecting = SessionState::Connecting { attempt: 1 };
        let nothing = StatsSample::default();
        assert_eq!(describe(&connecting, &nothing), "connecting");
        let sent = StatsSample {
            bytes_in: 1_234_567,
            skipped: 2,
            ..StatsSample::default()
        };
        assert_eq!(
            describe(&connecting, &sent),
            "connected, 1.2 MB received, no picture yet, 2 unusable parts skipped"
        );
        let live = SessionState::Live(crate::core::event::LiveInfo {
            width: 8,
            height: 8,
            desktop_name: String::new(),
            protocol: "RFB".into(),
            input: crate::core::event::InputAccess::Allowed,
        });
        let shown = StatsSample { updates: 3, ..sent };
        assert_eq!(
            describe(&live, &shown),
            "live, the picture is not complete yet"
        );
    }

    #[test]
    fn png_round_trips_pixels() {
        let mut fb = Framebuffer::new(3, 2).unwrap();
        fb.fill_rect(Rect::new(1, 0, 2, 1), [10, 20, 30, 255])
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        write_png(&fb, &path).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&buf[..9], &[0, 0, 0, 10, 20, 30, 10, 20, 30]);
    }
}

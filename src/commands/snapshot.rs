//! `lookout snapshot`: connect headless, wait for the first complete picture, write a PNG.

use std::io::BufWriter;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::core::event::{Command, SessionEvent, SessionState};
use crate::core::frame::Framebuffer;
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
    let frame = loop {
        while let Some(event) = handle.try_recv_event() {
            if let SessionEvent::State(s) = event {
                match &s {
                    SessionState::Failed { error } => bail!("{label}: {error}"),
                    SessionState::Ended { reason } => bail!("{label}: stream ended: {reason}"),
                    _ => state = s,
                }
            }
        }
        if handle.frames().is_complete()
            && let Some(frame) = handle.frames().snapshot()
        {
            break frame;
        }
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep_until(deadline) => {
                bail!(
                    "{label}: no picture after {:.0} s (last state: {})",
                    timeout.as_secs_f64(),
                    describe(&state)
                );
            }
        }
    };
    handle.send(Command::Stop);
    write_png(&frame, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

fn describe(state: &SessionState) -> String {
    match state {
        SessionState::WaitingForTask { status } => format!("waiting for the task ({status})"),
        SessionState::Reconnecting { error, .. } => format!("reconnecting: {error}"),
        other => other.label().to_string(),
    }
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

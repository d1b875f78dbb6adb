//! `lookout record`: watch a source headless and write what it sends to a recording, until
//! Ctrl+C, a duration, or the task's end.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};

use super::output::amount;
use crate::core::event::{Command, SessionEvent, SessionState};
use crate::core::record::{TrackSink, writer};
use crate::core::session::{self, SessionConfig};
use crate::core::source::SourceSpec;

pub use crate::core::record::{LOG_TRACK, PICTURE_TRACK, SOUND_TRACK};

/// What `lookout record` recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub seconds: f64,
    pub bytes: u64,
    pub pictures: u64,
    pub lines: u64,
    pub dropped: u64,
}

/// The track a source records to, and its kind in the file's `Meta`.
pub fn track_of(source: &SourceSpec) -> (u8, &'static str) {
    match source {
        s if s.is_log() => (LOG_TRACK, "log"),
        SourceSpec::Chaser { .. } | SourceSpec::Preview { .. } => (PICTURE_TRACK, "preview"),
        SourceSpec::AgentStation { .. } | SourceSpec::Hls { .. } => (PICTURE_TRACK, "hls-video"),
        _ => (PICTURE_TRACK, "rfb"),
    }
}

/// The `tracks` entries of a recording's `Meta` for `source`: its own track and, for a
/// source whose sound may come apart from its picture (HLS), the sound's.
pub fn meta_tracks(source: &SourceSpec) -> Vec<serde_json::Value> {
    let (track, kind) = track_of(source);
    let mut tracks =
        vec![serde_json::json!({"track": track, "kind": kind, "source": source.label()})];
    if kind == "hls-video" {
        tracks.push(serde_json::json!({"track": SOUND_TRACK, "kind": "hls-audio", "source": source.label()}));
    }
    tracks
}

/// Whether Lookout records this source kind's stream (not only its states) yet.
fn recordable(source: &SourceSpec) -> bool {
    source.is_log()
        || matches!(
            source,
            SourceSpec::Optexity { .. }
                | SourceSpec::RfbWebSocket { .. }
                | SourceSpec::RfbTcp { .. }
                | SourceSpec::Chaser { .. }
                | SourceSpec::Preview { .. }
                | SourceSpec::AgentStation { .. }
                | SourceSpec::Hls { .. }
        )
}

/// Records `source` (and the task log `log`, beside a picture) to `out` for at most
/// `duration`, or until Ctrl+C or the end of either.
pub async fn run(
    source: SourceSpec,
    log: Option<SourceSpec>,
    config: SessionConfig,
    out: &Path,
    duration: Option<Duration>,
) -> anyhow::Result<Recorded> {
    for s in std::iter::once(&source).chain(&log) {
        if !recordable(s) {
            bail!(
                "recording {} is not supported yet: Lookout records RFB sources (optexity:, \
                 rfb+ws://, vnc://), Chaser previews (chaser:, preview+ws://), AgentStation \
                 video (agentstation:, HLS playlists) and task logs",
                s.label()
            );
        }
    }
    if let Some(log) = &log
        && (!log.is_log() || source.is_log())
    {
        bail!(
            "--log takes a task log ({}) beside a picture ({})",
            log.label(),
            source.label()
        );
    }
    let label = source.label();
    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut sessions = vec![source];
    sessions.extend(log);
    let tracks: Vec<_> = sessions.iter().flat_map(meta_tracks).collect();
    let meta = serde_json::json!({
        "lookout": env!("CARGO_PKG_VERSION"),
        "started_unix_ms": started_unix_ms,
        "source": label,
        "tracks": tracks,
    });
    let (sink, writer) = writer::create(out, &meta)
        .with_context(|| format!("cannot create the recording {}", out.display()))?;
    let (notify, waker) = super::notify_waker();
    let mut handles: Vec<_> = sessions
        .into_iter()
        .map(|s| {
            let (track, _) = track_of(&s);
            let config = SessionConfig {
                record: Some(TrackSink::new(sink.clone(), track)),
                ..config.clone()
            };
            session::spawn(&tokio::runtime::Handle::current(), s, config, waker.clone())
        })
        .collect();
    let started = Instant::now();
    let deadline = duration.map(|d| tokio::time::Instant::now() + d);
    let progress = std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut failure = None;
    let mut ended = false;
    loop {
        for handle in &mut handles {
            while let Some(event) = handle.try_recv_event() {
                match event {
                    SessionEvent::State(SessionState::Failed { error }) => {
                        failure = Some(format!("{}: {}", handle.label(), error.message));
                    }
                    SessionEvent::State(SessionState::Ended { .. }) => ended = true,
                    _ => {}
                }
            }
        }
        if failure.is_some() || ended {
            break;
        }
        tokio::select! {
            _ = notify.notified() => {}
            _ = tick.tick() => {
                if progress {
                    let lines: u64 = handles.iter().map(|h| h.log().lock().log.end_seq()).sum();
                    let pictures: u64 = handles.iter().map(|h| h.stats().sample().updates).sum();
                    eprint!(
                        "\rrecording {label}: {:.0} s, {}, {pictures} pictures, {lines} log lines   ",
                        started.elapsed().as_secs_f64(),
                        amount(sink.stats().bytes),
                    );
                    let _ = std::io::stderr().flush();
                }
            }
            _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)).await }, if deadline.is_some() => break,
            _ = &mut ctrl_c => break,
        }
    }
    for handle in &handles {
        handle.send(Command::Stop);
    }
    // Let the sessions put their last states, then close the file.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        for handle in &mut handles {
            while handle.recv_event().await.is_some() {}
        }
    })
    .await;
    let pictures = handles.iter().map(|h| h.stats().sample().updates).sum();
    let lines = handles.iter().map(|h| h.log().lock().log.end_seq()).sum();
    drop(handles);
    let stats = sink.stats();
    drop(sink);
    tokio::task::spawn_blocking(move || writer.finish()).await?;
    if progress {
        eprintln!();
    }
    if let Some(error) = failure {
        bail!("{error} (what came before is in {})", out.display());
    }
    Ok(Recorded {
        seconds: started.elapsed().as_secs_f64(),
        bytes: std::fs::metadata(out).map_or(stats.bytes, |m| m.len()),
        pictures,
        lines,
        dropped: stats.dropped,
    })
}

/// A moment in a recording: `SECS`, `M:SS` or `H:MM:SS` (seconds may have decimals).
pub fn parse_moment(text: &str) -> anyhow::Result<Duration> {
    let bad = || anyhow::anyhow!("{text:?} is not a moment: use seconds, M:SS or H:MM:SS");
    let mut secs = 0.0;
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() > 3 {
        return Err(bad());
    }
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let value: f64 = if last {
            part.parse().map_err(|_| bad())?
        } else {
            f64::from(part.parse::<u32>().map_err(|_| bad())?)
        };
        if !value.is_finite() || value < 0.0 || (i > 0 && value >= 60.0) {
            return Err(bad());
        }
        secs = secs * 60.0 + value;
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_read_as_a_person_writes_them() {
        let s = |t| parse_moment(t).unwrap().as_secs_f64();
        assert_eq!(s("75"), 75.0);
        assert_eq!(s("12.5"), 12.5);
        assert_eq!(s("12:34"), 754.0);
        assert_eq!(s("1:02:03.5"), 3723.5);
        for bad in ["", "x", "1:60", "-3", "1:2:3:4", "nan", "1e400"] {
            assert!(parse_moment(bad).is_err(), "{bad}");
        }
    }
}

//! `lookout view` and `lookout demo`: the window, with its session on the shared runtime.

#[cfg(feature = "sim")]
use anyhow::Context as _;

use crate::cli::ScaleArg;
use crate::core::record::TrackSink;
use crate::core::record::library;
use crate::core::record::writer::{RecordSink, Writer};
use crate::core::session::{self, SessionConfig};
use crate::core::source::SourceSpec;
#[cfg(feature = "sim")]
use crate::sim::SimConfig;
use crate::ui::{self, ScaleMode, Sessions, ViewerOptions};

fn scale_mode(scale: ScaleArg) -> ScaleMode {
    match scale {
        ScaleArg::Fit => ScaleMode::Fit,
        ScaleArg::OneToOne => ScaleMode::OneToOne,
    }
}

/// Opens a recording in the window, paused at `at` (its start), or playing at `play`.
pub fn replay(
    rt: &tokio::runtime::Runtime,
    path: &std::path::Path,
    at: Option<std::time::Duration>,
    play: Option<f64>,
    scale: ScaleArg,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    // Check the file before a window opens: a bad one is a clear error on the terminal.
    let (_, index) = crate::core::record::index::open(path)
        .with_context(|| format!("cannot replay {}", path.display()))?;
    let label = index.meta["source"]
        .as_str()
        .map_or_else(|| path.display().to_string(), |s| s.to_string());
    let title = format!("{label} (recording)");
    let options = ViewerOptions {
        title: title.clone(),
        scale: scale_mode(scale),
    };
    let path = path.to_path_buf();
    // A window shows one recording: its sound starts unmuted.
    let speaker = index
        .may_have_sound()
        .then(|| ui::audio::Speaker::open(ui::audio::starts_muted(1)));
    let failed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let failure = failed.clone();
    let shown = ui::run_viewer(
        options,
        rt.handle().clone(),
        Box::new(
            move |waker| match open_replay(&path, &label, waker, speaker.clone()) {
                Ok(r) => {
                    if let Some(at) = at {
                        r.playback
                            .seek(u64::try_from(at.as_micros()).unwrap_or(u64::MAX));
                    }
                    if let Some(speed) = play {
                        r.playback.set_speed(speed);
                        r.playback.set_playing(true);
                    }
                    Sessions {
                        picture: r.picture,
                        log: r.log,
                        speaker,
                        playback: Some(r.playback),
                        recording: None,
                        recordings_dir: library::default_dir(),
                    }
                }
                Err(e) => {
                    *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                    Sessions::default()
                }
            },
        ),
    );
    if let Some(e) = failed.lock().unwrap_or_else(|p| p.into_inner()).take() {
        anyhow::bail!("cannot replay {title}: {e}");
    }
    shown
}

/// Opens a recording for the window, its sound on `speaker` when it has one.
fn open_replay(
    path: &std::path::Path,
    label: &str,
    waker: crate::core::event::Waker,
    speaker: Option<std::sync::Arc<ui::audio::Speaker>>,
) -> Result<crate::core::record::playback::Replayed, crate::core::record::replay::ReplayError> {
    use crate::core::record::playback;
    match speaker {
        Some(s) => playback::open_with_sound(path, label, waker, s),
        None => playback::open(path, label, waker),
    }
}

/// Opens the viewer on `source` (with the task log `log` beside its picture, if given) and
/// blocks until the window closes.
pub fn run(
    rt: &tokio::runtime::Runtime,
    source: SourceSpec,
    log: Option<SourceSpec>,
    config: SessionConfig,
    scale: ScaleArg,
) -> anyhow::Result<()> {
    // A window shows one task: its sound starts unmuted.
    let (task, writer) = Prepared::new(source, log, config, false)?;
    let handle = rt.handle().clone();
    let options = ViewerOptions {
        title: task.title.clone(),
        scale: scale_mode(scale),
    };
    let shown = ui::run_viewer(
        options,
        rt.handle().clone(),
        Box::new(move |waker| task.spawn(&handle, waker)),
    );
    if let Some(writer) = writer {
        finish_recording(writer);
    }
    shown
}

/// One task made ready to watch: its sessions' sources and settings, its sound and its
/// recording.
pub struct Prepared {
    pub title: String,
    picture: Option<(SourceSpec, SessionConfig)>,
    log: Option<(SourceSpec, SessionConfig)>,
    speaker: Option<std::sync::Arc<ui::audio::Speaker>>,
    recording: Option<RecordSink>,
    recordings_dir: Option<std::path::PathBuf>,
}

impl Prepared {
    /// Pairs `source` with its log (`log`, or an AgentStation workstation's own), opens
    /// its sound output (`muted` at first) and starts its recording (unless recording is
    /// off); the recording's writer is returned, to finish when the window closes.
    pub fn new(
        source: SourceSpec,
        log: Option<SourceSpec>,
        mut config: SessionConfig,
        muted: bool,
    ) -> anyhow::Result<(Prepared, Option<Writer>)> {
        let log = match log {
            Some(l) => Some(l.as_log().ok_or_else(|| {
                anyhow::anyhow!(
                    "--log takes a task-log source (waldiez:, tasklog+ws://, agentstation:), not {}",
                    l.label()
                )
            })?),
            None => None,
        };
        let (picture, log) = match (source.is_log(), log) {
            (true, None) => (None, Some(source)),
            // A workstation's view carries its log stream too.
            (false, None) if matches!(source, SourceSpec::AgentStation { .. }) => {
                let log = source.as_log();
                (Some(source), log)
            }
            (false, log) => (Some(source), log),
            (true, Some(_)) => anyhow::bail!(
                "--log adds a task log beside a picture; {} is already a task log",
                source.label()
            ),
        };
        let speaker = picture
            .as_ref()
            .is_some_and(SourceSpec::has_sound)
            .then(|| ui::audio::Speaker::open(muted));
        config.audio = speaker
            .clone()
            .map(|s| s as std::sync::Arc<dyn crate::core::audio::AudioSink>);
        let title = match (&picture, &log) {
            (Some(p), _) => p.label(),
            (None, Some(l)) => l.label(),
            (None, None) => String::new(),
        };
        let recording = start_recording(&config, &title, picture.iter().chain(&log));
        let sink = recording.as_ref().map(|(sink, _)| sink.clone());
        let with_track = |s: SourceSpec| {
            let record = sink
                .as_ref()
                .map(|sink| TrackSink::new(sink.clone(), super::record::track_of(&s).0));
            let config = SessionConfig {
                record,
                ..config.clone()
            };
            (s, config)
        };
        let task = Prepared {
            title,
            picture: picture.map(with_track),
            log: log.map(with_track),
            speaker,
            recording: sink,
            recordings_dir: config.settings.recording.dir(),
        };
        Ok((task, recording.map(|(_, writer)| writer)))
    }

    /// Starts the task's sessions on `rt`, waking the window with `waker`.
    pub fn spawn(self, rt: &tokio::runtime::Handle, waker: crate::core::event::Waker) -> Sessions {
        let start = |(s, c): (SourceSpec, SessionConfig)| session::spawn(rt, s, c, waker.clone());
        Sessions {
            picture: self.picture.map(start),
            log: self.log.map(start),
            speaker: self.speaker,
            playback: None,
            recording: self.recording,
            recordings_dir: self.recordings_dir,
        }
    }
}

/// Starts the window's recording of `sources` in the recordings directory, unless
/// recording is off; retention runs beside it, never touching the new file. A recording
/// that cannot start is a warning, not a reason to watch nothing.
fn start_recording<'a>(
    config: &SessionConfig,
    title: &str,
    sources: impl Iterator<Item = &'a SourceSpec>,
) -> Option<(RecordSink, Writer)> {
    let settings = &config.settings.recording;
    if !settings.enabled() {
        return None;
    }
    let Some(dir) = settings.dir() else {
        tracing::warn!("not recording: no home directory for the recordings");
        return None;
    };
    let now = std::time::SystemTime::now();
    let tracks: Vec<_> = sources.flat_map(super::record::meta_tracks).collect();
    let meta = serde_json::json!({
        "lookout": env!("CARGO_PKG_VERSION"),
        "started_unix_ms": now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
        "source": title,
        "tracks": tracks,
    });
    match library::create(&dir, title, now, &meta) {
        Ok((sink, writer)) => {
            let open = vec![sink.path().to_path_buf()];
            let policy = settings.retention();
            let spawned = std::thread::Builder::new()
                .name("retention".into())
                .spawn(move || match library::enforce(&dir, &policy, &open) {
                    Ok(deleted) if !deleted.is_empty() => {
                        tracing::info!("retention deleted {} old recordings", deleted.len());
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("retention: {e}"),
                });
            if let Err(e) = spawned {
                tracing::warn!("retention did not run: {e}");
            }
            Some((sink, writer))
        }
        Err(e) => {
            tracing::warn!(
                "not recording: cannot create a recording in {}: {e}",
                dir.display()
            );
            None
        }
    }
}

/// Waits a little for the sessions to let go of the recording and its last records to
/// reach the file. What is written is already safe (it is flushed every 250 ms), so a
/// session slow to end does not hold the program open.
pub(super) fn finish_recording(writer: Writer) {
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("record-finish".into())
        .spawn(move || {
            writer.finish();
            let _ = done_tx.send(());
        });
    if spawned.is_ok() {
        let _ = done_rx.recv_timeout(std::time::Duration::from_secs(3));
    }
}

/// Starts the simulator on a free loopback port and watches one of its tasks (or `source`,
/// one of its other sources).
#[cfg(feature = "sim")]
pub fn demo(
    rt: &tokio::runtime::Runtime,
    task: &str,
    source: Option<SourceSpec>,
    scale: ScaleArg,
) -> anyhow::Result<()> {
    let sim = rt
        .block_on(super::serve::start(SimConfig::default()))
        .context("cannot start the built-in simulator")?;
    let config = SessionConfig {
        settings: sim.settings(),
        ..SessionConfig::default()
    };
    if let Some(source) = source {
        let result = run(rt, source, None, config, scale);
        rt.block_on(sim.shutdown());
        return result;
    }
    let source = SourceSpec::Optexity {
        task_id: task.to_string(),
    };
    // The simulated task talks too, when the runner knows it: picture, log and prompts.
    let log = sim
        .demo_waldiez_tasks()
        .iter()
        .any(|(id, _)| id == task)
        .then(|| SourceSpec::Waldiez {
            task_id: task.to_string(),
        });
    let result = run(rt, source, log, config, scale);
    rt.block_on(sim.shutdown());
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &std::path::Path, no_record: bool) -> SessionConfig {
        let mut config = SessionConfig::default();
        config.settings.recording.recordings_dir = Some(dir.to_path_buf());
        config.settings.recording.no_record = no_record;
        config
    }

    #[test]
    fn the_window_records_by_default_into_the_recordings_dir_and_not_with_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let picture: SourceSpec = "optexity:t1".parse().unwrap();
        let log: SourceSpec = "waldiez:t1".parse().unwrap();
        assert!(
            start_recording(
                &config_in(dir.path(), true),
                "optexity:t1",
                [&picture].into_iter()
            )
            .is_none()
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let (sink, writer) = start_recording(
            &config_in(dir.path(), false),
            "optexity:t1",
            [&picture, &log].into_iter(),
        )
        .unwrap();
        let path = sink.path().to_path_buf();
        assert_eq!(path.parent(), Some(dir.path()));
        drop(sink);
        finish_recording(writer);
        let (_, index) = crate::core::record::index::open(&path).unwrap();
        let kinds: Vec<_> = index
            .tracks
            .iter()
            .map(|t| (t.track, t.kind.as_str()))
            .collect();
        assert_eq!(kinds, [(0, "rfb"), (1, "log")]);
        assert_eq!(index.meta["source"], "optexity:t1");
    }
}

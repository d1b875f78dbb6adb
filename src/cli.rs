//! Command-line argument types (clap). No behaviour lives here.

#[cfg(feature = "sim")]
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::core::config::Settings;

/// Watch, steer, record and replay the browser and desktop tasks of AI agents.
#[derive(Debug, Parser)]
#[command(name = "lookout", version, about, propagate_version = true)]
pub struct Cli {
    /// With none, the console opens on the workspace kept from last time.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Diagnostics filter for stderr (e.g. `info`, `lookout=debug`); also LOOKOUT_LOG.
    #[arg(long, global = true, env = "LOOKOUT_LOG", default_value = "warn")]
    pub log_filter: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open a window watching a task or a VNC server.
    #[cfg(feature = "gui")]
    View(ViewArgs),
    /// Open the console: many tasks on one wall, the one that needs you first.
    #[cfg(feature = "gui")]
    Watch(WatchArgs),
    /// Open links to tasks in the console: `lookout:optexity/TASK_ID`,
    /// `lookout:chaser/SESSION_ID`, `lookout:waldiez/TASK_ID`,
    /// `lookout:agentstation/WORKSTATION_ID`, or a VNC server `vnc://HOST[:PORT]` (never sent
    /// the configured VNC password; only one the link holds).
    ///
    /// The tasks join the kept workspace and the first one opens full-size. What the
    /// desktop runs for a `lookout:` link; with no link, the console as it was left.
    #[cfg(feature = "gui")]
    Open(OpenArgs),
    /// Connect headless, save the first complete picture as PNG and exit.
    Snapshot(SnapshotArgs),
    /// Run the built-in simulator of the provider APIs until interrupted.
    #[cfg(feature = "sim")]
    Serve(ServeArgs),
    /// Start the simulator and watch its demo task: no account, no network.
    #[cfg(all(feature = "gui", feature = "sim"))]
    Demo(DemoArgs),
    /// Follow a task's log in the terminal and answer its prompts from stdin.
    ///
    /// Exit status: 0 the task completed (or the log stream ended), 1 Lookout could not
    /// follow it, 3 the task failed, 4 it was cancelled, 130 interrupted.
    Logs(LogsArgs),
    /// Answer one prompt of a task (from a script) and wait until the task confirms it.
    Answer(AnswerArgs),
    /// Record a source headless to a file, until Ctrl+C, `--duration` or the task's end.
    Record(RecordArgs),
    /// Play a recording in a window: its picture, log and prompts at every moment, with a
    /// timeline to seek, markers, speeds and idle skip.
    #[cfg(feature = "gui")]
    Replay(ReplayArgs),
    /// List the recordings in the recordings directory, newest first.
    Recordings(RecordingsArgs),
    /// Write a recording's picture as an H.264 MP4 with its task log as subtitles (needs
    /// the `ffmpeg` program).
    Export(ExportArgs),
    /// Keep a provider's key or token in the desktop keyring (Secret Service: GNOME
    /// Keyring, KWallet), asked for with hidden input or read from standard input.
    ///
    /// Keys are then read from the flags, the environment, the keyring and the config file,
    /// in that order.
    Login(LoginArgs),
    /// Remove a provider's key or token from the desktop keyring.
    Logout(LoginArgs),
    /// Print the shell completion script for bash, zsh or fish.
    ///
    /// bash: `lookout completions bash > ~/.local/share/bash-completion/completions/lookout`;
    /// zsh: into a directory of your `fpath` as `_lookout`; fish:
    /// `lookout completions fish > ~/.config/fish/completions/lookout.fish`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `lookout man | man -l -`.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A command's own page (`lookout man watch` is lookout-watch(1)); the default is
    /// lookout(1).
    #[arg(value_name = "COMMAND", conflicts_with = "out")]
    pub command: Option<String>,

    /// Write every page (lookout.1 and lookout-COMMAND.1 for each command) into DIR
    /// instead, as a package installs them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[cfg(feature = "gui")]
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recording (`lookout record -o FILE`, or the window's own recordings).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Start at this moment (seconds, M:SS or H:MM:SS).
    #[arg(long, value_name = "T")]
    pub at: Option<String>,

    /// Start playing at once, at this speed (0.25 to 32).
    #[arg(long, value_name = "SPEED")]
    pub play: Option<f64>,

    #[arg(long, value_enum, default_value_t = ScaleArg::Fit)]
    pub scale: ScaleArg,
}

/// Where to connect and with which credentials.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// What to watch: `optexity:TASK_ID`, `chaser:SESSION_ID`, `waldiez:TASK_ID`,
    /// `agentstation:WORKSTATION_ID`, `rfb+ws://HOST:PORT/PATH`, `rfb+wss://…`,
    /// `vnc://HOST:PORT`, `preview+ws://HOST:PORT` (agent-browser stream),
    /// `tasklog+ws://HOST:PORT/ws/TASK_ID` (a Waldiez Runner socket), or a live HLS
    /// playlist `https://…/playlist.m3u8`.
    pub source: String,

    /// Config file (default: the platform config dir's lookout/config.toml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Profile in the config file (default: its default_profile; also LOOKOUT_PROFILE).
    #[arg(long)]
    pub profile: Option<String>,

    /// Endpoints, credentials and picture options, per provider. Each flag wins over its
    /// environment variable and the config file.
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ScaleArg {
    /// Scale the picture to fit the window, keeping its aspect ratio.
    #[default]
    Fit,
    /// One remote pixel per screen pixel, with scrolling.
    #[value(name = "1:1")]
    OneToOne,
}

#[cfg(feature = "gui")]
#[derive(Debug, Args)]
pub struct ViewArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// How to size the picture.
    #[arg(long, value_enum, default_value_t = ScaleArg::Fit)]
    pub scale: ScaleArg,

    /// A task-log source shown beside the picture (`waldiez:TASK_ID`, `tasklog+ws://…`,
    /// `agentstation:ID`): one view with picture, log and prompts.
    #[arg(long, value_name = "SOURCE")]
    pub log: Option<String>,
}

#[cfg(feature = "gui")]
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The tasks to watch: anything `lookout view` takes (an AgentStation workstation
    /// brings its log). They become the workspace; with none, the workspace kept from
    /// last time opens.
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,

    /// Config file (default: the platform config dir's lookout/config.toml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Profile in the config file (default: its default_profile; also LOOKOUT_PROFILE).
    #[arg(long)]
    pub profile: Option<String>,

    /// Endpoints, credentials and picture options, per provider.
    #[command(flatten)]
    pub settings: Settings,
}

/// A provider whose key the desktop keyring keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyProvider {
    /// The Optexity API key.
    Optexity,
    /// The Chaser API key.
    Chaser,
    /// The Waldiez Runner access token.
    Waldiez,
    /// The AgentStation API token.
    Agentstation,
}

impl KeyProvider {
    /// Its name as the keyring and `Settings::key_mut` know it.
    pub fn name(self) -> &'static str {
        match self {
            KeyProvider::Optexity => "optexity",
            KeyProvider::Chaser => "chaser",
            KeyProvider::Waldiez => "waldiez",
            KeyProvider::Agentstation => "agentstation",
        }
    }
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Whose key.
    #[arg(value_enum)]
    pub provider: KeyProvider,

    /// The profile the key is for (default: the config file's default_profile, else
    /// "default"; also LOOKOUT_PROFILE).
    #[arg(long)]
    pub profile: Option<String>,

    /// Config file, for its default_profile (default: the platform config dir's
    /// lookout/config.toml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

#[cfg(feature = "gui")]
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The links.
    #[arg(value_name = "LINK")]
    pub links: Vec<String>,

    /// Config file (default: the platform config dir's lookout/config.toml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Profile in the config file (default: its default_profile; also LOOKOUT_PROFILE).
    #[arg(long)]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Print one JSON object per log line.
    #[arg(long)]
    pub json: bool,

    /// Print folded details (tool-call arguments, long results) under their lines.
    #[arg(long)]
    pub details: bool,

    /// Do not read answers from stdin; prompts are shown but left to others.
    #[arg(long)]
    pub no_input: bool,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// The recording to write (never replaces a file).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Stop after this long: seconds, M:SS or H:MM:SS.
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,

    /// A task-log source recorded beside the picture (`waldiez:TASK_ID`, `tasklog+ws://…`,
    /// `agentstation:ID`).
    #[arg(long, value_name = "SOURCE")]
    pub log: Option<String>,
}

#[derive(Debug, Args)]
pub struct RecordingsArgs {
    /// Print one JSON object per recording.
    #[arg(long)]
    pub json: bool,

    /// The directory to list (default: the configured recordings directory,
    /// `~/.local/share/lookout/recordings`).
    #[arg(long, value_name = "DIR", visible_alias = "recordings-dir")]
    pub dir: Option<PathBuf>,

    /// Config file (default: the platform config dir's lookout/config.toml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Profile in the config file (default: its default_profile; also LOOKOUT_PROFILE).
    #[arg(long)]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The recording.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The MP4 to write (never replaces a file unless --force).
    #[arg(short, long, value_name = "FILE.mp4")]
    pub output: PathBuf,

    /// Start at this moment: seconds, M:SS or H:MM:SS from the recording's start.
    #[arg(long, value_name = "T")]
    pub from: Option<String>,

    /// End at this moment (default: the recording's end).
    #[arg(long, value_name = "T")]
    pub to: Option<String>,

    /// Frames per second of the video.
    #[arg(
        long,
        value_name = "N",
        default_value_t = crate::commands::export::DEFAULT_FPS,
        value_parser = clap::value_parser!(u32).range(1..=240)
    )]
    pub fps: u32,

    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct AnswerArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// The prompt to answer (its `request_id`, shown by `lookout logs --json`).
    #[arg(long, value_name = "ID")]
    pub request_id: String,

    /// The answer; `-` reads one line from stdin (keeps secrets out of the process list).
    #[arg(value_name = "TEXT", allow_hyphen_values = true)]
    pub text: String,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Where to write the PNG.
    #[arg(short, long, value_name = "FILE.png")]
    pub output: PathBuf,

    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,

    /// With a recording as the source: the moment to show (seconds, M:SS or H:MM:SS from
    /// its start; default its end).
    #[arg(long, value_name = "T")]
    pub at: Option<String>,
}

#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address for the simulator's HTTP/WebSocket API.
    #[arg(long, default_value = "127.0.0.1:8600")]
    pub addr: SocketAddr,

    /// API key the simulator accepts.
    #[arg(long, default_value = "sim-optexity-key")]
    pub api_key: String,

    /// Also serve a fleet of N tasks of all four kinds that start, ask, finish and fail at
    /// random times, and print the `lookout watch` line that shows them all.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub tasks: Option<u16>,

    /// The seed of the fleet's random lives (the same seed, the same fleet; default: the
    /// time).
    #[arg(long, value_name = "SEED", requires = "tasks")]
    pub seed: Option<u64>,
}

#[cfg(all(feature = "gui", feature = "sim"))]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Which demo task to watch.
    #[arg(long, default_value = "demo")]
    pub task: String,

    /// Watch another of the simulator's sources instead, e.g. `agentstation:ws-demo`
    /// (video, sound and log) or `chaser:demo` (`lookout serve` lists them).
    #[arg(long, value_name = "SOURCE", conflicts_with = "task")]
    pub source: Option<String>,

    /// Watch a simulated fleet of N tasks on the console instead (what
    /// `lookout serve --tasks N` serves).
    #[arg(long, value_name = "N", conflicts_with_all = ["task", "source"],
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub tasks: Option<u16>,

    /// How to size the picture.
    #[arg(long, value_enum, default_value_t = ScaleArg::Fit)]
    pub scale: ScaleArg,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn provider_flags_fill_their_groups() {
        let cli = Cli::try_parse_from([
            "lookout",
            "logs",
            "waldiez:t",
            "--waldiez-auth",
            "header",
            "--waldiez-token",
            "tok",
            "--chaser-key",
            "ck",
            "--pacing",
            "push",
            "--lossless",
            "--start-recording",
        ])
        .unwrap();
        let Some(Command::Logs(args)) = cli.command else {
            panic!("not logs");
        };
        let s = args.connect.settings;
        assert_eq!(
            s.waldiez.auth,
            Some(crate::core::provider::waldiez::WsAuth::Bearer)
        );
        assert_eq!(s.waldiez.token.unwrap().expose(), "tok");
        assert_eq!(s.chaser.key.unwrap().expose(), "ck");
        assert_eq!(
            s.preview.pacing(),
            crate::core::source::preview::Pacing::Push
        );
        assert_eq!(s.rfb.jpeg_quality(), None);
        assert!(s.agentstation.start_recording);
        assert!(
            Cli::try_parse_from(["lookout", "logs", "x", "--lossless", "--quality", "3"]).is_err()
        );
    }

    #[test]
    fn recording_flags_reach_the_settings() {
        let cli = Cli::try_parse_from([
            "lookout",
            "logs",
            "x",
            "--no-record",
            "--recordings-dir",
            "/tmp/rec",
            "--recordings-max-gib",
            "3",
            "--recordings-max-days",
            "9",
        ])
        .unwrap();
        let Some(Command::Logs(args)) = cli.command else {
            panic!("not logs");
        };
        let r = args.connect.settings.recording;
        assert!(!r.enabled());
        assert_eq!(r.dir(), Some(PathBuf::from("/tmp/rec")));
        assert_eq!(r.retention().max_bytes, Some(3 << 30));
        assert_eq!(
            r.retention().max_age,
            Some(std::time::Duration::from_secs(9 * 86_400))
        );
        let cli = Cli::try_parse_from(["lookout", "logs", "x"]).unwrap();
        let Some(Command::Logs(args)) = cli.command else {
            panic!("not logs");
        };
        assert!(args.connect.settings.recording.enabled());
    }

    #[test]
    fn snapshot_parses_its_flags() {
        let cli = Cli::try_parse_from([
            "lookout",
            "snapshot",
            "vnc://127.0.0.1:5901",
            "-o",
            "out.png",
            "--timeout",
            "5",
            "--encoding",
            "zrle",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Snapshot(s)) => {
                assert_eq!(s.output, PathBuf::from("out.png"));
                assert_eq!(s.timeout, 5.0);
                assert_eq!(
                    s.connect.settings.rfb.encoding,
                    Some(crate::core::source::rfb::EncodingPreference::Zrle)
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            Cli::try_parse_from(["lookout", "snapshot", "x", "-o", "y", "--quality", "10"])
                .is_err()
        );
    }
}

//! `lookout export`: a recording's picture as an H.264 MP4, with its task log as a
//! subtitle track, through the `ffmpeg` program.
//!
//! The picture track is played by its [`TrackPlayer`] ([`picture_player`]) and sampled at
//! a steady frame rate; each frame goes to `ffmpeg` as raw RGBA on its stdin. The video
//! keeps the first picture's size (rounded up to even, as 4:2:0 H.264 needs): a picture
//! that changes size later is scaled down to fit, or centred, on black. The task log's
//! lines become subtitles (SRT, converted to `mov_text`), each cue showing the latest few
//! lines as the log pane would. Times are relative to `--from`.
//!
//! The MP4 is written beside the output under a temporary name and put in place when
//! `ffmpeg` has finished, so a failed export leaves nothing, and an existing file is only
//! replaced with `--force`.

use std::fs::{self, File};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::logs::format_line;
use super::output::terminal_line;
use super::recordings::clock;
use crate::core::frame::Framebuffer;
use crate::core::record::format::Kind;
use crate::core::record::index::{self, Index};
use crate::core::record::playback;
use crate::core::record::player::TrackPlayer;
use crate::core::record::reader::{Reader, Skim};
use crate::core::source::tasklog::line_from_json;

/// Frames per second unless `--fps` says otherwise.
pub const DEFAULT_FPS: u32 = 25;
/// Log lines a subtitle shows together (more when more came at once, up to
/// [`MAX_BURST_LINES`]).
const CUE_LINES: usize = 3;
const MAX_BURST_LINES: usize = 6;
/// Characters of one log line a subtitle shows.
const MAX_CUE_CHARS: usize = 160;
/// How long a subtitle stays when no line follows it.
const CUE_HOLD_US: u64 = 8_000_000;
/// Log lines read at most.
const MAX_LOG_LINES: usize = 200_000;
/// How often the progress bar is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// What is kept of `ffmpeg`'s error output.
const MAX_FFMPEG_ERROR: usize = 4_000;

/// What to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// From this moment of the recording (its start when `None`).
    pub from: Option<Duration>,
    /// To this moment (its end when `None`).
    pub to: Option<Duration>,
    pub fps: u32,
    /// Replace an existing output file.
    pub force: bool,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            from: None,
            to: None,
            fps: DEFAULT_FPS,
            force: false,
            progress: std::io::stderr().is_terminal(),
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Exported {
    pub width: u32,
    pub height: u32,
    pub frames: u64,
    /// The video's length.
    pub seconds: f64,
    /// Subtitle cues written.
    pub cues: usize,
    /// From the first frame decoded to the file in place.
    pub wall: Duration,
}

/// The player of a recording's picture track (the first one), chosen by its kind, and the
/// recording's index. Each picture kind's player is added here.
pub fn picture_player(path: &Path) -> anyhow::Result<(Box<dyn TrackPlayer>, Arc<Index>)> {
    let shown = || terminal_line(&path.display().to_string());
    let (reader, index) = index::open(path).with_context(shown)?;
    let Some(track) = index.picture_track().cloned() else {
        let kinds: Vec<&str> = index.tracks.iter().map(|t| t.kind.as_str()).collect();
        bail!(
            "{} has no picture track (it holds: {}); `lookout logs FILE` prints a recorded log",
            shown(),
            if kinds.is_empty() {
                "nothing readable".to_string()
            } else {
                kinds.join(", ")
            }
        );
    };
    let index = Arc::new(index);
    let player = playback::open_player(path, reader, index.clone(), &track).with_context(shown)?;
    Ok((player, index))
}

/// Writes `out` from the recording at `path`.
pub fn run(path: &Path, out: &Path, opts: &ExportOptions) -> anyhow::Result<Exported> {
    if !opts.force && fs::symlink_metadata(out).is_ok() {
        bail!(
            "{} exists: choose another name, or --force replaces it",
            terminal_line(&out.display().to_string())
        );
    }
    if !(1..=240).contains(&opts.fps) {
        bail!("--fps must be 1 to 240");
    }
    let (mut player, index) = picture_player(path)?;
    let end_us = index.duration_us;
    let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let from_us = opts.from.map_or(0, us);
    let to_us = opts.to.map_or(end_us, us).min(end_us);
    if from_us >= to_us {
        bail!(
            "nothing to export between {} and {}: the recording is {} long",
            clock(from_us),
            clock(to_us),
            clock(end_us)
        );
    }
    let (width, height) = first_size(player.as_mut(), from_us, to_us)?;
    let size = (width + width % 2, height + height % 2);

    let cues = cues(&log_lines(path)?, from_us, to_us);
    let srt = match cues.is_empty() {
        true => None,
        false => Some(TempFile::write(
            &std::env::temp_dir(),
            "srt",
            srt(&cues).as_bytes(),
        )?),
    };
    let part = TempFile::beside(out)?;
    let mut ffmpeg = Ffmpeg::start(size, opts.fps, srt.as_ref().map(|f| f.0.as_path()), &part.0)?;

    let started = Instant::now();
    let frames = (u128::from(to_us - from_us) * u128::from(opts.fps)).div_ceil(1_000_000);
    let frames = u64::try_from(frames).unwrap_or(u64::MAX).max(1);
    let mut canvas = Canvas::new(size);
    let mut progress = opts.progress.then(|| Progress::new(to_us - from_us));
    let encoded = (|| -> anyhow::Result<()> {
        player.seek(from_us)?;
        for i in 0..frames {
            let at_us = from_us + frame_offset_us(i, opts.fps);
            player.advance_to(at_us)?;
            let changed = player.take_changed();
            let pixels = canvas.frame(player.picture(), changed);
            if let Err(e) = ffmpeg.write(pixels) {
                return Err(ffmpeg.failure(e));
            }
            if let Some(p) = &mut progress {
                p.show(at_us - from_us, started);
            }
        }
        ffmpeg.finish()
    })();
    if let Some(mut p) = progress {
        if encoded.is_ok() {
            p.last = None;
            p.show(to_us - from_us, started);
        }
        // End the bar's line, before any error.
        eprintln!();
    }
    encoded?;
    part.persist(out, opts.force)?;
    Ok(Exported {
        width: size.0,
        height: size.1,
        frames,
        seconds: frames as f64 / f64::from(opts.fps),
        cues: cues.len(),
        wall: started.elapsed(),
    })
}

/// When frame `i` is shown, from the export's start.
fn frame_offset_us(i: u64, fps: u32) -> u64 {
    u64::try_from(u128::from(i) * 1_000_000 / u128::from(fps)).unwrap_or(u64::MAX)
}

/// The size of the first picture shown at or after `from_us` (and before `to_us`).
fn first_size(
    player: &mut dyn TrackPlayer,
    from_us: u64,
    to_us: u64,
) -> anyhow::Result<(u32, u32)> {
    player.seek(from_us)?;
    loop {
        if let Some(picture) = player.picture() {
            return Ok((picture.width(), picture.height()));
        }
        match player.next_change_us() {
            Some(t) if t < to_us => player.advance_to(t)?,
            _ => bail!(
                "the recording shows no picture between {} and {}",
                clock(from_us),
                clock(to_us)
            ),
        }
    }
}

/// The video's frame: a picture of its size as it is, any other fitted on black.
struct Canvas {
    size: (u32, u32),
    pixels: Vec<u8>,
    /// Whether `pixels` holds the player's present picture.
    current: bool,
}

impl Canvas {
    fn new(size: (u32, u32)) -> Self {
        let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 4];
        black(&mut pixels);
        Canvas {
            size,
            pixels,
            current: false,
        }
    }

    /// The frame for `picture` (black before any); `changed` says it changed since the
    /// last call.
    fn frame<'a>(&'a mut self, picture: Option<&'a Framebuffer>, changed: bool) -> &'a [u8] {
        match picture {
            Some(p) if (p.width(), p.height()) == self.size => {
                self.current = false;
                p.pixels()
            }
            Some(p) => {
                if changed || !self.current {
                    self.fit(p);
                    self.current = true;
                }
                &self.pixels
            }
            None => {
                if self.current {
                    black(&mut self.pixels);
                    self.current = false;
                }
                &self.pixels
            }
        }
    }

    /// Draws `p` centred: as it is if it fits, else scaled down (nearest pixel) to fit.
    fn fit(&mut self, p: &Framebuffer) {
        black(&mut self.pixels);
        let (cw, ch) = (u64::from(self.size.0), u64::from(self.size.1));
        let (pw, ph) = (u64::from(p.width()), u64::from(p.height()));
        // The largest size at most 1:1 that fits, keeping the aspect ratio.
        let (dw, dh) = if pw <= cw && ph <= ch {
            (pw, ph)
        } else if pw * ch > ph * cw {
            (cw, (ph * cw / pw).max(1))
        } else {
            ((pw * ch / ph).max(1), ch)
        };
        let (x0, y0) = ((cw - dw) / 2, (ch - dh) / 2);
        let xs: Vec<usize> = (0..dw).map(|x| (x * pw / dw) as usize * 4).collect();
        let src = p.pixels();
        let src_stride = pw as usize * 4;
        let stride = cw as usize * 4;
        for y in 0..dh {
            let sy = (y * ph / dh) as usize;
            let row = &src[sy * src_stride..][..src_stride];
            let at = (y0 + y) as usize * stride + x0 as usize * 4;
            let dst = &mut self.pixels[at..at + dw as usize * 4];
            for (d, &sx) in dst.chunks_exact_mut(4).zip(&xs) {
                d.copy_from_slice(&row[sx..sx + 4]);
            }
        }
    }
}

fn black(pixels: &mut [u8]) {
    for px in pixels.chunks_exact_mut(4) {
        px.copy_from_slice(&[0, 0, 0, 255]);
    }
}

/// The recording's task log: each line's time in the recording and its text as a
/// subtitle shows it.
fn log_lines(path: &Path) -> anyhow::Result<Vec<(u64, String)>> {
    let file = File::open(path).with_context(|| terminal_line(&path.display().to_string()))?;
    let mut reader = Reader::open(file)?;
    let mut lines = Vec::new();
    let want = |h: &crate::core::record::format::Head| h.known_kind() == Some(Kind::LogLine);
    while let Some(skim) = reader.next_skim(want)? {
        let Skim::Record(record) = skim else { continue };
        if record.head.known_kind() != Some(Kind::LogLine) {
            continue;
        }
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&record.payload) else {
            continue;
        };
        let Some(line) = line_from_json(&value) else {
            continue;
        };
        let text = format_line(&line, false);
        let first = text.lines().next().unwrap_or_default();
        lines.push((record.head.t_us, subtitle_text(first)));
        if lines.len() >= MAX_LOG_LINES {
            break;
        }
    }
    Ok(lines)
}

/// One log line as subtitle text: cut short, and with the characters subtitle renderers
/// read as markup (`<b>`, `{\an8}`, `\N`) swapped for their full-width look-alikes.
fn subtitle_text(line: &str) -> String {
    let mut out: String = line
        .chars()
        .take(MAX_CUE_CHARS)
        .map(|c| match c {
            '<' => '＜',
            '>' => '＞',
            '{' => '｛',
            '}' => '｝',
            '\\' => '＼',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    if line.chars().count() > MAX_CUE_CHARS {
        out.push('…');
    }
    out
}

/// A subtitle: from, to (µs from the export's start) and its lines.
#[derive(Clone, Debug, PartialEq)]
struct Cue {
    start_us: u64,
    end_us: u64,
    text: String,
}

/// The cues for lines (time in the recording, text) between `from_us` and `to_us`: at
/// each moment a line came, the latest [`CUE_LINES`] lines (all that came at that moment,
/// up to [`MAX_BURST_LINES`]), until the next line or [`CUE_HOLD_US`] later.
fn cues(lines: &[(u64, String)], from_us: u64, to_us: u64) -> Vec<Cue> {
    let mut cues = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].0;
        // The lines that came at this moment.
        let mut j = i + 1;
        while j < lines.len() && lines[j].0 == t {
            j += 1;
        }
        let next = lines.get(j).map_or(u64::MAX, |l| l.0);
        let (start, end) = (
            t.max(from_us),
            next.min(t.saturating_add(CUE_HOLD_US)).min(to_us),
        );
        if start < end {
            let shown = (j - i).clamp(CUE_LINES, MAX_BURST_LINES).min(j);
            let text: Vec<&str> = lines[j - shown..j].iter().map(|l| l.1.as_str()).collect();
            cues.push(Cue {
                start_us: start - from_us,
                end_us: end - from_us,
                text: text.join("\n"),
            });
        }
        i = j;
    }
    cues
}

/// The cues as an SRT file.
fn srt(cues: &[Cue]) -> String {
    let time = |us: u64| {
        let ms = us / 1000;
        format!(
            "{:02}:{:02}:{:02},{:03}",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    };
    let mut out = String::new();
    for (n, cue) in cues.iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            n + 1,
            time(cue.start_us),
            time(cue.end_us),
            cue.text
        ));
    }
    out
}

/// A file removed when dropped, unless persisted.
struct TempFile(PathBuf);

impl TempFile {
    /// A new file in `dir` holding `bytes`.
    fn write(dir: &Path, ext: &str, bytes: &[u8]) -> anyhow::Result<TempFile> {
        for n in 0..100u32 {
            let path = dir.join(format!("lookout-export-{}-{n}.{ext}", std::process::id()));
            let mut options = File::options();
            options.write(true).create_new(true);
            // The log's lines are for this user only.
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(mut file) => {
                    let temp = TempFile(path);
                    file.write_all(bytes)?;
                    return Ok(temp);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).context("cannot write a temporary file"),
            }
        }
        bail!("cannot name a temporary file in {}", dir.display())
    }

    /// An empty file beside `out` for `ffmpeg` to write.
    fn beside(out: &Path) -> anyhow::Result<TempFile> {
        let dir = match out.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        TempFile::write(dir, "mp4.part", b"").with_context(|| {
            format!(
                "cannot write in {}",
                terminal_line(&dir.display().to_string())
            )
        })
    }

    /// Puts the file at `out`: over an existing one only when `replace`.
    fn persist(self, out: &Path, replace: bool) -> anyhow::Result<()> {
        let shown = || terminal_line(&out.display().to_string());
        if replace {
            fs::rename(&self.0, out).with_context(|| format!("cannot write {}", shown()))?;
        } else {
            // A link fails if `out` appeared meanwhile; a rename would replace it.
            match fs::hard_link(&self.0, out) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    bail!(
                        "{} exists: choose another name, or --force replaces it",
                        shown()
                    )
                }
                Err(_) if fs::symlink_metadata(out).is_err() => {
                    fs::rename(&self.0, out).with_context(|| format!("cannot write {}", shown()))?
                }
                Err(e) => return Err(e).with_context(|| format!("cannot write {}", shown())),
            }
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The `ffmpeg` program, encoding what it is given.
struct Ffmpeg {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    errors: Option<std::thread::JoinHandle<String>>,
}

impl Ffmpeg {
    fn start(
        (width, height): (u32, u32),
        fps: u32,
        srt: Option<&Path>,
        out: &Path,
    ) -> anyhow::Result<Ffmpeg> {
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-hide_banner", "-loglevel", "error", "-nostats"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgba"])
            .arg("-s")
            .arg(format!("{width}x{height}"))
            .arg("-r")
            .arg(fps.to_string())
            .args(["-i", "-"]);
        if let Some(srt) = srt {
            cmd.args(["-f", "srt", "-i"]).arg(srt);
        }
        cmd.args(["-map", "0:v:0"]);
        if srt.is_some() {
            cmd.args(["-map", "1:s:0", "-c:s", "mov_text"]);
        }
        cmd.args([
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        ])
        .args(["-movflags", "+faststart", "-f", "mp4", "-y"])
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "export needs the `ffmpeg` program, which is not installed: install the \
                 package `ffmpeg` (e.g. `sudo apt install ffmpeg`)"
            ),
            Err(e) => return Err(e).context("cannot start `ffmpeg`"),
        };
        let stdin = child.stdin.take();
        let errors = child.stderr.take().and_then(|mut stderr| {
            let thread = std::thread::Builder::new().name("export-ffmpeg-errors".into());
            thread
                .spawn(move || {
                    let mut text = Vec::new();
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = stderr.read(&mut buf) {
                        text.extend_from_slice(&buf[..n]);
                        // Keep the end: the error is there.
                        if text.len() > MAX_FFMPEG_ERROR * 2 {
                            text.drain(..text.len() - MAX_FFMPEG_ERROR);
                        }
                    }
                    String::from_utf8_lossy(&text).into_owned()
                })
                .ok()
        });
        Ok(Ffmpeg {
            child,
            stdin,
            errors,
        })
    }

    fn write(&mut self, frame: &[u8]) -> std::io::Result<()> {
        match &mut self.stdin {
            Some(stdin) => stdin.write_all(frame),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// What `ffmpeg` said, once it has ended.
    fn said(&mut self) -> String {
        self.stdin = None;
        let _ = self.child.wait();
        let text = self
            .errors
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let text = text.trim();
        let start = text.len().saturating_sub(MAX_FFMPEG_ERROR);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        terminal_line(&text[start..])
    }

    /// The error for a frame `ffmpeg` did not take.
    fn failure(&mut self, e: std::io::Error) -> anyhow::Error {
        let said = self.said();
        anyhow::anyhow!("`ffmpeg` stopped taking pictures ({e}): {said}")
    }

    /// Closes its input and waits for the file.
    fn finish(mut self) -> anyhow::Result<()> {
        self.stdin = None;
        let status = self.child.wait().context("cannot wait for `ffmpeg`")?;
        if !status.success() {
            let said = self.said();
            bail!("`ffmpeg` failed ({status}): {said}");
        }
        Ok(())
    }
}

impl Drop for Ffmpeg {
    fn drop(&mut self) {
        // An export given up: stop the encoder rather than let it finish a file.
        self.stdin = None;
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A progress bar on stderr.
struct Progress {
    total_us: u64,
    last: Option<Instant>,
}

impl Progress {
    fn new(total_us: u64) -> Self {
        Progress {
            total_us,
            last: None,
        }
    }

    fn show(&mut self, done_us: u64, started: Instant) {
        if self.last.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let share = done_us as f64 / self.total_us.max(1) as f64;
        let filled = (share * 30.0).round() as usize;
        let wall = started.elapsed().as_secs_f64().max(1e-3);
        eprint!(
            "\rexporting [{}{}] {:3.0}%  {} of {}, {:.1}x real time   ",
            "#".repeat(filled.min(30)),
            "-".repeat(30 - filled.min(30)),
            share * 100.0,
            clock(done_us),
            clock(self.total_us),
            done_us as f64 / 1e6 / wall,
        );
        let _ = std::io::stderr().flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::frame::Rect;

    fn line(t: u64, text: &str) -> (u64, String) {
        (t, text.to_string())
    }

    #[test]
    fn cues_show_the_latest_lines_until_the_next_and_start_at_from() {
        let lines = [
            line(1_000_000, "a"),
            line(2_000_000, "b"),
            line(2_000_000, "c"),
            line(3_000_000, "d"),
            line(30_000_000, "e"),
        ];
        let all = cues(&lines, 0, 40_000_000);
        let texts: Vec<&str> = all.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["a", "a\nb\nc", "b\nc\nd", "c\nd\ne"]);
        assert_eq!((all[0].start_us, all[0].end_us), (1_000_000, 2_000_000));
        assert_eq!(all[2].end_us, 3_000_000 + CUE_HOLD_US, "held, then gone");
        assert_eq!(all[3].end_us, 30_000_000 + CUE_HOLD_US);
        // From 2.5 s to 31 s: the cue on screen at 2.5 s starts at 0, times are relative.
        let some = cues(&lines, 2_500_000, 31_000_000);
        assert_eq!(some[0].start_us, 0);
        assert_eq!(some[0].text, "a\nb\nc");
        assert_eq!(some.last().unwrap().end_us, 28_500_000, "cut at --to");
        assert_eq!(
            srt(&some[..1]),
            "1\n00:00:00,000 --> 00:00:00,500\na\nb\nc\n\n"
        );
        // Many lines at once are shown together, up to a limit.
        let burst: Vec<_> = (0..10).map(|i| line(5, &i.to_string())).collect();
        assert_eq!(cues(&burst, 0, 10)[0].text, "4\n5\n6\n7\n8\n9");
    }

    #[test]
    fn subtitle_text_cannot_be_markup() {
        assert_eq!(
            subtitle_text("<b>x</b> {\\an8} C:\\new \u{1b}[2J"),
            "＜b＞x＜/b＞ ｛＼an8｝ C:＼new  [2J"
        );
        let long = "x".repeat(500);
        assert_eq!(subtitle_text(&long).chars().count(), MAX_CUE_CHARS + 1);
    }

    #[test]
    fn frames_keep_the_first_size_and_fit_any_other_on_black() {
        let mut canvas = Canvas::new((4, 2));
        assert_eq!(canvas.frame(None, false), &[0, 0, 0, 255].repeat(8)[..]);
        let mut same = Framebuffer::new(4, 2).unwrap();
        same.fill_rect(Rect::new(0, 0, 4, 2), [9, 9, 9, 255])
            .unwrap();
        assert_eq!(canvas.frame(Some(&same), true), same.pixels());
        // Smaller: centred as it is.
        let mut small = Framebuffer::new(2, 2).unwrap();
        small
            .fill_rect(Rect::new(0, 0, 2, 2), [200, 0, 0, 255])
            .unwrap();
        let px = canvas.frame(Some(&small), true).to_vec();
        let red: Vec<bool> = px.chunks(4).map(|p| p[0] == 200).collect();
        assert_eq!(red, [false, true, true, false, false, true, true, false]);
        // Larger: scaled down to fit, keeping its shape (8×2 → 4×1, centred on 4×2).
        let mut wide = Framebuffer::new(8, 2).unwrap();
        wide.fill_rect(Rect::new(0, 0, 4, 2), [0, 0, 200, 255])
            .unwrap();
        let px = canvas.frame(Some(&wide), true).to_vec();
        let blue: Vec<bool> = px.chunks(4).map(|p| p[2] == 200).collect();
        assert_eq!(blue, [true, true, false, false, false, false, false, false]);
        // Unchanged: the same frame without drawing it again.
        assert_eq!(canvas.frame(Some(&wide), false), &px[..]);
    }

    #[test]
    fn frame_times_step_evenly() {
        assert_eq!(frame_offset_us(0, 25), 0);
        assert_eq!(frame_offset_us(1, 25), 40_000);
        assert_eq!(frame_offset_us(3, 30), 100_000);
    }
}

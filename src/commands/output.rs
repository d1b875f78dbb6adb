//! Text leaving the process for the terminal: diagnostics and error lines.
//!
//! Every line passes through [`crate::core::redact::text`] (every secret the process holds,
//! `token=` values, `Bearer` credentials) and [`crate::core::untrusted::printable`]
//! (control characters shown visibly), so neither a key nor a server's escape sequence
//! reaches the terminal. The diagnostics writer does the same for every crate's events at
//! every level: a library that logs a request's headers at `trace` logs them masked.

use std::io::{IsTerminal, Write};

use crate::core::redact;
use crate::core::untrusted::{self, Lines};

/// The longest diagnostic line written; more is cut with a mark.
const MAX_LINE_CHARS: usize = 16 * 1024;

/// `bytes` as "512 bytes", "12.3 kB" or "4.5 MB".
pub fn amount(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

/// One line for the terminal: secrets masked, controls shown, cut when very long.
pub fn terminal_line(text: &str) -> String {
    let masked = redact::text(text);
    untrusted::printable(&masked, Lines::Show, MAX_LINE_CHARS).into_owned()
}

/// Starts diagnostics on stderr with `filter` (`warn` when it does not parse): every event
/// redacted, colour only on a terminal.
pub fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr::default)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// Collects one formatted event and writes it to stderr, redacted, when dropped.
#[derive(Default)]
pub struct RedactingStderr {
    buf: Vec<u8>,
}

impl Write for RedactingStderr {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        // One event is one line; a runaway event is cut rather than held whole.
        let room = (MAX_LINE_CHARS * 4).saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingStderr {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let masked = redact::text(text.trim_end_matches('\n'));
        // Colour codes are ours (only on a terminal) and kept; any other escape is shown.
        let shown = untrusted::printable_keeping_colour(&masked, MAX_LINE_CHARS);
        let _ = writeln!(std::io::stderr().lock(), "{shown}");
    }
}

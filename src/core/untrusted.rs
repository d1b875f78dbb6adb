//! Text from servers, made safe before a terminal or a window title shows it.
//!
//! A server's text (a VNC refusal reason, a task's prints and prompts, a desktop name) may
//! hold escape sequences that retitle or clear a terminal, or a carriage return or line
//! break that forges a `lookout: …` line over the real one. [`printable`] shows every
//! control character visibly, as `cat -v` does (`ESC` as `^[`, `CR` as `^M`, `DEL` as
//! `^?`, a C1 control such as U+009B as `M-^[`), shows the Unicode controls that reorder or
//! hide text (bidirectional overrides and isolates) as `<U+202E>`, and cuts very long text
//! with a mark saying how much was left out.

use std::borrow::Cow;

/// Whether line breaks are kept (multi-line log text) or shown as `^J` (one line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    Keep,
    Show,
}

/// `text` with its control characters shown visibly and cut after `max_chars` characters.
/// Tabs are kept; line breaks are kept with [`Lines::Keep`].
pub fn printable(text: &str, lines: Lines, max_chars: usize) -> Cow<'_, str> {
    let clean = !text.chars().any(|c| needs_escape(c, lines));
    let count = text.chars().count();
    if clean && count <= max_chars {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max_chars * 4) + 16);
    for c in text.chars().take(max_chars) {
        if needs_escape(c, lines) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    if count > max_chars {
        out.push_str(&format!("… [{} more characters]", count - max_chars));
    }
    Cow::Owned(out)
}

/// Colour codes a diagnostics formatter writes on a terminal: reset, bold, dim, italic and
/// the colours 31 to 37. Anything else that starts with ESC (a title, a clear, concealed
/// text) is shown.
const KEPT_SGR: [u8; 11] = [0, 1, 2, 3, 31, 32, 33, 34, 35, 36, 37];

/// [`printable`] for one line of diagnostics written to a terminal with colour: its own
/// colour codes (`ESC [ n ; … m` with each `n` in a short list) are kept.
pub fn printable_keeping_colour(text: &str, max_chars: usize) -> Cow<'_, str> {
    if !text.contains('\x1b') {
        return printable(text, Lines::Show, max_chars);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&printable(&rest[..at], Lines::Show, max_chars));
        let after = &rest[at..];
        match colour_code_len(after) {
            Some(len) => {
                out.push_str(&after[..len]);
                rest = &after[len..];
            }
            None => {
                out.push_str("^[");
                rest = &after[1..];
            }
        }
    }
    out.push_str(&printable(rest, Lines::Show, max_chars));
    Cow::Owned(out)
}

/// The length of a kept colour code at the start of `s` (which starts with ESC).
fn colour_code_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix("\x1b[")?;
    let end = body.find('m')?;
    let params = &body[..end];
    let kept = params
        .split(';')
        .all(|p| p.parse::<u8>().is_ok_and(|n| KEPT_SGR.contains(&n)));
    (kept && end <= 16).then_some(2 + end + 1)
}

fn needs_escape(c: char, lines: Lines) -> bool {
    match c {
        '\t' => false,
        '\n' => lines == Lines::Show,
        c if c.is_control() => true,
        c => is_reordering(c),
    }
}

/// Unicode's bidirectional embeddings, overrides and isolates, which can make text read
/// other than it is.
fn is_reordering(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn escape(c: char, out: &mut String) {
    let code = u32::from(c);
    match code {
        0x00..=0x1F => {
            out.push('^');
            out.push(char::from(b'@' + code as u8));
        }
        0x7F => out.push_str("^?"),
        0x80..=0x9F => {
            out.push_str("M-^");
            out.push(char::from(b'@' + (code - 0x80) as u8));
        }
        _ => out.push_str(&format!("<U+{code:04X}>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_show_as_cat_v_does() {
        let hostile = "ok\x1b]0;pwned\x07\x1b[2K\rlookout: all good\x7f\u{9b}31m";
        assert_eq!(
            printable(hostile, Lines::Show, 1000),
            "ok^[]0;pwned^G^[[2K^Mlookout: all good^?M-^[31m"
        );
        assert_eq!(printable("a\nb\tc", Lines::Show, 100), "a^Jb\tc");
        assert_eq!(printable("a\nb\tc", Lines::Keep, 100), "a\nb\tc");
        assert_eq!(
            printable("pay \u{202E}gnp.exe", Lines::Show, 100),
            "pay <U+202E>gnp.exe"
        );
    }

    #[test]
    fn diagnostics_keep_their_own_colours_only() {
        let line = "\x1b[2m12:00\x1b[0m \x1b[33mWARN\x1b[0m server says \x1b[8mhidden\x1b]0;t\x07";
        assert_eq!(
            printable_keeping_colour(line, 1000),
            "\x1b[2m12:00\x1b[0m \x1b[33mWARN\x1b[0m server says ^[[8mhidden^[]0;t^G"
        );
        assert_eq!(printable_keeping_colour("a\x1b", 10), "a^[");
    }

    #[test]
    fn plain_text_is_borrowed_and_long_text_is_cut_with_a_mark() {
        assert!(matches!(
            printable("héllo wörld", Lines::Show, 100),
            Cow::Borrowed(_)
        ));
        let long = "é".repeat(1005);
        let cut = printable(&long, Lines::Show, 1000);
        assert!(cut.ends_with("… [5 more characters]"), "{cut}");
        assert_eq!(cut.chars().filter(|&c| c == 'é').count(), 1000);
    }
}

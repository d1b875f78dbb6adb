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

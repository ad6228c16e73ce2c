//! Untrusted text made safe to print on a terminal.
//!
//! Member names, metadata values, file names, URLs and the lines of a text
//! member all come from archives kiln did not make. Printed raw, a newline
//! in a member name forges report lines, and an escape sequence clears or
//! rewrites the screen. Every such string goes through [`escape`] (or
//! [`escape_line`] for a line of a text diff) before it reaches human
//! output; JSON output is escaped by serde and needs none of this.
//!
//! Escaped, shown visibly: the C0 controls (including ESC, CR, LF and TAB),
//! DEL, the C1 controls (U+0080 to U+009F, which some terminals obey as
//! CSI and OSC), the Unicode bidi controls (which reorder what is shown, so
//! `a\u{202e}lmth.exe` reads as something else) and the line and paragraph
//! separators. `\t`, `\n` and `\r` print as such, the other C0 controls and
//! DEL as `\x1b`, everything else as `\u{202e}`. Backslashes are left as
//! they are: readable code and paths matter more here than a reversible
//! encoding (the JSON output is exact).

use std::borrow::Cow;

/// Whether `c` is a character [`escape`] shows as an escape.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        // Arabic letter mark, left-to-right and right-to-left marks.
        | '\u{61c}' | '\u{200e}' | '\u{200f}'
        // Line and paragraph separators.
        | '\u{2028}' | '\u{2029}'
        // Embeddings, overrides and their pop.
        | '\u{202a}'..='\u{202e}'
        // Isolates and their pop.
        | '\u{2066}'..='\u{2069}')
}

/// Appends `c` to `out`, escaped when [`is_unsafe`].
pub fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write as _;
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\u{0}'..='\u{1f}' | '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// `s` with every character for which `escape_it` holds escaped; borrowed
/// when there is none.
fn escape_where(s: &str, escape_it: impl Fn(char) -> bool) -> Cow<'_, str> {
    let Some(first) = s.find(&escape_it) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if escape_it(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A one-line field (a member name, a metadata value, a file name, a URL,
/// a message built from archive contents) with every unsafe character
/// escaped, TAB, CR and LF included: the result never spans two lines.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_where(s, is_unsafe)
}

/// One line of a text member (or of a unified diff of one): as [`escape`],
/// but a TAB is kept, since indentation is content a reader wants to see
/// as it is and a TAB cannot move the cursor off the line.
pub fn escape_line(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\t' && is_unsafe(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape("pkg/__init__.py"), Cow::Borrowed(_)));
        assert!(matches!(escape("naïve ünïcode ✓"), Cow::Borrowed(_)));
        assert!(matches!(escape_line("\tindented"), Cow::Borrowed(_)));
    }

    #[test]
    fn controls_are_shown_visibly() {
        assert_eq!(escape("a\n+ forged line"), "a\\n+ forged line");
        assert_eq!(escape("\x1b[2J"), "\\x1b[2J");
        assert_eq!(escape("a\rb\tc\0d\x7fe"), "a\\rb\\tc\\x00d\\x7fe");
        assert_eq!(escape("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(escape("\u{85}"), "\\u{85}");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(escape("a\u{2066}b\u{2069}"), "a\\u{2066}b\\u{2069}");
        assert_eq!(escape("x\u{2028}y"), "x\\u{2028}y");
    }

    #[test]
    fn a_line_keeps_its_tabs_only() {
        assert_eq!(
            escape_line("\tx = 1\x1b]0;title\x07"),
            "\tx = 1\\x1b]0;title\\x07"
        );
        assert_eq!(escape_line("a\nb"), "a\\nb");
    }

    #[test]
    fn nothing_unsafe_survives() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert!(!escape(&all).chars().any(is_unsafe));
        assert!(!escape_line(&all).chars().any(|c| c != '\t' && is_unsafe(c)));
        assert!(!escape(&all).contains('\t'));
    }
}

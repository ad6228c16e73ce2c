//! Unified diffs of text (a member's bytes, a metadata field's value),
//! with `similar`'s Myers diff and three lines of context, cut after the
//! caller's budget of lines. No deadline is set (that would read the
//! clock and make the output depend on the machine's speed); instead the
//! inputs are bounded by [`MAX_DIFF_BYTES`] and [`MAX_DIFF_INPUT_LINES`].

use similar::{Algorithm, ChangeTag};

use crate::TextDiff;

/// Members larger than this (on either side) get no line diff.
pub(crate) const MAX_DIFF_BYTES: u64 = 1 << 20;
/// Members with more lines than this (on either side) get no line diff:
/// Myers is O((N+M)·D), and two unrelated 20,000-line files already take a
/// noticeable moment.
pub(crate) const MAX_DIFF_INPUT_LINES: u64 = 20_000;

/// The unified diff of `a` and `b`, headed `--- old` / `+++ new`, with at
/// most `max_lines` lines of hunks.
pub(crate) fn unified(a: &str, b: &str, old: &str, new: &str, max_lines: usize) -> TextDiff {
    let diff = similar::TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .diff_lines(a, b);
    let mut lines = vec![format!("--- {old}"), format!("+++ {new}")];
    let mut total = 0usize;
    let mut push = |line: String| {
        total += 1;
        if total <= max_lines {
            lines.push(line);
        }
    };
    let mut udiff = diff.unified_diff();
    udiff.context_radius(3);
    for hunk in udiff.iter_hunks() {
        push(hunk.header().to_string());
        for change in hunk.iter_changes() {
            let tag = match change.tag() {
                ChangeTag::Equal => ' ',
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
            };
            let value = change.value();
            let value = value.strip_suffix('\n').unwrap_or(value);
            let line = match value.strip_suffix('\r') {
                Some(v) => format!("{tag}{v}\\r"),
                None => format!("{tag}{value}"),
            };
            push(line);
            if change.missing_newline() {
                push("\\ No newline at end of file".to_owned());
            }
        }
    }
    TextDiff {
        lines,
        total_lines: total,
        truncated: total > max_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_with_context() {
        let d = unified("a\nb\nc\n", "a\nB\nc\n", "x/a", "y/a", 200);
        assert_eq!(
            d.lines,
            [
                "--- x/a",
                "+++ y/a",
                "@@ -1,3 +1,3 @@",
                " a",
                "-b",
                "+B",
                " c"
            ]
        );
        assert_eq!((d.total_lines, d.truncated), (5, false));
    }

    #[test]
    fn missing_newline_and_carriage_returns_are_visible() {
        let d = unified("a\r\n", "a\n", "o", "n", 200);
        assert_eq!(d.lines[2..], ["@@ -1 +1 @@", "-a\\r", "+a"]);
        let d = unified("a\n", "a", "o", "n", 200);
        assert_eq!(
            d.lines[2..],
            ["@@ -1 +1 @@", "-a", "+a", "\\ No newline at end of file"]
        );
    }

    #[test]
    fn truncated_after_the_budget() {
        let a: String = (0..100).map(|i| format!("{i}\n")).collect();
        let d = unified(&a, "", "o", "n", 10);
        assert_eq!(d.lines.len(), 12);
        assert_eq!(d.total_lines, 101);
        assert!(d.truncated);
    }
}

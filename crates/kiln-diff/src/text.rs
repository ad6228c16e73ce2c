//! Unified diffs of text (a member's bytes, a metadata field's value),
//! with `similar`'s Myers diff and three lines of context, cut after the
//! caller's budget of lines.
//!
//! Myers takes O((N+M)·D) time for D differing lines: two unrelated
//! 20,000-line files take tens of seconds. `similar` can only bound that
//! with a deadline, which reads the clock and would make the output depend
//! on the machine's speed. So a bounded forward pass of Myers' algorithm
//! (no trace, O((N+M)·[`MAX_EDIT_LINES`]) time) first checks that at most
//! [`MAX_EDIT_LINES`] lines differ; when more do, or either side has more
//! than [`MAX_DIFF_INPUT_LINES`] lines, the diff is the changed region
//! between the common prefix and suffix as one hunk -- a correct unified
//! diff, just not a minimal one, computed in linear time.

use std::collections::BTreeMap;

use similar::{Algorithm, ChangeTag};

use crate::TextDiff;

/// Members larger than this (on either side) are not re-read for a diff.
pub(crate) const MAX_DIFF_BYTES: u64 = 1 << 20;
/// Texts with more lines than this (on either side) get the one-hunk diff.
pub(crate) const MAX_DIFF_INPUT_LINES: usize = 20_000;
/// Texts that differ in more lines than this get the one-hunk diff.
pub(crate) const MAX_EDIT_LINES: usize = 500;

/// Context lines around each change.
const CONTEXT: usize = 3;

/// The diff's lines, counted in full but kept up to the budget.
struct Out {
    lines: Vec<String>,
    total: usize,
    max: usize,
}

impl Out {
    fn push(&mut self, line: String) {
        self.total += 1;
        if self.total <= self.max {
            self.lines.push(line);
        }
    }

    /// One line of text (with its line end, if any) after its tag.
    fn text(&mut self, tag: char, value: &str) {
        let body = value.strip_suffix('\n').unwrap_or(value);
        self.push(match body.strip_suffix('\r') {
            Some(v) => format!("{tag}{v}\\r"),
            None => format!("{tag}{body}"),
        });
        if !value.ends_with('\n') {
            self.push("\\ No newline at end of file".to_owned());
        }
    }
}

/// Whether `a` and `b` differ in at most `max_d` lines (insertions plus
/// deletions): Myers' greedy forward pass, stopped at `max_d`.
fn differ_in_at_most(a: &[u32], b: &[u32], max_d: usize) -> bool {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let offset = max_d as isize + 1;
    let mut v = vec![0isize; 2 * max_d + 3];
    for d in 0..=max_d as isize {
        let mut k = -d;
        while k <= d {
            let at = |k: isize| usize::try_from(k + offset).ok();
            let down = at(k + 1).and_then(|i| v.get(i)).copied().unwrap_or(0);
            let right = at(k - 1).and_then(|i| v.get(i)).copied().unwrap_or(0);
            let mut x = if k == -d || (k != d && right < down) {
                down
            } else {
                right + 1
            };
            let mut y = x - k;
            while x < n
                && y < m
                && y >= 0
                && a.get(x as usize).is_some()
                && a.get(x as usize) == b.get(y as usize)
            {
                x += 1;
                y += 1;
            }
            if let Some(slot) = at(k).and_then(|i| v.get_mut(i)) {
                *slot = x;
            }
            if x >= n && y >= m {
                return true;
            }
            k += 2;
        }
    }
    false
}

/// Lines as ids, equal lines equal ids.
fn intern<'t>(a: &[&'t str], b: &[&'t str]) -> (Vec<u32>, Vec<u32>) {
    let mut ids: BTreeMap<&str, u32> = BTreeMap::new();
    let mut id = |line: &'t str| {
        let next = ids.len() as u32;
        *ids.entry(line).or_insert(next)
    };
    let ia = a.iter().map(|l| id(l)).collect();
    let ib = b.iter().map(|l| id(l)).collect();
    (ia, ib)
}

/// Lines the two share at the start, and at the end (not overlapping).
fn common_ends(a: &[&str], b: &[&str]) -> (usize, usize) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let room = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    (prefix, suffix)
}

/// A hunk range: 1-based start and length (`,1` omitted; an empty range
/// names the line before it).
fn range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

/// The one-hunk diff: the changed region between the common prefix and
/// suffix, with context.
fn one_hunk(a: &[&str], b: &[&str], out: &mut Out) {
    let (prefix, suffix) = common_ends(a, b);
    if prefix == a.len() && prefix == b.len() {
        return;
    }
    let before = prefix.min(CONTEXT);
    let after = suffix.min(CONTEXT);
    let start = prefix - before;
    let (a_end, b_end) = (a.len() - suffix, b.len() - suffix);
    out.push(format!(
        "@@ -{} +{} @@",
        range(start, a_end + after - start),
        range(start, b_end + after - start)
    ));
    for line in a.get(start..prefix).unwrap_or_default() {
        out.text(' ', line);
    }
    for line in a.get(prefix..a_end).unwrap_or_default() {
        out.text('-', line);
    }
    for line in b.get(prefix..b_end).unwrap_or_default() {
        out.text('+', line);
    }
    for line in a.get(a_end..a_end + after).unwrap_or_default() {
        out.text(' ', line);
    }
}

/// The unified diff of `a` and `b`, headed `--- old` / `+++ new`, with at
/// most `max_lines` lines of hunks.
pub(crate) fn unified(a: &str, b: &str, old: &str, new: &str, max_lines: usize) -> TextDiff {
    let mut out = Out {
        lines: vec![format!("--- {old}"), format!("+++ {new}")],
        total: 0,
        max: max_lines,
    };
    let la: Vec<&str> = a.split_inclusive('\n').collect();
    let lb: Vec<&str> = b.split_inclusive('\n').collect();
    let minimal = la.len() <= MAX_DIFF_INPUT_LINES && lb.len() <= MAX_DIFF_INPUT_LINES && {
        let (prefix, suffix) = common_ends(&la, &lb);
        let (ia, ib) = intern(
            la.get(prefix..la.len() - suffix).unwrap_or_default(),
            lb.get(prefix..lb.len() - suffix).unwrap_or_default(),
        );
        differ_in_at_most(&ia, &ib, MAX_EDIT_LINES)
    };
    if minimal {
        let diff = similar::TextDiff::configure()
            .algorithm(Algorithm::Myers)
            .diff_lines(a, b);
        let mut udiff = diff.unified_diff();
        udiff.context_radius(CONTEXT);
        for hunk in udiff.iter_hunks() {
            out.push(hunk.header().to_string());
            for change in hunk.iter_changes() {
                let tag = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                };
                out.text(tag, change.value());
            }
        }
    } else {
        one_hunk(&la, &lb, &mut out);
    }
    TextDiff {
        lines: out.lines,
        total_lines: out.total,
        truncated: out.total > max_lines,
        minimal,
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

    /// D (lines inserted plus deleted) of a minimal diff, per `similar`.
    fn edit_lines(a: &str, b: &str) -> usize {
        let d = similar::TextDiff::from_lines(a, b);
        d.iter_all_changes()
            .filter(|c| c.tag() != ChangeTag::Equal)
            .count()
    }

    #[test]
    fn the_bounded_pass_agrees_with_similar() {
        // Small texts over a tiny alphabet, deterministic.
        let mut x: u32 = 7;
        let mut text = |len: usize| {
            (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    format!("{}\n", (x >> 16) % 4)
                })
                .collect::<String>()
        };
        for round in 0..200 {
            let (a, b) = (text(round % 13), text(round % 7 + 3));
            let la: Vec<&str> = a.split_inclusive('\n').collect();
            let lb: Vec<&str> = b.split_inclusive('\n').collect();
            let (ia, ib) = intern(&la, &lb);
            let d = edit_lines(&a, &b);
            assert!(differ_in_at_most(&ia, &ib, d), "{a:?} {b:?} {d}");
            if d > 0 {
                assert!(!differ_in_at_most(&ia, &ib, d - 1), "{a:?} {b:?} {d}");
            }
        }
    }

    #[test]
    fn unrelated_long_texts_get_one_hunk_quickly() {
        // Under the line cap, so the bounded pass runs and gives up.
        let a: String = (0..10_000).map(|i| format!("a {i}\n")).collect();
        let b: String = (0..10_000).map(|i| format!("b {i}\n")).collect();
        let a = format!("same\n{a}end");
        let b = format!("same\n{b}end");
        let d = unified(&a, &b, "o", "n", 5);
        assert!(!d.minimal);
        assert_eq!(
            d.lines[2..],
            ["@@ -1,10002 +1,10002 @@", " same", "-a 0", "-a 1", "-a 2"]
        );
        // Context, 10,000 lines each way, the shared last line and its hint.
        assert_eq!(d.total_lines, 1 + 1 + 20_000 + 1 + 1);
        // A few changes far apart in a long text are still minimal.
        let a: String = (0..10_000).map(|i| format!("a {i}\n")).collect();
        let c = a.replace("\na 5\n", "\nA 5\n").replace("\na 9999\n", "\n");
        let d = unified(&a, &c, "o", "n", 200);
        assert!(d.minimal);
        assert_eq!(d.lines.iter().filter(|l| l.starts_with("@@")).count(), 2);
    }

    #[test]
    fn one_hunk_ranges() {
        let mut out = Out {
            lines: Vec::new(),
            total: 0,
            max: 100,
        };
        one_hunk(&["x\n"], &[], &mut out);
        assert_eq!(out.lines, ["@@ -1 +0,0 @@", "-x"]);
        let mut out = Out {
            lines: Vec::new(),
            total: 0,
            max: 100,
        };
        one_hunk(
            &["1\n", "2\n", "3\n", "4\n", "5\n"],
            &["1\n", "2\n", "3\n", "4\n", "X\n", "5\n"],
            &mut out,
        );
        assert_eq!(out.lines, ["@@ -2,4 +2,5 @@", " 2", " 3", " 4", "+X", " 5"]);
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

//! What users see: human text and progress on stderr, `--json` on stdout.
//!
//! Progress bars appear only when stderr is a terminal; colour only when it
//! is a terminal and `NO_COLOR` is unset or empty (https://no-color.org).
//!
//! Everything printed here passes through [`clean`]: names, URLs, values
//! and messages built from archives, indexes and backends are untrusted,
//! so control characters, C1 controls and bidi controls are shown escaped
//! (`\x1b`, `\u{202e}`, see `kiln_diff::escape`) and the only escape
//! sequences that reach the terminal are this module's own colours. A
//! message's line breaks are kept, its later lines indented, so no
//! message can pass for another `error:` or `kiln:` line.

#![allow(clippy::print_stderr, clippy::print_stdout)] // This module is the one place that prints.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kiln_diff::escape;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub fn color() -> bool {
    #[allow(clippy::disallowed_methods)] // NO_COLOR is read at the edge.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal() && !no_color
}

/// The SGR sequences [`paint`] writes, with the reset: the only escape
/// sequences [`clean`] lets through, and only while colour is on.
const COLOURS: [&str; 6] = [
    "\x1b[0m",
    "\x1b[31m",
    "\x1b[32m",
    "\x1b[1;31m",
    "\x1b[1;33m",
    "\x1b[1;36m",
];

fn paint(text: &str, code: &str) -> String {
    debug_assert!(
        COLOURS.contains(&format!("\x1b[{code}m").as_str()),
        "add \\x1b[{code}m to COLOURS, or clean() will escape it"
    );
    if color() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// `text` made safe for the terminal: every character
/// `kiln_diff::escape::is_unsafe` names is shown escaped, except those in
/// `keep` and, when `colour` is on, the sequences of [`COLOURS`].
fn clean(text: &str, keep: &[char], colour: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if colour
            && c == '\x1b'
            && let Some(code) = COLOURS.iter().find(|code| rest.starts_with(**code))
        {
            out.push_str(code);
            rest = &rest[code.len()..];
            continue;
        }
        if keep.contains(&c) {
            out.push(c);
        } else {
            escape::push_escaped(&mut out, c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A one-message line: cleaned, its later lines (a backend's output, say)
/// indented under the first.
fn message(text: &str) -> String {
    let text = clean(text.trim_end_matches('\n'), &['\n', '\t'], false);
    text.split('\n').collect::<Vec<_>>().join("\n  ")
}

pub fn error(message_text: &str) {
    eprintln!("{} {}", paint("error:", "1;31"), message(message_text));
}

pub fn warn(message_text: &str) {
    eprintln!("{} {}", paint("warning:", "1;33"), message(message_text));
}

pub fn step(message_text: &str) {
    eprintln!("{} {}", paint("kiln:", "1;36"), message(message_text));
}

pub fn ok(text: &str) -> String {
    paint(text, "32")
}

pub fn bad(text: &str) -> String {
    paint(text, "31")
}

/// A progress bar (or spinner when `len` is 0) on stderr; invisible when
/// stderr is not a terminal.
pub fn progress(len: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let template = if len == 0 {
        "{spinner} {msg} {elapsed}"
    } else {
        "{msg:>12} [{bar:30}] {pos}/{len} {elapsed}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(clean(message, &[], false));
    if len == 0 {
        bar.enable_steady_tick(Duration::from_millis(100));
    }
    bar
}

/// A left-aligned text table; the last column is not padded. Cells are
/// cleaned (a cell never spans two lines).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let colour = color();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| clean(cell, &[], colour)).collect())
        .collect();
    let width = |s: &str| strip_ansi(s).chars().count();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        let last = cells.len() - 1;
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                out.push_str(&" ".repeat(widths[i] - width(cell) + 2));
            }
        }
        out.push('\n');
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in &rows {
        line(row.clone());
    }
    out
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}

/// Preformatted text (a report, a table): cleaned, line breaks and TABs
/// kept.
pub fn eprint(text: &str) {
    eprint!("{}", clean(text, &['\n', '\t'], color()));
}

/// Text that is the command's output (a distinfo written to stdout):
/// cleaned like everything printed, line breaks kept.
pub fn print_text(text: &str) {
    print!("{}", clean(text, &['\n'], false));
}

/// A `--json` report went to stdout: an error after it prints no second
/// JSON object (stdout holds one JSON document).
static JSON_PRINTED: AtomicBool = AtomicBool::new(false);

/// Prints a command's `--json` report (`kiln_report`'s types, so the
/// output is what docs/kiln-report.schema.json describes).
pub fn json(report: kiln_report::Report) {
    print_json(&kiln_report::Output::Report(report));
}

/// Prints the `--json` error object, unless the command's report is
/// already out.
pub fn json_error(error: kiln_report::ErrorReport) {
    if !JSON_PRINTED.load(Ordering::SeqCst) {
        print_json(&kiln_report::Output::Error(error));
    }
}

fn print_json(output: &kiln_report::Output) {
    match serde_json::to_string_pretty(output) {
        Ok(text) => {
            println!("{text}");
            JSON_PRINTED.store(true, Ordering::SeqCst);
        }
        Err(e) => error(&format!("cannot render the JSON report: {e}")),
    }
}

/// 1234567 → "1.2 MiB".
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(&["a", "bb"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "a    bb\nxyz  1\n");
    }

    #[test]
    fn terminal_injection_messages_are_escaped_and_cannot_forge_lines() {
        assert_eq!(
            message("x.tar.gz: p-1.0/a\n+ forged line: malformed\n"),
            "x.tar.gz: p-1.0/a\n  + forged line: malformed"
        );
        assert_eq!(
            message("x.tar.gz: \x1b[2J\x1b]0;t\x07\u{9b}\u{202e}\r: refused"),
            "x.tar.gz: \\x1b[2J\\x1b]0;t\\x07\\u{9b}\\u{202e}\\r: refused"
        );
    }

    #[test]
    fn terminal_injection_table_cells_are_escaped() {
        let t = table(
            &["artifact", "against"],
            &[vec!["a\nb".into(), "https://x/\x1b[2J".into()]],
        );
        assert_eq!(t, "artifact  against\na\\nb      https://x/\\x1b[2J\n");
    }

    #[test]
    fn terminal_injection_printed_text_keeps_only_our_colours() {
        let text = "\x1b[32mmatch\x1b[0m \x1b[2J\x1b[1;31m\tx\n";
        assert_eq!(
            clean(text, &['\n', '\t'], true),
            "\x1b[32mmatch\x1b[0m \\x1b[2J\x1b[1;31m\tx\n"
        );
        assert_eq!(
            clean(text, &['\n', '\t'], false),
            "\\x1b[32mmatch\\x1b[0m \\x1b[2J\\x1b[1;31m\tx\n"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(10), "10 B");
        assert_eq!(human_size(1536), "1.5 KiB");
    }
}

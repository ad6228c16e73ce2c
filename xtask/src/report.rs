//! What users see: human text and progress on stderr, `--json` on stdout.
//!
//! Progress bars appear only when stderr is a terminal; colour only when it
//! is a terminal and `NO_COLOR` is unset or empty (https://no-color.org).

#![allow(clippy::print_stderr, clippy::print_stdout)] // This module is the one place that prints.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

pub fn color() -> bool {
    #[allow(clippy::disallowed_methods)] // NO_COLOR is read at the edge.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal() && !no_color
}

fn paint(text: &str, code: &str) -> String {
    if color() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

pub fn error(message: &str) {
    eprintln!("{} {message}", paint("error:", "1;31"));
}

pub fn warn(message: &str) {
    eprintln!("{} {message}", paint("warning:", "1;33"));
}

pub fn step(message: &str) {
    eprintln!("{} {message}", paint("kiln:", "1;36"));
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
    bar.set_message(message.to_string());
    if len == 0 {
        bar.enable_steady_tick(Duration::from_millis(100));
    }
    bar
}

/// A left-aligned text table; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let width = |s: &str| strip_ansi(s).chars().count();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
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
    for row in rows {
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

pub fn eprint(text: &str) {
    eprint!("{text}");
}

pub fn json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
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
    fn sizes() {
        assert_eq!(human_size(10), "10 B");
        assert_eq!(human_size(1536), "1.5 KiB");
    }
}

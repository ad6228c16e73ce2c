//! The human form of a [`DiffReport`]: a one-line answer first
//! (`identical`, `same content, container differs: timestamps, compression`,
//! `different content: 1 changed, 1 added, 0 removed`), then the two files,
//! renames, members, metadata field by field, container differences and
//! the RECORD checks.
//!
//! Everything in a report that came from the archives or their names --
//! member paths, metadata field names and values, the lines of text diffs,
//! RECORD problems, container examples, notes, the files as the caller named
//! them -- is printed through [`escape`] / [`escape_line`], so no member can
//! forge a report line or send the terminal a control sequence.

use std::fmt::Write as _;

use crate::escape::{escape, escape_line};
use crate::{
    ChangeDetail, ChangeKind, DiffReport, FieldChange, FieldChangeKind, Level, MemberChange,
    RecordCheck, RecordStatus, TextDiff,
};

/// RECORD problems listed per side before "… and N more".
const MAX_RECORD_LINES: usize = 20;

/// The first line.
pub(crate) fn headline(r: &DiffReport) -> String {
    match r.level {
        Level::Identical => "identical".to_owned(),
        Level::SameContent => {
            let labels: Vec<&str> = r.container.iter().map(|c| c.category.label()).collect();
            format!("same content, container differs: {}", labels.join(", "))
        }
        Level::DifferentContent => {
            let (changed, added, removed) = r.counts();
            let mut s =
                format!("different content: {changed} changed, {added} added, {removed} removed");
            for rename in &r.renames {
                let _ = write!(s, "; renamed {} → {}", escape(&rename.a), escape(&rename.b));
            }
            s
        }
    }
}

fn short(sha256: &str) -> &str {
    sha256.get(..16).unwrap_or(sha256)
}

fn diff_lines(out: &mut String, diff: &TextDiff, indent: &str) {
    if !diff.minimal {
        let _ = writeln!(
            out,
            "{indent}(too many lines differ for a minimal diff: the changed region is shown as one hunk)"
        );
    }
    for line in &diff.lines {
        let _ = writeln!(out, "{indent}{}", escape_line(line));
    }
    if diff.truncated {
        let shown = diff.lines.len().saturating_sub(2);
        let _ = writeln!(
            out,
            "{indent}… diff truncated: {shown} of {} lines shown",
            diff.total_lines
        );
    }
}

/// The RECORD problems a side has with `path`, as "RECORD of a: …".
fn record_notes(check: &RecordCheck, side: &str, path: Option<&str>) -> Vec<String> {
    let Some(path) = path else {
        return Vec::new();
    };
    check
        .problems
        .iter()
        .filter(|p| p.member == path)
        .map(|p| format!("RECORD of {side}: {}", escape(&p.problem)))
        .collect()
}

fn member(out: &mut String, r: &DiffReport, m: &MemberChange) {
    let mut parts = Vec::new();
    let head = match (&m.a, &m.b) {
        (Some(a), None) | (None, Some(a)) => {
            let verb = if m.change == ChangeKind::Added {
                "added  "
            } else {
                "removed"
            };
            let x = if a.executable { ", executable" } else { "" };
            format!(
                "{verb} {} ({} bytes, sha256 {}{x})",
                escape(&m.path),
                a.size,
                short(&a.sha256)
            )
        }
        (Some(a), Some(b)) => {
            let renamed = if a.path == b.path {
                String::new()
            } else {
                format!(" (b: {})", escape(&b.path))
            };
            let sizes = format!(
                "{} → {} bytes, sha256 {} → {}",
                a.size,
                b.size,
                short(&a.sha256),
                short(&b.sha256)
            );
            let kind = match &m.detail {
                ChangeDetail::None | ChangeDetail::ExecutableBit => "",
                ChangeDetail::Text(_) => {
                    parts.push(sizes);
                    ""
                }
                ChangeDetail::TextTooLarge { reason } => {
                    parts.push(format!("{sizes} ({})", escape(reason)));
                    " (text, no line diff)"
                }
                ChangeDetail::Binary => {
                    parts.push(sizes);
                    " (binary)"
                }
                ChangeDetail::Metadata => {
                    parts.push("compared field by field below".to_owned());
                    ""
                }
                ChangeDetail::Record => {
                    parts.push("checked against the members below".to_owned());
                    ""
                }
            };
            if a.executable != b.executable {
                let x = |e| if e { "executable" } else { "not executable" };
                parts.push(format!("{} → {}", x(a.executable), x(b.executable)));
            }
            format!("changed {}{renamed}{kind}", escape(&m.path))
        }
        (None, None) => return,
    };
    parts.extend(record_notes(
        &r.record.a,
        "a",
        m.a.as_ref().map(|s| s.path.as_str()),
    ));
    parts.extend(record_notes(
        &r.record.b,
        "b",
        m.b.as_ref().map(|s| s.path.as_str()),
    ));
    if parts.is_empty() {
        let _ = writeln!(out, "  {head}");
    } else {
        let _ = writeln!(out, "  {head}: {}", parts.join("; "));
    }
    if let ChangeDetail::Text(diff) = &m.detail {
        diff_lines(out, diff, "      ");
    }
}

fn field(out: &mut String, f: &FieldChange) {
    let name = escape(&f.field);
    if let Some(diff) = &f.diff {
        let _ = writeln!(out, "  {name}:");
        diff_lines(out, diff, "      ");
        return;
    }
    match f.change {
        FieldChangeKind::Changed if f.a.len() == 1 && f.b.len() == 1 => {
            let _ = writeln!(out, "  {name}: {} → {}", escape(&f.a[0]), escape(&f.b[0]));
        }
        FieldChangeKind::Reordered => {
            let _ = writeln!(out, "  {name}: the same values in another order");
        }
        _ => {
            for v in &f.removed {
                let _ = writeln!(out, "  {name}: - {}", escape(v));
            }
            for v in &f.added {
                let _ = writeln!(out, "  {name}: + {}", escape(v));
            }
        }
    }
}

fn record(out: &mut String, side: &str, check: &RecordCheck) {
    let name = check
        .record
        .as_deref()
        .map_or_else(String::new, |r| format!(" ({})", escape(r)));
    match check.status {
        RecordStatus::NotApplicable | RecordStatus::NotChecked => {}
        RecordStatus::Ok => {
            let _ = writeln!(out, "  {side}{name}: matches its members");
        }
        RecordStatus::Problems => {
            let n = check.problems.len();
            let _ = writeln!(
                out,
                "  {side}{name}: {n} problem{}",
                if n == 1 { "" } else { "s" }
            );
            for p in check.problems.iter().take(MAX_RECORD_LINES) {
                let _ = writeln!(out, "    {}: {}", escape(&p.member), escape(&p.problem));
            }
            if n > MAX_RECORD_LINES {
                let _ = writeln!(out, "    … and {} more", n - MAX_RECORD_LINES);
            }
        }
    }
}

pub(crate) fn render(r: &DiffReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(r));
    for (side, name, file) in [("a", &r.a, &r.a_file), ("b", &r.b, &r.b_file)] {
        let _ = writeln!(
            out,
            "  {side}: {} ({} bytes, sha256 {})",
            escape(name),
            file.size,
            file.sha256
        );
    }
    if r.level == Level::Identical {
        return out;
    }
    for note in &r.notes {
        let _ = writeln!(out, "note: {}", escape(note));
    }
    for rename in &r.renames {
        let _ = writeln!(
            out,
            "renamed {} → {} (the members below it are paired across the rename)",
            escape(&rename.a),
            escape(&rename.b)
        );
    }
    if !r.members.is_empty() {
        let _ = writeln!(out, "members:");
        for m in &r.members {
            member(&mut out, r, m);
        }
    }
    if !r.metadata.is_empty() {
        let what = match r.kind {
            crate::ArchiveKind::Sdist => "PKG-INFO",
            crate::ArchiveKind::Wheel => "METADATA",
        };
        let _ = writeln!(out, "metadata ({what}), field by field:");
        for f in &r.metadata {
            field(&mut out, f);
        }
    }
    if !r.container.is_empty() {
        let _ = writeln!(out, "container:");
        for c in &r.container {
            let _ = writeln!(out, "  {} ({}):", c.category.label(), c.count);
            for e in &c.examples {
                let _ = writeln!(out, "    {}", escape(e));
            }
            if c.count > c.examples.len() as u64 {
                let _ = writeln!(out, "    …");
            }
        }
    }
    if r.kind == crate::ArchiveKind::Wheel {
        let _ = writeln!(out, "RECORD:");
        record(&mut out, "a", &r.record.a);
        record(&mut out, "b", &r.record.b);
    }
    out
}

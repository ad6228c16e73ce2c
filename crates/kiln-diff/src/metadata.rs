//! Core metadata (a wheel's `*.dist-info/METADATA`, an sdist's `PKG-INFO`)
//! compared field by field, so a report says "Version: 1.0 → 1.1" and
//! "Classifier: + …" rather than a line diff.
//!
//! The format is RFC 822-style headers: `Name: value` lines, continuation
//! lines starting with a space or tab, names case-insensitive; a blank
//! line ends the headers and the rest is the body (the description). A
//! field used several times (Classifier, Requires-Dist, Project-URL, ...)
//! is compared as the list of its values: values only in `a`, only in `b`,
//! or the same values reordered. A multi-line value and the body get a
//! unified diff.
//!
//! A file over [`MAX_METADATA_BYTES`] or with more than
//! [`MAX_METADATA_FIELDS`] header lines is not compared field by field (a
//! note says why): each value is kept several times over (both sides, the
//! values only in one, the report), so 77 KB of compressed `K: v` lines
//! once took 900 MB. Real core metadata holds a few hundred fields.

use std::collections::BTreeMap;

use crate::members::Sides;
use crate::pairing::MetaMembers;
use crate::source::{Captured, Scan};
use crate::text;
use crate::{ArchiveKind, FieldChange, FieldChangeKind};

/// Bytes of a core metadata file compared field by field.
pub(crate) const MAX_METADATA_BYTES: usize = 4 << 20;

/// Header lines of a core metadata file compared field by field.
pub(crate) const MAX_METADATA_FIELDS: usize = 10_000;

/// The field name standing for the body.
pub(crate) const BODY: &str = "(body)";

/// Headers in order (name as written, value with continuation lines joined
/// by `\n`), and the body after the blank line.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub fields: Vec<(String, String)>,
    pub body: Option<String>,
}

pub(crate) fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, next) = rest.split_once('\n').unwrap_or((rest, ""));
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            if !next.is_empty() {
                parsed.body = Some(next.to_owned());
            }
            break;
        }
        if line.starts_with([' ', '\t']) {
            match parsed.fields.last_mut() {
                Some((_, value)) => {
                    value.push('\n');
                    value.push_str(line);
                }
                None => parsed
                    .fields
                    .push(("(continuation without a field)".to_owned(), line.to_owned())),
            }
        } else if let Some((name, value)) = line.split_once(':') {
            parsed
                .fields
                .push((name.trim().to_owned(), value.trim().to_owned()));
        } else {
            parsed
                .fields
                .push(("(line without a colon)".to_owned(), line.to_owned()));
        }
        rest = next;
    }
    parsed
}

/// Values of `a` not matched by one in `b`, as multisets.
fn minus(a: &[String], b: &[String]) -> Vec<String> {
    let mut left: BTreeMap<&str, usize> = BTreeMap::new();
    for v in b {
        *left.entry(v.as_str()).or_default() += 1;
    }
    a.iter()
        .filter(|v| match left.get_mut(v.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .cloned()
        .collect()
}

/// Field by field differences between two parsed metadata files.
pub(crate) fn compare_parsed(a: &Parsed, b: &Parsed, max_lines: usize) -> Vec<FieldChange> {
    // Field names in order of first appearance, `a`'s first.
    let mut order: Vec<String> = Vec::new();
    let mut values: BTreeMap<String, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
    for (side, parsed) in [(0, a), (1, b)] {
        for (name, value) in &parsed.fields {
            let key = name.to_ascii_lowercase();
            let slot = values.entry(key.clone()).or_insert_with(|| {
                order.push(key);
                (name.clone(), Vec::new(), Vec::new())
            });
            if side == 0 {
                slot.1.push(value.clone());
            } else {
                slot.2.push(value.clone());
            }
        }
    }
    let mut out = Vec::new();
    for key in &order {
        let Some((name, va, vb)) = values.get(key) else {
            continue;
        };
        if va == vb {
            continue;
        }
        let removed = minus(va, vb);
        let added = minus(vb, va);
        let change = if va.is_empty() {
            FieldChangeKind::Added
        } else if vb.is_empty() {
            FieldChangeKind::Removed
        } else if removed.is_empty() && added.is_empty() {
            FieldChangeKind::Reordered
        } else {
            FieldChangeKind::Changed
        };
        let diff = match (va.as_slice(), vb.as_slice()) {
            ([x], [y]) if x.contains('\n') || y.contains('\n') => Some(text::unified(
                x,
                y,
                &format!("a {name}"),
                &format!("b {name}"),
                max_lines,
            )),
            _ => None,
        };
        out.push(FieldChange {
            field: name.clone(),
            change,
            a: va.clone(),
            b: vb.clone(),
            removed,
            added,
            diff,
        });
    }
    if a.body != b.body {
        let (ba, bb) = (
            a.body.clone().unwrap_or_default(),
            b.body.clone().unwrap_or_default(),
        );
        let change = match (&a.body, &b.body) {
            (None, _) => FieldChangeKind::Added,
            (_, None) => FieldChangeKind::Removed,
            _ => FieldChangeKind::Changed,
        };
        out.push(FieldChange {
            field: BODY.to_owned(),
            change,
            diff: Some(text::unified(&ba, &bb, "a (body)", "b (body)", max_lines)),
            a: Vec::new(),
            b: Vec::new(),
            removed: Vec::new(),
            added: Vec::new(),
        });
    }
    out
}

/// The core metadata file's name for notes.
fn file_name(kind: ArchiveKind) -> &'static str {
    match kind {
        ArchiveKind::Sdist => "PKG-INFO",
        ArchiveKind::Wheel => "METADATA",
    }
}

/// The text of one side's metadata file, or a note saying why not (too
/// large, too many header lines, not UTF-8, not read).
fn text_of<'s>(scan: &'s Scan, index: usize, side: &str, what: &str) -> Result<&'s str, String> {
    match scan.captured.get(&index) {
        Some(Captured::Bytes(bytes)) if bytes.len() > MAX_METADATA_BYTES => Err(format!(
            "{side}: {what} is {} bytes, more than the {MAX_METADATA_BYTES} compared field by field",
            bytes.len()
        )),
        Some(Captured::Bytes(bytes)) => match std::str::from_utf8(bytes) {
            Ok(t) => {
                // Counted before parsing, which keeps every field.
                let fields = t
                    .split('\n')
                    .take_while(|l| !l.trim_end_matches('\r').is_empty());
                match fields.take(MAX_METADATA_FIELDS + 1).count() {
                    n if n > MAX_METADATA_FIELDS => Err(format!(
                        "{side}: {what} has more than {MAX_METADATA_FIELDS} header lines; not compared field by field"
                    )),
                    _ => Ok(t),
                }
            }
            Err(_) => Err(format!(
                "{side}: {what} is not UTF-8; not compared field by field"
            )),
        },
        Some(Captured::TooLarge(size)) => Err(format!(
            "{side}: {what} is {size} bytes, too large to compare field by field"
        )),
        None => Err(format!("{side}: {what} was not read")),
    }
}

/// Compare the two sides' core metadata; also returns notes (a side
/// without one, one that cannot be read as text).
pub(crate) fn compare(
    sides: &Sides<'_>,
    meta: &MetaMembers,
    max_lines: usize,
) -> (Vec<FieldChange>, Vec<String>) {
    let what = file_name(sides.kind);
    let (ia, ib) = match meta.metadata {
        (Some(ia), Some(ib)) => (ia, ib),
        (a, b) => {
            let mut notes = Vec::new();
            for (side, found) in [("a", a), ("b", b)] {
                if found.is_none() {
                    notes.push(format!(
                        "{side}: no {what} where the layout puts it; metadata not compared"
                    ));
                }
            }
            return (Vec::new(), notes);
        }
    };
    let (Some(ea), Some(eb)) = (sides.a.scan.entries.get(ia), sides.b.scan.entries.get(ib)) else {
        return (Vec::new(), Vec::new());
    };
    if (ea.sha256, ea.size) == (eb.sha256, eb.size) {
        return (Vec::new(), Vec::new());
    }
    let ta = text_of(sides.a.scan, ia, "a", what);
    let tb = text_of(sides.b.scan, ib, "b", what);
    match (ta, tb) {
        (Ok(ta), Ok(tb)) => (
            compare_parsed(&parse(ta), &parse(tb), max_lines),
            Vec::new(),
        ),
        (ta, tb) => (
            Vec::new(),
            [ta.err(), tb.err()].into_iter().flatten().collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_continuations_and_body() {
        let p = parse(
            "Metadata-Version: 2.1\r\nName: p\nLicense: line one\n        line two\nClassifier: A\nClassifier: B\n\nThe body.\n\nMore.\n",
        );
        assert_eq!(
            p.fields,
            [
                ("Metadata-Version", "2.1"),
                ("Name", "p"),
                ("License", "line one\n        line two"),
                ("Classifier", "A"),
                ("Classifier", "B"),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert_eq!(p.body.as_deref(), Some("The body.\n\nMore.\n"));
        assert_eq!(parse("Name: p\n").body, None);
        assert_eq!(parse("Name: p\n\n").body, None);
    }

    #[test]
    fn single_and_multi_use_fields() {
        let a = parse("Name: p\nVersion: 1.0\nClassifier: A\nClassifier: B\nKeywords: x\n");
        let b = parse(
            "name: p\nVersion: 1.1\nClassifier: A\nClassifier: B\nClassifier: C\nRequires-Dist: q\n",
        );
        let changes = compare_parsed(&a, &b, 200);
        let summary: Vec<_> = changes
            .iter()
            .map(|c| {
                (
                    c.field.as_str(),
                    c.change,
                    c.removed.clone(),
                    c.added.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "Version",
                    FieldChangeKind::Changed,
                    vec!["1.0".to_owned()],
                    vec!["1.1".to_owned()]
                ),
                (
                    "Classifier",
                    FieldChangeKind::Changed,
                    vec![],
                    vec!["C".to_owned()]
                ),
                (
                    "Keywords",
                    FieldChangeKind::Removed,
                    vec!["x".to_owned()],
                    vec![]
                ),
                (
                    "Requires-Dist",
                    FieldChangeKind::Added,
                    vec![],
                    vec!["q".to_owned()]
                ),
            ]
        );
    }

    #[test]
    fn reordered_values_and_the_body() {
        let a = parse("Classifier: A\nClassifier: B\n\nold\n");
        let b = parse("Classifier: B\nClassifier: A\n\nnew\n");
        let changes = compare_parsed(&a, &b, 200);
        assert_eq!(changes[0].change, FieldChangeKind::Reordered);
        assert_eq!(changes[1].field, BODY);
        let diff = changes[1].diff.as_ref().map(|d| d.lines.clone());
        assert_eq!(
            diff.unwrap_or_default()[2..],
            ["@@ -1 +1 @@", "-old", "+new"]
        );
    }
}

//! Content differences: members added, removed, changed (bytes or
//! executable bit), with how each change is shown -- a unified diff when
//! both sides are text (pass 2 re-reads just those members, `a`'s in
//! batches of bounded size, `b`'s one at a time), sizes and sha256
//! otherwise; the core metadata file and RECORD point to their own
//! sections. Pass 2 re-reads both archives once per batch, so the text
//! diffs of one report cover at most [`MAX_TEXT_DIFF_BYTES`] of `a`'s
//! members (a few batches); a changed text member past that is shown by
//! sizes and sha256, saying why, rather than costing another read of
//! both archives each; and they show at most [`MAX_REPORT_DIFF_LINES`]
//! lines together. A report lists at most [`MAX_LISTED_CHANGES`] members
//! (the first by path) and counts the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::pairing::{MetaMembers, Pairing, normalize};
use crate::source::{self, Entry, Scan};
use crate::text::{self, MAX_DIFF_BYTES};
use crate::{
    ArchiveKind, ChangeDetail, ChangeKind, DiffError, DiffOptions, MemberChange, MemberState,
    Unlisted,
};

/// Bytes of `a`'s members held in memory at once in pass 2.
const BATCH_BYTES: u64 = 8 << 20;

/// Bytes of members (both sides) text-diffed in one report: with batches
/// of [`BATCH_BYTES`] of `a` and members of at most [`MAX_DIFF_BYTES`],
/// pass 2 reads each archive at most five more times, however many members
/// changed, and the diffs' text is bounded by it.
pub(crate) const MAX_TEXT_DIFF_BYTES: u64 = 4 * BATCH_BYTES;

/// Lines of unified diff one report keeps, all members together (each
/// kept line costs its `String`: 10,000 members of 200 short changed
/// lines would be two million); members past it are not diffed, saying
/// why.
pub(crate) const MAX_REPORT_DIFF_LINES: usize = 100_000;

/// One archive as the comparison sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Side<'a> {
    pub path: &'a Path,
    pub name: &'a str,
    pub scan: &'a Scan,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Sides<'a> {
    pub kind: ArchiveKind,
    pub a: Side<'a>,
    pub b: Side<'a>,
}

fn state(kind: ArchiveKind, e: &Entry) -> MemberState {
    MemberState {
        path: normalize(kind, &e.path).to_owned(),
        size: e.size,
        sha256: kiln_digest::hex(&e.sha256),
        executable: e.executable,
    }
}

/// Member changes listed in one report; past it they are only counted
/// (100,000 removed and 100,000 added members once made a report of
/// 27 MB and 280 MB of memory from two 600 KB sdists).
pub(crate) const MAX_LISTED_CHANGES: usize = 10_000;

/// A member whose text diff pass 2 computes: (index in the output, entry
/// in `a`, entry in `b`).
type Job = (usize, usize, usize);

/// Every member that differs, sorted by path (as `b` writes it): the
/// first [`MAX_LISTED_CHANGES`] listed, the rest counted.
pub(crate) fn changes(
    sides: &Sides<'_>,
    pairs: &Pairing,
    meta: &MetaMembers,
    opts: &DiffOptions,
) -> Result<(Vec<MemberChange>, Unlisted), DiffError> {
    let kind = sides.kind;
    let (a, b) = (sides.a.scan, sides.b.scan);
    let mut out = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    let mut text_bytes: u64 = 0;
    let mut unlisted = Unlisted::default();
    for &(ia, ib) in pairs.files.values() {
        let ea = ia.and_then(|i| a.entries.get(i));
        let eb = ib.and_then(|i| b.entries.get(i));
        let (change, detail) = match (ea, eb) {
            (None, None) => continue,
            (Some(_), None) => (ChangeKind::Removed, ChangeDetail::None),
            (None, Some(_)) => (ChangeKind::Added, ChangeDetail::None),
            (Some(x), Some(y)) => {
                let same_bytes = (x.sha256, x.size) == (y.sha256, y.size);
                if same_bytes && x.executable == y.executable {
                    continue;
                }
                if out.len() >= MAX_LISTED_CHANGES {
                    unlisted.changed += 1;
                    continue;
                }
                let detail = if same_bytes {
                    ChangeDetail::ExecutableBit
                } else if (ia, ib) == meta.metadata {
                    ChangeDetail::Metadata
                } else if (ia, ib) == meta.record && ia.is_some() {
                    ChangeDetail::Record
                } else if !(x.text && y.text) {
                    ChangeDetail::Binary
                } else if x.size.max(y.size) > MAX_DIFF_BYTES {
                    ChangeDetail::TextTooLarge {
                        reason: format!(
                            "{} vs {} bytes; members are re-read for a line diff up to {MAX_DIFF_BYTES}",
                            x.size, y.size
                        ),
                    }
                } else if text_bytes + x.size + y.size > MAX_TEXT_DIFF_BYTES {
                    ChangeDetail::TextTooLarge {
                        reason: format!(
                            "not diffed: this report's text diffs already cover {text_bytes} bytes, \
                             the most one report re-reads ({MAX_TEXT_DIFF_BYTES})"
                        ),
                    }
                } else {
                    text_bytes += x.size + y.size;
                    if let (Some(ia), Some(ib)) = (ia, ib) {
                        jobs.push((out.len(), ia, ib));
                    }
                    // Filled in by pass 2.
                    ChangeDetail::Binary
                };
                (ChangeKind::Changed, detail)
            }
        };
        if out.len() >= MAX_LISTED_CHANGES {
            match change {
                ChangeKind::Added => unlisted.added += 1,
                ChangeKind::Removed => unlisted.removed += 1,
                ChangeKind::Changed => unlisted.changed += 1,
            }
            continue;
        }
        let sa = ea.map(|e| state(kind, e));
        let sb = eb.map(|e| state(kind, e));
        let path = match (&sa, &sb) {
            (Some(s), _) | (None, Some(s)) => s.path.clone(),
            (None, None) => continue,
        };
        out.push(MemberChange {
            path,
            change,
            a: sa,
            b: sb,
            detail,
        });
    }
    text_diffs(sides, &jobs, &mut out, opts)?;
    Ok((out, unlisted))
}

/// Pass 2: re-read the members of `jobs` and diff them. `a`'s bytes are
/// gathered in batches of at most [`BATCH_BYTES`]; for each batch `b` is
/// streamed and each of its members diffed as it arrives, so at most one
/// batch of `a` and one member of `b` are in memory.
fn text_diffs(
    sides: &Sides<'_>,
    jobs: &[Job],
    out: &mut [MemberChange],
    opts: &DiffOptions,
) -> Result<(), DiffError> {
    let size = |i: usize| sides.a.scan.entries.get(i).map_or(0, |e| e.size);
    let (kind, limits) = (sides.kind, &opts.limits);
    let mut shown_lines = 0usize;
    let mut start = 0;
    while start < jobs.len() {
        let mut bytes = 0u64;
        let mut end = start;
        while let Some(&(_, ia, _)) = jobs.get(end) {
            if end > start && bytes + size(ia) > BATCH_BYTES {
                break;
            }
            bytes += size(ia);
            end += 1;
        }
        let batch = &jobs[start..end];
        let wanted_a: BTreeSet<usize> = batch.iter().map(|j| j.1).collect();
        let mut got_a: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        source::fetch(
            kind,
            sides.a.path,
            sides.a.name,
            limits,
            &wanted_a,
            &mut |i, v| {
                got_a.insert(i, v);
            },
        )?;
        // `b`'s entry -> (output index, `a`'s entry).
        let by_b: BTreeMap<usize, (usize, usize)> =
            batch.iter().map(|&(at, ia, ib)| (ib, (at, ia))).collect();
        let wanted_b: BTreeSet<usize> = by_b.keys().copied().collect();
        source::fetch(
            kind,
            sides.b.path,
            sides.b.name,
            limits,
            &wanted_b,
            &mut |ib, vb| {
                let Some(&(at, ia)) = by_b.get(&ib) else {
                    return;
                };
                let ta = got_a.get(&ia).and_then(|v| std::str::from_utf8(v).ok());
                let tb = std::str::from_utf8(&vb).ok();
                let (Some(ta), Some(tb), Some(change)) = (ta, tb, out.get_mut(at)) else {
                    return;
                };
                if shown_lines >= MAX_REPORT_DIFF_LINES {
                    change.detail = ChangeDetail::TextTooLarge {
                        reason: format!(
                            "not diffed: this report already shows {shown_lines} lines of diff, \
                             the most one report keeps ({MAX_REPORT_DIFF_LINES})"
                        ),
                    };
                    return;
                }
                let pa = change.a.as_ref().map_or("", |s| s.path.as_str());
                let pb = change.b.as_ref().map_or("", |s| s.path.as_str());
                let diff = text::unified(
                    ta,
                    tb,
                    &format!("a/{pa}"),
                    &format!("b/{pb}"),
                    opts.max_diff_lines,
                );
                shown_lines += diff.lines.len();
                change.detail = ChangeDetail::Text(diff);
            },
        )?;
        start = end;
    }
    Ok(())
}

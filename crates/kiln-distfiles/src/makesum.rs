//! `makesum`: a distinfo written or updated from files on disk. A new file
//! gets an entry; a file whose digests agree with its entry leaves it as it
//! is; a file whose digests differ is a **change**, which the caller must
//! explain (classify against the old copy) and may apply only when asked.
//! The text is a pure function of the entries: sorted by name, in the
//! distinfo's own syntax, each entry holding exactly the digests that
//! syntax uses.

use crate::distinfo::{Distinfo, Entry, Format};
use kiln_digest::Digests;

/// What makesum does with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Not in the distinfo yet.
    Added,
    /// Every stated digest and the size agree.
    Unchanged,
    /// The distinfo states other digests: `old` is its entry.
    Changed {
        old: Entry,
        disagreements: Vec<String>,
    },
}

/// One file's entry in `format`: the digests that syntax records.
pub fn entry_for(format: Format, d: &Digests) -> Entry {
    let mut entry = Entry::from_digests(d);
    match format {
        Format::Kiln => {}
        Format::OpenBsd | Format::FreeBsd => {
            entry.sha512 = None;
            entry.blake2s = None;
        }
        Format::NetBsd => entry.sha256 = None,
    }
    entry
}

/// What each file (its distinfo name and digests) would change in `existing`.
pub fn plan(existing: &Distinfo, files: &[(String, Digests)]) -> Vec<Change> {
    files
        .iter()
        .map(|(name, d)| match existing.entries.get(name) {
            None => Change::Added,
            Some(old) if old.is_checkable() && old.matches(d) => Change::Unchanged,
            Some(old) if old.is_checkable() => Change::Changed {
                old: old.clone(),
                disagreements: old.disagreements(d),
            },
            Some(old) => {
                let stated: Vec<&str> = old.others.iter().map(|(a, _)| a.as_str()).collect();
                Change::Changed {
                    old: old.clone(),
                    disagreements: vec![format!(
                        "the entry states no size and digest kiln computes (it has: {}), so kiln cannot tell whether the file changed",
                        if stated.is_empty() { "nothing".to_string() } else { stated.join(", ") }
                    )],
                }
            }
        })
        .collect()
}

/// `existing` with the files applied: added ones always, changed ones
/// only when `update` (otherwise their old entries stay).
pub fn apply(existing: &Distinfo, files: &[(String, Digests)], update: bool) -> Distinfo {
    let mut out = existing.clone();
    for ((name, d), change) in files.iter().zip(plan(existing, files)) {
        match change {
            Change::Added => {
                out.entries.insert(name.clone(), entry_for(out.format, d));
            }
            Change::Changed { .. } if update => {
                out.entries.insert(name.clone(), entry_for(out.format, d));
            }
            Change::Changed { .. } | Change::Unchanged => {}
        }
    }
    out
}

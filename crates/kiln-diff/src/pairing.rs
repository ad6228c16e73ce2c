//! Which member of `a` is which member of `b`.
//!
//! Members are paired by their content path: an sdist's with `./` stripped
//! (its top-level directory is part of the path, but see below), a wheel's
//! as written; directories by the same rule, apart from files. Two
//! versions of one project differ in the sdist's top-level directory
//! (`p-1.0/` vs `p-1.1/`) and in the wheel's `p-1.0.dist-info/` and
//! `p-1.0.data/`: when each side has exactly one such directory and the
//! names differ, `a`'s is read as `b`'s (a rename, reported once), so the
//! members below it pair up and only the really changed ones are listed.

use std::collections::BTreeMap;

use crate::ArchiveKind;
use crate::source::{EntryKind, Scan};

/// Index of the entry in `a`, in `b`.
pub(crate) type Pair = (Option<usize>, Option<usize>);

#[derive(Debug, Default)]
pub(crate) struct Pairing {
    /// Top-level directory names (no `/`), `a`'s to `b`'s.
    pub renames: Vec<(String, String)>,
    /// Regular files by key (the path as `b` would write it).
    pub files: BTreeMap<String, Pair>,
    /// Directory entries by key (no trailing `/`).
    pub dirs: BTreeMap<String, Pair>,
    /// An sdist's single top-level directory.
    pub top_a: Option<String>,
    pub top_b: Option<String>,
    /// A wheel's single `.dist-info` directory.
    pub dist_info_a: Option<String>,
    pub dist_info_b: Option<String>,
    pub notes: Vec<String>,
}

/// The content path: an sdist's without `./` prefixes, either kind's
/// without a directory's trailing `/` (as the readers' duplicate checks
/// see them).
pub(crate) fn normalize(kind: ArchiveKind, raw: &str) -> &str {
    let path = raw.trim_end_matches('/');
    match kind {
        ArchiveKind::Sdist => path.trim_start_matches("./"),
        ArchiveKind::Wheel => path,
    }
}

fn first_component(path: &str) -> &str {
    path.split('/').next().unwrap_or_default()
}

/// Members whose bytes pass 1 keeps: a wheel's `*.dist-info/METADATA` and
/// `RECORD`, an sdist's top-level `PKG-INFO`.
pub(crate) fn is_captured(kind: ArchiveKind, raw: &str) -> bool {
    let path = normalize(kind, raw);
    let Some((top, name)) = path.split_once('/') else {
        return false;
    };
    match kind {
        ArchiveKind::Sdist => name == "PKG-INFO",
        ArchiveKind::Wheel => {
            top.ends_with(".dist-info") && (name == "METADATA" || name == "RECORD")
        }
    }
}

/// The one top-level directory every regular file is below, if any.
fn single_top(kind: ArchiveKind, scan: &Scan) -> Option<String> {
    let mut top: Option<&str> = None;
    for e in scan.entries.iter().filter(|e| e.kind == EntryKind::File) {
        let (first, _) = normalize(kind, &e.path).split_once('/')?;
        match top {
            None => top = Some(first),
            Some(t) if t == first => {}
            Some(_) => return None,
        }
    }
    top.map(str::to_owned)
}

/// The top-level directories (of any entry) whose name ends in `suffix`.
fn tops_ending(kind: ArchiveKind, scan: &Scan, suffix: &str) -> Vec<String> {
    let mut found: Vec<String> = scan
        .entries
        .iter()
        .map(|e| first_component(normalize(kind, &e.path)))
        .filter(|top| top.ends_with(suffix) && top.len() > suffix.len())
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

fn one(found: &[String]) -> Option<String> {
    match found {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// Pair the members of `a` and `b`.
pub(crate) fn pair(kind: ArchiveKind, a: &Scan, b: &Scan) -> Pairing {
    let mut p = Pairing::default();
    match kind {
        ArchiveKind::Sdist => {
            p.top_a = single_top(kind, a);
            p.top_b = single_top(kind, b);
            for (side, top) in [("a", &p.top_a), ("b", &p.top_b)] {
                if top.is_none() {
                    p.notes.push(format!(
                        "{side}: the files are not all below one top-level directory; members are paired by their full paths"
                    ));
                }
            }
            if let (Some(ta), Some(tb)) = (&p.top_a, &p.top_b)
                && ta != tb
            {
                p.renames.push((ta.clone(), tb.clone()));
            }
        }
        ArchiveKind::Wheel => {
            let dist_a = tops_ending(kind, a, ".dist-info");
            let dist_b = tops_ending(kind, b, ".dist-info");
            for (side, found) in [("a", &dist_a), ("b", &dist_b)] {
                if found.len() != 1 {
                    p.notes.push(format!(
                        "{side}: {} .dist-info directories ({}), a wheel has exactly one",
                        found.len(),
                        found.join(", ")
                    ));
                }
            }
            p.dist_info_a = one(&dist_a);
            p.dist_info_b = one(&dist_b);
            if let (Some(da), Some(db)) = (&p.dist_info_a, &p.dist_info_b)
                && da != db
            {
                p.renames.push((da.clone(), db.clone()));
            }
            let data_a = one(&tops_ending(kind, a, ".data"));
            let data_b = one(&tops_ending(kind, b, ".data"));
            if let (Some(da), Some(db)) = (data_a, data_b)
                && da != db
            {
                p.renames.push((da, db));
            }
        }
    }

    for (index, e) in a.entries.iter().enumerate() {
        let key = p.key_a(kind, &e.path);
        let map = match e.kind {
            EntryKind::File => &mut p.files,
            EntryKind::Directory => &mut p.dirs,
        };
        map.entry(key).or_insert((None, None)).0 = Some(index);
    }
    for (index, e) in b.entries.iter().enumerate() {
        let key = normalize(kind, &e.path).to_owned();
        let map = match e.kind {
            EntryKind::File => &mut p.files,
            EntryKind::Directory => &mut p.dirs,
        };
        map.entry(key).or_insert((None, None)).1 = Some(index);
    }
    p
}

impl Pairing {
    /// `a`'s path as `b` would write it.
    pub(crate) fn key_a(&self, kind: ArchiveKind, raw: &str) -> String {
        let path = normalize(kind, raw);
        let (first, rest) = match path.split_once('/') {
            Some((first, rest)) => (first, Some(rest)),
            None => (path, None),
        };
        match self.renames.iter().find(|(ra, _)| ra == first) {
            Some((_, rb)) => match rest {
                Some(rest) => format!("{rb}/{rest}"),
                None => rb.clone(),
            },
            None => path.to_owned(),
        }
    }
}

/// The core metadata file and RECORD of each side (entry indices).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MetaMembers {
    pub metadata: Pair,
    pub record: Pair,
}

/// Find METADATA / PKG-INFO and RECORD where the layout says they are.
pub(crate) fn metadata_members(kind: ArchiveKind, p: &Pairing, a: &Scan, b: &Scan) -> MetaMembers {
    let find = |scan: &Scan, wanted: Option<String>| {
        let wanted = wanted?;
        scan.entries
            .iter()
            .position(|e| e.kind == EntryKind::File && normalize(kind, &e.path) == wanted)
    };
    match kind {
        ArchiveKind::Sdist => MetaMembers {
            metadata: (
                find(a, p.top_a.as_ref().map(|t| format!("{t}/PKG-INFO"))),
                find(b, p.top_b.as_ref().map(|t| format!("{t}/PKG-INFO"))),
            ),
            record: (None, None),
        },
        ArchiveKind::Wheel => {
            let path = |d: &Option<String>, name: &str| d.as_ref().map(|d| format!("{d}/{name}"));
            MetaMembers {
                metadata: (
                    find(a, path(&p.dist_info_a, "METADATA")),
                    find(b, path(&p.dist_info_b, "METADATA")),
                ),
                record: (
                    find(a, path(&p.dist_info_a, "RECORD")),
                    find(b, path(&p.dist_info_b, "RECORD")),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_and_capturing() {
        assert_eq!(normalize(ArchiveKind::Sdist, "./p-1/a/"), "p-1/a");
        assert_eq!(normalize(ArchiveKind::Sdist, "././p-1/a"), "p-1/a");
        assert_eq!(normalize(ArchiveKind::Wheel, "./p/a"), "./p/a");
        assert!(is_captured(ArchiveKind::Sdist, "./p-1/PKG-INFO"));
        assert!(!is_captured(
            ArchiveKind::Sdist,
            "p-1/src/p.egg-info/PKG-INFO"
        ));
        assert!(is_captured(ArchiveKind::Wheel, "p-1.dist-info/RECORD"));
        assert!(is_captured(ArchiveKind::Wheel, "p-1.dist-info/METADATA"));
        assert!(!is_captured(ArchiveKind::Wheel, "p/METADATA"));
        assert!(!is_captured(
            ArchiveKind::Wheel,
            "p-1.dist-info/licenses/RECORD"
        ));
    }
}

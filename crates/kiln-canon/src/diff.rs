//! Content differences between two archives of the same kind: which
//! members are only on one side, differ in bytes, or differ in their
//! executable bit. `build` uses it to say *what* varies between two builds
//! that should have been identical (a compiled `.so`, a timestamp baked into
//! a generated file) instead of only that the digests differ. Container
//! details (order, times, owners, compression) are not content and are not
//! compared: canonicalizing erases them.

use std::collections::{BTreeMap, BTreeSet};

use kiln_archive::{Limits, ZipKind, read_zip};

use crate::CanonError;
use crate::error::read_error;
use crate::record::wheel_files;
use crate::sdist::read_sdist;

/// Which container the two archives are: a tar.gz sdist or a zip wheel.
pub use kiln_names::ArtifactKind as ArchiveKind;

/// One difference in one member between archive `a` and archive `b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDifference {
    /// The member's path (an sdist's `./` prefix stripped).
    pub path: String,
    /// `only in a`, `only in b`, `bytes differ (sha256 x vs y, n vs m
    /// bytes)` or `executable bit differs`.
    pub what: String,
}

/// path -> (bytes, executable) of an archive's regular files.
type Content = BTreeMap<String, (Vec<u8>, bool)>;

fn content(
    name: &str,
    bytes: &[u8],
    kind: ArchiveKind,
    limits: &Limits,
) -> Result<Content, CanonError> {
    Ok(match kind {
        ArchiveKind::Sdist => read_sdist(name, bytes, limits)?
            .files
            .into_iter()
            .map(|f| (f.path, (f.data, f.executable)))
            .collect(),
        ArchiveKind::Wheel => {
            let zip = read_zip(name, bytes, limits).map_err(|e| read_error(name, e))?;
            // Refuses a directory entry holding data, as canonicalizing does.
            wheel_files(name, &zip)?;
            zip.members
                .into_iter()
                .filter(|m| m.kind == ZipKind::File)
                .map(|m| (m.path, (m.data, m.executable)))
                .collect()
        }
    })
}

/// Compare the content of `a` and `b` (paths, bytes, executable bits),
/// sorted by path; empty when they hold the same members. A member whose
/// bytes and executable bit both differ gets two entries. In errors the
/// archives are named `a` and `b`.
pub fn member_differences(
    a: &[u8],
    b: &[u8],
    kind: ArchiveKind,
    limits: &Limits,
) -> Result<Vec<MemberDifference>, CanonError> {
    let a = content("a", a, kind, limits)?;
    let b = content("b", b, kind, limits)?;
    let mut out = Vec::new();
    let mut push = |path: &str, what: String| {
        out.push(MemberDifference {
            path: path.to_owned(),
            what,
        });
    };
    let paths: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for path in paths {
        match (a.get(path), b.get(path)) {
            (Some(_), None) => push(path, "only in a".to_owned()),
            (None, Some(_)) => push(path, "only in b".to_owned()),
            (Some((da, xa)), Some((db, xb))) => {
                if da != db {
                    push(
                        path,
                        format!(
                            "bytes differ (sha256 {} vs {}, {} vs {} bytes)",
                            kiln_digest::hex(&kiln_digest::sha256(da)),
                            kiln_digest::hex(&kiln_digest::sha256(db)),
                            da.len(),
                            db.len()
                        ),
                    );
                }
                if xa != xb {
                    push(path, "executable bit differs".to_owned());
                }
            }
            (None, None) => {}
        }
    }
    Ok(out)
}

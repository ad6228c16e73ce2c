//! Container differences: everything about two archives that is not
//! content (paths, bytes, executable bits), by [`Category`], each with a
//! count and a few examples.
//!
//! Members are compared pairwise (as `pairing` paired them, directories
//! too); the archive-level fields (gzip header, global pax headers, end
//! padding, zip comment) once. Compression is only claimed when it is
//! shown: in a zip, by the method or the compressed size of a member with
//! the same bytes; in a tar.gz, when both decompress to the same tar
//! stream and the deflate bytes after the gzip header still differ. Bytes
//! that differ where no field this diff reads does (the encoding of a
//! tar number, an extra field's content) are reported as
//! [`Category::Other`] rather than left unexplained.

use std::collections::BTreeMap;

use kiln_archive::{TarFormat, TarMember};

mod gzip;
mod zip;

use gzip::{gzip_header, gzip_header_len, same_gzip_header};
use zip::zip_pair;

use crate::members::Sides;
use crate::pairing::{Pairing, normalize};
use crate::source::{Container, Entry, EntryKind, Header, Scan};
use crate::{ArchiveKind, Category, ContainerDifference, DiffError};

/// Examples kept per category.
const MAX_EXAMPLES: usize = 3;

/// pax records that are timestamps, and that are owners; the others are
/// compared as "pax records".
const PAX_TIMES: [&str; 4] = ["mtime", "atime", "ctime", "LIBARCHIVE.creationtime"];
const PAX_OWNERS: [&str; 4] = ["uid", "gid", "uname", "gname"];

#[derive(Debug, Default)]
pub(crate) struct Found(BTreeMap<Category, (u64, Vec<String>)>);

impl Found {
    pub(crate) fn add(&mut self, category: Category, example: impl FnOnce() -> String) {
        let slot = self.0.entry(category).or_default();
        slot.0 += 1;
        if slot.1.len() < MAX_EXAMPLES {
            slot.1.push(example());
        }
    }
    fn has(&self, category: Category) -> bool {
        self.0.contains_key(&category)
    }
}

/// Bytes for a report line: lossy UTF-8, cut at 60 characters.
pub(crate) fn show_bytes(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > 60 {
        format!("{:?}…", s.chars().take(60).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

/// Records shown per pax header in an example; the rest are counted.
const MAX_PAX_SHOWN: usize = 8;

fn show_pax(records: &[&(String, Vec<u8>)]) -> String {
    if records.is_empty() {
        return "(none)".to_owned();
    }
    let mut shown = records
        .iter()
        .take(MAX_PAX_SHOWN)
        .map(|(k, v)| {
            // The key as `show_bytes` escapes it, without the quotes.
            let key = show_bytes(k.as_bytes());
            let key = key
                .strip_prefix('"')
                .and_then(|k| k.strip_suffix('"'))
                .unwrap_or(&key);
            format!("{key}={}", show_bytes(v))
        })
        .collect::<Vec<_>>()
        .join(" ");
    if records.len() > MAX_PAX_SHOWN {
        shown.push_str(&format!(" (and {} more)", records.len() - MAX_PAX_SHOWN));
    }
    shown
}

fn pax_where(m: &TarMember, keep: impl Fn(&str) -> bool) -> Vec<&(String, Vec<u8>)> {
    m.pax.iter().filter(|(k, _)| keep(k)).collect()
}

fn tar_format(m: &TarMember) -> String {
    let mut s = match m.format {
        TarFormat::Ustar => "ustar",
        TarFormat::Gnu => "GNU",
        TarFormat::V7 => "V7",
    }
    .to_owned();
    s.push_str(&format!(" type {:?}", char::from(m.typeflag)));
    if m.gnu_long_name {
        s.push_str(" with a GNU long name");
    }
    if m.used_prefix {
        s.push_str(" with the prefix field");
    }
    s
}

/// Two tar headers of the same member (file or directory).
/// `paths` are the members' paths as written (the headers' own `path` is
/// left empty by `source`, which keeps each path once).
fn tar_pair(f: &mut Found, label: &str, a: &TarMember, b: &TarMember, paths: (&str, &str)) {
    if a.mtime != b.mtime {
        f.add(Category::Timestamps, || {
            format!("{label}: mtime {} vs {}", a.mtime, b.mtime)
        });
    }
    let times = |m| pax_where(m, |k| PAX_TIMES.contains(&k));
    let (ta, tb) = (times(a), times(b));
    if ta != tb && a.mtime == b.mtime {
        f.add(Category::Timestamps, || {
            format!("{label}: pax {} vs {}", show_pax(&ta), show_pax(&tb))
        });
    }
    // The executable bit is content; when it differs, only the other bits
    // are container.
    let mask = if a.executable == b.executable {
        !0
    } else {
        !0o111
    };
    if a.mode & mask != b.mode & mask {
        f.add(Category::Modes, || {
            format!("{label}: mode {:04o} vs {:04o}", a.mode, b.mode)
        });
    }
    let owners = |m| pax_where(m, |k| PAX_OWNERS.contains(&k));
    let (oa, ob) = (owners(a), owners(b));
    if (a.uid, a.gid, &a.uname, &a.gname) != (b.uid, b.gid, &b.uname, &b.gname) || oa != ob {
        let show = |m: &TarMember, pax: &[&(String, Vec<u8>)]| {
            let mut s = format!("{}:{} ({:?}:{:?})", m.uid, m.gid, m.uname, m.gname);
            if !pax.is_empty() {
                s.push_str(&format!(" pax {}", show_pax(pax)));
            }
            s
        };
        f.add(Category::Owners, || {
            format!("{label}: {} vs {}", show(a, &oa), show(b, &ob))
        });
    }
    let rest = |m| pax_where(m, |k| !PAX_TIMES.contains(&k) && !PAX_OWNERS.contains(&k));
    let (ra, rb) = (rest(a), rest(b));
    if ra != rb {
        f.add(Category::PaxRecords, || {
            format!("{label}: {} vs {}", show_pax(&ra), show_pax(&rb))
        });
    }
    let dialect = |m: &TarMember| (m.format, m.typeflag, m.gnu_long_name, m.used_prefix);
    if dialect(a) != dialect(b) {
        f.add(Category::TarFormat, || {
            format!("{label}: {} vs {}", tar_format(a), tar_format(b))
        });
    }
    let (path_a, path_b) = paths;
    if path_a.starts_with("./") != path_b.starts_with("./") {
        f.add(Category::DotSlashPrefixes, || {
            format!("{label}: {path_a:?} vs {path_b:?}")
        });
    }
}

fn entry(scan: &Scan, index: Option<usize>) -> Option<&Entry> {
    scan.entries.get(index?)
}

/// The same members in another order: positions among the members both
/// sides hold where they disagree.
fn member_order(f: &mut Found, sides: &Sides<'_>, pairs: &Pairing) {
    let kind = sides.kind;
    let both = |key: &str| matches!(pairs.files.get(key), Some((Some(_), Some(_))));
    fn files(scan: &Scan) -> impl Iterator<Item = &Entry> {
        scan.entries.iter().filter(|e| e.kind == EntryKind::File)
    }
    let order_a: Vec<(String, &str)> = files(sides.a.scan)
        .map(|e| (pairs.key_a(kind, &e.path), normalize(kind, &e.path)))
        .filter(|(k, _)| both(k))
        .collect();
    let order_b: Vec<&str> = files(sides.b.scan)
        .map(|e| normalize(kind, &e.path))
        .filter(|k| both(k))
        .collect();
    for (i, ((key_a, path_a), key_b)) in order_a.iter().zip(&order_b).enumerate() {
        if key_a != key_b {
            f.add(Category::MemberOrder, || {
                format!("position {}: {path_a} vs {key_b}", i + 1)
            });
        }
    }
}

/// The categories in which the containers differ. `content_differs` turns
/// off the catch-all (differing content explains any bytes).
/// `deflate_differs((start_a, end_a), (start_b, end_b))` compares the two
/// files' bytes in those ranges: after the gzip headers, up to the end of
/// the gzip members (trailing zeros excluded).
pub(crate) fn compare(
    sides: &Sides<'_>,
    pairs: &Pairing,
    content_differs: bool,
    deflate_differs: &mut dyn FnMut((u64, u64), (u64, u64)) -> Result<bool, DiffError>,
) -> Result<Vec<ContainerDifference>, DiffError> {
    let kind = sides.kind;
    let (a, b) = (sides.a.scan, sides.b.scan);
    let mut f = Found::default();
    member_order(&mut f, sides, pairs);
    for (key, &(ia, ib)) in pairs.files.iter().chain(&pairs.dirs) {
        let (Some(ea), Some(eb)) = (entry(a, ia), entry(b, ib)) else {
            continue;
        };
        let label = normalize(kind, &ea.path);
        let label = if ea.kind == EntryKind::Directory {
            format!("{label}/")
        } else if label.is_empty() {
            key.clone()
        } else {
            label.to_owned()
        };
        match (&ea.header, &eb.header) {
            (Header::Tar(x), Header::Tar(y)) => {
                tar_pair(&mut f, &label, x, y, (&ea.path, &eb.path));
            }
            (Header::Zip(x), Header::Zip(y)) => zip_pair(&mut f, &label, x, y),
            _ => {}
        }
    }
    for &(ia, ib) in pairs.dirs.values() {
        let (side, e) = match (entry(a, ia), entry(b, ib)) {
            (Some(e), None) => ("a", e),
            (None, Some(e)) => ("b", e),
            _ => continue,
        };
        f.add(Category::DirectoryEntries, || {
            format!("only in {side}: {:?}", e.path)
        });
    }

    match (&a.container, &b.container) {
        (
            Container::TarGz {
                gzip: ga,
                global_pax: pa,
                trailing_zeros: za,
                tar_size: sa,
            },
            Container::TarGz {
                gzip: gb,
                global_pax: pb,
                trailing_zeros: zb,
                ..
            },
        ) => {
            gzip_header(&mut f, ga, gb);
            if pa != pb {
                let show = |g: &Vec<Vec<(String, Vec<u8>)>>| {
                    if g.is_empty() {
                        "(none)".to_owned()
                    } else {
                        g.iter()
                            .map(|h| show_pax(&h.iter().collect::<Vec<_>>()))
                            .collect::<Vec<_>>()
                            .join("; ")
                    }
                };
                f.add(Category::PaxRecords, || {
                    format!("global headers: {} vs {}", show(pa), show(pb))
                });
            }
            if za != zb {
                f.add(Category::TrailingPadding, || {
                    format!("{za} vs {zb} zero bytes after the end-of-archive blocks")
                });
            }
            if ga.trailing_zeros != gb.trailing_zeros {
                f.add(Category::TrailingPadding, || {
                    format!(
                        "{} vs {} zero bytes after the gzip stream",
                        ga.trailing_zeros, gb.trailing_zeros
                    )
                });
            }
            match (ga.uncompressed_sha256, gb.uncompressed_sha256) {
                (Some(x), Some(y)) if x == y => {
                    // The same tar stream: any other difference is in the
                    // gzip layer.
                    let deflate =
                        if same_gzip_header(ga, gb) && ga.trailing_zeros == gb.trailing_zeros {
                            true
                        } else {
                            deflate_differs(
                                (gzip_header_len(ga), ga.compressed_size),
                                (gzip_header_len(gb), gb.compressed_size),
                            )?
                        };
                    if deflate {
                        f.add(Category::Compression, || {
                            format!(
                                "deflate streams differ: {} vs {} compressed bytes for the same {sa}-byte tar stream",
                                ga.compressed_size, gb.compressed_size
                            )
                        });
                    }
                }
                (Some(_), Some(_)) if !content_differs => {
                    let tar_level = [
                        Category::MemberOrder,
                        Category::Timestamps,
                        Category::Modes,
                        Category::Owners,
                        Category::PaxRecords,
                        Category::TarFormat,
                        Category::DirectoryEntries,
                        Category::DotSlashPrefixes,
                        Category::TrailingPadding,
                    ];
                    if !tar_level.iter().any(|&c| f.has(c)) {
                        f.add(Category::Other, || {
                            "the tar streams differ in header fields this diff does not break down (number encoding, checksums, device or link fields)".to_owned()
                        });
                    }
                }
                _ => {}
            }
        }
        (Container::Zip { comment: ca }, Container::Zip { comment: cb }) if ca != cb => {
            f.add(Category::ZipComments, || {
                format!("archive comment {} vs {}", show_bytes(ca), show_bytes(cb))
            });
        }
        _ => {}
    }
    if f.0.is_empty() && !content_differs {
        let what = match kind {
            ArchiveKind::Sdist => "gzip or tar",
            ArchiveKind::Wheel => "zip",
        };
        f.add(Category::Other, || {
            format!("the {what} bytes differ where this diff reads no field (e.g. an extra field's content, the deflate bytes of a member of the same compressed size)")
        });
    }
    Ok(f.0
        .into_iter()
        .map(|(category, (count, examples))| ContainerDifference {
            category,
            count,
            examples,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_examples_show_a_few_records_and_count_the_rest() {
        let records: Vec<(String, Vec<u8>)> = (0..1000)
            .map(|i| (format!("k{i}"), b"v".to_vec()))
            .collect();
        let refs: Vec<&(String, Vec<u8>)> = records.iter().collect();
        let shown = show_pax(&refs);
        assert!(shown.starts_with("k0=\"v\" k1=\"v\""), "{shown}");
        assert!(shown.ends_with("k7=\"v\" (and 992 more)"), "{shown}");
        assert_eq!(show_pax(&refs[..2]), "k0=\"v\" k1=\"v\"");
    }
}

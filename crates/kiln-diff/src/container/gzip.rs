//! The gzip header of two tar.gz files, field by field (each difference
//! a [`Category::GzipHeader`] example), and what the container comparison
//! needs to tell compression apart: whether two headers are the same but
//! for the sizes, and how long the first member's header is.

use kiln_archive::GzipInfo;

use super::{Found, show_bytes};
use crate::Category;

fn gzip_os(os: u8) -> String {
    match os {
        0 => "0 (FAT)".to_owned(),
        3 => "3 (Unix)".to_owned(),
        7 => "7 (Macintosh)".to_owned(),
        11 => "11 (NTFS)".to_owned(),
        255 => "255 (unknown)".to_owned(),
        n => n.to_string(),
    }
}

fn opt_bytes(v: &Option<Vec<u8>>) -> String {
    v.as_deref().map_or_else(|| "(none)".to_owned(), show_bytes)
}

/// The gzip header fields, one difference each.
pub(super) fn gzip_header(f: &mut Found, a: &GzipInfo, b: &GzipInfo) {
    let mut field = |differs: bool, example: String| {
        if differs {
            f.add(Category::GzipHeader, || example);
        }
    };
    field(
        a.mtime != b.mtime,
        format!("mtime {} vs {}", a.mtime, b.mtime),
    );
    field(
        a.os != b.os,
        format!("OS {} vs {}", gzip_os(a.os), gzip_os(b.os)),
    );
    field(a.xfl != b.xfl, format!("XFL {} vs {}", a.xfl, b.xfl));
    field(
        a.fname != b.fname,
        format!("FNAME {} vs {}", opt_bytes(&a.fname), opt_bytes(&b.fname)),
    );
    field(
        a.comment != b.comment,
        format!(
            "comment {} vs {}",
            opt_bytes(&a.comment),
            opt_bytes(&b.comment)
        ),
    );
    let extra = |e: Option<u16>| e.map_or_else(|| "(none)".to_owned(), |l| format!("{l} bytes"));
    field(
        a.extra_len != b.extra_len,
        format!(
            "extra field {} vs {}",
            extra(a.extra_len),
            extra(b.extra_len)
        ),
    );
    field(
        a.header_crc != b.header_crc,
        format!("header CRC {} vs {}", a.header_crc, b.header_crc),
    );
    field(
        a.flags & 0x01 != b.flags & 0x01,
        format!("FTEXT {} vs {}", a.flags & 1, b.flags & 1),
    );
    field(
        a.members != b.members,
        format!("{} vs {} gzip members", a.members, b.members),
    );
}

/// Everything in a gzip header but the sizes.
pub(super) fn same_gzip_header(a: &GzipInfo, b: &GzipInfo) -> bool {
    fn key(g: &GzipInfo) -> impl PartialEq + '_ {
        (
            g.flags,
            g.mtime,
            g.xfl,
            g.os,
            &g.fname,
            &g.comment,
            g.extra_len,
            g.header_crc,
            g.members,
        )
    }
    key(a) == key(b)
}

/// Bytes of the first gzip member's header.
pub(super) fn gzip_header_len(g: &GzipInfo) -> u64 {
    10 + g.extra_len.map_or(0, |l| 2 + u64::from(l))
        + g.fname.as_ref().map_or(0, |n| n.len() as u64 + 1)
        + g.comment.as_ref().map_or(0, |c| c.len() as u64 + 1)
        + if g.header_crc { 2 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_header_length_counts_every_optional_field() {
        let mut g = GzipInfo::default();
        assert_eq!(gzip_header_len(&g), 10);
        g.fname = Some(b"p.tar".to_vec());
        g.extra_len = Some(4);
        g.comment = Some(Vec::new());
        g.header_crc = true;
        assert_eq!(gzip_header_len(&g), 10 + 6 + 6 + 1 + 2);
    }
}

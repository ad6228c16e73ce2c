//! Two zip headers of the same member, field by field: the DOS times
//! (central and local), the host and version that made it, the version
//! needed, the method and sizes, the flags, modes and attributes, the
//! extra fields and comments; each difference in its
//! [`Category`], its example in words (`dos`, `made_by`, `method`).

use kiln_archive::ZipMember;

use super::Found;
use crate::Category;

/// A DOS date and time as `YYYY-MM-DD hh:mm:ss`.
fn dos(date: u16, time: u16) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        1980 + u32::from(date >> 9),
        (date >> 5) & 0xf,
        date & 0x1f,
        time >> 11,
        (time >> 5) & 0x3f,
        (time & 0x1f) * 2
    )
}

fn made_by(v: u16) -> String {
    let host = match v >> 8 {
        0 => "MS-DOS".to_owned(),
        3 => "Unix".to_owned(),
        10 => "Windows NTFS".to_owned(),
        19 => "OS X".to_owned(),
        h => format!("host {h}"),
    };
    format!("{host}, zip {}.{}", (v & 0xff) / 10, (v & 0xff) % 10)
}

fn method(m: u16) -> String {
    match m {
        0 => "stored".to_owned(),
        8 => "deflate".to_owned(),
        m => format!("method {m}"),
    }
}

/// General purpose flag bits reported in their own categories: deflate
/// options (1-2, compression), data descriptor (3), UTF-8 (11).
const FLAGS_ELSEWHERE: u16 = 0x0806 | 0x0008;

/// Two zip headers of the same member (file or directory).
pub(super) fn zip_pair(f: &mut Found, label: &str, a: &ZipMember, b: &ZipMember) {
    if (a.dos_date, a.dos_time) != (b.dos_date, b.dos_time) {
        f.add(Category::Timestamps, || {
            format!(
                "{label}: {} vs {}",
                dos(a.dos_date, a.dos_time),
                dos(b.dos_date, b.dos_time)
            )
        });
    } else if (a.local_dos_date, a.local_dos_time) != (b.local_dos_date, b.local_dos_time) {
        f.add(Category::Timestamps, || {
            format!(
                "{label}: local header {} vs {}",
                dos(a.local_dos_date, a.local_dos_time),
                dos(b.local_dos_date, b.local_dos_time)
            )
        });
    }
    let mask = if a.executable == b.executable {
        !0
    } else {
        !0o111
    };
    let mode = |m: &ZipMember| m.unix_mode.map(|x| x & mask);
    if mode(a) != mode(b) || a.external_attr & 0xffff != b.external_attr & 0xffff {
        let show = |m: &ZipMember| match m.unix_mode {
            Some(x) => format!("mode {x:o} (attributes {:#x})", m.external_attr & 0xffff),
            None => format!("no Unix mode (attributes {:#x})", m.external_attr),
        };
        f.add(Category::Modes, || {
            format!("{label}: {} vs {}", show(a), show(b))
        });
    }
    if a.method != b.method {
        f.add(Category::Compression, || {
            format!("{label}: {} vs {}", method(a.method), method(b.method))
        });
    } else if a.compressed_size != b.compressed_size {
        f.add(Category::Compression, || {
            format!(
                "{label}: {} vs {} compressed bytes",
                a.compressed_size, b.compressed_size
            )
        });
    } else if a.flags & 0x6 != b.flags & 0x6 {
        f.add(Category::Compression, || {
            format!(
                "{label}: deflate option flags {:#x} vs {:#x}",
                a.flags & 0x6,
                b.flags & 0x6
            )
        });
    }
    if a.data_descriptor != b.data_descriptor {
        let show = |d| if d { "data descriptor" } else { "none" };
        f.add(Category::DataDescriptors, || {
            format!(
                "{label}: {} vs {}",
                show(a.data_descriptor),
                show(b.data_descriptor)
            )
        });
    }
    if a.flags & 0x0800 != b.flags & 0x0800 {
        let show = |m: &ZipMember| {
            if m.flags & 0x0800 != 0 {
                "set"
            } else {
                "clear"
            }
        };
        f.add(Category::Utf8Flag, || {
            format!("{label}: {} vs {}", show(a), show(b))
        });
    }
    let extra = |m: &ZipMember| (m.central_extra_len, m.local_extra_len);
    if extra(a) != extra(b) {
        f.add(Category::ZipExtraFields, || {
            format!(
                "{label}: {}/{} vs {}/{} bytes (central/local)",
                a.central_extra_len, a.local_extra_len, b.central_extra_len, b.local_extra_len
            )
        });
    }
    if a.comment_len != b.comment_len {
        f.add(Category::ZipComments, || {
            format!(
                "{label}: {} vs {} bytes of comment",
                a.comment_len, b.comment_len
            )
        });
    }
    if a.version_made_by != b.version_made_by {
        f.add(Category::VersionMadeBy, || {
            format!(
                "{label}: {} vs {}",
                made_by(a.version_made_by),
                made_by(b.version_made_by)
            )
        });
    }
    let needed = |m: &ZipMember| (m.version_needed, m.local_version_needed);
    if needed(a) != needed(b) {
        f.add(Category::VersionNeeded, || {
            format!(
                "{label}: {}/{} vs {}/{} (central/local)",
                a.version_needed, a.local_version_needed, b.version_needed, b.local_version_needed
            )
        });
    }
    let other = |m: &ZipMember| (m.flags & !FLAGS_ELSEWHERE, m.internal_attr);
    if other(a) != other(b) {
        f.add(Category::ZipFlags, || {
            format!(
                "{label}: flags {:#06x} internal attributes {:#x} vs flags {:#06x} internal attributes {:#x}",
                a.flags & !FLAGS_ELSEWHERE,
                a.internal_attr,
                b.flags & !FLAGS_ELSEWHERE,
                b.internal_attr
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_times_and_versions_read_well() {
        // 2023-11-14 22:13:20 as a zip stores it.
        assert_eq!(dos(0x576e, 0xb1aa), "2023-11-14 22:13:20");
        assert_eq!(made_by(0x031e), "Unix, zip 3.0");
        assert_eq!(made_by(0x0014), "MS-DOS, zip 2.0");
    }
}

//! Archives as another tool would write the same members. A zip: the
//! members in reverse order after the directory entries, stored and
//! deflated in turn, a 2021 timestamp, group-writable modes, an Info-ZIP
//! extended timestamp on every third member and an archive comment. A
//! tar member's header: GNU format, other modes, owner and mtimes. Every
//! byte of the container differs from kiln's canonical one, the content
//! does not.
//!
//! Included with `#[path]` by the tests of kiln-canon (which must rewrite
//! it) and kiln-diff (which must name each difference).

use std::io::{Cursor, Write};

/// `members` (path, bytes, executable) zipped after the directory
/// entries `dirs` (each ending in `/`).
pub fn foreign_zip(dirs: &[&str], members: &[(String, Vec<u8>, bool)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let time = zip::DateTime::from_date_and_time(2021, 6, 15, 13, 37, 42).unwrap();
    let dir_opts: zip::write::SimpleFileOptions = zip::write::SimpleFileOptions::default()
        .last_modified_time(time)
        .unix_permissions(0o755);
    for dir in dirs {
        z.add_directory(*dir, dir_opts).unwrap();
    }
    for (i, (p, d, x)) in members.iter().rev().enumerate() {
        let mut opts = zip::write::FullFileOptions::default()
            .last_modified_time(time)
            .unix_permissions(if *x { 0o775 } else { 0o664 })
            .compression_method(if i % 2 == 0 {
                zip::CompressionMethod::Stored
            } else {
                zip::CompressionMethod::Deflated
            });
        if i % 3 == 0 {
            // Info-ZIP extended timestamp ("UT"): flags, then the mtime.
            let mut ut = vec![1u8];
            ut.extend_from_slice(&1_623_764_262u32.to_le_bytes());
            opts.add_extra_field(0x5455, ut, false).unwrap();
        }
        z.start_file(p.as_str(), opts).unwrap();
        z.write_all(d).unwrap();
    }
    z.set_comment("made by some other tool").unwrap();
    z.finish().unwrap().into_inner()
}

/// The header another tool might write for the `i`-th member it packs, of
/// `size` bytes: GNU format, mode 0750 or 0640, a mtime a second apart per
/// member, owned by bob:staff (501:20).
pub fn foreign_tar_header(i: usize, size: u64, executable: bool) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(if executable { 0o750 } else { 0o640 });
    h.set_size(size);
    h.set_mtime(1_600_000_000 + i as u64);
    h.set_uid(501);
    h.set_gid(20);
    h.set_username("bob").unwrap();
    h.set_groupname("staff").unwrap();
    h
}

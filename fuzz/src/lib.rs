//! The checks the fuzz targets run, shared by the targets that reach the
//! same reader by different doors (`tar_gz` mutates the gzip stream, `tar`
//! the tar inside a valid one). Every check asserts that the reader never
//! panics (libFuzzer reports a panic as a crash) and, where cheap, an
//! invariant the reader's documentation promises.

use std::io::{Cursor, Read};

use kiln_archive::{Deflate, Limits, ZipReader, read_tar_gz, read_zip, visit_tar_gz};
use kiln_names::Epoch;

/// Fast settings for re-canonicalizing: the invariants hold at any level.
const DEFLATE: Deflate = Deflate {
    level: 1,
    gzip_chunk_size: 1 << 16,
    solid_below: 128 << 10,
    solid_level: 1,
};

const EPOCH: i64 = 1_700_000_000;

/// `visit_tar_gz` (a visitor reading all, part or none of each member),
/// `read_tar_gz`, and for an accepted archive `canonicalize_sdist`:
///
/// - the streaming and in-memory readers accept the same inputs, and agree
///   on every member;
/// - a member's data is exactly its declared size;
/// - if reading fails under the visitor, `visit_tar_gz` fails too, even
///   though the visitor ignored the error;
/// - a canonical sdist reads back, and canonicalizing it again gives the
///   same bytes.
pub fn check_tar_gz(bytes: &[u8]) {
    let limits = Limits::default();
    let mut index = 0usize;
    let mut read_failed = false;
    let visited = visit_tar_gz("fuzz.tar.gz", bytes, &limits, &mut |member, data| {
        assert!(member.data.is_empty());
        let mut buf = Vec::new();
        let read = match index % 3 {
            0 => data.read_to_end(&mut buf).map(|_| ()),
            1 => data.take(7).read_to_end(&mut buf).map(|_| ()),
            _ => Ok(()),
        };
        index += 1;
        match read {
            Ok(()) if index % 3 == 1 => assert_eq!(buf.len() as u64, member.size),
            Ok(()) => assert!(buf.len() as u64 <= member.size),
            // Ignored on purpose: the reader must still report it.
            Err(_) => read_failed = true,
        }
        Ok(())
    });
    if read_failed {
        assert!(visited.is_err(), "a failed member read was not reported");
    }
    let read = read_tar_gz("fuzz.tar.gz", bytes, &limits);
    assert_eq!(
        visited.is_ok(),
        read.is_ok(),
        "visit_tar_gz and read_tar_gz disagree: {visited:?} / {read:?}"
    );
    let (Ok(visited), Ok(read)) = (visited, read) else {
        return;
    };
    assert_eq!(visited.members.len(), read.members.len());
    for (v, r) in visited.members.iter().zip(&read.members) {
        assert_eq!(r.data.len() as u64, r.size, "{:?}", r.path);
        let mut r = r.clone();
        r.data.clear();
        assert_eq!(*v, r);
    }
    assert_eq!(visited.gzip, read.gzip);

    let epoch = Epoch::clamped(EPOCH);
    if let Ok(canonical) =
        kiln_canon::canonicalize_sdist("fuzz.tar.gz", bytes, epoch, DEFLATE, &limits)
    {
        read_tar_gz("canonical.tar.gz", canonical.as_slice(), &limits)
            .expect("a canonical sdist reads back");
        let again =
            kiln_canon::canonicalize_sdist("canonical.tar.gz", &canonical, epoch, DEFLATE, &limits)
                .expect("a canonical sdist canonicalizes");
        assert!(again == canonical, "canonicalizing is not idempotent");
    }
}

/// `ZipReader::open`, `copy_member` on every member, `read_zip`, and for
/// an accepted wheel `canonicalize_wheel`:
///
/// - a member copies out exactly its declared size, and a failed copy
///   never wrote more than that;
/// - a member index past the end is an error;
/// - `read_zip` accepts exactly when `open` and every copy succeed, with
///   the same data;
/// - a canonical wheel canonicalizes to the same bytes.
pub fn check_zip(bytes: &[u8]) {
    let limits = Limits::default();
    let Ok(mut reader) = ZipReader::open("fuzz.whl", Cursor::new(bytes), &limits) else {
        assert!(read_zip("fuzz.whl", bytes, &limits).is_err());
        return;
    };
    let members = reader.archive().members.clone();
    let mut datas = Vec::new();
    let mut all_ok = true;
    for (index, member) in members.iter().enumerate() {
        assert!(member.data.is_empty());
        let mut out = Vec::new();
        match reader.copy_member(index, &mut out) {
            Ok(n) => {
                assert_eq!(n, u64::from(member.size), "{:?}", member.path);
                assert_eq!(out.len() as u64, n);
            }
            Err(_) => {
                assert!(out.len() as u64 <= u64::from(member.size));
                all_ok = false;
            }
        }
        datas.push(out);
    }
    assert!(reader.copy_member(members.len(), &mut Vec::new()).is_err());
    let read = read_zip("fuzz.whl", bytes, &limits);
    assert_eq!(all_ok, read.is_ok(), "read_zip disagrees: {read:?}");
    let Ok(read) = read else { return };
    for (m, data) in read.members.iter().zip(&datas) {
        assert!(m.data == *data, "{:?}", m.path);
    }

    let epoch = Epoch::clamped(EPOCH);
    if let Ok(canonical) =
        kiln_canon::canonicalize_wheel("fuzz.whl", bytes, epoch, DEFLATE, &limits)
    {
        let again =
            kiln_canon::canonicalize_wheel("canonical.whl", &canonical, epoch, DEFLATE, &limits)
                .expect("a canonical wheel canonicalizes");
        assert!(again == canonical, "canonicalizing is not idempotent");
    }
}

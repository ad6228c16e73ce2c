//! Bounded reader for tar.gz archives made by anyone.
//!
//! It reads what real tools write (ustar, pax, GNU long names, directory
//! entries, `./` prefixes, concatenated gzip members) and reports it in the
//! metadata, so a diff engine can say how a container differs from the
//! canonical one; it refuses what is unsafe to extract (absolute paths,
//! `..`, backslashes, links, devices, duplicates), what would be lost
//! silently on the way (non-zero bytes in the block padding after a
//! member's data or an extended header, where tar writes zeros), or what
//! is over a bound, naming the entry.
//!
//! `visit_tar_gz` streams: each member's data is handed to a visitor as a
//! reader bounded by the member's size, so memory stays flat in the size of
//! the archive (one read buffer, plus each member's metadata and any pax
//! header, which `max_pax_header` bounds; the pax records kept for the
//! whole archive are bounded by `max_pax_record` each and `max_pax_total`
//! together, the member paths by `max_path_total`). `read_tar_gz` is the in-memory convenience built on it.

use std::collections::BTreeSet;
use std::io::{self, BufReader, Read};

use crate::error::Ctx;
use crate::gunzip::{Gunzip, GzipInfo};
use crate::path::unsafe_reason;
use crate::tar_header::{check_checksum, cstr, parse_number, parse_pax};
use crate::tar_write::BLOCK;
use crate::{ArchiveError, Limits, MAX_TAR_TRAILING_ZEROS, visit_tar_gz};

/// Header dialect, from the magic/version fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TarFormat {
    /// "ustar\0" "00": POSIX ustar / pax.
    Ustar,
    /// "ustar " " \0": GNU tar's old format.
    Gnu,
    /// No magic: Unix V7.
    V7,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TarKind {
    File,
    Directory,
}

/// One member and everything its headers said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarMember {
    /// Final path (pax `path` > GNU long name > ustar prefix/name), as
    /// written: `./` prefixes and a directory's trailing `/` are kept.
    pub path: String,
    pub kind: TarKind,
    /// The member's bytes: filled by `read_tar_gz`; always empty in what
    /// `visit_tar_gz` passes and returns (the data goes to the visitor).
    pub data: Vec<u8>,
    /// Bytes of data (pax `size` record, or the header's size field).
    pub size: u64,
    /// Any execute bit in `mode`.
    pub executable: bool,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: String,
    pub gname: String,
    /// The header's mtime field (a pax `mtime` record, if any, is in `pax`).
    pub mtime: u64,
    pub typeflag: u8,
    pub format: TarFormat,
    /// Records of the pax `x` header preceding this member, in order.
    pub pax: Vec<(String, Vec<u8>)>,
    /// The path came from a GNU `L` (`././@LongLink`) header.
    pub gnu_long_name: bool,
    /// The ustar prefix field was non-empty and used.
    pub used_prefix: bool,
    /// Offset of the member's first header in the tar stream.
    pub header_offset: u64,
}

/// A whole tar.gz: gzip container, tar-level extras, members in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarGzArchive {
    pub gzip: GzipInfo,
    /// Global pax headers (`g`), in order.
    pub global_pax: Vec<Vec<(String, Vec<u8>)>>,
    pub members: Vec<TarMember>,
    /// Bytes of the tar stream, end blocks and padding included.
    pub tar_size: u64,
    /// Zero bytes after the two end-of-archive blocks.
    pub trailing_zeros: u64,
}

struct Reader<'a, R: io::BufRead> {
    r: Gunzip<R>,
    ctx: Ctx<'a>,
    offset: u64,
}

impl<R: io::BufRead> Reader<'_, R> {
    fn err(&self, entry: &str, e: io::Error) -> ArchiveError {
        if let Some((what, actual, limit)) = self.r.limit_hit {
            return self.ctx.limit(entry, what, actual, limit);
        }
        match e.kind() {
            io::ErrorKind::UnexpectedEof => self.ctx.malformed(entry, "truncated archive"),
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => {
                self.ctx.malformed(entry, e.to_string())
            }
            _ => self.ctx.read(entry, e),
        }
    }

    /// A block, or None at a clean EOF.
    fn block(&mut self, entry: &str) -> Result<Option<[u8; BLOCK]>, ArchiveError> {
        let mut b = [0u8; BLOCK];
        let mut got = 0;
        while got < BLOCK {
            match self.r.read(&mut b[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.err(entry, e)),
            }
        }
        self.offset += got as u64;
        match got {
            0 => Ok(None),
            BLOCK => Ok(Some(b)),
            _ => Err(self
                .ctx
                .malformed(entry, "truncated archive (partial block)")),
        }
    }

    /// `len` bytes of an extended header's body plus the padding to the
    /// next block (`len` is at most `max_pax_header`, checked by the caller).
    fn body(&mut self, entry: &str, len: u64) -> Result<Vec<u8>, ArchiveError> {
        let mut data = Vec::with_capacity(usize::try_from(len.min(1 << 20)).unwrap_or(0));
        let got = (&mut self.r)
            .take(len)
            .read_to_end(&mut data)
            .map_err(|e| self.err(entry, e))?;
        if (got as u64) < len {
            return Err(self.ctx.malformed(entry, "truncated archive (member data)"));
        }
        self.offset += len;
        self.padding(entry, len)?;
        Ok(data)
    }

    /// The zero padding after `len` bytes of data, up to the next block.
    /// Anything but zeros there would be dropped by whoever reads the
    /// member, so it is refused.
    fn padding(&mut self, entry: &str, len: u64) -> Result<(), ArchiveError> {
        let mut pad = [0u8; BLOCK];
        let pad = &mut pad[..crate::tar_write::padding(len)];
        self.r.read_exact(pad).map_err(|e| self.err(entry, e))?;
        self.offset += pad.len() as u64;
        let hidden = pad.iter().filter(|&&b| b != 0).count();
        if hidden > 0 {
            return Err(self.ctx.refused(
                entry,
                format!(
                    "{hidden} non-zero bytes hidden in the block padding after its {len} bytes \
                     (tar pads with zeros; they would be lost on extraction)"
                ),
            ));
        }
        Ok(())
    }
}

/// The reader a visitor gets: exactly the member's `remaining` bytes of
/// data. A failure of the stream underneath (a bound hit, truncation,
/// corrupt gzip) is recorded here as the precise `ArchiveError` naming the
/// entry, and the visitor sees an `io::Error` carrying the same message;
/// `visit_tar_gz` then reports the recorded error whatever the visitor did
/// with the `io::Error`.
struct DataReader<'r, 'a, R: io::BufRead> {
    rd: &'r mut Reader<'a, R>,
    entry: &'r str,
    remaining: u64,
    failure: Option<ArchiveError>,
}

impl<R: io::BufRead> DataReader<'_, '_, R> {
    fn fail(&mut self, err: ArchiveError, kind: io::ErrorKind) -> io::Error {
        let e = io::Error::new(kind, err.to_string());
        self.failure = Some(err);
        e
    }
}

impl<R: io::BufRead> Read for DataReader<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(f) = &self.failure {
            return Err(io::Error::other(f.to_string()));
        }
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        match self.rd.r.read(&mut buf[..want]) {
            Ok(0) => {
                let err = self
                    .rd
                    .ctx
                    .malformed(self.entry, "truncated archive (member data)");
                Err(self.fail(err, io::ErrorKind::UnexpectedEof))
            }
            Ok(n) => {
                self.remaining -= n as u64;
                self.rd.offset += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let kind = e.kind();
                let err = self.rd.err(self.entry, e);
                Err(self.fail(err, kind))
            }
        }
    }
}

/// Read a tar.gz from untrusted input into memory; `archive` names it in
/// errors. Built on `visit_tar_gz`: the same checks, with every member's
/// bytes collected into its `data`.
pub fn read_tar_gz<R: Read>(
    archive: &str,
    reader: R,
    limits: &Limits,
) -> Result<TarGzArchive, ArchiveError> {
    let ctx = Ctx { archive };
    let mut datas: Vec<Vec<u8>> = Vec::new();
    let mut tgz = visit_tar_gz(archive, reader, limits, &mut |member, data| {
        // The size was checked against `max_entry_size`; still, grow
        // with the data rather than trusting the header for the capacity.
        let mut bytes = Vec::with_capacity(usize::try_from(member.size.min(1 << 20)).unwrap_or(0));
        data.read_to_end(&mut bytes)
            .map_err(|e| ctx.read(format!("{:?}", member.path), e))?;
        datas.push(bytes);
        Ok(())
    })?;
    for (member, data) in tgz.members.iter_mut().zip(datas) {
        member.data = data;
    }
    Ok(tgz)
}

/// Read a tar.gz from untrusted input, streaming (`archive` names it in
/// errors): `visit` gets each member (files and directories, in order), its
/// metadata (`data` empty) and a reader over exactly its `size` bytes, of
/// which it may read any part (the rest is drained). If reading fails under
/// the visitor (a bound, truncation, a corrupt stream), that error naming the
/// entry is returned, else the visitor's own. The result holds every
/// member's metadata. `pass_duplicates` hands a repeated name to the
/// visitor rather than refusing it, as `visit_tar_gz` does.
pub fn visit_tar_gz_with<R: Read>(
    archive: &str,
    reader: R,
    limits: &Limits,
    pass_duplicates: bool,
    visit: &mut dyn FnMut(&TarMember, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<TarGzArchive, ArchiveError> {
    let ctx = Ctx { archive };
    // The tar stream is members' data plus at most a few blocks of headers
    // each (pax headers are bounded separately), plus end padding.
    let per_entry = 3 * BLOCK as u64 + limits.max_pax_header;
    let limit_total = limits
        .max_total_size
        .saturating_add(
            limits
                .max_entries
                .saturating_add(1)
                .saturating_mul(per_entry),
        )
        .saturating_add(MAX_TAR_TRAILING_ZEROS);
    let gz = Gunzip::new(BufReader::new(reader), *limits, limit_total, ctx)?;
    let mut rd = Reader {
        r: gz,
        ctx,
        offset: 0,
    };

    let mut members: Vec<TarMember> = Vec::new();
    let mut global_pax = Vec::new();
    let mut seen = BTreeSet::new();
    let mut pending_pax: Option<Vec<(String, Vec<u8>)>> = None;
    let mut pending_long_name: Option<Vec<u8>> = None;
    let mut first_header_offset: Option<u64> = None;
    let mut entries: u64 = 0;
    let mut total: u64 = 0;
    // Bytes of pax records kept so far (each charged PAX_RECORD_COST more),
    // and of member paths.
    let mut pax_kept: u64 = 0;
    let mut paths_kept: u64 = 0;

    loop {
        let header_offset = rd.offset;
        let label = format!(
            "entry #{} (header at tar offset {header_offset})",
            entries + 1
        );
        let Some(h) = rd.block(&label)? else {
            return Err(ctx.malformed(&label, "truncated archive: no end-of-archive blocks"));
        };
        if h.iter().all(|&b| b == 0) {
            match rd.block("end of archive")? {
                Some(b) if b.iter().all(|&x| x == 0) => {}
                Some(_) => return Err(ctx.malformed(&label, "lone zero block inside the archive")),
                None => {
                    return Err(ctx.malformed("end of archive", "only one end-of-archive block"));
                }
            }
            if pending_pax.is_some() || pending_long_name.is_some() {
                return Err(ctx.malformed("end of archive", "extended header without a member"));
            }
            let mut trailing_zeros: u64 = 0;
            let mut buf = [0u8; 8192];
            loop {
                let n = match rd.r.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(rd.err("end of archive", e)),
                };
                if n == 0 {
                    break;
                }
                trailing_zeros += n as u64;
                if trailing_zeros > MAX_TAR_TRAILING_ZEROS || buf[..n].iter().any(|&b| b != 0) {
                    return Err(
                        ctx.malformed("end of archive", "data after the end-of-archive blocks")
                    );
                }
            }
            rd.offset += trailing_zeros;
            let tar_size = rd.offset;
            return Ok(TarGzArchive {
                gzip: rd.r.info.clone(),
                global_pax,
                members,
                tar_size,
                trailing_zeros,
            });
        }
        entries += 1;
        if entries > limits.max_entries {
            return Err(ctx.limit(&label, "entry count", entries, limits.max_entries));
        }
        let raw_name = cstr(&h[0..100]);
        let name_label = if pending_pax.is_none() && pending_long_name.is_none() {
            format!("{label} {:?}", String::from_utf8_lossy(raw_name))
        } else {
            label.clone()
        };
        check_checksum(&h).map_err(|reason| ctx.malformed(&name_label, reason))?;
        let format = match (&h[257..263], &h[263..265]) {
            (b"ustar\0", b"00") => TarFormat::Ustar,
            (b"ustar ", b" \0") => TarFormat::Gnu,
            (m, _) if m.iter().all(|&b| b == 0) => TarFormat::V7,
            _ => return Err(ctx.malformed(&name_label, "unknown tar magic")),
        };
        let num = |range: std::ops::Range<usize>, field: &str| {
            parse_number(&h[range])
                .ok_or_else(|| ctx.malformed(&name_label, format!("bad {field} field")))
        };
        let field_size = num(124..136, "size")?;
        let typeflag = h[156];
        first_header_offset.get_or_insert(header_offset);

        match typeflag {
            b'x' | b'g' | b'L' | b'K' => {
                if field_size > limits.max_pax_header {
                    return Err(ctx.limit(
                        &name_label,
                        "extended header size",
                        field_size,
                        limits.max_pax_header,
                    ));
                }
                let body = rd.body(&name_label, field_size)?;
                let mut pax = || {
                    parse_pax(&body, limits, &mut pax_kept)
                        .map_err(|e| e.into_error(ctx, limits, &name_label))
                };
                match typeflag {
                    b'x' => {
                        if pending_pax.is_some() {
                            return Err(
                                ctx.malformed(&name_label, "two pax headers for one member")
                            );
                        }
                        pending_pax = Some(pax()?);
                    }
                    b'g' => {
                        global_pax.push(pax()?);
                        first_header_offset = None;
                    }
                    b'L' => pending_long_name = Some(cstr(&body).to_vec()),
                    _ => {} // GNU long link name: only links use it, and they are refused.
                }
                continue;
            }
            _ => {}
        }

        // A real member: resolve its path.
        let pax = pending_pax.take().unwrap_or_default();
        let long_name = pending_long_name.take();
        let prefix = cstr(&h[345..500]);
        let used_prefix = format == TarFormat::Ustar && !prefix.is_empty();
        let pax_get = |k: &str| {
            pax.iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_slice())
        };
        let path_bytes: Vec<u8> = if let Some(p) = pax_get("path") {
            p.to_vec()
        } else if let Some(l) = &long_name {
            l.clone()
        } else if used_prefix {
            [prefix, b"/", raw_name].concat()
        } else {
            raw_name.to_vec()
        };
        let path = String::from_utf8(path_bytes).map_err(|e| {
            ctx.malformed(
                &label,
                format!(
                    "path is not UTF-8: {:?}",
                    String::from_utf8_lossy(e.as_bytes())
                ),
            )
        })?;
        let entry = format!("{path:?}");
        if path.len() as u64 > limits.max_path_len {
            return Err(ctx.limit(
                &entry,
                "path length",
                path.len() as u64,
                limits.max_path_len,
            ));
        }
        paths_kept = paths_kept.saturating_add(path.len() as u64);
        if paths_kept > limits.max_path_total {
            return Err(ctx.limit(
                &entry,
                "member path bytes kept for the archive",
                paths_kept,
                limits.max_path_total,
            ));
        }
        if let Some(reason) = unsafe_reason(&path) {
            return Err(ctx.refused(&entry, reason));
        }
        if path.contains('\\') {
            return Err(ctx.refused(
                &entry,
                "backslash in name (a path separator on Windows, a file name character elsewhere)",
            ));
        }
        let linkname = String::from_utf8_lossy(cstr(&h[157..257])).into_owned();
        let kind = match typeflag {
            b'0' | b'\0' | b'7' => TarKind::File,
            b'5' => TarKind::Directory,
            b'1' => return Err(ctx.refused(&entry, format!("hard link to {linkname:?}"))),
            b'2' => return Err(ctx.refused(&entry, format!("symbolic link to {linkname:?}"))),
            b'3' => return Err(ctx.refused(&entry, "character device")),
            b'4' => return Err(ctx.refused(&entry, "block device")),
            b'6' => return Err(ctx.refused(&entry, "FIFO")),
            t => {
                return Err(ctx.refused(
                    &entry,
                    format!("unsupported tar entry type {:?}", char::from(t)),
                ));
            }
        };
        let size = match pax_get("size") {
            Some(v) => std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| ctx.malformed(&entry, "bad pax size record"))?,
            None => field_size,
        };
        let key = path
            .trim_end_matches('/')
            .trim_start_matches("./")
            .to_owned();
        if !seen.insert(key) && !pass_duplicates {
            return Err(ctx.refused(&entry, "duplicate member name"));
        }
        if size > limits.max_entry_size {
            return Err(ctx.limit(&entry, "member size", size, limits.max_entry_size));
        }
        total = total.saturating_add(size);
        if total > limits.max_total_size {
            return Err(ctx.limit(&entry, "total size", total, limits.max_total_size));
        }
        let mode = u32::try_from(num(100..108, "mode")? & 0o7777_7777).unwrap_or(0);
        let (uid, gid, mtime) = (
            num(108..116, "uid")?,
            num(116..124, "gid")?,
            num(136..148, "mtime")?,
        );
        let member = TarMember {
            path,
            kind,
            data: Vec::new(),
            size,
            executable: mode & 0o111 != 0,
            mode,
            uid,
            gid,
            uname: String::from_utf8_lossy(cstr(&h[265..297])).into_owned(),
            gname: String::from_utf8_lossy(cstr(&h[297..329])).into_owned(),
            mtime,
            typeflag,
            format,
            pax,
            gnu_long_name: long_name.is_some(),
            used_prefix,
            header_offset: first_header_offset.take().unwrap_or(header_offset),
        };
        let mut data = DataReader {
            rd: &mut rd,
            entry: &entry,
            remaining: size,
            failure: None,
        };
        let visited = visit(&member, &mut data);
        if let Some(failure) = data.failure.take() {
            return Err(failure);
        }
        visited?;
        // Whatever the visitor left unread.
        if let Err(e) = io::copy(&mut data, &mut io::sink()) {
            return Err(match data.failure.take() {
                Some(failure) => failure,
                None => ctx.read(&entry, e),
            });
        }
        rd.padding(&entry, size)?;
        members.push(member);
    }
}

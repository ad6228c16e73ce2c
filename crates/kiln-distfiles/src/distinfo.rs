//! `distinfo` files in the three syntaxes kiln reads and writes:
//!
//! - **kiln**: hex `SHA256`, `SHA512`, `BLAKE2s` and `SIZE (file) = N` per
//!   file; a release record (`PROJECT = …`, the pins) is read and written
//!   by `kiln-record`, so kiln's own `.distinfo` round-trips byte for byte.
//! - **OpenBSD**: `SHA256 (file) = <base64>` lines, then `SIZE (file) = N`
//!   lines (what `make makesum` writes).
//! - **NetBSD** (pkgsrc): a `$NetBSD$` line, a blank line, then per file
//!   `BLAKE2s (file) = <hex>`, `SHA512 (file) = <hex>`, `Size (file) = N
//!   bytes`; patches carry a `SHA1` line, kept as it is.
//! - **FreeBSD**: `TIMESTAMP = N`, then per file `SHA256 (file) = <hex>`
//!   and `SIZE (file) = N` (told by its `TIMESTAMP` line; without one it
//!   reads as kiln's syntax).
//!
//! The syntax is told from the file itself (a base64 digest is OpenBSD's,
//! `Size … bytes` or `$NetBSD` pkgsrc's, `TIMESTAMP` FreeBSD's, release
//! fields kiln's). Every line
//! must parse: a line that does not is an error naming the file and line,
//! never skipped. Digests of other algorithms (`SHA1`, `RMD160`, `MD5`)
//! are kept for rendering and never trusted.

use crate::DistfilesError;
use base64::Engine as _;
use kiln_digest::{Digests, hex};
use kiln_record::{ArtifactDigests, Record};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Which syntax a distinfo is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Kiln,
    OpenBsd,
    NetBsd,
    FreeBsd,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Kiln => "kiln",
            Format::OpenBsd => "openbsd",
            Format::NetBsd => "netbsd",
            Format::FreeBsd => "freebsd",
        }
    }
}

/// What a distinfo states about one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub sha256: Option<[u8; 32]>,
    pub sha512: Option<[u8; 64]>,
    pub blake2s: Option<[u8; 32]>,
    pub size: Option<u64>,
    /// Other algorithms, as written (`("SHA1", "<hex>")`): rendered back,
    /// never checked.
    pub others: Vec<(String, String)>,
}

impl Entry {
    /// The digests it states, as (algorithm as written, bytes): SHA256,
    /// SHA512, BLAKE2s.
    fn digests(&self) -> impl DoubleEndedIterator<Item = (&'static str, &[u8])> {
        [
            ("SHA256", self.sha256.as_ref().map(|d| &d[..])),
            ("SHA512", self.sha512.as_ref().map(|d| &d[..])),
            ("BLAKE2s", self.blake2s.as_ref().map(|d| &d[..])),
        ]
        .into_iter()
        .filter_map(|(algo, d)| Some((algo, d?)))
    }

    /// Every digest kiln computes, and the size.
    pub fn from_digests(d: &Digests) -> Entry {
        Entry {
            sha256: Some(d.sha256),
            sha512: Some(d.sha512),
            blake2s: Some(d.blake2s),
            size: Some(d.size),
            others: Vec::new(),
        }
    }

    /// A distfile kiln can check: a size and at least one digest it knows.
    pub fn is_checkable(&self) -> bool {
        self.size.is_some()
            && (self.sha256.is_some() || self.sha512.is_some() || self.blake2s.is_some())
    }

    /// What in `d` disagrees with this entry (empty: everything stated
    /// matches), one line per field.
    pub fn disagreements(&self, d: &Digests) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(size) = self.size
            && size != d.size
        {
            out.push(format!("SIZE: expected {size}, got {}", d.size));
        }
        let mut check = |algo: &str, want: Option<&[u8]>, got: &[u8]| {
            if let Some(want) = want
                && want != got
            {
                out.push(format!("{algo}: expected {}, got {}", hex(want), hex(got)));
            }
        };
        check("SHA256", self.sha256.as_ref().map(|x| &x[..]), &d.sha256);
        check("SHA512", self.sha512.as_ref().map(|x| &x[..]), &d.sha512);
        check("BLAKE2s", self.blake2s.as_ref().map(|x| &x[..]), &d.blake2s);
        out
    }

    /// Whether `d` agrees with every digest and size stated.
    pub fn matches(&self, d: &Digests) -> bool {
        self.disagreements(d).is_empty()
    }

    /// Whether the kiln-checked digests and size are the same as `other`'s.
    pub fn same_digests(&self, other: &Entry) -> bool {
        (self.sha256, self.sha512, self.blake2s, self.size)
            == (other.sha256, other.sha512, other.blake2s, other.size)
    }
}

/// A parsed distinfo: its syntax, its entries by file name, and what it
/// must keep to be written back (the pkgsrc id line, a kiln release
/// record's fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distinfo {
    pub format: Format,
    pub entries: BTreeMap<String, Entry>,
    /// The `$NetBSD…$` line, as read. Rendering writes a bare `$NetBSD$`
    /// when there is none (pkgsrc's distinfo files start with one).
    pub rcs_id: Option<String>,
    /// FreeBSD's `TIMESTAMP = N`, as read (kept, never made up).
    pub timestamp: Option<u64>,
    /// A kiln release record (its artifacts are `entries`).
    pub record: Option<Record>,
}

impl Distinfo {
    /// An empty distinfo in `format`.
    pub fn new(format: Format) -> Distinfo {
        Distinfo {
            format,
            entries: BTreeMap::new(),
            rcs_id: None,
            timestamp: None,
            record: None,
        }
    }

    /// Parses `text`; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Distinfo, DistfilesError> {
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        let mut format: Option<(Format, usize)> = None;
        let mut rcs_id = None;
        let mut timestamp = None;
        let mut release_fields = false;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let bad = |reason: &str| DistfilesError::Syntax {
                file: file.to_string(),
                line: line_no,
                text: raw.chars().take(200).collect(),
                reason: reason.to_string(),
            };
            let mut evidence = |seen: Format| -> Result<(), DistfilesError> {
                match format {
                    Some((f, at)) if f != seen => Err(bad(&format!(
                        "{} syntax, but line {at} is {} syntax",
                        seen.name(),
                        f.name()
                    ))),
                    Some(_) => Ok(()),
                    None => {
                        format = Some((seen, line_no));
                        Ok(())
                    }
                }
            };
            let line = raw.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with("$NetBSD") {
                if index != 0 || !line.ends_with('$') {
                    return Err(bad("a $NetBSD$ id line must be the first line"));
                }
                evidence(Format::NetBsd)?;
                rcs_id = Some(line.to_string());
                continue;
            }
            let (key, value) = line
                .split_once(" = ")
                .ok_or_else(|| bad("expected `ALGO (file) = value`"))?;
            let Some((algo, rest)) = key.split_once(" (") else {
                if key == "TIMESTAMP" {
                    evidence(Format::FreeBsd)?;
                    let seconds = value
                        .parse()
                        .map_err(|_| bad("TIMESTAMP must be a number of seconds"))?;
                    if timestamp.replace(seconds).is_some() {
                        return Err(bad("a second TIMESTAMP"));
                    }
                    continue;
                }
                // A release record's own fields: kiln-record reads them below.
                if key.bytes().all(|b| b.is_ascii_uppercase() || b == b'-') && !key.is_empty() {
                    evidence(Format::Kiln)?;
                    release_fields = true;
                    continue;
                }
                return Err(bad("expected `ALGO (file) = value`"));
            };
            let name = rest
                .strip_suffix(')')
                .ok_or_else(|| bad("missing `)` after the file name"))?;
            if let Err(why) = check_name(name) {
                return Err(bad(&why));
            }
            if matches!(algo, "PIN" | "BUILD-REQUIRES") {
                evidence(Format::Kiln)?;
                release_fields = true;
                continue;
            }
            let entry = entries.entry(name.to_string()).or_default();
            let dup = || bad("a second line for this file and algorithm");
            match algo {
                "SIZE" => {
                    let size = value
                        .parse()
                        .map_err(|_| bad("SIZE must be a number of bytes"))?;
                    if entry.size.replace(size).is_some() {
                        return Err(dup());
                    }
                }
                "Size" => {
                    evidence(Format::NetBsd)?;
                    let size = value
                        .strip_suffix(" bytes")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| bad("Size must be `N bytes`"))?;
                    if entry.size.replace(size).is_some() {
                        return Err(dup());
                    }
                }
                "SHA256" | "SHA512" | "BLAKE2s" => {
                    let len = if algo == "SHA512" { 64 } else { 32 };
                    let (bytes, seen) = decode(value, len).ok_or_else(|| {
                        bad(&format!(
                            "{algo} must be {} hexadecimal digits or {} characters of base64",
                            len * 2,
                            len.div_ceil(3) * 4
                        ))
                    })?;
                    if let Some(seen) = seen {
                        evidence(seen)?;
                    }
                    let fresh = match algo {
                        "SHA256" => entry.sha256.replace(to_array(&bytes)).is_none(),
                        "SHA512" => entry.sha512.replace(to_array(&bytes)).is_none(),
                        _ => entry.blake2s.replace(to_array(&bytes)).is_none(),
                    };
                    if !fresh {
                        return Err(dup());
                    }
                }
                other => {
                    let plain = !other.is_empty()
                        && other.len() <= 16
                        && other
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && !value.is_empty()
                        && value.bytes().all(|b| b.is_ascii_graphic());
                    if !plain {
                        return Err(bad("unknown algorithm or malformed value"));
                    }
                    if entry.others.iter().any(|(a, _)| a == other) {
                        return Err(dup());
                    }
                    entry.others.push((other.to_string(), value.to_string()));
                }
            }
        }
        let format = format.map_or(Format::Kiln, |(f, _)| f);
        let record = if release_fields {
            let record = Record::parse(file, text).map_err(DistfilesError::Record)?;
            Some(record)
        } else {
            None
        };
        Ok(Distinfo {
            format,
            entries,
            rcs_id,
            timestamp,
            record,
        })
    }

    /// The text, in this distinfo's syntax, sorted by file name: a pure
    /// function of the entries (and the id line or release fields kept).
    pub fn render(&self) -> Result<String, DistfilesError> {
        let mut out = String::new();
        let line = |out: &mut String, algo: &str, name: &str, value: &str| {
            let _ = writeln!(out, "{algo} ({name}) = {value}");
        };
        match self.format {
            Format::Kiln => {
                if let Some(record) = &self.record {
                    let mut record = record.clone();
                    record.artifacts = BTreeMap::new();
                    for (name, e) in &self.entries {
                        let incomplete = |field| DistfilesError::Incomplete {
                            file: name.clone(),
                            field,
                        };
                        record.artifacts.insert(
                            name.clone(),
                            ArtifactDigests {
                                sha256: hex(&e.sha256.ok_or_else(|| incomplete("SHA256"))?),
                                sha512: hex(&e.sha512.ok_or_else(|| incomplete("SHA512"))?),
                                blake2s: hex(&e.blake2s.ok_or_else(|| incomplete("BLAKE2s"))?),
                                size: e.size.ok_or_else(|| incomplete("SIZE"))?,
                            },
                        );
                    }
                    return Ok(record.render());
                }
                out.push_str("# distfiles: written by `cargo xtask distfiles makesum`.\n");
                for (name, e) in &self.entries {
                    if let Some(d) = e.sha256 {
                        line(&mut out, "SHA256", name, &hex(&d));
                    }
                    if let Some(d) = e.sha512 {
                        line(&mut out, "SHA512", name, &hex(&d));
                    }
                    if let Some(d) = e.blake2s {
                        line(&mut out, "BLAKE2s", name, &hex(&d));
                    }
                    if let Some(size) = e.size {
                        line(&mut out, "SIZE", name, &size.to_string());
                    }
                    for (algo, value) in &e.others {
                        line(&mut out, algo, name, value);
                    }
                }
            }
            Format::OpenBsd => {
                let b64 = base64::engine::general_purpose::STANDARD;
                for (name, e) in &self.entries {
                    for (algo, value) in &e.others {
                        line(&mut out, algo, name, value);
                    }
                    // OpenBSD writes SHA256 only; a digest of another
                    // algorithm that was read is kept, in the same base64.
                    for (algo, d) in e.digests() {
                        line(&mut out, algo, name, &b64.encode(d));
                    }
                }
                for (name, e) in &self.entries {
                    if let Some(size) = e.size {
                        line(&mut out, "SIZE", name, &size.to_string());
                    }
                }
            }
            Format::FreeBsd => {
                if let Some(seconds) = self.timestamp {
                    let _ = writeln!(out, "TIMESTAMP = {seconds}");
                }
                for (name, e) in &self.entries {
                    // FreeBSD writes SHA256 only; others read are kept.
                    for (algo, d) in e.digests() {
                        line(&mut out, algo, name, &hex(d));
                    }
                    for (algo, value) in &e.others {
                        line(&mut out, algo, name, value);
                    }
                    if let Some(size) = e.size {
                        line(&mut out, "SIZE", name, &size.to_string());
                    }
                }
            }
            Format::NetBsd => {
                out.push_str(self.rcs_id.as_deref().unwrap_or("$NetBSD$"));
                out.push_str("\n\n");
                // Distfiles first, then patches (no size), each sorted.
                for sized in [true, false] {
                    for (name, e) in self
                        .entries
                        .iter()
                        .filter(|(_, e)| e.size.is_some() == sized)
                    {
                        // pkgsrc's order: BLAKE2s, SHA512, SHA256.
                        for (algo, d) in e.digests().rev() {
                            line(&mut out, algo, name, &hex(d));
                        }
                        for (algo, value) in &e.others {
                            line(&mut out, algo, name, value);
                        }
                        if let Some(size) = e.size {
                            line(&mut out, "Size", name, &format!("{size} bytes"));
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A distfile name: one or more plain path components (OpenBSD's
/// `DIST_SUBDIR/file`), no control characters or backslashes.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 1024 {
        return Err("the file name is empty or too long".to_string());
    }
    if name.chars().any(|c| c.is_control() || c == '\\') {
        return Err("the file name holds a control character or a backslash".to_string());
    }
    if name
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(
            "the file name must be plain path components (no empty, `.` or `..`, not absolute)"
                .to_string(),
        );
    }
    Ok(())
}

/// A digest of `len` bytes as lowercase hex (kiln, NetBSD) or standard
/// padded base64 (OpenBSD, which then is the syntax seen).
fn decode(value: &str, len: usize) -> Option<(Vec<u8>, Option<Format>)> {
    if value.len() == len * 2 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        let bytes = (0..len)
            .map(|i| u8::from_str_radix(&value[2 * i..2 * i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        return Some((bytes, None));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    (bytes.len() == len).then_some((bytes, Some(Format::OpenBsd)))
}

fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

//! Hand-built archive bytes for hostile-input tests: raw ustar headers and
//! entries (any name, type and declared size, the checksum made right),
//! and stored or deflated zips whose headers declare whatever the test
//! says (CRC, size, external attributes), so each test can break one
//! field and leave the rest well-formed. kiln's own writers refuse to
//! write such archives, which is why these exist.
//!
//! Included with `#[path]` by `kiln-archive`'s tests and by the hostile
//! suite in `xtask/tests/`, so not every helper is used by every includer.

#![allow(dead_code)]

/// One ustar header block; `size` is what it declares.
pub fn tar_header(name: &[u8], typeflag: u8, size: u64, linkname: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typeflag;
    h[157..157 + linkname.len()].copy_from_slice(linkname);
    h[257..265].copy_from_slice(b"ustar\x0000");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A header and its data, zero-padded to the block.
pub fn entry(name: impl AsRef<[u8]>, typeflag: u8, data: &[u8]) -> Vec<u8> {
    let mut v = tar_header(name.as_ref(), typeflag, data.len() as u64, b"").to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

/// Entries and the two end-of-archive blocks (not compressed).
pub fn tar_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut tar = entries.concat();
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

/// One entry of a hand-built zip: `payload` is written as the member's
/// (compressed) data; `method`, `crc`, `size` and `ext` (the external
/// attributes: a Unix mode shifted left 16) are what the headers declare.
pub struct RawEntry<'a> {
    pub name: &'a [u8],
    pub payload: &'a [u8],
    pub method: u16,
    pub crc: u32,
    pub size: u32,
    pub ext: u32,
}

/// A zip of `entries`: local headers and data, the central directory
/// (made by Unix, version 2.0) and the end record, nothing else.
pub fn raw_zip_of(entries: &[RawEntry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for e in entries {
        let off = out.len() as u32;
        let mut fixed = Vec::new();
        fixed.extend_from_slice(&20u16.to_le_bytes());
        fixed.extend_from_slice(&0u16.to_le_bytes()); // flags
        fixed.extend_from_slice(&e.method.to_le_bytes());
        fixed.extend_from_slice(&0u16.to_le_bytes());
        fixed.extend_from_slice(&33u16.to_le_bytes());
        fixed.extend_from_slice(&e.crc.to_le_bytes());
        fixed.extend_from_slice(&(e.payload.len() as u32).to_le_bytes());
        fixed.extend_from_slice(&e.size.to_le_bytes());
        fixed.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        fixed.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0x04034b50u32.to_le_bytes());
        out.extend_from_slice(&fixed);
        out.extend_from_slice(e.name);
        out.extend_from_slice(e.payload);
        cd.extend_from_slice(&0x02014b50u32.to_le_bytes());
        cd.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes());
        cd.extend_from_slice(&fixed);
        cd.extend_from_slice(&[0u8; 6]); // comment len, disk, internal attrs
        cd.extend_from_slice(&e.ext.to_le_bytes());
        cd.extend_from_slice(&off.to_le_bytes());
        cd.extend_from_slice(e.name);
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(&0x06054b50u32.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

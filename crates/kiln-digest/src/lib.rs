//! Digests of artifacts: SHA-256, SHA-512 and BLAKE2s-256 computed in one
//! streaming pass, and the encodings other formats want (lowercase hex for
//! records and `SHA256SUMS`, unpadded URL-safe base64 for a wheel's RECORD).
//!
//! A vocabulary crate: it knows no file formats. It reads bytes from any
//! `Read` so the caller decides where they come from, and it is used both
//! before trusting an archive (digest first, parse second) and after
//! writing one.

use base64::Engine as _;
use blake2::Blake2s256;
use sha2::{Digest as _, Sha256, Sha512};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("failed to read {path} while computing its digest")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The digests kiln records for every artifact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digests {
    pub sha256: [u8; 32],
    pub sha512: [u8; 64],
    pub blake2s: [u8; 32],
    pub size: u64,
}

impl Digests {
    /// Digest everything `reader` yields. `what` names the source in errors.
    pub fn of_reader(mut reader: impl Read, what: &Path) -> Result<Self, DigestError> {
        let mut hasher = MultiHasher::default();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(DigestError::Read {
                        path: what.to_path_buf(),
                        source,
                    });
                }
            };
            hasher.update(&buf[..n]);
        }
        Ok(hasher.finish())
    }

    /// Digest a file on disk.
    pub fn of_file(path: &Path) -> Result<Self, DigestError> {
        let file = std::fs::File::open(path).map_err(|source| DigestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::of_reader(file, path)
    }

    pub fn of_bytes(bytes: &[u8]) -> Self {
        let mut hasher = MultiHasher::default();
        hasher.update(bytes);
        hasher.finish()
    }

    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
    pub fn sha512_hex(&self) -> String {
        hex(&self.sha512)
    }
    pub fn blake2s_hex(&self) -> String {
        hex(&self.blake2s)
    }
}

/// Feeds the three hashes at once so an artifact is read only one time;
/// public so a download can be hashed while it streams.
#[derive(Default)]
pub struct MultiHasher {
    sha256: Sha256,
    sha512: Sha512,
    blake2s: Blake2s256,
    size: u64,
}

impl fmt::Debug for MultiHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiHasher")
            .field("size", &self.size)
            .finish()
    }
}

impl MultiHasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.sha512.update(bytes);
        self.blake2s.update(bytes);
        self.size += bytes.len() as u64;
    }
    /// The bytes fed so far.
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn finish(self) -> Digests {
        Digests {
            sha256: self.sha256.finalize().into(),
            sha512: self.sha512.finalize().into(),
            blake2s: self.blake2s.finalize().into(),
            size: self.size,
        }
    }
}

/// SHA-256 of a byte slice.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// Unpadded URL-safe base64, as a wheel's RECORD wants (`sha256=<this>`).
pub fn urlsafe_b64_nopad(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let d = Digests::of_bytes(b"abc");
        assert_eq!(
            d.sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            d.sha512_hex(),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        // RFC 7693 Appendix B gives BLAKE2s-256("abc").
        assert_eq!(
            d.blake2s_hex(),
            "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"
        );
        assert_eq!(d.size, 3);
    }

    #[test]
    fn reader_equals_bytes() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let a = Digests::of_bytes(&data);
        let b = Digests::of_reader(&data[..], Path::new("mem")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, b);
    }

    #[test]
    fn record_encoding() {
        // The empty file's RECORD hash, as Python computes it:
        // base64.urlsafe_b64encode(hashlib.sha256(b"").digest()).rstrip(b"=").
        assert_eq!(
            urlsafe_b64_nopad(&sha256(b"")),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }
}

//! The sdist a requirement pins: which file of an index page it is, the
//! epoch its wheel is built with, and unpacking it (bounded, after its
//! digest was checked) into the directory the backend builds from.
//!
//! The epoch is a function of the sdist's bytes alone: the newest
//! modification time among its regular members (clamped to 1980-01-01, the
//! earliest a wheel's zip can hold), so the same sdist always gives the
//! same wheel bytes, whoever builds it and whenever.

use crate::WheelhouseError;
use crate::requirements::Requirement;
use kiln_archive::{Limits, TarKind, read_tar_gz};
use kiln_names::Epoch;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Whether `filename` is the sdist of `requirement`: `<name>-<version>.tar.gz`
/// with the name equal under PEP 503 normalization and the version equal
/// under PEP 440.
pub fn is_sdist_of(requirement: &Requirement, filename: &str) -> bool {
    let Some(stem) = filename.strip_suffix(".tar.gz") else {
        return false;
    };
    let Some((name, version)) = stem.rsplit_once('-') else {
        return false;
    };
    let (Ok(name), Ok(version), Ok(wanted)) = (
        kiln_names::ProjectName::new(name),
        kiln_names::parse_version(version),
        kiln_names::parse_version(&requirement.version),
    ) else {
        return false;
    };
    name.normalized() == requirement.name.normalized() && version == wanted
}

/// Pick the one sdist of `requirement` among an index page's file names.
pub fn choose<'a>(
    requirement: &Requirement,
    filenames: &[&'a str],
) -> Result<&'a str, WheelhouseError> {
    let found: Vec<&str> = filenames
        .iter()
        .copied()
        .filter(|f| is_sdist_of(requirement, f))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(WheelhouseError::NoSdist {
            requirement: requirement.pin(),
            others: filenames.len(),
        }),
        many => Err(WheelhouseError::ManySdists {
            requirement: requirement.pin(),
            files: many.join(", "),
        }),
    }
}

/// The latest epoch a zip's DOS time can hold: 2107-12-31T23:59:58Z.
pub const LATEST_EPOCH: u64 = 4_354_819_198;

/// The sdist, read with kiln-archive's bounded reader.
#[derive(Debug)]
pub struct Sdist {
    pub filename: String,
    archive: kiln_archive::TarGzArchive,
}

impl Sdist {
    /// Read `bytes` (whose digest the caller has already checked).
    pub fn read(filename: &str, bytes: &[u8]) -> Result<Sdist, WheelhouseError> {
        let archive = read_tar_gz(filename, bytes, &Limits::default()).map_err(|source| {
            WheelhouseError::Unreadable {
                filename: filename.to_string(),
                source: Box::new(source),
            }
        })?;
        Ok(Sdist {
            filename: filename.to_string(),
            archive,
        })
    }

    /// The newest mtime of a regular member, clamped to what a wheel's zip
    /// can hold: 1980-01-01 to [`LATEST_EPOCH`] (a hostile sdist's far
    /// future cannot make the build fail after the fact).
    pub fn epoch(&self) -> Epoch {
        let newest = self
            .archive
            .members
            .iter()
            .filter(|m| m.kind == TarKind::File)
            .map(|m| m.mtime)
            .max()
            .unwrap_or(0)
            .min(LATEST_EPOCH);
        Epoch::clamped(i64::try_from(newest).unwrap_or(0))
    }

    /// Write the regular members under `dest` (which must not exist yet),
    /// keeping only the executable bit; returns the one top-level
    /// directory, where the wheel is built. A member outside one top
    /// directory, or whose path leaves it, is refused.
    pub fn unpack(&self, dest: &Path) -> Result<PathBuf, WheelhouseError> {
        let layout = |problem: String| WheelhouseError::Layout {
            filename: self.filename.clone(),
            problem,
        };
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| WheelhouseError::Io {
                action,
                path,
                source,
            }
        };
        std::fs::create_dir(dest).map_err(io("create", dest))?;
        let mut top: Option<String> = None;
        for member in self
            .archive
            .members
            .iter()
            .filter(|m| m.kind == TarKind::File)
        {
            let path = member.path.strip_prefix("./").unwrap_or(&member.path);
            let parts: Vec<&str> = path.split('/').collect();
            if parts.len() < 2
                || parts
                    .iter()
                    .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\0'))
            {
                return Err(layout(format!(
                    "{path:?}: not a plain path inside the sdist's top-level directory"
                )));
            }
            match &top {
                None => top = Some(parts[0].to_string()),
                Some(t) if t != parts[0] => {
                    return Err(layout(format!(
                        "{path:?}: outside the top-level directory {t:?}"
                    )));
                }
                Some(_) => {}
            }
            let target = dest.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(io("create", parent))?;
            }
            std::fs::write(&target, &member.data).map_err(io("write", &target))?;
            let mode = if member.executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                .map_err(io("set the mode of", &target))?;
        }
        let Some(top) = top else {
            return Err(layout("it holds no file".into()));
        };
        Ok(dest.join(top))
    }
}

/// The sha256 (hex) an index states for `filename`, which must be one the
/// requirement pins: checked before anything is downloaded.
pub fn check_index_sha256(
    requirement: &Requirement,
    filename: &str,
    stated: &str,
) -> Result<(), WheelhouseError> {
    if requirement.accepts(stated) {
        return Ok(());
    }
    Err(WheelhouseError::IndexHash {
        filename: filename.to_string(),
        stated: stated.to_string(),
        pinned: requirement.sha256.join(" or "),
    })
}

/// The sha256 (hex) of the sdist downloaded from `url`, which must be one
/// the requirement pins: checked before anything opens it.
pub fn check_sdist_sha256(
    requirement: &Requirement,
    filename: &str,
    url: &str,
    sha256: &str,
) -> Result<(), WheelhouseError> {
    if requirement.accepts(sha256) {
        return Ok(());
    }
    Err(WheelhouseError::SdistHash {
        filename: filename.to_string(),
        url: url.to_string(),
        sha256: sha256.to_string(),
        pinned: requirement.sha256.join(" or "),
    })
}

/// What the sdist built (the project's name and version) must be what the
/// requirement pins: the same name under PEP 503 and version under PEP 440.
pub fn check_built(
    requirement: &Requirement,
    name: &str,
    version: &str,
) -> Result<(), WheelhouseError> {
    let built = kiln_names::ProjectName::new(name)?;
    let same_version = kiln_names::parse_version(version).ok()
        == kiln_names::parse_version(&requirement.version).ok();
    if built.normalized() == requirement.name.normalized() && same_version {
        return Ok(());
    }
    Err(WheelhouseError::BuiltOther {
        name: name.to_string(),
        version: version.to_string(),
        pin: requirement.pin(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_archive::{ArchiveWriter, Deflate, TarGzWriter};

    fn requirement(name: &str, version: &str) -> Requirement {
        Requirement {
            line: 1,
            name: kiln_names::ProjectName::new(name).unwrap(),
            version: version.into(),
            sha256: vec!["0".repeat(64)],
        }
    }

    #[test]
    fn digests_and_the_build_must_be_what_is_pinned() {
        let mut r = requirement("Zope.Interface", "7.0");
        r.sha256.push("AB".repeat(32));
        let f = "zope_interface-7.0.tar.gz";
        check_index_sha256(&r, f, &"ab".repeat(32)).unwrap();
        let e = check_index_sha256(&r, f, &"1".repeat(64)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "hash mismatch: the index states sha256 {} for {f}, the requirement pins {} or {}",
                "1".repeat(64),
                "0".repeat(64),
                "AB".repeat(32)
            )
        );
        check_sdist_sha256(&r, f, "https://x/f", &"0".repeat(64)).unwrap();
        let e = check_sdist_sha256(&r, f, "https://x/f", "12").unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "hash mismatch: {f} from https://x/f has sha256 12, the requirement pins "
            )),
            "{e}"
        );
        check_built(&r, "zope.interface", "7.0.0").unwrap();
        let e = check_built(&r, "zope.interface", "7.1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the sdist builds zope.interface 7.1, not Zope.Interface==7.0"
        );
        assert!(check_built(&r, "zope-interfaces", "7.0").is_err());
        assert!(matches!(
            check_built(&r, "not a name", "7.0"),
            Err(WheelhouseError::Name(_))
        ));
    }

    #[test]
    fn the_sdist_is_found_under_any_spelling_and_only_it() {
        let r = requirement("Zope.Interface", "7.0");
        assert!(is_sdist_of(&r, "zope_interface-7.0.tar.gz"));
        assert!(is_sdist_of(&r, "zope.interface-7.0.0.tar.gz"));
        assert!(!is_sdist_of(&r, "zope_interface-7.0-py3-none-any.whl"));
        assert!(!is_sdist_of(&r, "zope_interface-7.0.zip"));
        assert!(!is_sdist_of(&r, "zope_interface-7.1.tar.gz"));
        assert!(!is_sdist_of(&r, "zope_interfaces-7.0.tar.gz"));
        let files = [
            "zope_interface-7.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            "zope_interface-7.0.tar.gz",
        ];
        assert_eq!(choose(&r, &files).unwrap(), "zope_interface-7.0.tar.gz");
        let e = choose(&r, &files[..1]).unwrap_err().to_string();
        assert!(
            e.contains("Zope.Interface==7.0") && e.contains("no sdist"),
            "{e}"
        );
        let e = choose(
            &r,
            &["zope.interface-7.0.tar.gz", "zope_interface-7.0.tar.gz"],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("more than one sdist"), "{e}");
    }

    fn tar_gz(members: &[(&str, &[u8])], mtime: u64) -> Vec<u8> {
        let mut w = TarGzWriter::new(
            Vec::new(),
            mtime,
            Deflate {
                level: 6,
                gzip_chunk_size: 1 << 20,
                solid_below: 128 << 10,
                solid_level: 5,
            },
        );
        for (path, data) in members {
            w.add_file(path, data, false).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn epoch_and_unpack() {
        let bytes = tar_gz(
            &[
                ("demo-1.0/PKG-INFO", b"Name: demo\n"),
                ("demo-1.0/a/b.py", b"x = 1\n"),
            ],
            1_700_000_000,
        );
        let sdist = Sdist::read("demo-1.0.tar.gz", &bytes).unwrap();
        assert_eq!(sdist.epoch().seconds(), 1_700_000_000);
        let tmp = tempfile::tempdir().unwrap();
        let top = sdist.unpack(&tmp.path().join("src")).unwrap();
        assert_eq!(top, tmp.path().join("src/demo-1.0"));
        assert_eq!(std::fs::read(top.join("a/b.py")).unwrap(), b"x = 1\n");
        let old = tar_gz(&[("demo-1.0/PKG-INFO", b"")], 5);
        let sdist = Sdist::read("demo-1.0.tar.gz", &old).unwrap();
        assert_eq!(sdist.epoch(), Epoch::MIN);
        let future = tar_gz(&[("demo-1.0/PKG-INFO", b"")], 1 << 40);
        let sdist = Sdist::read("demo-1.0.tar.gz", &future).unwrap();
        assert_eq!(sdist.epoch().seconds(), LATEST_EPOCH);
        kiln_archive::dos_date_time(LATEST_EPOCH).unwrap();
        let two = tar_gz(&[("a-1/x", b""), ("b-1/y", b"")], 5);
        let e = Sdist::read("a-1.tar.gz", &two)
            .unwrap()
            .unpack(&tmp.path().join("two"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside the top-level directory"), "{e}");
        let e = Sdist::read("x.tar.gz", b"not gzip")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.tar.gz"), "{e}");
    }
}

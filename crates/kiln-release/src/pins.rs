//! `pinned-toolchain.toml`: every pin that can change artifact bytes (the
//! Rust toolchain, the deflate implementation and its settings, the Python
//! of backend mode), flattened as records list them; and the mirror's
//! recompression pin, which records leave out.

use kiln_archive::Deflate;
use std::collections::BTreeMap;
use std::path::Path;

pub const PINS_TOML: &str = "pinned-toolchain.toml";

/// Why the pins cannot be used, naming the file and the pin.
#[derive(Debug, thiserror::Error)]
pub enum PinsError {
    #[error(transparent)]
    Read(#[from] kiln_fs::project::ProjectFileError),
    #[error("{PINS_TOML}: {0}")]
    Syntax(String),
    #[error("{PINS_TOML}: `{0}` must be a table of pins")]
    NotATable(String),
    #[error("{PINS_TOML}: `{key}` = {value}: pins are strings or integers")]
    NotAPin { key: String, value: String },
    #[error("{PINS_TOML}: missing `{0}`")]
    Missing(String),
    #[error("{PINS_TOML}: `{0}` must be a non-negative integer")]
    NotAnInteger(String),
    #[error("{PINS_TOML}: {0}")]
    Unsupported(String),
}

impl PinsError {
    /// The pin (`section.key`) or section the error is about, if one.
    pub fn field(&self) -> Option<&str> {
        match self {
            PinsError::NotATable(field)
            | PinsError::Missing(field)
            | PinsError::NotAnInteger(field) => Some(field),
            PinsError::NotAPin { key, .. } => Some(key),
            PinsError::Read(_) | PinsError::Syntax(_) | PinsError::Unsupported(_) => None,
        }
    }

    /// Where the error is, for a `--json` error object: the pins file
    /// (or the file kiln-fs refused) and the pin.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        match self {
            // Transparent: its chain skips the inner error, so look inside.
            PinsError::Read(inner) => inner.location(),
            e => Some((Some(PINS_TOML.to_owned()), e.field().map(str::to_owned))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pins {
    /// Flattened `section.key = value`, as recorded in `.distinfo` records.
    pub flat: BTreeMap<String, String>,
    pub rust_channel: String,
    pub deflate: Deflate,
    /// `[mirror] zopfli-iterations`, when the file has a `[mirror]` table:
    /// the mirror's recompression, not a release's, so records leave it out.
    pub zopfli_iterations: Option<u64>,
}

impl Pins {
    /// `<root>/pinned-toolchain.toml`, read capped (a regular file only).
    pub fn load(root: &Path) -> Result<Self, PinsError> {
        let path = root.join(PINS_TOML);
        // Capped and regular files only, as every file kiln reads whole.
        let text =
            kiln_fs::project::read_file_to_string_capped(&path, kiln_fs::project::CONFIG_LIMIT)?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, PinsError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| PinsError::Syntax(e.to_string()))?;
        let mut flat = BTreeMap::new();
        let mut zopfli_iterations = None;
        for (section, value) in &table {
            // The mirror's pins change the mirror's bytes, not a release's:
            // release records leave them out.
            if section == "mirror" {
                zopfli_iterations = Some(mirror_iterations(value)?);
                continue;
            }
            let Some(inner) = value.as_table() else {
                return Err(PinsError::NotATable(section.clone()));
            };
            for (key, v) in inner {
                let rendered = match v {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    other => {
                        return Err(PinsError::NotAPin {
                            key: format!("{section}.{key}"),
                            value: other.to_string(),
                        });
                    }
                };
                flat.insert(format!("{section}.{key}"), rendered);
            }
        }
        let get = |key: &str| {
            flat.get(key)
                .cloned()
                .ok_or_else(|| PinsError::Missing(key.to_string()))
        };
        let int = |key: &str| -> Result<u64, PinsError> {
            get(key)?
                .parse()
                .map_err(|_| PinsError::NotAnInteger(key.to_string()))
        };
        let unsupported = |message: String| Err(PinsError::Unsupported(message));
        let implementation = get("compression.implementation")?;
        if implementation != "zlib-rs" {
            return unsupported(format!(
                "compression.implementation = {implementation:?}: kiln is built with zlib-rs only"
            ));
        }
        let level = int("compression.level")?;
        if level > 9 {
            return unsupported(format!(
                "compression.level = {level}: deflate levels are 0 to 9"
            ));
        }
        let chunk = int("compression.gzip-chunk-size")?;
        if chunk < 64 * 1024 {
            return unsupported(format!(
                "compression.gzip-chunk-size = {chunk}: use at least 65536"
            ));
        }
        // The sdist writer keeps a window of chunks per thread in memory.
        if chunk > 64 << 20 {
            return unsupported(format!(
                "compression.gzip-chunk-size = {chunk}: use at most 67108864 (64 MiB), the writer holds several chunks in memory"
            ));
        }
        let solid_level = int("compression.solid-level")?;
        if solid_level > 9 {
            return unsupported(format!(
                "compression.solid-level = {solid_level}: deflate levels are 0 to 9"
            ));
        }
        // Solid members are held whole by both writers, as every member up
        // to the zip writer's streaming threshold is.
        let solid_below = int("compression.solid-below")?;
        if solid_below > kiln_archive::ZIP_STREAM_ABOVE {
            return unsupported(format!(
                "compression.solid-below = {solid_below}: use at most {} (4 MiB), above which members are streamed",
                kiln_archive::ZIP_STREAM_ABOVE
            ));
        }
        Ok(Self {
            rust_channel: get("rust.channel")?,
            deflate: Deflate {
                level: level as u32,
                gzip_chunk_size: chunk as usize,
                solid_below,
                solid_level: solid_level as u32,
            },
            flat,
            zopfli_iterations,
        })
    }
}

/// `[mirror] zopfli-iterations`: 1 to 1000.
fn mirror_iterations(mirror: &toml::Value) -> Result<u64, PinsError> {
    const KEY: &str = "mirror.zopfli-iterations";
    let value = mirror
        .get("zopfli-iterations")
        .ok_or_else(|| PinsError::Missing(KEY.to_owned()))?;
    let n = value
        .as_integer()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| PinsError::NotAnInteger(KEY.to_owned()))?;
    if !(1..=1000).contains(&n) {
        return Err(PinsError::Unsupported(format!(
            "{KEY} = {n}: use 1 to 1000 passes"
        )));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "[rust]\nchannel = \"1.95.0\"\n[compression]\nimplementation = \"zlib-rs\"\nlevel = 6\ngzip-chunk-size = 1048576\nsolid-below = 131072\nsolid-level = 5\n";

    #[test]
    fn gzip_chunk_size_is_bounded_both_ways() {
        let pins = Pins::parse(VALID).unwrap();
        assert_eq!(pins.rust_channel, "1.95.0");
        assert_eq!(pins.flat["compression.level"], "6");
        assert_eq!(
            (pins.deflate.solid_below, pins.deflate.solid_level),
            (131_072, 5)
        );
        for (size, needle) in [("65535", "at least"), ("67108865", "at most")] {
            let text = VALID.replace("1048576", size);
            let e = Pins::parse(&text).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn every_bad_pin_is_named() {
        for (text, message) in [
            (
                "[rust]\nchannel = 1.5\n",
                "`rust.channel` = 1.5: pins are strings",
            ),
            ("rust = 1\n", "`rust` must be a table of pins"),
            (
                "[rust]\nchannel = \"1.95.0\"\n",
                "missing `compression.implementation`",
            ),
            (
                &VALID.replace("level = 6", "level = \"six\""),
                "`compression.level` must be a non-negative integer",
            ),
            (
                &VALID.replace("level = 6", "level = 10"),
                "deflate levels are 0 to 9",
            ),
            (&VALID.replace("\"zlib-rs\"", "\"zlib\""), "zlib-rs only"),
            (
                &VALID.replace("solid-level = 5", "solid-level = 11"),
                "compression.solid-level = 11: deflate levels are 0 to 9",
            ),
            (
                &VALID.replace("solid-below = 131072", "solid-below = 4194305"),
                "compression.solid-below = 4194305: use at most 4194304",
            ),
            (
                &VALID.replace("solid-below = 131072\n", ""),
                "missing `compression.solid-below`",
            ),
        ] {
            let e = Pins::parse(text).unwrap_err().to_string();
            assert!(e.starts_with(PINS_TOML) && e.contains(message), "{e}");
        }
        let e = Pins::parse("[rust]\nchannel = 1.5\n").unwrap_err();
        assert_eq!(e.field(), Some("rust.channel"));
    }

    #[test]
    fn the_mirror_pins_are_not_a_release_pin() {
        let pins = Pins::parse(&format!(
            "{VALID}[mirror]\nzopfli = \"0.8.4\"\nzopfli-iterations = 15\n"
        ))
        .unwrap();
        assert!(pins.flat.keys().all(|k| !k.starts_with("mirror.")));
        assert_eq!(pins.zopfli_iterations, Some(15));
        assert_eq!(Pins::parse(VALID).unwrap().zopfli_iterations, None);
        for (mirror, message) in [
            ("zopfli = \"0.8.4\"\n", "missing `mirror.zopfli-iterations`"),
            (
                "zopfli-iterations = 0\n",
                "mirror.zopfli-iterations = 0: use 1 to 1000",
            ),
            (
                "zopfli-iterations = -3\n",
                "`mirror.zopfli-iterations` must be a non-negative integer",
            ),
        ] {
            let e = Pins::parse(&format!("{VALID}[mirror]\n{mirror}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(message), "{e}");
        }
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // mkfifo(1) makes the FIFO
    fn pins_file_that_is_a_fifo_or_huge_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(PINS_TOML);
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(made);
        let e = Pins::load(tmp.path()).unwrap_err().to_string();
        assert!(e.contains(PINS_TOML) && e.contains("FIFO"), "{e}");
        std::fs::remove_file(&path).unwrap();
        std::fs::File::create(&path)
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
        let e = Pins::load(tmp.path()).unwrap_err().to_string();
        assert!(e.contains(PINS_TOML) && e.contains("bytes"), "{e}");
    }

    #[test]
    fn a_pins_error_is_at_the_pin() {
        let err = PinsError::Missing("rust.channel".into());
        assert_eq!(
            err.location(),
            Some((Some(PINS_TOML.into()), Some("rust.channel".into())))
        );
    }
}

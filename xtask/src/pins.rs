//! `pinned-toolchain.toml`: every pin that can change artifact bytes.

use anyhow::{Context, Result, bail};
use kiln_archive::Deflate;
use std::collections::BTreeMap;
use std::path::Path;

pub const PINS_TOML: &str = "pinned-toolchain.toml";

#[derive(Debug, Clone)]
pub struct Pins {
    /// Flattened `section.key = value`, as recorded in `.distinfo` records.
    pub flat: BTreeMap<String, String>,
    pub rust_channel: String,
    pub deflate: Deflate,
}

impl Pins {
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join(PINS_TOML);
        // Capped and regular files only, as every file kiln reads whole.
        let text =
            kiln_fs::project::read_file_to_string_capped(&path, kiln_fs::project::CONFIG_LIMIT)?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{PINS_TOML}: {e}"))?;
        let mut flat = BTreeMap::new();
        for (section, value) in &table {
            // The mirror's pins change the mirror's bytes, not a release's:
            // `mirror` reads them itself, and release records leave them out.
            if section == "mirror" {
                continue;
            }
            let Some(inner) = value.as_table() else {
                bail!("{PINS_TOML}: `{section}` must be a table of pins");
            };
            for (key, v) in inner {
                let rendered = match v {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    other => bail!(
                        "{PINS_TOML}: `{section}.{key}` = {other}: pins are strings or integers"
                    ),
                };
                flat.insert(format!("{section}.{key}"), rendered);
            }
        }
        let get = |key: &str| {
            flat.get(key)
                .cloned()
                .with_context(|| format!("{PINS_TOML}: missing `{key}`"))
        };
        let int = |key: &str| -> Result<u64> {
            get(key)?
                .parse()
                .with_context(|| format!("{PINS_TOML}: `{key}` must be a non-negative integer"))
        };
        let implementation = get("compression.implementation")?;
        if implementation != "zlib-rs" {
            bail!(
                "{PINS_TOML}: compression.implementation = {implementation:?}: kiln is built with zlib-rs only"
            );
        }
        let level = int("compression.level")?;
        if level > 9 {
            bail!("{PINS_TOML}: compression.level = {level}: deflate levels are 0 to 9");
        }
        let chunk = int("compression.gzip-chunk-size")?;
        if chunk < 64 * 1024 {
            bail!("{PINS_TOML}: compression.gzip-chunk-size = {chunk}: use at least 65536");
        }
        // The sdist writer keeps a window of chunks per thread in memory.
        if chunk > 64 << 20 {
            bail!(
                "{PINS_TOML}: compression.gzip-chunk-size = {chunk}: use at most 67108864 (64 MiB), the writer holds several chunks in memory"
            );
        }
        Ok(Self {
            rust_channel: get("rust.channel")?,
            deflate: Deflate {
                level: level as u32,
                gzip_chunk_size: chunk as usize,
            },
            flat,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "[rust]\nchannel = \"1.95.0\"\n[compression]\nimplementation = \"zlib-rs\"\nlevel = 6\ngzip-chunk-size = 1048576\n";

    #[test]
    fn gzip_chunk_size_is_bounded_both_ways() {
        assert!(Pins::parse(VALID).is_ok());
        for (size, needle) in [("65535", "at least"), ("67108865", "at most")] {
            let text = VALID.replace("1048576", size);
            let e = Pins::parse(&text).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
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
        let e = format!("{:#}", Pins::load(tmp.path()).unwrap_err());
        assert!(e.contains(PINS_TOML) && e.contains("FIFO"), "{e}");
        std::fs::remove_file(&path).unwrap();
        std::fs::File::create(&path)
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
        let e = format!("{:#}", Pins::load(tmp.path()).unwrap_err());
        assert!(e.contains(PINS_TOML) && e.contains("bytes"), "{e}");
    }
}

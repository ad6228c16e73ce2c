//! PEP 691's JSON project page, streamed: the `meta` object's API version
//! read and checked, the `files` list offered to the caller's filter one
//! entry at a time.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

use crate::{Collector, IndexError, Listing, MAX_YANK_REASON, is_upload_time, page_base, resolve};

#[derive(serde::Deserialize, Default)]
struct JsonMeta {
    #[serde(rename = "api-version")]
    api_version: Option<String>,
}

#[derive(serde::Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(default)]
    yanked: Option<Yanked>,
    /// PEP 700; any JSON value is accepted here and only a well-formed
    /// time kept.
    #[serde(default, rename = "upload-time")]
    upload_time: Option<serde_json::Value>,
}

/// PEP 592 in JSON: `false`/`true`, or a reason (any string means yanked).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Yanked {
    Flag(bool),
    Reason(String),
}

/// What streaming the JSON page gathers: the kept entries, unresolved
/// (the API version is checked first, wherever `meta` is in the object).
struct JsonSink<'a, F> {
    collector: Collector<'a, F>,
    kept: Vec<JsonFile>,
    api_version: Option<String>,
    /// Set when the collector refused the page, so the error is its own.
    refused: Option<IndexError>,
}

/// The files of a PEP 691 JSON project page served from `page_url` that
/// `keep` wants by name.
pub fn parse_json(
    page_url: &str,
    body: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<Listing, IndexError> {
    let base = page_base(page_url)?;
    let mut sink = JsonSink {
        collector: Collector::new(page_url, keep),
        kept: Vec::new(),
        api_version: None,
        refused: None,
    };
    let mut de = serde_json::Deserializer::from_str(body);
    let parsed = PageSeed { sink: &mut sink }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(refused) = sink.refused.take() {
        return Err(refused);
    }
    parsed.map_err(|e| IndexError::Json {
        page: page_url.to_string(),
        reason: e.to_string(),
    })?;
    if let Some(version) = &sink.api_version {
        let major = version.split('.').next().unwrap_or("");
        if major != "1" {
            return Err(IndexError::ApiVersion {
                page: page_url.to_string(),
                version: version.clone(),
            });
        }
    }
    let mut collector = sink.collector;
    for file in sink.kept {
        let (url, fragment_hash) =
            resolve(&base, &file.url).map_err(|reason| IndexError::Link {
                page: page_url.to_string(),
                href: file.url.clone(),
                reason,
            })?;
        let sha256 = file.hashes.get("sha256").cloned().or(fragment_hash);
        let yanked = matches!(file.yanked, Some(Yanked::Flag(true) | Yanked::Reason(_)));
        collector.push(file.filename, url, sha256, yanked)?;
        collector.set_yank_reason(match file.yanked {
            Some(Yanked::Reason(reason)) => {
                let mut end = reason.len().min(MAX_YANK_REASON);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                Some(reason[..end].to_string())
            }
            _ => None,
        });
        if let Some(kept) = collector.listing.files.last_mut() {
            kept.upload_time = file
                .upload_time
                .as_ref()
                .and_then(|t| t.as_str())
                .filter(|t| is_upload_time(t))
                .map(str::to_string);
        }
    }
    Ok(collector.listing)
}

/// The page object: `meta` read, `files` streamed, anything else skipped.
struct PageSeed<'s, 'a, F> {
    sink: &'s mut JsonSink<'a, F>,
}

impl<'de, F: Fn(&str) -> bool> DeserializeSeed<'de> for PageSeed<'_, '_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F: Fn(&str) -> bool> Visitor<'de> for PageSeed<'_, '_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with a \"files\" list")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen_meta = false;
        let mut seen_files = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "meta" if seen_meta => return Err(de::Error::duplicate_field("meta")),
                "meta" => {
                    seen_meta = true;
                    let meta: JsonMeta = map.next_value()?;
                    self.sink.api_version = meta.api_version;
                }
                "files" if seen_files => return Err(de::Error::duplicate_field("files")),
                "files" => {
                    seen_files = true;
                    map.next_value_seed(FilesSeed {
                        sink: &mut *self.sink,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !seen_files {
            return Err(de::Error::missing_field("files"));
        }
        Ok(())
    }
}

/// The `files` list, one entry at a time.
struct FilesSeed<'s, 'a, F> {
    sink: &'s mut JsonSink<'a, F>,
}

impl<'de, F: Fn(&str) -> bool> DeserializeSeed<'de> for FilesSeed<'_, '_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: Fn(&str) -> bool> Visitor<'de> for FilesSeed<'_, '_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of files")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(file) = seq.next_element::<JsonFile>()? {
            match self.sink.collector.offer(&file.filename) {
                Ok(true) => self.sink.kept.push(file),
                Ok(false) => {}
                Err(refused) => {
                    let message = refused.to_string();
                    self.sink.refused = Some(refused);
                    return Err(de::Error::custom(message));
                }
            }
        }
        Ok(())
    }
}

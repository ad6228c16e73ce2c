//! Rendering: core metadata, `entry_points.txt`, `WHEEL`, and the sdist's
//! rewritten `pyproject.toml` -- each exactly as uv_build 0.13.6 writes it.

use crate::MetadataError;
use crate::pyproject::{Contact, License, PyProject, Readme};
use kiln_names::WheelTags;
use pep508_rs::{ExtraOperator, MarkerExpression, MarkerTree, MarkerValueExtra};
use std::fmt::Write as _;

/// The file contents core metadata embeds, read by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataInputs {
    /// The readme's text, when `project.readme` names a file.
    pub readme: Option<String>,
    /// The text of `project.license = { file = "..." }`.
    pub license_text_file: Option<String>,
    /// The files matched by `project.license-files`, relative to the project
    /// root with `/` separators. Sorted here, so callers need not.
    pub license_files: Vec<String>,
}

/// Append `Key: value`, continuation lines indented under the value as
/// uv_build does (width of `Key: `). An empty value is written as `Key: `.
fn field(out: &mut String, key: &str, value: &str) {
    let mut lines = value.lines();
    let _ = writeln!(out, "{key}: {}", lines.next().unwrap_or(""));
    for line in lines {
        let _ = writeln!(out, "{}{line}", " ".repeat(key.len() + 2));
    }
}

fn names(contacts: &[Contact]) -> Option<String> {
    let joined = contacts
        .iter()
        .filter_map(|c| match c {
            Contact::Name { name } | Contact::NameEmail { name, .. } => Some(name.as_str()),
            Contact::Email { .. } => None,
        })
        .collect::<Vec<_>>()
        .join(", ");
    (!joined.is_empty()).then_some(joined)
}

fn emails(contacts: &[Contact]) -> Option<String> {
    let joined = contacts
        .iter()
        .filter_map(|c| match c {
            Contact::Name { .. } => None,
            Contact::Email { email } => Some(email.clone()),
            Contact::NameEmail { name, email } => Some(format!("{name} <{email}>")),
        })
        .collect::<Vec<_>>()
        .join(", ");
    (!joined.is_empty()).then_some(joined)
}

impl PyProject {
    /// The `Metadata-Version` this project's metadata declares.
    ///
    /// The brief for kiln asks for "the lowest version that covers the fields
    /// used, >= 2.2". kiln also promises `METADATA` byte-identical to
    /// uv_build's, and uv_build 0.13.6 writes 2.3 for every project unless
    /// PEP 639 fields are used (a `license` SPDX string or `license-files`),
    /// then 2.4. Where the two rules disagree (a project whose fields all
    /// exist in 2.1 would get 2.2 by the first), byte equality with uv_build
    /// wins: a second, different METADATA for the same project is exactly
    /// the kind of divergence kiln exists to remove. 2.3 is >= 2.2, so the
    /// sdist requirement (PKG-INFO >= 2.2) holds either way.
    pub fn metadata_version(&self) -> &'static str {
        if self.license_files.is_some() || matches!(self.license, Some(License::Spdx(_))) {
            "2.4"
        } else {
            "2.3"
        }
    }

    /// `PKG-INFO` / `METADATA`, byte-identical to uv_build 0.13.6's.
    pub fn core_metadata(&self, inputs: &MetadataInputs) -> String {
        let mut out = String::new();
        field(&mut out, "Metadata-Version", self.metadata_version());
        field(&mut out, "Name", self.name.as_str());
        field(&mut out, "Version", &self.version.to_string());
        if let Some(summary) = &self.summary {
            field(&mut out, "Summary", summary);
        }
        if let Some(keywords) = &self.keywords {
            field(&mut out, "Keywords", &keywords.join(","));
        }
        if let Some(author) = names(&self.authors) {
            field(&mut out, "Author", &author);
        }
        if let Some(email) = emails(&self.authors) {
            field(&mut out, "Author-email", &email);
        }
        // With `license-files`, only an SPDX expression is allowed (checked
        // at parse time) and the old `License:` field is never written.
        match &self.license {
            Some(License::Spdx(expr)) => field(&mut out, "License-Expression", expr),
            Some(License::Text { text }) if self.license_files.is_none() => {
                field(&mut out, "License", text);
            }
            Some(License::File { .. }) if self.license_files.is_none() => {
                if let Some(text) = &inputs.license_text_file {
                    field(&mut out, "License", text);
                }
            }
            _ => {}
        }
        if self.license_files.is_some() {
            let mut files = inputs.license_files.clone();
            files.sort();
            for f in &files {
                field(&mut out, "License-File", f);
            }
        }
        for c in &self.classifiers {
            field(&mut out, "Classifier", c);
        }
        for r in &self.dependencies {
            field(&mut out, "Requires-Dist", &r.to_string());
        }
        for (extra, reqs) in &self.optional_dependencies {
            for r in reqs {
                let mut r = r.clone();
                r.marker
                    .and(MarkerTree::expression(MarkerExpression::Extra {
                        operator: ExtraOperator::Equal,
                        name: MarkerValueExtra::Extra(extra.clone()),
                    }));
                field(&mut out, "Requires-Dist", &r.to_string());
            }
        }
        if let Some(m) = names(&self.maintainers) {
            field(&mut out, "Maintainer", &m);
        }
        if let Some(m) = emails(&self.maintainers) {
            field(&mut out, "Maintainer-email", &m);
        }
        if let Some(rp) = &self.requires_python {
            field(&mut out, "Requires-Python", &rp.to_string());
        }
        for (label, url) in &self.urls {
            field(&mut out, "Project-URL", &format!("{label}, {url}"));
        }
        for extra in self.optional_dependencies.keys() {
            field(&mut out, "Provides-Extra", extra.as_ref());
        }
        let (description, content_type) = match &self.readme {
            None => (None, None),
            Some(Readme::Path(path)) => {
                let ct = match path.rsplit_once('.').map(|(_, e)| e) {
                    Some("rst") => "text/x-rst",
                    Some("txt") => "text/plain",
                    _ => "text/markdown",
                };
                (inputs.readme.as_deref(), Some(ct))
            }
            Some(Readme::File { content_type, .. }) => {
                (inputs.readme.as_deref(), Some(content_type.as_str()))
            }
            Some(Readme::Text {
                text, content_type, ..
            }) => (Some(text.as_str()), Some(content_type.as_str())),
        };
        if let Some(ct) = content_type {
            field(&mut out, "Description-Content-Type", ct);
        }
        if let Some(description) = description {
            out.push('\n');
            out.push_str(description);
        }
        out
    }

    /// `entry_points.txt`, or `None` when the project declares no scripts
    /// or entry points. Groups: console, GUI, then the others sorted; the
    /// entries of each group sorted by name.
    pub fn entry_points_txt(&self) -> Option<String> {
        if self.scripts.is_none() && self.gui_scripts.is_none() && self.entry_points.is_none() {
            return None;
        }
        let mut out = String::new();
        let mut group = |name: &str, entries: &std::collections::BTreeMap<String, String>| {
            let _ = writeln!(out, "[{name}]");
            for (k, v) in entries {
                let _ = writeln!(out, "{k} = {v}");
            }
            out.push('\n');
        };
        if let Some(s) = &self.scripts {
            group("console_scripts", s);
        }
        if let Some(s) = &self.gui_scripts {
            group("gui_scripts", s);
        }
        for (name, entries) in self.entry_points.iter().flatten() {
            group(name, entries);
        }
        Some(out)
    }

    /// The `pyproject.toml` that goes into the sdist: uv_build rewrites the
    /// file as TOML 1.0 (`toml::to_string_pretty` of the parsed document,
    /// key order kept, datetimes given seconds) so that old tomllib parsers
    /// can read it, and ships the original as `pyproject.toml.orig`.
    pub fn sdist_pyproject_toml(&self) -> Result<String, MetadataError> {
        let rewrite_err = |message: String| MetadataError::Rewrite {
            path: self.path.clone(),
            message,
        };
        let mut value: toml::Value =
            toml::from_str(&self.text).map_err(|e| rewrite_err(e.to_string()))?;
        normalize_datetimes(&mut value);
        toml::to_string_pretty(&value).map_err(|e| rewrite_err(e.to_string()))
    }
}

fn normalize_datetimes(value: &mut toml::Value) {
    match value {
        toml::Value::Datetime(dt) => {
            if let Some(time) = dt.time.as_mut()
                && time.second.is_none()
            {
                time.second = Some(0);
            }
        }
        toml::Value::Array(items) => items.iter_mut().for_each(normalize_datetimes),
        toml::Value::Table(table) => table.iter_mut().for_each(|(_, v)| normalize_datetimes(v)),
        _ => {}
    }
}

/// The wheel's `WHEEL` file. `generator` is e.g. `kiln 0.1.0` (uv_build
/// writes `uv 0.13.6`; this line is the one documented difference).
pub fn wheel_file(generator: &str, tags: &WheelTags) -> String {
    format!("Wheel-Version: 1.0\nGenerator: {generator}\nRoot-Is-Purelib: true\nTag: {tags}\n")
}

//! Parsing and validating `pyproject.toml`.
//!
//! Deserialization (serde + toml) checks the shape: unknown keys in
//! `[project]` and `[tool.uv.build-backend]` are errors, as they are for
//! uv_build. Validation then checks the values (names, versions, PEP 508
//! dependencies, entry point names) and turns every problem into a
//! [`MetadataError`] that names the field and the fix.

use crate::build_backend::BuildBackendSettings;
use crate::{MetadataError, build_system};
use kiln_names::{ProjectName, Version};
use pep440_rs::VersionSpecifiers;
use pep508_rs::{ExtraName, Requirement, VerbatimUrl};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "kebab-case")]
struct RawPyProject {
    project: Option<RawProject>,
    build_system: Option<build_system::Table>,
    tool: Option<RawTool>,
}

#[derive(Deserialize, Debug)]
struct RawTool {
    uv: Option<RawToolUv>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "kebab-case")]
struct RawToolUv {
    build_backend: Option<BuildBackendSettings>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawProject {
    name: String,
    version: Option<String>,
    description: Option<String>,
    readme: Option<Readme>,
    requires_python: Option<String>,
    license: Option<License>,
    license_files: Option<Vec<String>>,
    authors: Option<Vec<Contact>>,
    maintainers: Option<Vec<Contact>>,
    keywords: Option<Vec<String>>,
    classifiers: Option<Vec<String>>,
    urls: Option<toml::Table>,
    scripts: Option<BTreeMap<String, String>>,
    gui_scripts: Option<BTreeMap<String, String>>,
    entry_points: Option<BTreeMap<String, BTreeMap<String, String>>>,
    dependencies: Option<Vec<String>>,
    optional_dependencies: Option<BTreeMap<String, Vec<String>>>,
    import_names: Option<toml::Value>,
    import_namespaces: Option<toml::Value>,
    dynamic: Option<Vec<String>>,
}

/// `project.readme`: a path, or a table with a file or inline text.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(
    untagged,
    rename_all_fields = "kebab-case",
    expecting = "a path string, or a table with `file` or `text` and `content-type`"
)]
pub enum Readme {
    Path(String),
    File {
        file: String,
        content_type: String,
        charset: Option<String>,
    },
    Text {
        text: String,
        content_type: String,
        charset: Option<String>,
    },
}

/// `project.license`: an SPDX expression (PEP 639) or the older tables.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(
    untagged,
    expecting = "an SPDX expression string (e.g. \"MIT\"), or a table with `text` or `file`"
)]
pub enum License {
    Spdx(String),
    Text { text: String },
    File { file: String },
}

/// One of `project.authors` / `project.maintainers`.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(
    untagged,
    deny_unknown_fields,
    expecting = "a table with `name` and/or `email` keys"
)]
pub enum Contact {
    NameEmail { name: String, email: String },
    Name { name: String },
    Email { email: String },
}

/// A parsed and validated `pyproject.toml`.
#[derive(Debug, Clone)]
pub struct PyProject {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    pub(crate) name: ProjectName,
    pub(crate) version: Version,
    pub(crate) summary: Option<String>,
    pub(crate) readme: Option<Readme>,
    pub(crate) requires_python: Option<VersionSpecifiers>,
    pub(crate) license: Option<License>,
    pub(crate) license_files: Option<Vec<String>>,
    pub(crate) authors: Vec<Contact>,
    pub(crate) maintainers: Vec<Contact>,
    pub(crate) keywords: Option<Vec<String>>,
    pub(crate) classifiers: Vec<String>,
    pub(crate) urls: Vec<(String, String)>,
    pub(crate) scripts: Option<BTreeMap<String, String>>,
    pub(crate) gui_scripts: Option<BTreeMap<String, String>>,
    pub(crate) entry_points: Option<BTreeMap<String, BTreeMap<String, String>>>,
    pub(crate) dependencies: Vec<Requirement<VerbatimUrl>>,
    pub(crate) optional_dependencies: BTreeMap<ExtraName, Vec<Requirement<VerbatimUrl>>>,
    pub(crate) build_system: Option<build_system::Table>,
    pub(crate) settings: BuildBackendSettings,
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl PyProject {
    /// Parse and validate `text`; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self, MetadataError> {
        let raw: RawPyProject = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            MetadataError::Toml {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim_end().replace('\n', " "),
            }
        })?;
        let p = || path.to_path_buf();
        let field_err = |field: &str, problem: String, fix: &str| MetadataError::Field {
            path: p(),
            field: field.to_string(),
            problem,
            fix: fix.to_string(),
        };
        let Some(project) = raw.project else {
            return Err(MetadataError::Missing {
                path: p(),
                field: "project",
                fix: "add a [project] table with at least `name` and `version` (PEP 621)",
            });
        };
        if let Some(dynamic) = project.dynamic.filter(|d| !d.is_empty()) {
            return Err(MetadataError::Dynamic {
                path: p(),
                fields: dynamic,
            });
        }
        let name = ProjectName::new(&project.name).map_err(|e| {
            field_err(
                "project.name",
                e.to_string(),
                "use a name such as \"my-project\"",
            )
        })?;
        let Some(version) = project.version else {
            return Err(MetadataError::Missing {
                path: p(),
                field: "project.version",
                fix: "add `version = \"0.1.0\"` to [project] (native mode needs a static version)",
            });
        };
        let version = kiln_names::parse_version(&version).map_err(|e| {
            field_err(
                "project.version",
                e.to_string(),
                "use a PEP 440 version such as \"1.2.3\"",
            )
        })?;
        if project.import_names.is_some() {
            return Err(MetadataError::Unsupported {
                path: p(),
                field: "project.import-names".into(),
            });
        }
        if project.import_namespaces.is_some() {
            return Err(MetadataError::Unsupported {
                path: p(),
                field: "project.import-namespaces".into(),
            });
        }
        if let Some(d) = &project.description
            && d.contains('\n')
        {
            return Err(field_err(
                "project.description",
                "it spans several lines".into(),
                "make it a one-line summary and put the long text in `project.readme`",
            ));
        }
        if let Some(readme) = &project.readme {
            validate_readme(readme)
                .map_err(|(problem, fix)| field_err("project.readme", problem, fix))?;
        }
        let requires_python = project
            .requires_python
            .as_deref()
            .map(|s| {
                VersionSpecifiers::from_str(s).map_err(|e| {
                    field_err(
                        "project.requires-python",
                        format!("{s:?} is not a PEP 440 version specifier: {e}"),
                        "write it as e.g. \">=3.9\"",
                    )
                })
            })
            .transpose()?;
        if project.license_files.is_some()
            && matches!(
                project.license,
                Some(License::Text { .. } | License::File { .. })
            )
        {
            return Err(field_err(
                "project.license",
                "`project.license-files` is set, so `project.license` must be an SPDX expression string"
                    .into(),
                "write e.g. `license = \"MIT\"`, or remove `license-files`",
            ));
        }
        if let Some(License::Spdx(expr)) = &project.license {
            validate_spdx(expr).map_err(|problem| {
                field_err(
                    "project.license",
                    problem,
                    "use an SPDX license expression such as \"MIT\" or \"Apache-2.0 OR MIT\"",
                )
            })?;
        }
        let classifiers = project.classifiers.unwrap_or_default();
        for c in &classifiers {
            let mut parts = c.split(" :: ");
            let ok = parts.next().is_some_and(|x| !x.is_empty())
                && parts.next().is_some_and(|x| !x.is_empty())
                && parts.all(|x| !x.is_empty());
            if !ok {
                return Err(field_err(
                    "project.classifiers",
                    format!("{c:?} is not a trove classifier"),
                    "use classifiers from https://pypi.org/classifiers/ such as \"Programming Language :: Python :: 3\"",
                ));
            }
        }
        let mut urls = Vec::new();
        for (label, value) in project.urls.unwrap_or_default() {
            let Some(url) = value.as_str() else {
                return Err(field_err(
                    &format!("project.urls.{label}"),
                    "the value is not a string".into(),
                    "write `Label = \"https://...\"`",
                ));
            };
            urls.push((label, url.to_string()));
        }
        let parse_reqs = |field: &str, reqs: Vec<String>| {
            reqs.into_iter()
                .map(|r| {
                    Requirement::<VerbatimUrl>::from_str(&r).map_err(|e| {
                        MetadataError::Dependency {
                            path: p(),
                            field: field.to_string(),
                            message: e.message.to_string(),
                            requirement: r,
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let dependencies = parse_reqs(
            "project.dependencies",
            project.dependencies.unwrap_or_default(),
        )?;
        let mut optional_dependencies = BTreeMap::new();
        for (extra, reqs) in project.optional_dependencies.unwrap_or_default() {
            let field = format!("project.optional-dependencies.{extra}");
            let name = ExtraName::from_str(&extra).map_err(|e| {
                field_err(
                    &field,
                    e.to_string(),
                    "extra names are letters, digits, '-', '_' and '.'",
                )
            })?;
            let reqs = parse_reqs(&field, reqs)?;
            if optional_dependencies.insert(name.clone(), reqs).is_some() {
                return Err(field_err(
                    &field,
                    format!("the extra name normalizes to `{name}`, as another extra does"),
                    "merge the two extras",
                ));
            }
        }
        validate_entry_points(
            project.scripts.as_ref(),
            project.gui_scripts.as_ref(),
            project.entry_points.as_ref(),
        )
        .map_err(|(field, problem, fix)| field_err(&field, problem, fix))?;
        let settings = raw
            .tool
            .and_then(|t| t.uv)
            .and_then(|u| u.build_backend)
            .unwrap_or_default();
        Ok(Self {
            path: p(),
            text: text.to_string(),
            name,
            version,
            summary: project.description,
            readme: project.readme,
            requires_python,
            license: project.license,
            license_files: project.license_files,
            authors: project.authors.unwrap_or_default(),
            maintainers: project.maintainers.unwrap_or_default(),
            keywords: project.keywords,
            classifiers,
            urls,
            scripts: project.scripts,
            gui_scripts: project.gui_scripts,
            entry_points: project.entry_points,
            dependencies,
            optional_dependencies,
            build_system: raw.build_system,
            settings,
        })
    }

    /// The file these came from, as given to [`PyProject::parse`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The original text.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn name(&self) -> &ProjectName {
        &self.name
    }

    pub fn version(&self) -> &Version {
        &self.version
    }

    /// `build-system.build-backend`, if declared.
    pub fn build_backend(&self) -> Option<&str> {
        self.build_system.as_ref()?.build_backend.as_deref()
    }

    /// `[tool.uv.build-backend]`, with uv_build's defaults filled in.
    pub fn backend_settings(&self) -> &BuildBackendSettings {
        &self.settings
    }

    /// The readme's path, when the readme is a file.
    pub fn readme_path(&self) -> Option<&str> {
        match self.readme.as_ref()? {
            Readme::Path(p) | Readme::File { file: p, .. } => Some(p),
            Readme::Text { .. } => None,
        }
    }

    /// `project.license = { file = "..." }`: its text goes into `License:`.
    pub fn license_file(&self) -> Option<&str> {
        match self.license.as_ref()? {
            License::File { file } => Some(file),
            _ => None,
        }
    }

    /// `project.license-files` globs (PEP 639), if declared.
    pub fn license_file_globs(&self) -> Option<&[String]> {
        self.license_files.as_deref()
    }
}

fn validate_readme(readme: &Readme) -> Result<(), (String, &'static str)> {
    const SUPPORTED: [&str; 3] = ["text/plain", "text/x-rst", "text/markdown"];
    let fix_ext = "use a .md, .rst or .txt file, or the table form with `content-type`";
    match readme {
        Readme::Path(path) => {
            let ext = Path::new(path).extension().and_then(|e| e.to_str());
            match ext {
                Some("md" | "rst" | "txt") => Ok(()),
                Some(e) => Err((
                    format!("cannot infer the content type of {path:?} from the extension `.{e}`"),
                    fix_ext,
                )),
                None => Err((
                    format!("cannot infer the content type of {path:?}: it has no extension"),
                    fix_ext,
                )),
            }
        }
        Readme::File {
            content_type,
            charset,
            ..
        }
        | Readme::Text {
            content_type,
            charset,
            ..
        } => {
            if !SUPPORTED.contains(&content_type.as_str()) {
                return Err((
                    format!("unsupported content type {content_type:?}"),
                    "use \"text/markdown\", \"text/x-rst\" or \"text/plain\"",
                ));
            }
            if charset.as_deref().is_some_and(|c| c != "UTF-8") {
                return Err((
                    format!("unsupported charset {charset:?}"),
                    "convert the readme to UTF-8 and remove `charset`",
                ));
            }
            Ok(())
        }
    }
}

/// A structural check of an SPDX expression: identifiers (letters, digits,
/// `.`, `-`, optional trailing `+`, `LicenseRef-`/`DocumentRef-` forms),
/// `AND`/`OR`/`WITH` between operands, balanced parentheses. It does not
/// check identifiers against the SPDX license list (uv_build does).
fn validate_spdx(expr: &str) -> Result<(), String> {
    let spaced = expr.replace('(', " ( ").replace(')', " ) ");
    let mut depth = 0i32;
    let mut expect_operand = true;
    for token in spaced.split_whitespace() {
        match token {
            "(" if expect_operand => depth += 1,
            ")" if !expect_operand => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("{expr:?} has an unopened ')'"));
                }
            }
            "AND" | "OR" | "WITH" if !expect_operand => expect_operand = true,
            t if expect_operand
                && t.trim_end_matches('+')
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
                && !t.trim_end_matches('+').is_empty() =>
            {
                expect_operand = false;
            }
            t => {
                return Err(format!(
                    "{expr:?} is not a valid SPDX expression (at `{t}`)"
                ));
            }
        }
    }
    if expect_operand || depth != 0 {
        return Err(format!("{expr:?} is not a complete SPDX expression"));
    }
    Ok(())
}

type EntryPointProblem = (String, String, &'static str);

fn validate_entry_points(
    scripts: Option<&BTreeMap<String, String>>,
    gui_scripts: Option<&BTreeMap<String, String>>,
    entry_points: Option<&BTreeMap<String, BTreeMap<String, String>>>,
) -> Result<(), EntryPointProblem> {
    let check_names = |field: &str, group: &BTreeMap<String, String>| {
        for name in group.keys() {
            let compliant = name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if name.is_empty() || name.chars().all(|c| c == '.') || !compliant {
                return Err((
                    field.to_string(),
                    format!("script name {name:?} is not valid"),
                    "script names must contain a non-dot character and only letters, digits, '.', '_' and '-'",
                ));
            }
        }
        Ok(())
    };
    if let Some(s) = scripts {
        check_names("project.scripts", s)?;
    }
    if let Some(s) = gui_scripts {
        check_names("project.gui-scripts", s)?;
    }
    for group in entry_points.into_iter().flatten().map(|(g, _)| g) {
        let field = format!("project.entry-points.{group}");
        match group.as_str() {
            "console_scripts" => {
                return Err((
                    field,
                    "this group is reserved".into(),
                    "use `[project.scripts]` instead",
                ));
            }
            "gui_scripts" => {
                return Err((
                    field,
                    "this group is reserved".into(),
                    "use `[project.gui-scripts]` instead",
                ));
            }
            _ => {}
        }
        let ok = group
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
            && group
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '_');
        if !ok {
            return Err((
                field,
                format!("group name {group:?} is not valid"),
                "group names are letters, digits and '_' separated by dots",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn spdx_structure() {
        for ok in [
            "MIT",
            "MIT OR Apache-2.0",
            "(MIT AND BSD-3-Clause) OR GPL-2.0+",
            "LicenseRef-x",
        ] {
            assert!(validate_spdx(ok).is_ok(), "{ok}");
        }
        for bad in ["", "MIT OR", "(MIT", "MIT)", "MIT Apache", "M!T"] {
            assert!(validate_spdx(bad).is_err(), "{bad}");
        }
    }
}

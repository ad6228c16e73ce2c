//! File selection: which project files go into the sdist, and which of
//! those go into the wheel, by uv_build 0.13.6's rules.
//!
//! The sdist takes `pyproject.toml`, the module directories (module root +
//! module name), `source-include`, the readme, the license files and the
//! data directories, minus the excludes (`__pycache__`, `*.pyc`, `*.pyo`
//! unless `default-excludes = false`, plus `source-exclude`). Excludes are
//! unanchored unless they start with `/`, and an excluded directory excludes
//! everything below it. uv_build does not read `.gitignore`, and neither
//! does kiln.
//!
//! The wheel is derived from the sdist's file list, never from a second walk,
//! so it cannot contain a file the sdist lacks: module files (module root
//! stripped, minus `wheel-exclude`), data directories under
//! `{name}-{version}.data/{key}/`, and license files under
//! `.dist-info/licenses/`.

use crate::{NativeError, NativeProject};
use globset::{GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use kiln_fs::project::{ProjectFileError, ProjectRoot, TEXT_LIMIT};
use kiln_metadata::ModuleName;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use walkdir::WalkDir;

/// A project file chosen for the sdist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative to the project directory, `/`-separated.
    pub relative: String,
    /// The project directory joined with `relative`, for messages; the
    /// file is opened by `relative` through the project root (a symlink is
    /// followed only when it stays in the project).
    pub path: PathBuf,
    pub executable: bool,
    /// Its length when the walk saw it.
    pub size: u64,
}

/// Where a wheel member comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFile {
    /// Path inside the wheel.
    pub member: String,
    pub source: SourceFile,
}

/// The result of file selection, before any archive is written.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Project files for the sdist, sorted bytewise by relative path
    /// (`pyproject.toml` itself excluded: the sdist carries a rewrite of it
    /// plus the original as `pyproject.toml.orig`).
    pub sdist_files: Vec<SourceFile>,
    /// Content members of the wheel (no `.dist-info/` metadata), sorted.
    pub wheel_files: Vec<WheelFile>,
    /// `project.license-files` matches, relative, sorted.
    pub license_files: Vec<String>,
}

fn glob(field: &str, pattern: &str) -> Result<globset::Glob, NativeError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|source| NativeError::Glob {
            field: field.to_string(),
            glob: pattern.to_string(),
            source,
        })
}

fn glob_set(globs: Vec<globset::Glob>, field: &str) -> Result<GlobSet, NativeError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(g);
    }
    b.build().map_err(|source| NativeError::Glob {
        field: field.to_string(),
        glob: String::new(),
        source,
    })
}

/// Unanchored excludes (`**/x`) unless they start with `/`.
fn exclude_set(excludes: &[String]) -> Result<GlobSet, NativeError> {
    let globs = excludes
        .iter()
        .map(|e| {
            let pattern = match e.strip_prefix('/') {
                Some(anchored) => anchored.to_string(),
                None => format!("**/{e}"),
            };
            glob("tool.uv.build-backend.*-exclude", &pattern)
        })
        .collect::<Result<Vec<_>, _>>()?;
    glob_set(globs, "tool.uv.build-backend.*-exclude")
}

/// True when `relative` or any directory above it matches: excluding a
/// directory excludes its whole subtree, as uv_build's pruned walk does.
fn excluded(set: &GlobSet, relative: &str) -> bool {
    relative
        .match_indices('/')
        .any(|(i, _)| set.is_match(&relative[..i]))
        || set.is_match(relative)
}

/// Could a file below directory `dir` match `pattern`? Compares the
/// pattern's literal leading components with the directory's.
fn may_contain(pattern: &str, dir: &str) -> bool {
    let mut pat = pattern.split('/');
    for component in dir.split('/') {
        match pat.next() {
            None => return false,
            Some(p) if p.contains(['*', '?', '[', '{', '\\']) => return true,
            Some(p) if p == component => {}
            Some(_) => return false,
        }
    }
    pat.next().is_some()
}

/// `a/./b/` → `a/b`; refuses absolute paths and `..`.
fn normalize_setting(field: &str, value: &str) -> Result<String, NativeError> {
    let mut parts = Vec::new();
    for c in Path::new(value).components() {
        match c {
            Component::CurDir => {}
            Component::Normal(s) => parts.push(s.to_str().unwrap_or_default().to_string()),
            Component::ParentDir => {
                return Err(NativeError::InvalidSettingPath {
                    field: field.into(),
                    value: value.into(),
                    problem: "it leaves the project (`..`)",
                });
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(NativeError::InvalidSettingPath {
                    field: field.into(),
                    value: value.into(),
                    problem: "it is absolute",
                });
            }
        }
    }
    Ok(parts.join("/"))
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}/{b}")
    }
}

fn escape(s: &str) -> String {
    globset::escape(s)
}

/// The modules' directories relative to the project, after checking that
/// each exists (with `__init__.py`, or `__init__.pyi` for `-stubs`, unless
/// `namespace = true`).
pub(crate) fn module_dirs(project: &NativeProject) -> Result<(String, Vec<String>), NativeError> {
    let settings = project.pyproject.backend_settings();
    let module_root =
        normalize_setting("tool.uv.build-backend.module-root", &settings.module_root)?;
    let names = match &settings.module_name {
        None => vec![project.name.escaped()],
        Some(ModuleName::One(n)) => vec![n.clone()],
        Some(ModuleName::Many(ns)) => ns.clone(),
    };
    let mut dirs = Vec::new();
    for name in names {
        let stubs = name.strip_suffix("-stubs");
        let ident = stubs.unwrap_or(&name);
        let valid = !ident.is_empty()
            && ident.split('.').all(|part| {
                part.chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_alphanumeric() || c == '_')
            });
        if !valid || (stubs.is_some() && ident.contains('.')) {
            return Err(NativeError::InvalidModuleName { name });
        }
        let relative = join(&module_root, &name.replace('.', "/"));
        let dir = project.dir.join(&relative);
        let missing = |problem| NativeError::MissingModule {
            expected: dir.clone(),
            module_root: settings.module_root.clone(),
            module_name: name.clone(),
            problem,
        };
        if !dir.is_dir() {
            return Err(missing("the directory does not exist"));
        }
        if !settings.namespace {
            let init = if stubs.is_some() {
                "__init__.pyi"
            } else {
                "__init__.py"
            };
            if !dir.join(init).is_file() {
                return Err(missing(if stubs.is_some() {
                    "it has no `__init__.pyi`"
                } else {
                    "it has no `__init__.py` (set `tool.uv.build-backend.namespace = true` for a namespace package)"
                }));
            }
        }
        dirs.push(relative);
    }
    Ok((module_root, dirs))
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

pub(crate) fn select(project: &NativeProject) -> Result<Selection, NativeError> {
    let settings = project.pyproject.backend_settings();
    let (module_root, modules) = module_dirs(project)?;

    // What the sdist includes, as (field, pattern) for messages.
    let mut includes: Vec<(String, String)> = Vec::new();
    for inc in &settings.source_include {
        includes.push(("tool.uv.build-backend.source-include".into(), inc.clone()));
    }
    for m in &modules {
        includes.push((
            "tool.uv.build-backend.module-name".into(),
            format!("{}/**", escape(m)),
        ));
    }
    if let Some(readme) = project.pyproject.readme_path() {
        let readme = normalize_setting("project.readme", readme)?;
        includes.push(("project.readme".into(), escape(&readme)));
    }
    let license_globs: Vec<String> = project
        .pyproject
        .license_file_globs()
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    for g in &license_globs {
        includes.push(("project.license-files".into(), g.clone()));
    }
    if let Some(file) = project.pyproject.license_file() {
        let file = normalize_setting("project.license.file", file)?;
        includes.push(("project.license.file".into(), escape(&file)));
    }
    let mut data_dirs = Vec::new();
    for (key, dir) in settings.data.iter() {
        let field = format!("tool.uv.build-backend.data.{key}");
        let dir = normalize_setting(&field, dir)?;
        includes.push((field, format!("{}/**", escape(&dir))));
        data_dirs.push((key, dir));
    }
    let include_globs = includes
        .iter()
        .map(|(field, pattern)| glob(field, pattern))
        .collect::<Result<Vec<_>, _>>()?;
    let include_set = glob_set(include_globs, "tool.uv.build-backend.source-include")?;

    let mut source_excludes: Vec<String> = Vec::new();
    if settings.default_excludes {
        source_excludes.extend(["__pycache__", "*.pyc", "*.pyo"].map(String::from));
    }
    for e in &settings.source_exclude {
        if !source_excludes.contains(e) {
            source_excludes.push(e.clone());
        }
    }
    let source_exclude = exclude_set(&source_excludes)?;
    let wheel_exclude = exclude_set(&settings.wheel_exclude)?;

    let mut walk = Walk {
        root: &project.root,
        includes: &includes,
        include_set: &include_set,
        source_exclude: &source_exclude,
        files: Vec::new(),
        ancestors: vec![project.root.canonical().to_path_buf()],
    };
    walk.dir("", project.root.canonical())?;
    let mut sdist_files = walk.files;
    // The walk gives a depth-first order; the archives want the full
    // relative paths sorted bytewise.
    sdist_files.sort_by(|a, b| a.relative.as_bytes().cmp(b.relative.as_bytes()));

    // License files: every glob must match, and every match must be UTF-8.
    let mut license_files = Vec::new();
    if !license_globs.is_empty() {
        let matchers: Vec<GlobMatcher> = license_globs
            .iter()
            .map(|g| glob("project.license-files", g).map(|g| g.compile_matcher()))
            .collect::<Result<_, _>>()?;
        let mut matched = vec![false; matchers.len()];
        for f in &sdist_files {
            let mut hit = false;
            for (m, seen) in matchers.iter().zip(matched.iter_mut()) {
                if m.is_match(&f.relative) {
                    *seen = true;
                    hit = true;
                }
            }
            if hit {
                let bytes = project
                    .root
                    .read_capped(&f.relative, TEXT_LIMIT)
                    .map_err(NativeError::from_fs)?;
                if std::str::from_utf8(&bytes).is_err() {
                    return Err(NativeError::LicenseNotUtf8 {
                        path: f.path.clone(),
                    });
                }
                license_files.push(f.relative.clone());
            }
        }
        if let Some((g, _)) = license_globs.iter().zip(&matched).find(|(_, m)| !**m) {
            return Err(NativeError::GlobNoMatch {
                path: project.pyproject.path().to_path_buf(),
                field: "project.license-files".into(),
                glob: g.clone(),
            });
        }
    }

    // The wheel, from the sdist's list.
    let stem = format!("{}-{}", project.name.escaped(), project.version);
    let data_prefix = format!("{stem}.data");
    let licenses_prefix = format!("{stem}.dist-info/licenses");
    let mut wheel: BTreeMap<String, SourceFile> = BTreeMap::new();
    for f in &sdist_files {
        let mut members = Vec::new();
        if modules
            .iter()
            .any(|m| f.relative.starts_with(&format!("{m}/")))
            && !excluded(&wheel_exclude, &f.relative)
        {
            let stripped = if module_root.is_empty() {
                f.relative.clone()
            } else {
                f.relative[module_root.len() + 1..].to_string()
            };
            members.push(stripped);
        }
        for (key, dir) in &data_dirs {
            if let Some(rest) = f.relative.strip_prefix(&format!("{dir}/")) {
                members.push(format!("{data_prefix}/{key}/{rest}"));
            }
        }
        if license_files.contains(&f.relative) {
            members.push(format!("{licenses_prefix}/{}", f.relative));
        }
        for member in members {
            if wheel.insert(member.clone(), f.clone()).is_some() {
                return Err(NativeError::Overlap {
                    path: f.path.clone(),
                    member,
                });
            }
        }
    }
    let wheel_files = wheel
        .into_iter()
        .map(|(member, source)| WheelFile { member, source })
        .collect();
    Ok(Selection {
        sdist_files,
        wheel_files,
        license_files,
    })
}

/// The sorted walk of the sdist's candidates.
///
/// An entry is a candidate when an include could reach it: a file an
/// include matches, or a directory an include could match below. Every
/// candidate that is a symlink is resolved and must land inside the
/// project before the excludes are consulted, so no setting makes kiln
/// follow a link out of the project; entries no include can reach are
/// never followed. A candidate directory that is not excluded is entered
/// (a symlinked one at its target; one that points at a directory being
/// walked, a loop, is refused).
struct Walk<'a> {
    root: &'a ProjectRoot,
    includes: &'a [(String, String)],
    include_set: &'a GlobSet,
    source_exclude: &'a GlobSet,
    files: Vec<SourceFile>,
    /// Canonical directories from the root down to the one being listed.
    ancestors: Vec<PathBuf>,
}

impl Walk<'_> {
    /// Lists `real` (canonical; `relative` from the root) and recurses.
    fn dir(&mut self, relative: &str, real: &Path) -> Result<(), NativeError> {
        let entries = WalkDir::new(real)
            .min_depth(1)
            .max_depth(1)
            .sort_by_file_name()
            .into_iter();
        for entry in entries {
            let entry = entry.map_err(|source| NativeError::Walk {
                path: self.root.display_path(relative),
                source,
            })?;
            let name = entry
                .file_name()
                .to_str()
                .ok_or_else(|| NativeError::NonUtf8Path {
                    path: self.root.display_path(relative).join(entry.file_name()),
                })?;
            let rel = join(relative, name);
            let path = self.root.display_path(&rel);
            let symlink = entry.path_is_symlink();
            // The type the entry has when followed (for a symlink, its
            // target's: only the type, nothing is read yet).
            let followed = if symlink {
                std::fs::metadata(entry.path())
            } else {
                entry.metadata().map_err(std::io::Error::from)
            };
            let dir_candidate = || self.includes.iter().any(|(_, p)| may_contain(p, &rel));
            let candidate = match &followed {
                Ok(meta) if meta.is_dir() => dir_candidate(),
                Ok(_) => self.include_set.is_match(&rel),
                Err(_) => self.include_set.is_match(&rel) || dir_candidate(),
            };
            // Nothing any include could reach is followed, checked or read
            // (a `.venv` symlinked elsewhere is none of kiln's business).
            if !candidate {
                continue;
            }
            let meta = followed.map_err(|source| NativeError::Read {
                path: path.clone(),
                source,
            })?;
            // The symlink check comes before the excludes: no setting
            // makes kiln follow a link out of the project.
            let target = if symlink {
                self.root.resolve(&rel).map_err(|e| match e {
                    ProjectFileError::Outside { path, target, .. } => {
                        NativeError::SymlinkOutside { link: path, target }
                    }
                    other => NativeError::from_fs(other),
                })?
            } else {
                entry.path().to_path_buf()
            };
            if excluded(self.source_exclude, &rel) {
                continue;
            }
            if meta.is_dir() {
                if self.ancestors.contains(&target) {
                    return Err(NativeError::SymlinkLoop { link: path, target });
                }
                self.ancestors.push(target.clone());
                self.dir(&rel, &target)?;
                self.ancestors.pop();
                continue;
            }
            if rel == "pyproject.toml" || rel == "pyproject.toml.orig" {
                continue;
            }
            if !meta.is_file() {
                return Err(NativeError::UnsupportedFileType { path });
            }
            self.files.push(SourceFile {
                relative: rel,
                path,
                executable: is_executable(&meta),
                size: meta.len(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_pruning() {
        assert!(may_contain("src/pkg/**", "src"));
        assert!(may_contain("src/pkg/**", "src/pkg"));
        assert!(may_contain("src/pkg/**", "src/pkg/deep"));
        assert!(!may_contain("src/pkg/**", "docs"));
        assert!(may_contain("**/*.txt", "anything"));
        assert!(!may_contain("README.md", "docs"));
        assert!(may_contain("licenses/*.txt", "licenses"));
    }

    #[test]
    fn excludes_cover_subtrees() {
        let set = exclude_set(&["__pycache__".into(), "*.pyc".into(), "/build".into()]).unwrap();
        assert!(excluded(&set, "src/pkg/__pycache__/x.py"));
        assert!(excluded(&set, "a.pyc"));
        assert!(excluded(&set, "build/x"));
        assert!(!excluded(&set, "src/build/x"));
        assert!(!excluded(&set, "src/pkg/mod.py"));
    }

    #[test]
    fn setting_paths() {
        assert_eq!(normalize_setting("f", "./src/").unwrap(), "src");
        assert_eq!(normalize_setting("f", "").unwrap(), "");
        assert!(normalize_setting("f", "../x").is_err());
        assert!(normalize_setting("f", "/x").is_err());
    }
}

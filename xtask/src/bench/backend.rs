//! The backend part of `cargo xtask bench`: kiln's backend mode on the
//! real-world corpus (the sdists of kiln-corpus's manifest, one per project
//! and build backend, downloaded on first use into `target/kiln-corpus/`
//! or `$KILN_CORPUS_CACHE`) against the two ways people build such
//! projects today, all on warm caches and with the same backend versions:
//!
//! - kiln: `lock` once (untimed), then `build --mode backend --lock`;
//! - `python -m build`, isolated as users run it (a fresh environment per
//!   build, pip installing the backend), under `PIP_CONSTRAINT` = kiln's
//!   lock as `name==version` lines, pip's cache under `target/`;
//! - `uv build` with `--build-constraint` (the same file), its cache under
//!   `target/`.
//!
//! Each project is unpacked once per tool (backends write into the tree).
//! Each tool builds once to warm its cache, then `--runs` times; the table
//! gives median, min–max and peer median / kiln median, and the geometric
//! mean of those ratios is checked (printed, never asserted) against
//! kiln's speed targets: ≥3× `python -m build`, ≥1× `uv build`.
//!
//! A project kiln fails on keeps its row with the error, and the others
//! still run; the command then exits 2 at the end, like the native part.

mod render;

use super::peers::{EPOCH, Runner};
use super::{Artifact, artifacts, fresh_dir, ratio, stats, time};
use crate::report;
use anyhow::{Context, Result, anyhow, bail};
use kiln_corpus::{Cache, Kind, Manifest};
use kiln_lock::Lock;
use std::path::{Path, PathBuf};
use std::time::Duration;
use xshell::{Shell, cmd};

#[cfg(test)]
use render::{geomean, verdict};
use render::{human, project_report, target_report};

/// The corpus cache, relative to the workspace root, unless
/// `KILN_CORPUS_CACHE` names another.
const CORPUS_CACHE: &str = "target/kiln-corpus";
/// pip's cache for the isolated `python -m build` runs.
const PIP_CACHE: &str = "target/kiln-bench-pip-cache";
/// uv's cache for `uv build` (not the offline one of the native part).
const UV_CACHE: &str = "target/kiln-bench-uv-backend-cache";

/// One tool of the backend part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Kiln,
    PythonBuild,
    Uv,
}

impl Tool {
    const ALL: [Tool; 3] = [Tool::Kiln, Tool::PythonBuild, Tool::Uv];
    const PEERS: [Tool; 2] = [Tool::PythonBuild, Tool::Uv];

    /// Stable, for JSON and directory names.
    fn key(self) -> &'static str {
        match self {
            Tool::Kiln => "kiln",
            Tool::PythonBuild => "python-build",
            Tool::Uv => "uv",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Tool::Kiln => "kiln build --mode backend",
            Tool::PythonBuild => "python -m build",
            Tool::Uv => "uv build",
        }
    }

    /// kiln's speed target for peer median / kiln median.
    fn target(self) -> f64 {
        match self {
            Tool::Kiln => 1.0,
            Tool::PythonBuild => 3.0,
            Tool::Uv => 1.0,
        }
    }
}

/// One sdist of the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CorpusProject {
    name: String,
    version: String,
    sdist: PathBuf,
}

/// One tool on one project.
#[derive(Debug)]
struct Measured {
    tool: Tool,
    /// The timed runs (the warm-up excluded); empty when it failed.
    times: Vec<Duration>,
    error: Option<String>,
    artifacts: Vec<Artifact>,
}

impl Measured {
    fn median(&self) -> Option<Duration> {
        (self.error.is_none() && !self.times.is_empty()).then(|| stats(&self.times).0)
    }
}

#[derive(Debug)]
struct ProjectReport {
    project: CorpusProject,
    lock: Option<Lock>,
    /// `lock` failed: nothing was built.
    lock_error: Option<String>,
    results: Vec<Measured>,
}

impl ProjectReport {
    fn measured(&self, tool: Tool) -> Option<&Measured> {
        self.results.iter().find(|m| m.tool == tool)
    }

    fn median(&self, tool: Tool) -> Option<Duration> {
        self.measured(tool).and_then(Measured::median)
    }

    /// Peer median / kiln median, when both built.
    fn ratio(&self, peer: Tool) -> Option<f64> {
        ratio(self.median(peer)?, self.median(Tool::Kiln))
    }

    fn kiln_error(&self) -> Option<&str> {
        self.lock_error
            .as_deref()
            .or_else(|| self.measured(Tool::Kiln).and_then(|m| m.error.as_deref()))
    }
}

/// Runs the backend part: its JSON report, and the failure to report once
/// every part has run (kiln failed on some project).
pub fn run(
    sh: &Shell,
    runner: &Runner,
    root: &Path,
    work: &Path,
    runs: usize,
    only: &[String],
) -> Result<(kiln_report::BenchBackendPart, Option<anyhow::Error>)> {
    let cache = corpus_cache(root);
    let corpus = cache.dir().to_path_buf();
    let manifest = Manifest::committed()?;
    let mut projects = corpus_projects(&manifest, &cache);
    if !only.is_empty() {
        projects = select(projects, only)?;
    }
    for project in &projects {
        report::step(&format!(
            "{}: the corpus sdist (downloaded once, sha256 checked)",
            project.name
        ));
        cache
            .path(manifest.get(&project.name, Kind::Sdist)?)
            .with_context(|| format!("failed to get {}'s sdist", project.name))?;
    }
    let pip_cache = root.join(PIP_CACHE);
    let uv_cache = root.join(UV_CACHE);
    for dir in [&pip_cache, &uv_cache] {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
    }
    let notes = notes(runner);
    for note in &notes {
        report::step(&format!("note: {note}"));
    }
    let caches = Caches {
        pip: pip_cache,
        uv: uv_cache,
    };
    let work = work.join("backend");
    let mut reports = Vec::new();
    for project in projects {
        reports.push(bench_project(sh, runner, &caches, &work, project, runs)?);
    }
    report::eprint(&human(&reports, runs));

    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| r.kiln_error().is_some())
        .map(|r| r.project.name.as_str())
        .collect();
    let failure = (!failed.is_empty()).then(|| {
        anyhow!(
            "backend part: kiln failed on {} (the errors are above)",
            failed.join(", ")
        )
    });
    let value = kiln_report::BenchBackendPart::Measured(Box::new(kiln_report::BenchBackend {
        corpus,
        pip_cache: caches.pip,
        uv_cache: caches.uv,
        notes,
        projects: reports.iter().map(project_report).collect(),
        targets: Tool::PEERS.map(|peer| target_report(&reports, peer)).into(),
    }));
    Ok((value, failure))
}

struct Caches {
    pip: PathBuf,
    uv: PathBuf,
}

fn notes(runner: &Runner) -> Vec<String> {
    vec![
        format!(
            "kiln: `lock` once (untimed), then `build --mode backend --lock` with --source-date-epoch {EPOCH}; \
             its hash-keyed cache (target/kiln-cache) is warm after the warm-up build"
        ),
        format!(
            "python -m build (build {}) isolated, as users run it: a fresh environment per build with the backend \
             pip-installed under PIP_CONSTRAINT (kiln's lock as name==version), PIP_CACHE_DIR={PIP_CACHE} warm \
             after the warm-up; python from target/kiln-bench-venv",
            runner.version("build")
        ),
        format!(
            "uv build (uv {}) with --build-constraint (the same file), UV_CACHE_DIR={UV_CACHE} warm after the \
             warm-up, --python from target/kiln-bench-venv",
            runner.version("uv")
        ),
        format!(
            "each tool builds the sdist, then the wheel from it, from its own unpacked copy of the corpus sdist, \
             SOURCE_DATE_EPOCH={EPOCH}; targets: python -m build / kiln ≥ {:.0}x, uv build / kiln ≥ {:.0}x \
             (geometric mean over the projects)",
            Tool::PythonBuild.target(),
            Tool::Uv.target()
        ),
    ]
}

/// The corpus cache: `target/kiln-corpus/` or `$KILN_CORPUS_CACHE`;
/// `$SSL_CERT_FILE` names the CA bundle when a proxy intercepts TLS.
pub(super) fn corpus_cache(root: &Path) -> Cache {
    #[allow(clippy::disallowed_methods)] // xtask is the edge: the user's settings.
    let var = |name| std::env::var_os(name).map(PathBuf::from);
    let dir = var("KILN_CORPUS_CACHE").unwrap_or_else(|| root.join(CORPUS_CACHE));
    Cache::new(dir).trusting(var("SSL_CERT_FILE"))
}

/// The sdists of the corpus manifest, sorted by project name, each at its
/// place in the cache (downloaded only once selected).
fn corpus_projects(manifest: &Manifest, cache: &Cache) -> Vec<CorpusProject> {
    let mut found: Vec<CorpusProject> = manifest
        .files(Kind::Sdist)
        .into_iter()
        .map(|file| CorpusProject {
            name: file.project.clone(),
            version: file.version.clone(),
            sdist: cache.location(file),
        })
        .collect();
    found.sort_by(|a, b| (normalize(&a.name), &a.version).cmp(&(normalize(&b.name), &b.version)));
    found
}

/// The entries directly in `dir`, sorted by name.
fn list(dir: &Path) -> walkdir::IntoIter {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .sort_by_file_name()
        .into_iter()
}

/// PEP 503 normalization, enough to match `--project` names.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = if matches!(c, '_' | '.') { '-' } else { c };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The projects named by `--project`, in corpus order.
fn select(projects: Vec<CorpusProject>, only: &[String]) -> Result<Vec<CorpusProject>> {
    let wanted: Vec<String> = only.iter().map(|n| normalize(n)).collect();
    for (given, name) in only.iter().zip(&wanted) {
        if !projects.iter().any(|p| normalize(&p.name) == *name) {
            let known: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
            bail!(
                "--project {given}: not in the corpus (it has {})",
                known.join(", ")
            );
        }
    }
    Ok(projects
        .into_iter()
        .filter(|p| wanted.contains(&normalize(&p.name)))
        .collect())
}

/// The pip constraints file (`name==version` per line, sorted) that makes
/// the peers install exactly the backend versions of kiln's lock.
fn constraints(lock: &Lock) -> String {
    let mut pins: Vec<(String, String)> = lock
        .packages
        .iter()
        .map(|p| (normalize(&p.name), format!("{}=={}\n", p.name, p.version)))
        .collect();
    pins.sort();
    let mut out = String::from(
        "# Written by `cargo xtask bench` from kiln's build lock: every tool builds with these versions.\n",
    );
    for (_, line) in pins {
        out.push_str(&line);
    }
    out
}

/// Unpacks `sdist` into `dir` (emptied first); the sdist's top directory.
fn unpack(sh: &Shell, sdist: &Path, dir: &Path) -> Result<PathBuf> {
    fresh_dir(dir)?;
    cmd!(sh, "tar -xzf {sdist} -C {dir}")
        .quiet()
        .run()
        .with_context(|| format!("failed to unpack {}", sdist.display()))?;
    let mut tops = Vec::new();
    for entry in list(dir) {
        let entry = entry.with_context(|| format!("failed to list {}", dir.display()))?;
        if entry.file_type().is_dir() {
            tops.push(entry.into_path());
        }
    }
    match <[PathBuf; 1]>::try_from(tops) {
        Ok([top]) => Ok(top),
        Err(tops) => bail!(
            "{}: expected one top directory, found {}",
            sdist.display(),
            tops.len()
        ),
    }
}

fn bench_project(
    sh: &Shell,
    runner: &Runner,
    caches: &Caches,
    work: &Path,
    project: CorpusProject,
    runs: usize,
) -> Result<ProjectReport> {
    let name = project.name.clone();
    let base = work.join(&name);
    let mut sources = Vec::new();
    for tool in Tool::ALL {
        sources.push(unpack(
            sh,
            &project.sdist,
            &base.join("src").join(tool.key()),
        )?);
    }
    let lock_path = base.join(crate::layout::lock_file_name(&name));
    let kiln = &runner.kiln;
    report::step(&format!("{name}: kiln lock (untimed)"));
    let kiln_src = &sources[0];
    let locked = time(cmd!(sh, "{kiln} lock {kiln_src} --lock {lock_path}")).and_then(|_| {
        let text = std::fs::read_to_string(&lock_path)
            .with_context(|| format!("failed to read {}", lock_path.display()))?;
        Ok(Lock::parse(&lock_path.display().to_string(), &text)?)
    });
    let lock = match locked {
        Ok(lock) => lock,
        Err(e) => {
            let e = format!("kiln lock failed: {e:#}");
            report::warn(&format!("{name}: {e}; skipping this project"));
            return Ok(ProjectReport {
                project,
                lock: None,
                lock_error: Some(e),
                results: Vec::new(),
            });
        }
    };
    let constraints_path = base.join("constraints.txt");
    std::fs::write(&constraints_path, constraints(&lock))
        .with_context(|| format!("failed to write {}", constraints_path.display()))?;

    let python = runner.venv.join("bin/python");
    let uv = runner.venv.join("bin/uv");
    let mut results = Vec::new();
    for (tool, src) in Tool::ALL.into_iter().zip(&sources) {
        report::step(&format!(
            "{name}: {} (1 warm-up + {runs} timed)",
            tool.label()
        ));
        let out = base.join("out").join(tool.key());
        let mut times = Vec::new();
        let mut error = None;
        for _ in 0..=runs {
            let once = fresh_dir(&out).and_then(|()| {
                let cmd = match tool {
                    Tool::Kiln => cmd!(
                        sh,
                        "{kiln} build {src} --mode backend --lock {lock_path} --source-date-epoch {EPOCH} --out {out}"
                    ),
                    Tool::PythonBuild => cmd!(sh, "{python} -m build --outdir {out} {src}")
                        .env("PIP_CONSTRAINT", &constraints_path)
                        .env("PIP_CACHE_DIR", &caches.pip)
                        .env("SOURCE_DATE_EPOCH", EPOCH),
                    Tool::Uv => cmd!(
                        sh,
                        "{uv} build --no-config --python {python} --build-constraint {constraints_path} --out-dir {out} {src}"
                    )
                    .env("UV_CACHE_DIR", &caches.uv)
                    .env("UV_PYTHON_DOWNLOADS", "never")
                    .env("SOURCE_DATE_EPOCH", EPOCH),
                };
                time(cmd)
            });
            match once {
                Ok(t) => times.push(t),
                Err(e) => {
                    report::warn(&format!("{name}: {} failed: {e:#}", tool.label()));
                    error = Some(format!("{e:#}"));
                    break;
                }
            }
        }
        let built = if error.is_none() {
            times.remove(0); // the warm-up
            artifacts(&out)?
        } else {
            times.clear();
            Vec::new()
        };
        results.push(Measured {
            tool,
            times,
            error,
            artifacts: built,
        });
    }
    Ok(ProjectReport {
        project,
        lock: Some(lock),
        lock_error: None,
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_lock::Package;

    fn package(name: &str, version: &str) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            filename: format!("{name}-{version}-py3-none-any.whl"),
            url: format!("https://example.invalid/{name}-{version}-py3-none-any.whl"),
            sha256: "a".repeat(64),
        }
    }

    #[test]
    fn constraints_pin_every_locked_package_sorted() {
        let lock = Lock {
            version: 1,
            python: "3.11".into(),
            build_backend: "hatchling.build".into(),
            backend_path: vec![],
            requires: vec!["hatchling>=1.0".into()],
            packages: vec![
                package("trove_classifiers", "2025.9.11.17"),
                package("Hatchling", "1.27.0"),
                package("pluggy", "1.6.0"),
            ],
        };
        let text = constraints(&lock);
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "Hatchling==1.27.0",
                "pluggy==1.6.0",
                "trove_classifiers==2025.9.11.17"
            ]
        );
        assert!(text.starts_with("# "));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn constraints_of_an_empty_lock_are_only_the_header() {
        let lock = Lock {
            version: 1,
            python: "3.11".into(),
            build_backend: "setuptools.build_meta:__legacy__".into(),
            backend_path: vec![],
            requires: vec![],
            packages: vec![],
        };
        assert_eq!(constraints(&lock).lines().count(), 1);
    }

    #[test]
    fn corpus_projects_are_the_manifests_sdists_in_the_cache() {
        let manifest = Manifest::committed().unwrap();
        let cache = Cache::new("/cache");
        let projects = corpus_projects(&manifest, &cache);
        let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "certifi",
                "click",
                "idna",
                "markupsafe",
                "packaging",
                "rich",
                "six",
                "tuf"
            ]
        );
        let six = &projects[6];
        assert_eq!(six.version, "1.17.0");
        assert_eq!(six.sdist, Path::new("/cache/sdist/six-1.17.0.tar.gz"));
    }

    #[test]
    fn project_selection_normalizes_and_refuses_unknown_names() {
        let p = |name: &str| CorpusProject {
            name: name.into(),
            version: "1.0".into(),
            sdist: PathBuf::from(format!("{name}-1.0.tar.gz")),
        };
        let all = vec![p("MarkupSafe"), p("tuf"), p("six")];
        let picked = select(all, &["markupsafe".into(), "SIX".into()]).unwrap();
        let names: Vec<&str> = picked.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["MarkupSafe", "six"]);
        let e = select(vec![p("tuf")], &["nope".into()]).unwrap_err();
        assert!(e.to_string().contains("--project nope"), "{e}");
        assert_eq!(normalize("Foo_Bar..baz"), "foo-bar-baz");
    }

    #[test]
    fn geometric_mean_and_verdicts() {
        let g = geomean(&[2.0, 8.0]).unwrap();
        assert!((g - 4.0).abs() < 1e-9, "{g}");
        assert_eq!(geomean(&[]), None);
        assert_eq!(geomean(&[1.0, 0.0]), None);

        let v = verdict(&[2.0, 8.0], Tool::PythonBuild);
        assert_eq!((v.compared, v.meeting), (2, 1));
        assert_eq!(v.met(Tool::PythonBuild), Some(true));
        let v = verdict(&[0.5, 1.5], Tool::Uv);
        assert_eq!(v.met(Tool::Uv), Some(false));
        assert_eq!(verdict(&[], Tool::Uv).met(Tool::Uv), None);
    }
}

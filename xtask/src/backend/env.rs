//! The build environment of backend mode and everything that touches pip.
//!
//! pip is used for exactly two things, both outside the build environment
//! and both by the pinned interpreter: resolving (`lock`, `pip install
//! --dry-run --report`) and fetching a locked file by its hash (`pip
//! download --require-hashes`, because pip knows this machine's index, TLS
//! and proxy configuration). Installing is kiln's own (`install.rs`): the
//! environment is a `venv --without-pip` populated from the lock only, every
//! file checked against its sha256 first. Files live in a hash-keyed cache
//! (`target/kiln-cache/wheels/<sha256>/<file>`), and whole environments in
//! `target/kiln-cache/envs/<key>/`, keyed by the lock's bytes, the pinned
//! Python and kiln's version, built in a temporary directory and renamed
//! into place so that a half-built one is never used. A warm build spawns
//! no pip at all.

use super::install::{Layout, install_wheel};
use crate::report;
use anyhow::{Context, Result, bail};
use kiln_lock::{Lock, Package};
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

/// pip settings this machine may need to reach its index; every other
/// `PIP_*` variable (find-links, no-index, a user's defaults) is dropped so
/// that resolution and downloads mean the same everywhere.
const PIP_KEEP: &[&str] = &[
    "PIP_CERT",
    "PIP_CLIENT_CERT",
    "PIP_DEFAULT_TIMEOUT",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_PROXY",
    "PIP_DISABLE_PIP_VERSION_CHECK",
];

/// Where kiln keeps downloaded wheels and built environments:
/// `KILN_CACHE` if set, else `<checkout>/target/kiln-cache`.
pub fn cache_dir(root: &Path) -> PathBuf {
    #[allow(clippy::disallowed_methods)] // xtask reads its configuration from the environment.
    match std::env::var_os("KILN_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => root.join("target/kiln-cache"),
    }
}

/// The pinned interpreter, `python<version>` on PATH.
pub fn base_python(version: &str) -> Result<String> {
    let program = format!("python{version}");
    let sh = Shell::new()?;
    let found = cmd!(
        sh,
        "{program} -c 'import sys; print(sys.version_info[0], sys.version_info[1])'"
    )
    .quiet()
    .ignore_stderr()
    .read();
    match found {
        Ok(v) if v.trim().replace(' ', ".") == version => Ok(program),
        Ok(v) => bail!(
            "{program} on PATH is Python {}, but pinned-toolchain.toml pins python.version = {version:?}",
            v.trim().replace(' ', ".")
        ),
        Err(_) => bail!(
            "backend mode needs Python {version} (pinned-toolchain.toml python.version): `{program}` is not on PATH; install it"
        ),
    }
}

/// A pip command with PIP_* scrubbed down to `PIP_KEEP`.
fn scrub_pip(mut cmd: xshell::Cmd<'_>) -> xshell::Cmd<'_> {
    #[allow(clippy::disallowed_methods)] // xtask is the edge that scrubs the environment.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("PIP_") && !PIP_KEEP.contains(&key.as_str()) {
            cmd = cmd.env_remove(key);
        }
    }
    cmd.env_remove("PYTHONPATH").env_remove("PYTHONHOME")
}

/// Resolve `requires` (under `constraints`) with pip's resolver for the
/// pinned interpreter: every package, direct and transitive, as a wheel.
pub fn resolve(
    python: &str,
    requires: &[String],
    constraints: Option<&Path>,
) -> Result<Vec<Package>> {
    if requires.is_empty() {
        return Ok(vec![]);
    }
    let tmp = tempfile::Builder::new().prefix("kiln-lock-").tempdir()?;
    let report_path = tmp.path().join("report.json");
    let sh = Shell::new()?;
    sh.change_dir(tmp.path());
    let constraint_args: Vec<String> = match constraints {
        Some(c) => vec!["-c".into(), c.display().to_string()],
        None => vec![],
    };
    let out = scrub_pip(cmd!(
        sh,
        "{python} -m pip install --dry-run --ignore-installed --only-binary :all: --disable-pip-version-check --report {report_path} -q {requires...} {constraint_args...}"
    ))
    .quiet()
    .ignore_status()
    .output()
    .context("failed to run pip to resolve the build requirements")?;
    if !out.status.success() {
        bail!(
            "pip could not resolve the build requirements {requires:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).context("pip wrote no --report")?)
            .context("pip's --report does not parse")?;
    let mut packages = Vec::new();
    for item in report["install"].as_array().into_iter().flatten() {
        let name = item["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let version = item["metadata"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let url = item["download_info"]["url"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let Some(sha256) = item["download_info"]["archive_info"]["hashes"]["sha256"].as_str()
        else {
            bail!("pip reported no sha256 for {name} {version} ({url}); kiln locks files by hash");
        };
        let filename = percent_decode(url.rsplit('/').next().unwrap_or_default());
        let filename = filename
            .split(['#', '?'])
            .next()
            .unwrap_or_default()
            .to_string();
        if !filename.ends_with(".whl") {
            bail!(
                "pip resolved {name} {version} to {filename}, not a wheel; kiln installs wheels only"
            );
        }
        packages.push(Package {
            name,
            version,
            filename,
            url,
            sha256: sha256.to_ascii_lowercase(),
        });
    }
    Ok(packages)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cached file of a locked package, checked against its sha256;
/// downloaded (all missing ones in one pip call) when absent.
fn fetch(
    cache: &Path,
    python: &dyn Fn() -> Result<String>,
    lock: &Lock,
) -> Result<Vec<(Package, PathBuf)>> {
    let path_of = |p: &Package| cache.join("wheels").join(&p.sha256).join(&p.filename);
    let missing: Vec<&Package> = lock
        .packages
        .iter()
        .filter(|p| !path_of(p).is_file())
        .collect();
    if !missing.is_empty() {
        let python = python()?;
        report::step(&format!(
            "downloading {} locked build requirement(s)",
            missing.len()
        ));
        let tmp = tempfile::Builder::new()
            .prefix("kiln-download-")
            .tempdir()?;
        let reqs: String = missing
            .iter()
            .map(|p| format!("{}=={} --hash=sha256:{}\n", p.name, p.version, p.sha256))
            .collect();
        let req_file = tmp.path().join("requirements.txt");
        std::fs::write(&req_file, reqs)?;
        let dest = tmp.path().join("files");
        let sh = Shell::new()?;
        let out = scrub_pip(cmd!(
            sh,
            "{python} -m pip download --no-deps --only-binary :all: --require-hashes --disable-pip-version-check -q -d {dest} -r {req_file}"
        ))
        .quiet()
        .ignore_status()
        .output()
        .context("failed to run pip to download the locked build requirements")?;
        if !out.status.success() {
            let names: Vec<String> = missing
                .iter()
                .map(|p| format!("{} {}", p.name, p.version))
                .collect();
            bail!(
                "downloading the locked build requirements ({}) failed:\n{}{}",
                names.join(", "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for p in &missing {
            let got = dest.join(&p.filename);
            if !got.is_file() {
                bail!(
                    "pip downloaded no {} for {} {}: the lock names a file the index does not serve; re-run `cargo xtask lock`",
                    p.filename,
                    p.name,
                    p.version
                );
            }
            let bytes = std::fs::read(&got)?;
            check_hash(p, &bytes)?;
            crate::release::write_atomic(&path_of(p), &bytes)?;
        }
    }
    Ok(lock
        .packages
        .iter()
        .map(|p| (p.clone(), path_of(p)))
        .collect())
}

fn check_hash(p: &Package, bytes: &[u8]) -> Result<()> {
    let actual = kiln_digest::hex(&kiln_digest::sha256(bytes));
    if actual != p.sha256 {
        bail!(
            "{} {} ({}): sha256 mismatch: the lock says {}, the file is {}; refusing to install it \
             (a tampered download or a stale lock: re-run `cargo xtask lock`)",
            p.name,
            p.version,
            p.filename,
            p.sha256,
            actual
        );
    }
    Ok(())
}

/// The populated, cached build environment for `lock`; returns its root.
/// `python` finds the base interpreter, called only when something must be
/// created (a warm cache needs none).
pub fn ensure(
    root: &Path,
    lock: &Lock,
    python_pin: &str,
    python: &dyn Fn() -> Result<String>,
) -> Result<PathBuf> {
    let cache = cache_dir(root);
    let mut key_input = lock.render().into_bytes();
    key_input.extend_from_slice(
        format!("\0python {python_pin}\0kiln {}", env!("CARGO_PKG_VERSION")).as_bytes(),
    );
    let key = kiln_digest::hex(&kiln_digest::sha256(&key_input));
    let envs = cache.join("envs");
    let final_dir = envs.join(&key);
    let stamp = final_dir.join("kiln-env-complete");
    if stamp.is_file() && final_dir.join("bin/python").exists() {
        // Hashes are checked on every use, even warm: cheap, and a cache is
        // not a trust anchor.
        for p in &lock.packages {
            let path = cache.join("wheels").join(&p.sha256).join(&p.filename);
            if let Ok(bytes) = std::fs::read(&path) {
                check_hash(p, &bytes)?;
            }
        }
        return Ok(final_dir);
    }
    let files = fetch(&cache, python, lock)?;
    let python = python()?;
    std::fs::create_dir_all(&envs)
        .with_context(|| format!("failed to create {}", envs.display()))?;
    // Canonical, so that the paths Python reports compare with ours.
    let envs = envs
        .canonicalize()
        .with_context(|| format!("failed to resolve {}", envs.display()))?;
    let final_dir = envs.join(&key);
    let tmp = tempfile::Builder::new()
        .prefix(".building-")
        .tempdir_in(&envs)
        .with_context(|| format!("failed to create a directory in {}", envs.display()))?;
    let building = tmp.path().join("env");
    let sh = Shell::new()?;
    cmd!(sh, "{python} -m venv --without-pip {building}")
        .quiet()
        .run()
        .context("failed to create the build environment (python -m venv --without-pip)")?;
    let site = cmd!(
        sh,
        "{building}/bin/python -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))'"
    )
    .quiet()
    .read()
    .context("failed to ask the build environment for its site-packages")?;
    let rel_site = Path::new(site.trim())
        .strip_prefix(&building)
        .with_context(|| format!("site-packages {site} is outside the environment"))?
        .to_path_buf();
    let layout = Layout {
        root: building.clone(),
        site_packages: building.join(&rel_site),
        bin: building.join("bin"),
        include: building.join("include/site"),
        python: final_dir.join("bin/python"),
    };
    for (package, path) in &files {
        let bytes =
            std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
        check_hash(package, &bytes)?;
        install_wheel(&package.name, &package.filename, &bytes, &layout)?;
    }
    if !lock.packages.is_empty() {
        // Precompiled as if in the final place, so imports are fast and the
        // bytecode names the final paths.
        let site_dir = &layout.site_packages;
        let final_site = final_dir.join(&rel_site);
        cmd!(
            sh,
            "{building}/bin/python -m compileall -q -j 0 -s {site_dir} -p {final_site} {site_dir}"
        )
        .quiet()
        .ignore_stdout()
        .run()
        .context("failed to precompile the build environment")?;
    }
    std::fs::write(building.join("kiln-env-complete"), &key)?;
    match std::fs::rename(&building, &final_dir) {
        Ok(()) => {}
        // Another build finished the same environment first: use theirs.
        Err(_) if final_dir.join("kiln-env-complete").is_file() => {}
        Err(e) => {
            return Err(e).with_context(|| {
                format!("failed to move the environment to {}", final_dir.display())
            });
        }
    }
    Ok(final_dir)
}

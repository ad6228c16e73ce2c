//! The build environment of backend mode and everything that touches pip.
//!
//! pip is used for exactly two things, both outside the build environment
//! and both by the pinned interpreter: resolving (`lock`, `pip install
//! --dry-run --report`) and fetching a locked file by its hash (`pip
//! download --require-hashes`, because pip knows this machine's index, TLS
//! and proxy configuration). Installing is kiln's own (`install.rs`): the
//! environment is a `venv --without-pip` populated from the lock only, every
//! file checked against its sha256 first. Files live in a hash-keyed cache
//! (`<cache>/wheels/<sha256>/<file>`), and whole environments in
//! `<cache>/envs/<key>/`, keyed by the lock's bytes, the pinned Python and
//! kiln's version, built in a temporary directory and renamed into place so
//! that a half-built one is never used. A warm build spawns no pip at all.

use crate::install::{Layout, install_wheel};
use crate::{Pep517Error, Settings};
use kiln_lock::{Lock, Package};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

type Result<T> = std::result::Result<T, Pep517Error>;

/// pip settings this machine may need to reach its index; every other
/// `PIP_*` variable (find-links, no-index, a user's defaults) is dropped so
/// that resolution and downloads mean the same everywhere.
pub const PIP_KEEP: &[&str] = &[
    "PIP_CERT",
    "PIP_CLIENT_CERT",
    "PIP_DEFAULT_TIMEOUT",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_PROXY",
    "PIP_DISABLE_PIP_VERSION_CHECK",
];

/// Of the caller's environment variable `names`, the `PIP_*` ones pip must
/// not see (all but [`PIP_KEEP`]), for [`Settings::pip_drop`].
pub fn pip_vars_to_drop(names: impl IntoIterator<Item = OsString>) -> Vec<String> {
    names
        .into_iter()
        .map(|key| key.to_string_lossy().into_owned())
        .filter(|key| key.starts_with("PIP_") && !PIP_KEEP.contains(&key.as_str()))
        .collect()
}

fn shell() -> Result<Shell> {
    Shell::new().map_err(|source| Pep517Error::Spawn {
        what: "failed to start a shell".into(),
        source,
    })
}

fn scratch(prefix: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|source| Pep517Error::Scratch { source })
}

/// The pinned interpreter, `python<version>` on PATH.
pub(crate) fn base_python(version: &str) -> Result<String> {
    let program = format!("python{version}");
    let sh = shell()?;
    let found = cmd!(
        sh,
        "{program} -c 'import sys; print(sys.version_info[0], sys.version_info[1])'"
    )
    .quiet()
    .ignore_stderr()
    .read();
    match found {
        Ok(v) if v.trim().replace(' ', ".") == version => Ok(program),
        Ok(v) => Err(Pep517Error::WrongPython {
            program,
            found: v.trim().replace(' ', "."),
            version: version.to_string(),
        }),
        Err(_) => Err(Pep517Error::NoPython {
            program,
            version: version.to_string(),
        }),
    }
}

/// A pip command with `settings.pip_drop` (and PYTHONPATH, PYTHONHOME) removed.
fn scrub_pip<'a>(mut cmd: xshell::Cmd<'a>, settings: &Settings<'_>) -> xshell::Cmd<'a> {
    for key in &settings.pip_drop {
        cmd = cmd.env_remove(key);
    }
    cmd.env_remove("PYTHONPATH").env_remove("PYTHONHOME")
}

/// Runs a pip command quietly, scrubbed as [`scrub_pip`] does; `what` names
/// the run should pip not start, and `failed` makes the error from pip's
/// stdout and stderr should it exit non-zero.
fn run_pip(
    cmd: xshell::Cmd<'_>,
    settings: &Settings<'_>,
    what: &str,
    failed: impl FnOnce(String) -> Pep517Error,
) -> Result<()> {
    let out = scrub_pip(cmd, settings)
        .quiet()
        .ignore_status()
        .output()
        .map_err(|source| Pep517Error::Spawn {
            what: what.into(),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(failed(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )))
}

/// Resolve `requires` (under `constraints`) with pip's resolver for the
/// pinned interpreter: every package, direct and transitive, as a wheel.
pub(crate) fn resolve(
    settings: &Settings<'_>,
    python: &str,
    requires: &[String],
    constraints: Option<&Path>,
) -> Result<Vec<Package>> {
    if requires.is_empty() {
        return Ok(vec![]);
    }
    let tmp = scratch("kiln-lock-")?;
    let report_path = tmp.path().join("report.json");
    let sh = shell()?;
    sh.change_dir(tmp.path());
    let constraint_args: Vec<String> = match constraints {
        Some(c) => vec!["-c".into(), c.display().to_string()],
        None => vec![],
    };
    run_pip(
        cmd!(
            sh,
            "{python} -m pip install --dry-run --ignore-installed --only-binary :all: --disable-pip-version-check --report {report_path} -q {requires...} {constraint_args...}"
        ),
        settings,
        "failed to run pip to resolve the build requirements",
        |output| Pep517Error::Resolve {
            requires: requires.to_vec(),
            output,
        },
    )?;
    let report = std::fs::read(&report_path).map_err(|source| Pep517Error::NoReport { source })?;
    let report: serde_json::Value =
        serde_json::from_slice(&report).map_err(|source| Pep517Error::BadReport { source })?;
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
            return Err(Pep517Error::NoHash { name, version, url });
        };
        let filename = percent_decode(url.rsplit('/').next().unwrap_or_default());
        let filename = filename
            .split(['#', '?'])
            .next()
            .unwrap_or_default()
            .to_string();
        if !filename.ends_with(".whl") {
            return Err(Pep517Error::NotAWheel {
                name,
                version,
                filename,
            });
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
fn fetch(settings: &Settings<'_>, lock: &Lock) -> Result<Vec<(Package, PathBuf)>> {
    let cache = &settings.cache;
    let path_of = |p: &Package| cache.join("wheels").join(&p.sha256).join(&p.filename);
    let missing: Vec<&Package> = lock
        .packages
        .iter()
        .filter(|p| !path_of(p).is_file())
        .collect();
    if !missing.is_empty() {
        let python = base_python(&settings.python)?;
        (settings.step)(&format!(
            "downloading {} locked build requirement(s)",
            missing.len()
        ));
        let tmp = scratch("kiln-download-")?;
        let reqs: String = missing
            .iter()
            .map(|p| format!("{}=={} --hash=sha256:{}\n", p.name, p.version, p.sha256))
            .collect();
        let req_file = tmp.path().join("requirements.txt");
        std::fs::write(&req_file, reqs).map_err(Pep517Error::io("write", &req_file))?;
        let dest = tmp.path().join("files");
        let sh = shell()?;
        run_pip(
            cmd!(
                sh,
                "{python} -m pip download --no-deps --only-binary :all: --require-hashes --disable-pip-version-check -q -d {dest} -r {req_file}"
            ),
            settings,
            "failed to run pip to download the locked build requirements",
            |output| Pep517Error::Download {
                packages: missing
                    .iter()
                    .map(|p| format!("{} {}", p.name, p.version))
                    .collect::<Vec<_>>()
                    .join(", "),
                output,
            },
        )?;
        for p in &missing {
            let got = dest.join(&p.filename);
            if !got.is_file() {
                return Err(Pep517Error::NotDownloaded {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    filename: p.filename.clone(),
                });
            }
            let bytes = std::fs::read(&got).map_err(Pep517Error::io("read", &got))?;
            check_hash(p, &bytes)?;
            kiln_fs::publish::write_atomic(&path_of(p), &bytes)?;
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
        return Err(Pep517Error::HashMismatch {
            name: p.name.clone(),
            version: p.version.clone(),
            filename: p.filename.clone(),
            locked: p.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

/// The populated, cached build environment for `lock`; returns its root.
/// The base interpreter is looked for only when something must be created
/// (a warm cache needs none).
pub(crate) fn ensure(settings: &Settings<'_>, lock: &Lock) -> Result<PathBuf> {
    let cache = &settings.cache;
    let mut key_input = lock.render().into_bytes();
    key_input.extend_from_slice(
        format!(
            "\0python {}\0kiln {}",
            settings.python, settings.kiln_version
        )
        .as_bytes(),
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
    let files = fetch(settings, lock)?;
    let python = base_python(&settings.python)?;
    std::fs::create_dir_all(&envs).map_err(Pep517Error::io("create", &envs))?;
    // Canonical, so that the paths Python reports compare with ours.
    let envs = envs
        .canonicalize()
        .map_err(Pep517Error::io("resolve", &envs))?;
    let final_dir = envs.join(&key);
    let tmp = tempfile::Builder::new()
        .prefix(".building-")
        .tempdir_in(&envs)
        .map_err(Pep517Error::io("create a directory in", &envs))?;
    let building = tmp.path().join("env");
    let sh = shell()?;
    let spawn = |what: &str| {
        let what = what.to_string();
        move |source| Pep517Error::Spawn { what, source }
    };
    cmd!(sh, "{python} -m venv --without-pip {building}")
        .quiet()
        .run()
        .map_err(spawn(
            "failed to create the build environment (python -m venv --without-pip)",
        ))?;
    let site = cmd!(
        sh,
        "{building}/bin/python -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))'"
    )
    .quiet()
    .read()
    .map_err(spawn(
        "failed to ask the build environment for its site-packages",
    ))?;
    let rel_site = Path::new(site.trim())
        .strip_prefix(&building)
        .map_err(|_| Pep517Error::SiteOutside { site: site.clone() })?
        .to_path_buf();
    let layout = Layout {
        root: building.clone(),
        site_packages: building.join(&rel_site),
        bin: building.join("bin"),
        include: building.join("include/site"),
        python: final_dir.join("bin/python"),
    };
    for (package, path) in &files {
        let bytes = std::fs::read(path).map_err(Pep517Error::io("read", path))?;
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
        .map_err(spawn("failed to precompile the build environment"))?;
    }
    let complete = building.join("kiln-env-complete");
    std::fs::write(&complete, &key).map_err(Pep517Error::io("write", &complete))?;
    match std::fs::rename(&building, &final_dir) {
        Ok(()) => {}
        // Another build finished the same environment first: use theirs.
        Err(_) if final_dir.join("kiln-env-complete").is_file() => {}
        Err(e) => return Err(Pep517Error::io("move the environment to", &final_dir)(e)),
    }
    Ok(final_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unlisted_pip_variables_are_dropped() {
        let names = ["PIP_INDEX_URL", "PIP_FIND_LINKS", "PATH", "PIP_NO_INDEX"].map(OsString::from);
        assert_eq!(pip_vars_to_drop(names), ["PIP_FIND_LINKS", "PIP_NO_INDEX"]);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Bb-1.0.whl"), "a+b-1.0.whl");
        assert_eq!(percent_decode("100%"), "100%");
    }
}

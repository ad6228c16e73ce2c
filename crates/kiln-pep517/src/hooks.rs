//! Running PEP 517 hooks: the embedded `driver.py` in the build
//! environment, as a subprocess with a fixed, scrubbed environment (SPEC
//! "Build modes": TZ=UTC, C.UTF-8, umask 022, PYTHONHASHSEED=0, private HOME
//! and TMPDIR, no user site, nothing inherited) so that nothing of the
//! caller's session can reach the artifacts. Compilers get prefix maps that
//! rename the private build directory to `/kiln/build`, so an absolute
//! path cannot leak into a compiled extension.

use crate::Pep517Error;
use kiln_names::Epoch;
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

type Result<T> = std::result::Result<T, Pep517Error>;

const DRIVER: &str = include_str!("driver.py");

/// Where compiled code sees its build directory, whatever the real one.
pub const MAPPED_BUILD_DIR: &str = "/kiln/build";

/// What one hook run said.
#[derive(Debug)]
pub struct HookRun {
    pub success: bool,
    /// get_requires_for_build_* (empty when it did not get that far).
    pub requires: Vec<String>,
    /// PEP 508 marker variables of the build environment.
    pub markers: Option<serde_json::Value>,
    /// build_sdist/build_wheel's file name.
    pub filename: Option<String>,
    /// The backend's stdout and stderr.
    pub output: String,
}

impl HookRun {
    /// An error showing the backend's output when `hook` failed.
    pub fn succeeded(&self, backend: &str, hook: &str) -> Result<()> {
        if !self.success {
            return Err(Pep517Error::HookFailed {
                backend: backend.to_string(),
                hook: hook.to_string(),
                output: self.output.trim_end().to_string(),
            });
        }
        Ok(())
    }
}

/// A private scratch tree for one build: HOME, TMPDIR and the trees the
/// backend reads and writes all live under it.
#[derive(Debug, Clone, Copy)]
pub struct Hooks<'a> {
    pub env: &'a Path,
    pub backend: &'a str,
    pub backend_path: &'a [String],
    /// SOURCE_DATE_EPOCH for the backend; `None` leaves it unset (the
    /// backend's own default, as a publisher who never set it got).
    pub epoch: Option<Epoch>,
    pub scratch: &'a Path,
}

impl Hooks<'_> {
    /// Run `action` (requires-sdist, requires-wheel, sdist, wheel) in `cwd`.
    pub fn run(&self, action: &str, cwd: &Path, outdir: Option<&Path>) -> Result<HookRun> {
        let home = self.scratch.join("home");
        let tmpdir = self.scratch.join("tmp");
        let driver_dir = self.scratch.join("driver");
        for dir in [&home, &tmpdir, &driver_dir] {
            std::fs::create_dir_all(dir).map_err(Pep517Error::io("create", dir))?;
        }
        let driver = driver_dir.join("kiln_pep517_driver.py");
        std::fs::write(&driver, DRIVER).map_err(Pep517Error::io("write", &driver))?;
        let result = driver_dir.join(format!("{action}.json"));
        let _ = std::fs::remove_file(&result);
        let python = self.env.join("bin/python");
        // A list of strings always serializes.
        let backend_path = serde_json::to_string(self.backend_path).unwrap_or_default();
        let backend = self.backend;
        let outdir: Vec<PathBuf> = outdir.map(Path::to_path_buf).into_iter().collect();
        let map = format!(
            "-ffile-prefix-map={}={MAPPED_BUILD_DIR} -fdebug-prefix-map={}={MAPPED_BUILD_DIR}",
            self.scratch.display(),
            self.scratch.display()
        );
        let path = format!(
            "{}:/usr/local/bin:/usr/bin:/bin",
            self.env.join("bin").display()
        );
        let hook_error = |source| Pep517Error::Hook {
            backend: self.backend.to_string(),
            source,
        };
        let sh = Shell::new().map_err(hook_error)?;
        sh.change_dir(cwd);
        let umask_022 = r#"umask 022 && exec "$0" "$@""#;
        let mut command = cmd!(
            sh,
            "/bin/sh -c {umask_022} {python} {driver} {action} {result} {backend} {backend_path} {outdir...}"
        )
        .env_clear()
        .env("PATH", path)
        .env("HOME", &home)
        .env("TMPDIR", &tmpdir)
        .env("TZ", "UTC")
        .env("LC_ALL", "C.UTF-8")
        .env("LANG", "C.UTF-8")
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONNOUSERSITE", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUTF8", "1")
        .env("VIRTUAL_ENV", self.env)
        .env("CFLAGS", &map)
        .env("CXXFLAGS", &map)
        .env("LDFLAGS", &map)
        .quiet()
        .ignore_status();
        if let Some(epoch) = self.epoch {
            command = command.env("SOURCE_DATE_EPOCH", epoch.seconds().to_string());
        }
        let out = command.output().map_err(hook_error)?;
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let parsed: Option<serde_json::Value> = std::fs::read(&result)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let requires = parsed
            .as_ref()
            .and_then(|v| v["requires"].as_array())
            .map(|list| {
                list.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(HookRun {
            success: out.status.success(),
            requires,
            markers: parsed.as_ref().map(|v| v["markers"].clone()),
            filename: parsed
                .as_ref()
                .and_then(|v| v["filename"].as_str().map(str::to_string)),
            output,
        })
    }
}

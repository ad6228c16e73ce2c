//! `cargo xtask lock`: resolve a project's build requirements (what
//! `[build-system]` requires, plus what its backend asks for) with pip's
//! resolver for the pinned Python, and write the hash lock that backend
//! mode installs from (`kiln-lock`'s format, written atomically).
//!
//! Default lock path: `release/locks/<name>.lock.toml` in the kiln checkout,
//! where `<name>` is the release.toml project's name (for `--project NAME`,
//! or a PATH that is a release.toml project) or else PATH's directory name.

use crate::config::ReleaseConfig;
use crate::engine::{default_lock_path, resolve_lock};
use crate::flags::Lock;
use crate::located::Located;
use crate::pins::Pins;
use crate::{project_root, report};
use anyhow::{Result, bail};

impl Lock {
    pub fn run(self) -> Result<()> {
        let root = project_root()?;
        let pins = Pins::load(&root)?;
        let dir = match (&self.project, &self.path) {
            (Some(_), Some(_)) => bail!("give either --project NAME or PATH, not both"),
            (None, None) => bail!("give the project to lock: --project NAME or PATH"),
            (None, Some(path)) => path.clone(),
            (Some(name), None) => {
                let config = ReleaseConfig::load(&root)?;
                let project = config.select(std::slice::from_ref(name))?;
                root.join(&project[0].path)
            }
        };
        if !dir.is_dir() {
            let message = format!("{}: no such project directory", dir.display());
            return Err(Located::at(&dir, message).into());
        }
        let lock_path = match (&self.lock, &self.project) {
            (Some(lock), _) => lock.clone(),
            (None, Some(name)) => crate::layout::lock_path(&root, name),
            (None, None) => default_lock_path(&root, &dir),
        };
        if let Some(c) = &self.constraints
            && !c.is_file()
        {
            let message = format!("{}: no such constraints file", c.display());
            return Err(Located::at(c, message).field("--constraints").into());
        }
        let like = self.like_constraints(&dir)?;
        let constraints = like.as_ref().map(|(_, path)| path.as_path());
        let lock = resolve_lock(
            &root,
            &dir,
            &pins,
            constraints.or(self.constraints.as_deref()),
        )?;
        let text = lock.render();
        let unchanged = std::fs::read_to_string(&lock_path).ok().as_deref() == Some(text.as_str());
        if !unchanged {
            kiln_fs::publish::write_atomic(&lock_path, text.as_bytes())?;
        }
        if self.json {
            report::json(kiln_report::Report::Lock(kiln_report::LockReport {
                schema: kiln_report::Version,
                project: dir.clone(),
                lock: lock_path.clone(),
                unchanged,
                build_backend: lock.build_backend.clone(),
                requires: lock.requires.clone(),
                packages: lock
                    .packages
                    .iter()
                    .map(|p| kiln_report::LockedPackage {
                        name: p.name.clone(),
                        version: p.version.clone(),
                        filename: p.filename.clone(),
                        sha256: p.sha256.clone(),
                    })
                    .collect(),
            }));
        } else {
            let rows: Vec<Vec<String>> = lock
                .packages
                .iter()
                .map(|p| vec![p.name.clone(), p.version.clone(), p.sha256.clone()])
                .collect();
            if !rows.is_empty() {
                report::eprint(&report::table(&["package", "version", "sha256"], &rows));
            }
            report::step(&format!(
                "{} {} ({} package(s), build-backend {})",
                if unchanged { "unchanged:" } else { "wrote" },
                lock_path.display(),
                lock.packages.len(),
                lock.build_backend
            ));
        }
        Ok(())
    }
}

impl Lock {
    /// With `--like WHEEL` or `--exclude-newer DATE`: the constraints file
    /// (in a temporary directory kept alive by the first value) holding
    /// `--constraints`' lines, the backend pin the wheel's Generator names
    /// and each build requirement's newest release before DATE.
    fn like_constraints(
        &self,
        dir: &std::path::Path,
    ) -> Result<Option<(tempfile::TempDir, std::path::PathBuf)>> {
        let mut extra = Vec::new();
        if let Some(date) = &self.exclude_newer {
            let requires = crate::engine::build_system(dir)?.requires;
            extra = crate::asof::exclude_newer(&requires, &self.index, date)?;
            report::step(&format!("as of {date}: {}", extra.join(", ")));
        }
        let Some(wheel) = &self.like else {
            return self.write_constraints(extra);
        };
        let name = wheel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let meta = std::fs::metadata(wheel)
            .map_err(|e| anyhow::anyhow!("--like {}: {e}", wheel.display()))?;
        if !meta.is_file() || meta.len() > 1 << 30 {
            bail!(
                "--like {}: not a wheel file of at most 1 GiB",
                wheel.display()
            );
        }
        let bytes = std::fs::read(wheel)?;
        let Some(backend) =
            kiln_infer::infer_backend(&name, &bytes, &kiln_archive::Limits::default())?
        else {
            bail!(
                "--like {}: its WHEEL names no Generator kiln can pin; give --constraints instead",
                wheel.display()
            );
        };
        report::step(&format!(
            "pinning {} as {} names it",
            backend.constraint(),
            kiln_diff::escape::escape(&name)
        ));
        extra.push(backend.constraint());
        self.write_constraints(extra)
    }

    /// `--constraints`' lines and `extra` in one temporary file; `None`
    /// when there is nothing extra.
    fn write_constraints(
        &self,
        extra: Vec<String>,
    ) -> Result<Option<(tempfile::TempDir, std::path::PathBuf)>> {
        if extra.is_empty() {
            return Ok(None);
        }
        let dir = tempfile::Builder::new().prefix("kiln-like-").tempdir()?;
        let path = dir.path().join("constraints.txt");
        crate::asof::write_constraints(self.constraints.as_deref(), &extra, &path)?;
        Ok(Some((dir, path)))
    }
}

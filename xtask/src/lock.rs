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
        let lock = resolve_lock(&root, &dir, &pins, self.constraints.as_deref())?;
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

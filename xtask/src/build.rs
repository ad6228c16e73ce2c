//! `cargo xtask build PATH`: the engine `release` and `verify` drive
//! (`engine.rs`), run on any Python project directory.

use crate::engine::{build_project, detect_mode};
use crate::flags::Build;
use crate::located::Located;
use crate::{epoch, pins::Pins, project_root, report};
use anyhow::Result;

impl Build {
    pub fn run(self) -> Result<()> {
        if !self.path.is_dir() {
            let message = format!("{}: no such project directory", self.path.display());
            return Err(Located::at(&self.path, message).into());
        }
        let root = project_root()?;
        let pins = Pins::load(&root)?;
        let mode = match self.mode {
            Some(mode) => mode,
            None => detect_mode(&self.path)?,
        };
        let epoch = epoch::resolve(self.source_date_epoch, None, None, &self.path)?;
        if epoch.clamped {
            report::warn(
                "the epoch is before 1980-01-01 and was clamped to 315532800 (zip cannot store earlier times)",
            );
        }
        let built = build_project(
            &self.path,
            &self.out,
            mode,
            epoch.epoch,
            &pins,
            self.lock.as_deref(),
            self.faithful,
        )?;
        if self.json {
            report::json(kiln_report::Report::Build(kiln_report::BuildReport {
                schema: kiln_report::Version,
                project: built.name.clone(),
                version: built.version.clone(),
                mode: built.mode,
                epoch: (&epoch).into(),
                artifacts: built.artifacts_report(),
            }));
        } else {
            let rows: Vec<Vec<String>> = built
                .artifacts
                .iter()
                .map(|a| {
                    vec![
                        a.path.display().to_string(),
                        report::human_size(a.digests.size),
                        a.digests.sha256_hex(),
                    ]
                })
                .collect();
            report::eprint(&report::table(&["artifact", "size", "sha256"], &rows));
            report::step(&format!(
                "built {} {} ({} mode, epoch {} from {})",
                built.name,
                built.version,
                built.mode,
                epoch.epoch,
                epoch.source.as_str()
            ));
        }
        Ok(())
    }
}

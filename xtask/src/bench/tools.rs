//! The tools part of `cargo xtask bench`: `normalize` and `diff` over the
//! benchmark's own artifacts (the small project and the 5,000-module large
//! one, built by kiln and by `uv build`), with wall time and peak memory.
//!
//! Peak memory is each command's own high-water resident set size, which
//! it writes to `KILN_PEAK_RSS_FILE` before exiting (see `main.rs`). Both
//! commands stream, so their peak memory should be flat in the archive
//! size: the table shows small and large side by side, and each time
//! against what building those artifacts took (kiln's build, and `uv
//! build`'s). normalize inflates and deflates every member, so it cannot
//! beat kiln's own build, which only deflates; diff only inflates.

use super::generate::{self, Backend};
use super::peers::{Runner, Tool};
use super::{Artifact, artifacts, build_once, fresh_dir, secs, stats};
use crate::report;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xshell::{Shell, cmd};

/// One measured command on one input.
#[derive(Debug)]
struct Op {
    input: &'static str,
    what: String,
    /// Total bytes of the archives the command reads.
    archive_bytes: u64,
    times: Vec<Duration>,
    /// Highest peak RSS over the runs, in KiB.
    peak_kib: Option<u64>,
    /// kiln's build time of these artifacts, for scale.
    build: Duration,
    /// `uv build`'s time for the same project, for scale.
    uv_build: Duration,
}

pub fn run(
    sh: &Shell,
    runner: &Runner,
    work: &Path,
    runs: usize,
    quick: bool,
) -> Result<(Vec<kiln_report::BenchOperation>, Option<anyhow::Error>)> {
    let mut ops = Vec::new();
    for &(name, shape) in super::shapes(quick) {
        report::step(&format!(
            "tools: building the {name} project with kiln and uv build to get artifacts"
        ));
        let base = work.join("tools").join(name);
        let files = generate::generate(shape, generate::SEED);
        let project = base.join("project");
        generate::write_project(&project, &files, Backend::UvBuild)?;
        let kiln_out = base.join("kiln");
        let uv_out = base.join("uv");
        // Warm up, then time one kiln build as the yardstick.
        build_once(sh, runner, Tool::Kiln, &project, &kiln_out, None)?;
        let build = build_once(sh, runner, Tool::Kiln, &project, &kiln_out, None)?;
        build_once(sh, runner, Tool::Uv, &project, &uv_out, None)?;
        let uv_build = build_once(sh, runner, Tool::Uv, &project, &uv_out, None)?;
        let kiln = artifacts(&kiln_out)?;
        let uv = artifacts(&uv_out)?;
        let (ks, kw) = (pick(&kiln, ".tar.gz")?, pick(&kiln, ".whl")?);
        let (us, uw) = (pick(&uv, ".tar.gz")?, pick(&uv, ".whl")?);
        let path = |dir: &Path, a: &Artifact| dir.join(&a.filename);
        let norm_out = base.join("normalized");
        let cases: Vec<(String, Vec<PathBuf>, bool, u64)> = vec![
            (
                "normalize kiln's sdist + wheel (already canonical)".into(),
                vec![path(&kiln_out, ks), path(&kiln_out, kw)],
                true,
                ks.size + kw.size,
            ),
            (
                "normalize uv's sdist + wheel".into(),
                vec![path(&uv_out, us), path(&uv_out, uw)],
                true,
                us.size + uw.size,
            ),
            (
                "diff kiln's wheel with uv's".into(),
                vec![path(&kiln_out, kw), path(&uv_out, uw)],
                false,
                kw.size + uw.size,
            ),
            (
                "diff kiln's sdist with uv's".into(),
                vec![path(&kiln_out, ks), path(&uv_out, us)],
                false,
                ks.size + us.size,
            ),
        ];
        for (what, inputs, normalize, archive_bytes) in cases {
            report::step(&format!("{name}: {what} (1 warm-up + {runs} timed)"));
            let mut times = Vec::new();
            let mut peak = None;
            for i in 0..=runs {
                fresh_dir(&norm_out)?;
                let (t, kib) = measure(sh, &runner.kiln, &inputs, normalize, &norm_out, &base)?;
                if i > 0 {
                    times.push(t);
                    peak = peak.max(kib);
                }
            }
            ops.push(Op {
                input: name,
                what,
                archive_bytes,
                times,
                peak_kib: peak,
                build,
                uv_build,
            });
        }
    }

    let rows: Vec<Vec<String>> = ops
        .iter()
        .map(|op| {
            let (median, _, _) = stats(&op.times);
            vec![
                op.input.to_string(),
                op.what.clone(),
                report::human_size(op.archive_bytes),
                secs(median),
                format!(
                    "{:.2}x",
                    median.as_secs_f64() / op.build.as_secs_f64().max(1e-9)
                ),
                format!(
                    "{:.2}x",
                    median.as_secs_f64() / op.uv_build.as_secs_f64().max(1e-9)
                ),
                op.peak_kib
                    .map_or_else(|| "n/a".into(), |k| report::human_size(k * 1024)),
            ]
        })
        .collect();
    report::eprint(&format!(
        "\ndiff and normalize ({runs} run{} after 1 warm-up; \"of kiln build\" / \"of uv build\" = median / the time kiln / uv build takes to build that project; peak = highest VmHWM)\n",
        if runs == 1 { "" } else { "s" }
    ));
    report::eprint(&report::table(
        &[
            "input",
            "command",
            "archives",
            "median",
            "of kiln build",
            "of uv build",
            "peak memory",
        ],
        &rows,
    ));
    let value = ops
        .iter()
        .map(|op| {
            let (median, min, max) = stats(&op.times);
            kiln_report::BenchOperation {
                input: op.input.to_owned(),
                command: op.what.clone(),
                archive_bytes: op.archive_bytes,
                median_seconds: median.as_secs_f64(),
                min_seconds: min.as_secs_f64(),
                max_seconds: max.as_secs_f64(),
                kiln_build_seconds: op.build.as_secs_f64(),
                uv_build_seconds: op.uv_build.as_secs_f64(),
                peak_rss_kib: op.peak_kib,
            }
        })
        .collect();
    Ok((value, None))
}

fn pick<'a>(built: &'a [Artifact], suffix: &str) -> Result<&'a Artifact> {
    built
        .iter()
        .find(|a| a.filename.ends_with(suffix))
        .with_context(|| format!("no {suffix} was built"))
}

/// Runs `kiln normalize INPUTS --out OUT` or `kiln diff A B`; wall time and
/// the command's own peak RSS in KiB (None where /proc is not there).
fn measure(
    sh: &Shell,
    kiln: &Path,
    inputs: &[PathBuf],
    normalize: bool,
    out: &Path,
    scratch: &Path,
) -> Result<(Duration, Option<u64>)> {
    let rss_file = scratch.join("peak-rss");
    let _ = std::fs::remove_file(&rss_file);
    let cmd = if normalize {
        cmd!(sh, "{kiln} normalize {inputs...} --out {out}")
    } else {
        cmd!(sh, "{kiln} diff {inputs...}")
    };
    let cmd = cmd
        .env("KILN_PEAK_RSS_FILE", &rss_file)
        .env("NO_COLOR", "1")
        .quiet()
        .ignore_status();
    let shown = cmd.to_string();
    #[allow(clippy::disallowed_methods)] // Wall time is what a benchmark measures.
    let start = Instant::now();
    let output = cmd
        .output()
        .with_context(|| format!("failed to run {shown}"))?;
    let elapsed = start.elapsed();
    // diff exits 1 when the archives differ, which is expected here.
    let ok = output.status.success() || (!normalize && output.status.code() == Some(1));
    if !ok {
        bail!(
            "`{shown}` exited with {}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let kib = std::fs::read_to_string(&rss_file).ok().and_then(|s| {
        s.split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
    });
    Ok((elapsed, kib))
}

//! `cargo xtask bench`: kiln's native build against the tools people use
//! today -- `uv build` (its built-in uv_build and the uv_build package
//! through PEP 517), and `python -m build` with hatchling and with flit_core
//! -- on generated projects, one small and one large (5,000 modules,
//! about 50 MB).
//!
//! Each tool builds an sdist and a wheel into a fresh directory, once to
//! warm up and then `--runs` times; the median wall time is compared with
//! kiln's, beside each tool's CPU time and peak memory (`meter`), and a
//! last line puts kiln's peak memory on each input next to its size. kiln
//! is then run once more on one thread, and its artifacts must be
//! byte-identical to the multi-threaded ones.
//!
//! The backend part (`backend.rs`) measures `build --mode backend` on the
//! real-world corpus against isolated `python -m build` and `uv build`,
//! warm caches, the same backend versions. `--only native|backend|tools` runs
//! one part; the default runs all three. The tools part (`tools.rs`)
//! times `diff` and `normalize` on the generated projects' artifacts and
//! reports their peak memory.
//!
//! Timing is the reason this file reads the clock; nothing it measures
//! reaches an artifact.

mod backend;
mod generate;
mod limit;
pub(crate) mod meter;
mod peers;
mod real;
mod render;
mod tools;

use crate::flags::BenchPart;
use crate::{Mismatch, project_root, report};
use anyhow::{Context, Result, bail};
use generate::{Backend, Shape};
use peers::{Runner, Tool};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xshell::Shell;

/// One benchmark input.
#[derive(Debug)]
struct Input {
    name: String,
    /// `.py` files and their total size, as generated.
    files: usize,
    bytes: u64,
    /// One copy of the project per backend.
    dirs: Vec<(Backend, PathBuf)>,
    /// kiln's compressor alone over the files (see `limit`).
    limit: Duration,
}

impl Input {
    fn dir(&self, backend: Backend) -> &Path {
        self.dirs
            .iter()
            .find(|(b, _)| *b == backend)
            .map(|(_, d)| d.as_path())
            .unwrap_or(Path::new("."))
    }
}

/// One tool's figures on one input.
#[derive(Debug)]
struct Measured {
    tool: Tool,
    times: Vec<Duration>,
    /// CPU time per timed run.
    cpu: Vec<Duration>,
    /// The highest peak RSS over the timed runs, in KiB (`meter`).
    peak_kib: Option<u64>,
    sdist: Option<Artifact>,
    wheel: Option<Artifact>,
}

// A file a tool built: its name, size and sha256, as the report lists it.
use kiln_report::BenchArtifact as Artifact;

/// kiln's artifacts built with the default thread count and with one.
#[derive(Debug)]
struct ThreadCheck {
    threads: usize,
    many: Vec<Artifact>,
    one: Vec<Artifact>,
    one_time: Duration,
}

#[derive(Debug)]
struct InputReport {
    input: Input,
    results: Vec<Measured>,
    kiln_error: Option<String>,
    thread_check: Option<ThreadCheck>,
}

impl crate::flags::Bench {
    pub fn run(self) -> Result<()> {
        let runs = if self.quick { 1 } else { self.runs };
        if runs == 0 {
            bail!("--runs 0: give at least one timed run (the default is 5)");
        }
        let (native, backend, tools) = match self.only {
            None => (true, true, true),
            Some(BenchPart::Native) => (true, false, false),
            Some(BenchPart::Backend) => (false, true, false),
            Some(BenchPart::Tools) => (false, false, true),
        };
        if !backend && !self.projects.is_empty() {
            bail!("--project selects corpus projects of the backend part: drop --only native");
        }
        let root = project_root()?;
        let sh = Shell::new()?;
        sh.change_dir(&root);
        let runner = Runner::new(&sh, &root)?;

        let work = tempfile::Builder::new()
            .prefix("kiln-bench-")
            .tempdir()
            .context("failed to create a temp directory")?;
        let mut report = kiln_report::BenchReport {
            schema: kiln_report::Version,
            runs,
            warmup_runs: 1,
            source_date_epoch: peers::EPOCH.parse::<i64>().unwrap_or(0),
            versions: runner.versions.clone(),
            seed: None,
            kiln_threads: None,
            notes: None,
            inputs: None,
            memory_probe: None,
            backend: None,
            tools: None,
        };
        // A part's failure is reported after every part has run.
        let mut failures = Vec::new();
        if native {
            let failure = self.native(&sh, &runner, work.path(), runs, &mut report)?;
            failures.extend(failure);
        }
        if backend {
            let (value, failure) =
                backend::run(&sh, &runner, &root, work.path(), runs, &self.projects)?;
            report.backend = Some(value);
            failures.extend(failure);
        }
        if tools {
            let (value, failure) = tools::run(&sh, &runner, work.path(), runs, self.quick)?;
            report.tools = Some(value);
            failures.extend(failure);
        }
        if self.json {
            report::json(kiln_report::Report::Bench(report));
        }
        match failures.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The native part: fills in its fields of the report, and returns the
    /// failure to report once every part has run.
    fn native(
        &self,
        sh: &Shell,
        runner: &Runner,
        work: &Path,
        runs: usize,
        report: &mut kiln_report::BenchReport,
    ) -> Result<Option<anyhow::Error>> {
        let threads = kiln_threads();
        let mut inputs = Vec::new();
        for &(name, shape) in shapes(self.quick) {
            report::step(&format!(
                "generating the {name} project ({} .py files, seed {:#x})",
                shape.files,
                generate::SEED
            ));
            let files = generate::generate(shape, generate::SEED);
            inputs.push(make_input(work, name.to_owned(), files, runs)?);
        }
        if !self.quick {
            let root = project_root()?;
            report::step("fetching the real projects' sdists (sha256-pinned, cached)");
            for r in real::inputs(&backend::corpus_cache(&root))? {
                inputs.push(make_input(work, r.name, r.files, runs)?);
            }
        }

        let notes = notes(runner);
        for note in &notes {
            report::step(&format!("note: {note}"));
        }
        let mut reports = Vec::new();
        for input in inputs {
            reports.push(bench_input(sh, runner, input, work, runs, threads)?);
        }
        for r in &reports {
            report::eprint(&render::human(r, runs));
        }
        let probe = if self.quick {
            None
        } else {
            Some(memory_probe(sh, runner, work)?)
        };
        report::eprint(&render::kiln_memory(&reports, probe.as_ref()));
        report.memory_probe = probe;
        report.seed = Some(generate::SEED);
        report.kiln_threads = Some(threads);
        report.notes = Some(notes);
        report.inputs = Some(reports.iter().map(render::input_report).collect());
        // A thread-count dependence is a determinism bug: exit 1.
        for r in &reports {
            if let Some(check) = &r.thread_check
                && !same_bytes(&check.many, &check.one)
            {
                let e = Mismatch(format!(
                    "{}: kiln's artifacts differ between {} threads and 1 thread",
                    r.input.name, check.threads
                ));
                return Ok(Some(e.into()));
            }
        }
        let failure = reports.iter().find(|r| r.kiln_error.is_some()).map(|r| {
            anyhow::anyhow!(
                "{}: kiln's build failed: {}",
                r.input.name,
                r.kiln_error.as_deref().unwrap_or("")
            )
        });
        Ok(failure)
    }
}

/// The generated inputs: the small project, and unless `quick` the large.
fn shapes(quick: bool) -> &'static [(&'static str, Shape)] {
    if quick {
        &[("small", generate::SMALL)]
    } else {
        &[("small", generate::SMALL), ("large", generate::LARGE)]
    }
}

/// rayon's thread count: `RAYON_NUM_THREADS` when set to a positive number,
/// else the number of cores.
fn kiln_threads() -> usize {
    #[allow(clippy::disallowed_methods)] // The bench reports the thread count kiln will use.
    let env = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0);
    env.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn notes(runner: &Runner) -> Vec<String> {
    vec![
        format!(
            "uv build (uv {}) takes its built-in fast path for uv_build projects (uv_build's code inside uv, no Python); \
             uv build --force-pep517 runs the uv_build {} package through PEP 517 in target/kiln-bench-venv",
            runner.version("uv"),
            runner.version("uv-build")
        ),
        format!(
            "python -m build (build {}) runs with --no-isolation in target/kiln-bench-venv, where hatchling {} and \
             flit_core {} are installed: isolation would measure pip creating an environment, not the backend",
            runner.version("build"),
            runner.version("hatchling"),
            runner.version("flit-core")
        ),
        "the peers build the sdist, then the wheel from the unpacked sdist (their default); all run offline \
         with SOURCE_DATE_EPOCH=1700000000, kiln with --source-date-epoch 1700000000"
            .to_string(),
    ]
}

fn make_input(
    work: &Path,
    name: String,
    files: Vec<generate::SourceFile>,
    runs: usize,
) -> Result<Input> {
    let deflate = crate::pins::Pins::load(&project_root()?)?.deflate;
    let limit = limit::compressor_limit(&files, deflate, runs);
    let bytes = files.iter().map(|f| f.bytes.len() as u64).sum();
    let mut dirs = Vec::new();
    for (backend, flavour) in [
        (Backend::UvBuild, "uv_build"),
        (Backend::Hatchling, "hatchling"),
        (Backend::Flit, "flit"),
    ] {
        let dir = work.join(name.replace(' ', "-")).join(flavour);
        generate::write_project(&dir, &files, backend)?;
        dirs.push((backend, dir));
    }
    Ok(Input {
        name,
        files: files.len(),
        bytes,
        dirs,
        limit,
    })
}

fn bench_input(
    sh: &Shell,
    runner: &Runner,
    input: Input,
    work: &Path,
    runs: usize,
    threads: usize,
) -> Result<InputReport> {
    let mut results = Vec::new();
    let mut kiln_error = None;
    let mut thread_check = None;
    for tool in Tool::ALL {
        report::step(&format!(
            "{}: {} (1 warm-up + {runs} timed)",
            input.name,
            tool.label()
        ));
        let project = input.dir(tool.backend());
        let out = work
            .join("out")
            .join(input.name.replace(' ', "-"))
            .join(tool.key());
        let mut usage = Vec::new();
        let mut failed = None;
        for _ in 0..=runs {
            match build_once_metered(sh, runner, tool, project, &out) {
                Ok(u) => usage.push(u),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            if tool == Tool::Kiln {
                // kiln's packer may not handle this project yet: measure the
                // peers anyway and fail at the end.
                report::warn(&format!(
                    "{}: kiln failed, its column stays empty: {e:#}",
                    input.name
                ));
                kiln_error = Some(format!("{e:#}"));
                continue;
            }
            return Err(e.context(format!("{}: {} failed", input.name, tool.label())));
        }
        usage.remove(0); // the warm-up
        let built = artifacts(&out)?;
        let pick = |suffix: &str| built.iter().find(|a| a.filename.ends_with(suffix)).cloned();
        let (sdist, wheel) = (pick(".tar.gz"), pick(".whl"));
        if tool == Tool::Kiln {
            let one_out = work
                .join("out")
                .join(input.name.replace(' ', "-"))
                .join("kiln-1-thread");
            report::step(&format!(
                "{}: kiln with RAYON_NUM_THREADS=1 (thread-count independence)",
                input.name
            ));
            let one_time = build_once(sh, runner, tool, project, &one_out, Some(1))
                .with_context(|| format!("{}: kiln with one thread failed", input.name))?;
            thread_check = Some(ThreadCheck {
                threads,
                many: built.clone(),
                one: artifacts(&one_out)?,
                one_time,
            });
        }
        results.push(Measured {
            tool,
            times: usage.iter().map(|u| u.wall).collect(),
            cpu: usage.iter().map(|u| u.cpu).collect(),
            peak_kib: usage.iter().map(|u| u.peak_kib).max().filter(|&k| k > 0),
            sdist,
            wheel,
        });
    }
    Ok(InputReport {
        input,
        results,
        kiln_error,
        thread_check,
    })
}

/// One build into a fresh `out`; its wall time.
fn build_once(
    sh: &Shell,
    runner: &Runner,
    tool: Tool,
    project: &Path,
    out: &Path,
    threads: Option<usize>,
) -> Result<Duration> {
    fresh_dir(out)?;
    time(runner.command(sh, tool, project, out, threads))
}

/// `build_once` under the meter: the wall time, CPU time and peak memory
/// of the tool's process tree (see `meter`). The wall time is the meter's,
/// from spawning the tool to reaping it, so the meter's own start (about
/// 2 ms) is not in it.
fn build_once_metered(
    sh: &Shell,
    runner: &Runner,
    tool: Tool,
    project: &Path,
    out: &Path,
) -> Result<meter::Usage> {
    fresh_dir(out)?;
    let file = out.with_extension("meter");
    let _ = std::fs::remove_file(&file);
    let cmd = runner.command(sh, tool, project, out, None);
    time(meter::wrap(sh, &runner.kiln, cmd, &file))?;
    meter::read(&file)
}

/// kiln alone, once, on the huge generated project: its peak memory.
fn memory_probe(sh: &Shell, runner: &Runner, work: &Path) -> Result<kiln_report::BenchMemoryProbe> {
    let shape = generate::HUGE;
    report::step(&format!(
        "memory probe: generating the huge project ({} .py files) and building it with kiln once",
        shape.files
    ));
    let files = generate::generate(shape, generate::SEED);
    let bytes = files.iter().map(|f| f.bytes.len() as u64).sum();
    let dir = work.join("huge").join("uv_build");
    generate::write_project(&dir, &files, Backend::UvBuild)?;
    drop(files);
    let out = work.join("out").join("huge").join(Tool::Kiln.key());
    let usage = build_once_metered(sh, runner, Tool::Kiln, &dir, &out)
        .context("memory probe: kiln's build of the huge project failed")?;
    std::fs::remove_dir_all(work.join("huge"))
        .context("memory probe: failed to remove the huge project")?;
    Ok(kiln_report::BenchMemoryProbe {
        name: "huge".to_owned(),
        py_files: shape.files,
        py_bytes: bytes,
        seconds: usage.wall.as_secs_f64(),
        peak_rss_kib: usage.peak_kib,
    })
}

/// Empties (or creates) `dir`.
fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("failed to remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))
}

/// Runs `cmd` to completion; its wall time, or an error with the end of
/// its output.
fn time(cmd: xshell::Cmd<'_>) -> Result<Duration> {
    let cmd = cmd.quiet().ignore_status();
    let shown = cmd.to_string();
    #[allow(clippy::disallowed_methods)] // Wall time is what a benchmark measures.
    let start = Instant::now();
    let output = cmd
        .output()
        .with_context(|| format!("failed to run {shown}"))?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let tail: Vec<&str> = stderr
            .lines()
            .chain(stdout.lines())
            .rev()
            .take(15)
            .collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "`{shown}` exited with {}:\n{}",
            output.status,
            tail.join("\n")
        );
    }
    Ok(elapsed)
}

/// The sdists and wheels in `out`, sorted by name.
fn artifacts(out: &Path) -> Result<Vec<Artifact>> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(out)
        .min_depth(1)
        .max_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.with_context(|| format!("failed to list {}", out.display()))?;
        let filename = entry.file_name().to_string_lossy().into_owned();
        if !(filename.ends_with(".tar.gz") || filename.ends_with(".whl")) {
            continue;
        }
        let bytes = std::fs::read(entry.path())
            .with_context(|| format!("failed to read {}", entry.path().display()))?;
        found.push(Artifact {
            size: bytes.len() as u64,
            sha256: kiln_digest::hex(&kiln_digest::sha256(&bytes)),
            filename,
        });
    }
    Ok(found)
}

fn same_bytes(a: &[Artifact], b: &[Artifact]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.filename == y.filename && x.sha256 == y.sha256)
}

/// The median (the mean of the middle two for an even count), min and max.
fn stats(times: &[Duration]) -> (Duration, Duration, Duration) {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    if n == 0 {
        return (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    }
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    };
    (median, sorted[0], sorted[n - 1])
}

/// Peer median / kiln median: above 1, kiln is faster.
fn ratio(median: Duration, kiln: Option<Duration>) -> Option<f64> {
    kiln.filter(|k| !k.is_zero())
        .map(|k| median.as_secs_f64() / k.as_secs_f64())
}

/// 0.0123 → "12.3 ms", 2.5 → "2.50 s".
fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|&n| Duration::from_millis(n))
                .collect::<Vec<_>>()
        };
        let (median, min, max) = stats(&ms(&[30, 10, 20]));
        assert_eq!(
            (median, min, max),
            (
                Duration::from_millis(20),
                Duration::from_millis(10),
                Duration::from_millis(30)
            )
        );
        assert_eq!(stats(&ms(&[40, 10, 20, 30])).0, Duration::from_millis(25));
    }

    #[test]
    fn ratio_is_peer_over_kiln() {
        let r = ratio(Duration::from_secs(3), Some(Duration::from_secs(1)));
        assert_eq!(r, Some(3.0));
        assert_eq!(ratio(Duration::from_secs(3), None), None);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(secs(Duration::from_micros(12_345)), "12.3 ms");
        assert_eq!(secs(Duration::from_millis(2_500)), "2.50 s");
    }
}

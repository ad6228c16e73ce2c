//! `cargo xtask bench`: kiln's native build against the tools people use
//! today -- `uv build` (its built-in uv_build and the uv_build package
//! through PEP 517), and `python -m build` with hatchling and with flit_core
//! -- on generated projects, one small and one large (5,000 modules,
//! about 50 MB).
//!
//! Each tool builds an sdist and a wheel into a fresh directory, once to
//! warm up and then `--runs` times; the median wall time is compared with
//! kiln's. kiln is then run once more on one thread, and its artifacts must
//! be byte-identical to the multi-threaded ones.
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
mod peers;
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
    name: &'static str,
    /// `.py` files and their total size, as generated.
    files: usize,
    bytes: u64,
    /// One copy of the project per backend.
    dirs: Vec<(Backend, PathBuf)>,
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
            inputs.push(make_input(work, name, shape)?);
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
            report::eprint(&human(r, runs));
        }
        report.seed = Some(generate::SEED);
        report.kiln_threads = Some(threads);
        report.notes = Some(notes);
        report.inputs = Some(reports.iter().map(input_report).collect());
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

fn make_input(work: &Path, name: &'static str, shape: Shape) -> Result<Input> {
    let files = generate::generate(shape, generate::SEED);
    let bytes = files.iter().map(|f| f.bytes.len() as u64).sum();
    let mut dirs = Vec::new();
    for (backend, flavour) in [
        (Backend::UvBuild, "uv_build"),
        (Backend::Hatchling, "hatchling"),
        (Backend::Flit, "flit"),
    ] {
        let dir = work.join(name).join(flavour);
        generate::write_project(&dir, &files, backend)?;
        dirs.push((backend, dir));
    }
    Ok(Input {
        name,
        files: files.len(),
        bytes,
        dirs,
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
        let out = work.join("out").join(input.name).join(tool.key());
        let mut times = Vec::new();
        let mut failed = None;
        for _ in 0..=runs {
            match build_once(sh, runner, tool, project, &out, None) {
                Ok(t) => times.push(t),
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
        times.remove(0); // the warm-up
        let built = artifacts(&out)?;
        let pick = |suffix: &str| built.iter().find(|a| a.filename.ends_with(suffix)).cloned();
        let (sdist, wheel) = (pick(".tar.gz"), pick(".whl"));
        if tool == Tool::Kiln {
            let one_out = work.join("out").join(input.name).join("kiln-1-thread");
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
            times,
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

fn kiln_median(r: &InputReport) -> Option<Duration> {
    r.results
        .iter()
        .find(|m| m.tool == Tool::Kiln)
        .map(|m| stats(&m.times).0)
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

fn human(r: &InputReport, runs: usize) -> String {
    let kiln = kiln_median(r);
    let size = |a: &Option<Artifact>| {
        a.as_ref()
            .map_or_else(|| "-".to_string(), |a| report::human_size(a.size))
    };
    let mut rows: Vec<Vec<String>> = r
        .results
        .iter()
        .map(|m| {
            let (median, min, max) = stats(&m.times);
            vec![
                m.tool.label().to_string(),
                secs(median),
                format!("{}–{}", secs(min), secs(max)),
                ratio(median, kiln).map_or_else(|| "n/a".to_string(), |x| format!("{x:.2}x")),
                size(&m.sdist),
                size(&m.wheel),
            ]
        })
        .collect();
    if let Some(e) = &r.kiln_error {
        let first = e.lines().next().unwrap_or("");
        rows.insert(
            0,
            vec![
                Tool::Kiln.label().to_string(),
                report::bad("failed"),
                first.to_string(),
                "".into(),
                "".into(),
                "".into(),
            ],
        );
    }
    let mut text = format!(
        "\n{} project: {} .py files, {} ({} run{} after 1 warm-up; ratio = tool median / kiln median, >1 means kiln is faster)\n",
        r.input.name,
        r.input.files,
        report::human_size(r.input.bytes),
        runs,
        if runs == 1 { "" } else { "s" }
    );
    text.push_str(&report::table(
        &["tool", "median", "min–max", "vs kiln", "sdist", "wheel"],
        &rows,
    ));
    if let Some(check) = &r.thread_check {
        let verdict = if same_bytes(&check.many, &check.one) {
            report::ok("identical")
        } else {
            report::bad("DIFFERENT")
        };
        text.push_str(&format!(
            "kiln threads: {} (rayon default = cores); one thread took {}; artifacts {verdict}:\n",
            check.threads,
            secs(check.one_time)
        ));
        let rows: Vec<Vec<String>> = check
            .many
            .iter()
            .zip(&check.one)
            .flat_map(|(many, one)| {
                [
                    vec![
                        format!("  {}", many.filename),
                        format!("{} threads", check.threads),
                        many.sha256.clone(),
                    ],
                    vec![
                        format!("  {}", one.filename),
                        "1 thread".to_string(),
                        one.sha256.clone(),
                    ],
                ]
            })
            .collect();
        text.push_str(&report::table(&["  artifact", "kiln", "sha256"], &rows));
    }
    text
}

fn input_report(r: &InputReport) -> kiln_report::BenchInput {
    let kiln = kiln_median(r);
    let results = r
        .results
        .iter()
        .map(|m| {
            let (median, min, max) = stats(&m.times);
            kiln_report::BenchResult {
                tool: m.tool.key().to_owned(),
                label: m.tool.label().to_owned(),
                median_seconds: median.as_secs_f64(),
                min_seconds: min.as_secs_f64(),
                max_seconds: max.as_secs_f64(),
                times_seconds: m.times.iter().map(Duration::as_secs_f64).collect(),
                ratio_to_kiln: ratio(median, kiln),
                sdist: m.sdist.clone(),
                wheel: m.wheel.clone(),
            }
        })
        .collect();
    let thread_check = r.thread_check.as_ref().map(|c| {
        let list = |v: &[Artifact]| {
            v.iter()
                .map(|a| kiln_report::ThreadCheckArtifact {
                    filename: a.filename.clone(),
                    sha256: a.sha256.clone(),
                })
                .collect()
        };
        kiln_report::ThreadCheck {
            threads: c.threads,
            artifacts: list(&c.many),
            single_thread_artifacts: list(&c.one),
            single_thread_seconds: c.one_time.as_secs_f64(),
            identical: same_bytes(&c.many, &c.one),
        }
    });
    kiln_report::BenchInput {
        name: r.input.name.to_owned(),
        py_files: r.input.files,
        py_bytes: r.input.bytes,
        results,
        kiln_error: r.kiln_error.clone(),
        thread_check,
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

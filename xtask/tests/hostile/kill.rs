//! Hostile inputs: kill. `release` is SIGKILLed at random points (a fixed
//! seed, delays spread over a release's measured duration, a loop bounded
//! in time) on a fresh clone whose releases alternate between two
//! versions, so a mix of the previous release and the new one shows. After
//! every kill `dist/` must hold the previous complete release or the new
//! complete one, nothing else; after every few kills a complete release
//! must succeed and leave no debris anywhere: no `.kiln-staging-*` or
//! `.kiln-tmp-*` in the clone, no temporary file among the records (git
//! sees none), nothing in the private `TMPDIR` (where the reproduce copies
//! used to pile up).

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn processes, read the clock and report progress.

use crate::common::{commit, git, root};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The whole loop's time bound (calibration included), stretched to
/// `LIMIT` on a slow machine until `MIN_KILLS` running releases were
/// killed.
const BUDGET: Duration = Duration::from_secs(60);
const LIMIT: Duration = Duration::from_secs(90);
const MIN_KILLS: usize = 30;
/// A complete release after this many kills, then the debris check.
const KILLS_PER_ROUND: usize = 3;
/// The kill delays' seed: a failure names its iteration and delay, and
/// reruns the same sequence.
const SEED: u64 = 0x6b69_6c6c_2d39_0006;

/// xorshift64*: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A clone with two branches: `a` (the committed 0.1.0) and `b` (0.2.0),
/// and a private TMPDIR for every run.
struct Clone {
    _tmp: tempfile::TempDir,
    repo: PathBuf,
    tmpdir: PathBuf,
}

impl Clone {
    fn new() -> Clone {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        let tmpdir = tmp.path().join("tmp");
        fs::create_dir(&tmpdir).unwrap();
        git(
            tmp.path(),
            &[
                "clone",
                "--quiet",
                "--no-hardlinks",
                root().to_str().unwrap(),
                repo.to_str().unwrap(),
            ],
        );
        git(&repo, &["checkout", "--quiet", "-b", "a"]);
        git(&repo, &["checkout", "--quiet", "-b", "b"]);
        let pyproject = repo.join("examples/kiln-sums/pyproject.toml");
        let text = fs::read_to_string(&pyproject).unwrap();
        assert!(text.contains("version = \"0.1.0\""));
        fs::write(
            &pyproject,
            text.replace("version = \"0.1.0\"", "version = \"0.2.0\""),
        )
        .unwrap();
        commit(&repo, &["-am", "kiln-sums 0.2.0"]);
        Clone {
            _tmp: tmp,
            repo,
            tmpdir,
        }
    }

    fn dist(&self) -> PathBuf {
        self.repo.join("dist")
    }

    /// Checks out `version`'s branch; for b, removes its record so that
    /// the release writes it (a kill can land in that write).
    fn prepare(&self, version: Version) {
        git(&self.repo, &["checkout", "--quiet", version.branch()]);
        if version == Version::B {
            let _ = fs::remove_file(self.repo.join("release/records/kiln-sums/0.2.0.distinfo"));
        }
    }

    /// `xtask release` in its own process group (the second build it
    /// spawns is in the group too).
    fn spawn(&self, stderr: Stdio) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("release")
            .current_dir(&self.repo)
            .env_remove("SOURCE_DATE_EPOCH")
            .env("NO_COLOR", "1")
            .env("TMPDIR", &self.tmpdir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .unwrap()
    }

    /// A complete release of `version`; its duration.
    fn release(&self, version: Version) -> Duration {
        self.prepare(version);
        let start = Instant::now();
        let out = self.spawn(Stdio::piped()).wait_with_output().unwrap();
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "release of {version:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        took
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    A,
    B,
}

impl Version {
    fn branch(self) -> &'static str {
        match self {
            Version::A => "a",
            Version::B => "b",
        }
    }
    fn other(self) -> Version {
        match self {
            Version::A => Version::B,
            Version::B => Version::A,
        }
    }
}

/// What a complete release put into dist: every file name, and the bytes
/// of those that are the same every time (all but the provenance, whose
/// run details carry the time).
#[derive(Debug, Clone, PartialEq)]
struct Snapshot(BTreeMap<String, Option<Vec<u8>>>);

fn snapshot(dist: &Path) -> Snapshot {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dist).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let bytes = (!name.ends_with(".intoto.jsonl")).then(|| fs::read(entry.path()).unwrap());
        files.insert(name, bytes);
    }
    Snapshot(files)
}

/// Which complete release `dist` holds, or what is wrong with it.
fn which(dist: &Path, expected: &[(Version, &Snapshot)]) -> Result<Version, String> {
    let names: Vec<String> = match fs::read_dir(dist) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => return Err(format!("dist cannot be listed: {e}")),
    };
    let mut names = names;
    names.sort();
    for (version, snapshot) in expected {
        if !names.iter().eq(snapshot.0.keys()) {
            continue;
        }
        for (name, want) in &snapshot.0 {
            let got = fs::read(dist.join(name)).map_err(|e| format!("{name}: {e}"))?;
            match want {
                Some(want) if *want != got => {
                    return Err(format!("{name} differs from the complete {version:?}"));
                }
                Some(_) => {}
                None => {
                    // The provenance: one complete JSON line.
                    let text = String::from_utf8(got).map_err(|_| format!("{name}: not UTF-8"))?;
                    let line = text
                        .strip_suffix('\n')
                        .filter(|l| !l.contains('\n'))
                        .ok_or_else(|| format!("{name}: not one line"))?;
                    serde_json::from_str::<serde_json::Value>(line)
                        .map_err(|e| format!("{name}: not complete JSON: {e}"))?;
                }
            }
        }
        // SHA256SUMS agrees with the artifacts beside it.
        let sums = String::from_utf8(fs::read(dist.join("SHA256SUMS")).unwrap()).unwrap();
        for line in sums.lines() {
            let (hex, file) = line.split_once("  ").unwrap();
            let bytes = fs::read(dist.join(file)).map_err(|e| format!("{file}: {e}"))?;
            if kiln_digest::hex(&kiln_digest::sha256(&bytes)) != hex {
                return Err(format!("{file}: SHA256SUMS does not check"));
            }
        }
        return Ok(*version);
    }
    Err(format!("dist holds neither complete release: {names:?}"))
}

/// Everything a complete run must not leave: kiln's staging and temporary
/// entries anywhere in the clone, temporary files among the records,
/// anything in the private TMPDIR, and any file git sees as new besides
/// b's record.
fn debris(clone: &Clone) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(&clone.repo)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
    {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy();
        let in_records = entry
            .path()
            .strip_prefix(&clone.repo)
            .unwrap()
            .starts_with("release/records");
        if name.starts_with(".kiln-staging-")
            || name.starts_with(".kiln-tmp-")
            || (in_records && name.starts_with(".tmp"))
        {
            found.push(entry.path().display().to_string());
        }
    }
    for entry in fs::read_dir(&clone.tmpdir).unwrap() {
        found.push(entry.unwrap().path().display().to_string());
    }
    let status = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(&clone.repo)
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&status.stdout).lines() {
        if line != "?? release/records/kiln-sums/0.2.0.distinfo" {
            found.push(format!("git status: {line}"));
        }
    }
    found
}

/// Kills the whole process group (the release and its second build), or
/// only the release and then waits until its orphaned child is gone too.
/// Whether the release was still running (else it had finished).
fn kill(child: &mut std::process::Child, whole_group: bool) -> bool {
    let running = child.try_wait().unwrap().is_none();
    let group = format!("-{}", child.id());
    if whole_group {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
    } else {
        let _ = child.kill();
        let _ = child.wait();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Command::new("kill")
            .args(["-0", "--", &group])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
        {
            assert!(
                Instant::now() < deadline,
                "the release's child outlived it by 30 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    running
}

/// The median of the last few durations.
fn recent(measured: &[Duration]) -> Duration {
    let mut last: Vec<Duration> = measured.iter().rev().take(7).copied().collect();
    last.sort();
    last[last.len() / 2]
}

#[test]
fn killed_release_leaves_the_previous_or_the_new_release_and_no_debris() {
    // The loop's timings are calibrated on a machine it does not share
    // with the bounded runs of the other hostile tests.
    let _turn = crate::harness::exclusive();
    let started = Instant::now();
    let clone = Clone::new();
    let dist = clone.dist();

    // Calibration: one complete release of each version, measured.
    let took_a = clone.release(Version::A);
    let a = snapshot(&dist);
    let took_b = clone.release(Version::B);
    let b = snapshot(&dist);
    assert!(a.0.keys().any(|n| n.contains("0.1.0")) && b.0.keys().any(|n| n.contains("0.2.0")));
    let expected = [(Version::A, &a), (Version::B, &b)];
    let found = debris(&clone);
    assert!(
        found.is_empty(),
        "a complete release left debris: {found:#?}"
    );
    // The delays follow the releases' duration, measured on every complete
    // run (the machine's load changes it).
    let mut measured = vec![took_a, took_b];

    let mut rng = Rng(SEED);
    let mut previous = Version::B;
    let (mut kills, mut finished, mut after_swap, mut rounds) = (0usize, 0usize, 0usize, 0usize);
    while started.elapsed() < BUDGET || (kills - finished < MIN_KILLS && started.elapsed() < LIMIT)
    {
        for _ in 0..KILLS_PER_ROUND {
            let target = previous.other();
            clone.prepare(target);
            // Half of the kills spread over the whole release (to a little
            // past its mean end), half over its second half, where it
            // publishes.
            let mean = recent(&measured);
            let start = if rng.next().is_multiple_of(2) {
                0.0
            } else {
                0.5
            };
            let delay = mean.mul_f64(start + (1.05 - start) * rng.unit());
            let whole_group = rng.next().is_multiple_of(2);
            let mut child = clone.spawn(Stdio::null());
            std::thread::sleep(delay);
            let running = kill(&mut child, whole_group);
            kills += 1;
            let now = which(&dist, &expected).unwrap_or_else(|e| {
                panic!(
                    "kill {kills} (seed {SEED:#x}, {delay:?} into a release of {target:?} after {previous:?}, {}): {e}",
                    if whole_group { "process group" } else { "release only" }
                )
            });
            assert!(
                now == previous || now == target,
                "kill {kills}: dist holds {now:?}, neither {previous:?} nor {target:?}"
            );
            match (running, now == target) {
                (false, _) => finished += 1,
                (true, true) => after_swap += 1,
                (true, false) => {}
            }
            previous = now;
        }
        // The next complete run succeeds and cleans up after the kills.
        let target = previous.other();
        measured.push(clone.release(target));
        assert_eq!(which(&dist, &expected).unwrap(), target);
        previous = target;
        let found = debris(&clone);
        assert!(
            found.is_empty(),
            "after {kills} kills, a complete release left debris: {found:#?}"
        );
        rounds += 1;
    }
    let mean = measured.iter().sum::<Duration>() / measured.len() as u32;
    eprintln!(
        "killed_release: a release took {mean:?} on average ({took_a:?} for 0.1.0, {took_b:?} for 0.2.0 first); \
         {kills} kills ({finished} came after the release had finished; of the others, {after_swap} after its swap \
         had published the new release, the rest before: dist held the previous one), \
         {rounds} complete releases after them, no debris; {:?} in all",
        started.elapsed()
    );
    assert!(
        kills - finished >= MIN_KILLS,
        "only {} kills of a running release within {LIMIT:?}",
        kills - finished
    );
}

/// Cleaning up after killed runs must never touch a live one: releases
/// started while another is running (its staging directory, second build
/// and temporary files in use) all succeed, and leave no debris.
#[test]
fn killed_release_cleanup_spares_a_concurrent_release() {
    let clone = Clone::new();
    let dist = clone.dist();
    let took = clone.release(Version::A);
    let a = snapshot(&dist);
    let mut rng = Rng(SEED);
    for round in 0..4 {
        let first = clone.spawn(Stdio::piped());
        std::thread::sleep(took.mul_f64(0.8 * rng.unit()));
        let second = clone.spawn(Stdio::piped());
        for (which_one, child) in [("first", first), ("second", second)] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: the {which_one} of two concurrent releases failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(which(&dist, &[(Version::A, &a)]).unwrap(), Version::A);
        let found = debris(&clone);
        assert!(found.is_empty(), "round {round}: debris: {found:#?}");
    }
}

/// Publishing replaces the whole dist directory, so a dist holding files
/// no release writes is refused before any work (exit 2, naming them),
/// and nothing of it is lost; what killed runs left in it is no obstacle.
#[test]
fn killed_release_publish_refuses_a_dist_holding_files_no_release_writes() {
    let clone = Clone::new();
    let dist = clone.dist();
    fs::create_dir_all(dist.join("notes")).unwrap();
    fs::write(dist.join("notes.txt"), "mine").unwrap();
    fs::write(dist.join(".kiln-tmp-old"), "debris").unwrap();
    let out = crate::harness::run(&clone.repo, &["release"]);
    out.expect(2, "notes.txt");
    assert!(out.stderr.contains("\"notes\""), "{}", out.stderr);
    assert_eq!(fs::read_to_string(dist.join("notes.txt")).unwrap(), "mine");
    assert!(dist.join("notes").is_dir());
    fs::remove_dir(dist.join("notes")).unwrap();
    fs::remove_file(dist.join("notes.txt")).unwrap();
    clone.release(Version::B);
    assert!(!dist.join(".kiln-tmp-old").exists());
    let found = debris(&clone);
    assert!(found.is_empty(), "debris: {found:#?}");
}

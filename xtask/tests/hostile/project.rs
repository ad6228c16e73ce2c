//! Hostile inputs: project. Files a project points at (readme, license,
//! license files, data, walked files) that lead outside it, are not
//! regular files, or are huge, given to the real `build` command: each is
//! refused with exit 2 naming the file, promptly and in bounded memory, or
//! (a huge regular file) packed with memory flat in its size; nothing is
//! left in `--out` either way.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stderr)] // Tests spawn mkfifo and panic on setup failures.

use crate::harness;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SECRET: &str = "kiln-test-secret-that-must-never-reach-an-artifact";

/// A valid uv_build project `proj` in `dir` with `extra` appended to its
/// `[project]` table, and a secret file beside it (outside the project).
fn project(dir: &Path, extra: &str) -> PathBuf {
    let p = dir.join("proj");
    fs::create_dir_all(p.join("src/proj")).unwrap();
    fs::write(
        p.join("pyproject.toml"),
        format!(
            "[project]\nname = \"proj\"\nversion = \"1.0\"\n{extra}\n[build-system]\nrequires = [\"uv_build>=0.13,<0.14\"]\nbuild-backend = \"uv_build\"\n"
        ),
    )
    .unwrap();
    fs::write(p.join("src/proj/__init__.py"), "x = 1\n").unwrap();
    fs::write(dir.join("secret"), SECRET).unwrap();
    p
}

fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) {
    let link = link.as_ref();
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn mkfifo(path: &Path) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

/// `build proj --out out` in `dir`, with a deadline.
fn build(dir: &Path, deadline: Duration) -> harness::Outcome {
    harness::run_with(
        dir,
        &[
            "build",
            "proj",
            "--out",
            "out",
            "--source-date-epoch",
            "1700000000",
        ],
        &[],
        deadline,
    )
}

/// Exit 2 naming `needle`, within the suite's bounds, nothing in `out/`,
/// and the secret in no output.
#[track_caller]
fn refused(dir: &Path, needle: &str) -> harness::Outcome {
    let o = build(dir, harness::TIME);
    o.expect(2, needle).under(harness::MEMORY_KIB);
    assert_out_empty(dir);
    assert!(
        !o.stderr.contains(SECRET) && !o.stdout.contains(SECRET),
        "the secret was printed:\n{}",
        o.stderr
    );
    o
}

#[track_caller]
fn assert_out_empty(dir: &Path) {
    let left: Vec<_> = fs::read_dir(dir.join("out"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in --out: {left:?}");
}

// Finding 1: files from outside the project reach signed artifacts.

#[test]
fn symlinked_license_in_excluded_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "license = { file = \"__pycache__/LICENSE\" }\n");
    symlink(tmp.path().join("secret"), p.join("__pycache__/LICENSE"));
    let o = refused(tmp.path(), "__pycache__/LICENSE");
    assert!(o.stderr.contains("outside the project"), "{}", o.stderr);
}

#[test]
fn symlinked_readme_in_excluded_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "readme = \"__pycache__/README.md\"\n");
    symlink(tmp.path().join("secret"), p.join("__pycache__/README.md"));
    let o = refused(tmp.path(), "__pycache__/README.md");
    assert!(o.stderr.contains("outside the project"), "{}", o.stderr);
}

#[test]
fn symlinked_readme_outside_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "readme = \"README.md\"\n");
    symlink(tmp.path().join("secret"), p.join("README.md"));
    refused(tmp.path(), "README.md");
}

#[test]
fn symlinked_license_files_dir_outside_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "license-files = [\"LICENSES/*\"]\n");
    fs::create_dir_all(tmp.path().join("elsewhere")).unwrap();
    fs::write(tmp.path().join("elsewhere/MIT"), SECRET).unwrap();
    symlink(tmp.path().join("elsewhere"), p.join("LICENSES"));
    refused(tmp.path(), "LICENSES");
}

#[test]
fn symlinked_data_dir_outside_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    let text = fs::read_to_string(p.join("pyproject.toml")).unwrap();
    fs::write(
        p.join("pyproject.toml"),
        format!("{text}\n[tool.uv.build-backend]\ndata = {{ data = \"share\" }}\n"),
    )
    .unwrap();
    fs::create_dir_all(tmp.path().join("elsewhere")).unwrap();
    fs::write(tmp.path().join("elsewhere/d.txt"), SECRET).unwrap();
    symlink(tmp.path().join("elsewhere"), p.join("share"));
    refused(tmp.path(), "share");
}

#[test]
fn excluded_symlink_leaving_the_project_is_refused() {
    // The check comes before the excludes: a link out of the project is
    // refused even where `__pycache__` would have been skipped.
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    symlink(tmp.path(), p.join("src/proj/__pycache__"));
    refused(tmp.path(), "__pycache__");
}

#[test]
fn symlink_loop_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    symlink("..", p.join("src/proj/again"));
    refused(tmp.path(), "again");
}

#[test]
fn symlink_inside_the_project_is_still_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(
        tmp.path(),
        "readme = \"docs/README.md\"\nlicense = { file = \"LICENSE\" }\n",
    );
    fs::create_dir_all(p.join("docs")).unwrap();
    fs::write(p.join("real-readme.md"), "# proj\n").unwrap();
    symlink("../real-readme.md", p.join("docs/README.md"));
    fs::write(p.join("COPYING"), "MIT\n").unwrap();
    symlink("COPYING", p.join("LICENSE"));
    // Links no include can reach are not followed, wherever they point.
    symlink(tmp.path(), p.join(".venv"));
    let o = build(tmp.path(), harness::TIME);
    o.expect(0, "built proj 1.0").under(harness::MEMORY_KIB);
}

// Finding 3: a FIFO as pyproject.toml, or as a readme inside an excluded
// directory, hung `build` forever.

#[test]
fn fifo_pyproject_is_refused_promptly() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    fs::remove_file(p.join("pyproject.toml")).unwrap();
    mkfifo(&p.join("pyproject.toml"));
    let o = refused(tmp.path(), "pyproject.toml");
    assert!(o.stderr.contains("FIFO"), "{}", o.stderr);
}

#[test]
fn fifo_readme_in_excluded_dir_is_refused_promptly() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "readme = \"__pycache__/README.md\"\n");
    mkfifo(&p.join("__pycache__/README.md"));
    let o = refused(tmp.path(), "__pycache__/README.md");
    assert!(o.stderr.contains("FIFO"), "{}", o.stderr);
}

#[test]
fn fifo_license_and_member_are_refused_promptly() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "license = { file = \"LICENSE\" }\n");
    mkfifo(&p.join("LICENSE"));
    refused(tmp.path(), "LICENSE");
    fs::remove_file(p.join("LICENSE")).unwrap();
    fs::write(p.join("LICENSE"), "MIT\n").unwrap();
    mkfifo(&p.join("src/proj/pipe.py"));
    refused(tmp.path(), "pipe.py");
}

// Finding 4: whole-file reads.

#[test]
fn pyproject_symlinked_to_dev_zero_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    fs::remove_file(p.join("pyproject.toml")).unwrap();
    symlink("/dev/zero", p.join("pyproject.toml"));
    refused(tmp.path(), "pyproject.toml");
}

#[test]
fn huge_pyproject_is_refused_before_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    let f = fs::OpenOptions::new()
        .append(true)
        .open(p.join("pyproject.toml"))
        .unwrap();
    f.set_len(1 << 30).unwrap(); // sparse: 1 GiB of zeros after the text
    let o = refused(tmp.path(), "pyproject.toml");
    assert!(o.stderr.contains("bytes"), "{}", o.stderr);
}

#[test]
fn huge_readme_is_refused_before_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "readme = \"README.md\"\n");
    fs::File::create(p.join("README.md"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    refused(tmp.path(), "README.md");
}

/// A sparse file of `size` bytes of zeros.
fn sparse(path: &Path, size: u64) {
    fs::File::create(path).unwrap().set_len(size).unwrap();
}

#[test]
fn huge_sparse_member_is_packed_in_flat_memory() {
    // 512 MiB, read whole twice before: now streamed into both archives.
    const SIZE: u64 = 512 << 20;
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    sparse(&p.join("src/proj/big.bin"), SIZE);
    let o = build(tmp.path(), Duration::from_secs(300));
    o.expect(0, "built proj 1.0").under(harness::MEMORY_KIB);
    let peak = o.peak_kib.unwrap();
    eprintln!(
        "huge_sparse_member_is_packed_in_flat_memory: {} MiB member, peak RSS {} MiB, {:.1} s",
        SIZE >> 20,
        peak >> 10,
        o.elapsed.as_secs_f64()
    );
    assert!(peak * 1024 < SIZE / 4, "peak RSS {peak} KiB is not flat");
    // Both archives hold the member with its size.
    let wheel = fs::File::open(tmp.path().join("out/proj-1.0-py3-none-any.whl")).unwrap();
    let mut zip = zip::ZipArchive::new(wheel).unwrap();
    assert_eq!(zip.by_name("proj/big.bin").unwrap().size(), SIZE);
    let mut record = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("proj-1.0.dist-info/RECORD").unwrap(),
        &mut record,
    )
    .unwrap();
    assert!(
        record.contains("proj/big.bin,sha256=") && record.contains(&format!(",{SIZE}\n")),
        "{record}"
    );
    let names: Vec<_> = fs::read_dir(tmp.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".kiln-tmp-")),
        "{names:?}"
    );
}

#[test]
fn five_gib_member_is_an_error_not_an_abort_and_leaves_nothing_in_out() {
    // Too large for a zip without zip64: refused before anything is
    // written, naming the file, instead of aborting a worker.
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    sparse(&p.join("src/proj/huge.bin"), 5 << 30);
    let o = refused(tmp.path(), "huge.bin");
    assert!(o.stderr.contains("zip64"), "{}", o.stderr);
}

/// `xtask ARGS --json` in `dir`: exit 2 naming `needle`, and the error
/// object's `path` and `field`.
#[track_caller]
fn json_error(dir: &Path, args: &[&str], needle: &str) -> (serde_json::Value, serde_json::Value) {
    let args = [args, &["--json"]].concat();
    let o = harness::run(dir, &args);
    o.expect(2, needle).under(harness::MEMORY_KIB);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "bad-input", "{v}");
    (v["error"]["path"].clone(), v["error"]["field"].clone())
}

#[test]
fn with_json_a_bad_pyproject_field_is_named_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    let pyproject = p.join("pyproject.toml");
    let text = fs::read_to_string(&pyproject).unwrap();
    fs::write(&pyproject, text.replace("\"1.0\"", "\"not a version\"")).unwrap();
    let build = ["build", "proj", "--out", "out"];
    let (path, field) = json_error(tmp.path(), &build, "project.version");
    assert_eq!(
        (path.as_str(), field.as_str()),
        (Some("proj/pyproject.toml"), Some("project.version"))
    );

    // A TOML error names the file; which key is at fault is not known.
    fs::write(
        &pyproject,
        format!("{text}\n[tool.uv.build-backend]\nno-such-key = 1\n"),
    )
    .unwrap();
    let (path, field) = json_error(tmp.path(), &build, "no-such-key");
    assert_eq!(path.as_str(), Some("proj/pyproject.toml"));
    assert!(field.is_null(), "{field}");
    assert_out_empty(tmp.path());
}

#[test]
fn with_json_an_error_about_no_file_names_none() {
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path(), "");
    // A missing project directory is the path; the message's backticks
    // and words that look like files are never taken for a place.
    let (path, field) = json_error(
        tmp.path(),
        &["build", "nope/x.toml"],
        "no such project directory",
    );
    assert_eq!(
        (path.as_str(), field.is_null()),
        (Some("nope/x.toml"), true)
    );
    let (path, field) = json_error(
        tmp.path(),
        &["lock", "proj", "--project", "proj"],
        "give either --project NAME or PATH",
    );
    assert!(path.is_null() && field.is_null(), "{path} {field}");
    let (path, field) = json_error(
        tmp.path(),
        &["lock", "proj", "--constraints", "c.txt"],
        "no such constraints file",
    );
    assert_eq!(
        (path.as_str(), field.as_str()),
        (Some("c.txt"), Some("--constraints"))
    );
}

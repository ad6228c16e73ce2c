//! Every project file kiln-native reads goes through kiln-fs: files outside
//! the project (by a symlink, wherever it sits), FIFOs and other special
//! files are refused naming the path; members stream from disk into both
//! archives; a failure while packing is an error that leaves nothing in
//! the output directory.

#![allow(clippy::unwrap_used)] // test helpers panic on purpose
#![allow(clippy::disallowed_methods)] // mkfifo(1): libc::mkfifo would need unsafe

use kiln_archive::Deflate;
use kiln_names::Epoch;
use kiln_native::{NativeError, NativeOptions, NativeProject, Progress, build, plan};
use sha2::Digest;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

fn opts() -> NativeOptions {
    NativeOptions {
        epoch: Epoch::clamped(1_700_000_000),
        deflate: Deflate {
            level: 6,
            gzip_chunk_size: 1 << 20,
            solid_below: 128 << 10,
            solid_level: 5,
        },
        generator: "kiln 0.1.0".into(),
    }
}

/// A project `p` in `dir` with `extra` in `[project]`, and a secret beside
/// it, outside the project.
fn project(dir: &Path, extra: &str) -> PathBuf {
    let p = dir.join("p");
    fs::create_dir_all(p.join("src/demo")).unwrap();
    fs::write(
        p.join("pyproject.toml"),
        format!(
            "[project]\nname = \"demo\"\nversion = \"1.0\"\n{extra}\n[build-system]\nrequires = [\"uv_build>=0.13,<0.14\"]\nbuild-backend = \"uv_build\"\n"
        ),
    )
    .unwrap();
    fs::write(p.join("src/demo/__init__.py"), "").unwrap();
    fs::write(dir.join("secret"), "SECRET").unwrap();
    p
}

fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) {
    let link = link.as_ref();
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn mkfifo(path: &Path) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap()
            .success()
    );
}

fn plan_err(p: &Path) -> NativeError {
    match NativeProject::load(p) {
        Ok(project) => plan(&project, &opts()).unwrap_err(),
        Err(e) => e,
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

#[test]
fn symlinked_license_in_excluded_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "license = { file = \"__pycache__/LICENSE\" }");
    symlink(tmp.path().join("secret"), p.join("__pycache__/LICENSE"));
    let e = plan_err(&p);
    let msg = chain(&e);
    assert!(matches!(e, NativeError::ProjectFile(_)), "{msg}");
    assert!(
        msg.contains("__pycache__/LICENSE") && msg.contains("outside"),
        "{msg}"
    );
}

#[test]
fn symlinked_readme_in_excluded_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "readme = \"__pycache__/README.md\"");
    symlink(tmp.path().join("secret"), p.join("__pycache__/README.md"));
    let msg = chain(&plan_err(&p));
    assert!(
        msg.contains("__pycache__/README.md") && msg.contains("outside"),
        "{msg}"
    );
}

#[test]
fn excluded_symlink_leaving_the_project_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    symlink(tmp.path(), p.join("src/demo/__pycache__"));
    let e = plan_err(&p);
    assert!(matches!(e, NativeError::SymlinkOutside { .. }), "{e}");
    assert!(e.to_string().contains("__pycache__"), "{e}");
}

#[test]
fn symlink_no_include_can_reach_is_not_followed() {
    // A virtualenv or build directory linked from elsewhere is none of
    // kiln's business as long as nothing would be packed from it.
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    symlink(tmp.path(), p.join(".venv"));
    symlink("/", p.join("docs/root"));
    let project = NativeProject::load(&p).unwrap();
    let paths = plan(&project, &opts()).unwrap().sdist_paths();
    assert!(paths.iter().all(|m| !m.contains(".venv")), "{paths:?}");
}

#[test]
fn symlink_loop_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    symlink("../..", p.join("src/demo/loop"));
    let e = plan_err(&p);
    assert!(matches!(e, NativeError::SymlinkLoop { .. }), "{e}");
}

#[test]
fn fifo_pyproject_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    fs::remove_file(p.join("pyproject.toml")).unwrap();
    mkfifo(&p.join("pyproject.toml"));
    let msg = chain(&plan_err(&p));
    assert!(
        msg.contains("pyproject.toml") && msg.contains("FIFO"),
        "{msg}"
    );
}

#[test]
fn fifo_readme_in_excluded_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "readme = \"__pycache__/README.md\"");
    mkfifo(&p.join("__pycache__/README.md"));
    let msg = chain(&plan_err(&p));
    assert!(msg.contains("README.md") && msg.contains("FIFO"), "{msg}");
}

#[test]
fn large_member_streams_into_both_archives_with_its_digest() {
    // Over the zip writer's streaming threshold, pseudo-random so that the
    // deflate stream has many blocks.
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    let mut state = 0x9e37_79b9_u32;
    let data: Vec<u8> = (0..(6 << 20) + 7)
        .map(|i: u32| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if (i >> 15).is_multiple_of(2) {
                0
            } else {
                state as u8
            }
        })
        .collect();
    fs::write(p.join("src/demo/big.bin"), &data).unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let project = NativeProject::load(&p).unwrap();
    let artifacts = build(&project, &out, &opts(), &|_| {}).unwrap();

    let mut zip = zip::ZipArchive::new(fs::File::open(&artifacts[1].path).unwrap()).unwrap();
    let mut got = Vec::new();
    zip.by_name("demo/big.bin")
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert!(got == data, "wheel member differs");
    let mut record = String::new();
    zip.by_name("demo-1.0.dist-info/RECORD")
        .unwrap()
        .read_to_string(&mut record)
        .unwrap();
    let hash = kiln_digest::urlsafe_b64_nopad(&sha2::Sha256::digest(&data));
    assert!(
        record.contains(&format!("demo/big.bin,sha256={hash},{}\n", data.len())),
        "{record}"
    );

    let gz = flate2::read::GzDecoder::new(fs::File::open(&artifacts[0].path).unwrap());
    let mut tar = tar::Archive::new(gz);
    let mut found = false;
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some("demo-1.0/src/demo/big.bin") {
            let mut got = Vec::new();
            entry.read_to_end(&mut got).unwrap();
            assert!(got == data, "sdist member differs");
            found = true;
        }
    }
    assert!(found);
}

/// Changes the tree between selection and packing (the progress callback
/// runs in between), so that packing itself fails.
fn build_with_change(p: &Path, change: impl Fn() + Sync) -> (NativeError, PathBuf) {
    let out = p.parent().unwrap().join("out");
    fs::create_dir_all(&out).unwrap();
    let project = NativeProject::load(p).unwrap();
    let e = build(&project, &out, &opts(), &|progress| {
        if matches!(progress, Progress::Selected { .. }) {
            change();
        }
    })
    .unwrap_err();
    (e, out)
}

#[test]
fn failing_worker_is_an_error_and_leaves_nothing_in_out() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    let member = p.join("src/demo/data.bin");
    fs::write(&member, vec![7u8; 1 << 20]).unwrap();
    // Removed after selection: both sides fail opening it.
    let (e, out) = build_with_change(&p, || fs::remove_file(&member).unwrap());
    let msg = chain(&e);
    assert!(msg.contains("data.bin"), "{msg}");
    assert!(!matches!(e, NativeError::Cancelled), "{msg}");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0, "left in out");
    fs::write(&member, vec![7u8; 1 << 20]).unwrap();

    // Swapped for a FIFO after selection: refused without blocking.
    let (e, out) = build_with_change(&p, || {
        fs::remove_file(&member).unwrap();
        mkfifo(&member);
    });
    let msg = chain(&e);
    assert!(msg.contains("data.bin") && msg.contains("FIFO"), "{msg}");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0, "left in out");
}

#[test]
fn wheel_member_of_4_gib_is_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path(), "");
    fs::File::create(p.join("src/demo/huge.bin"))
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let project = NativeProject::load(&p).unwrap();
    let e = build(&project, &out, &opts(), &|_| {}).unwrap_err();
    assert!(matches!(e, NativeError::TooLargeForWheel { .. }), "{e}");
    assert!(e.to_string().contains("huge.bin"), "{e}");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
}

//! kiln-native end to end: a fixture project built by kiln, compared with the
//! real uv_build 0.13.6, checked by Python tooling, rebuilt under hostile
//! conditions for reproducibility, and broken in every way the errors cover.
//!
//! The Python-side checks need `KILN_TEST_PYTHON` (a venv with the packages of
//! `xtask/python/requirements.txt`; `cargo xtask ci` sets it). Without it they
//! print a skip message, unless `KILN_REQUIRE_PYTHON=1`.

#![allow(clippy::disallowed_methods)] // tests read KILN_TEST_PYTHON and spawn Python
#![allow(clippy::unwrap_used)] // test helpers panic on purpose
#![allow(clippy::print_stderr)] // the skip message when Python is absent

use kiln_archive::Deflate;
use kiln_names::Epoch;
use kiln_native::{ArtifactKind, NativeError, NativeOptions, NativeProject, build, plan};
use sha2::Digest;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

const PYPROJECT: &str = r#"[project]
name = "Fx.Pkg"
version = "1.0.0-RC1"
description = "A kiln fixture"
readme = "README.md"
requires-python = ">=3.9"
license = "MIT OR Apache-2.0"
license-files = ["LICENSE*", "licenses/*.txt"]
authors = [{name = "Ann"}, {email = "b@example.com"}, {name = "Cé", email = "c@example.com"}]
maintainers = [{name = "Dee", email = "d@example.com"}]
keywords = ["fixture", "reproducible builds"]
classifiers = ["Programming Language :: Python :: 3", "Topic :: Utilities"]
dependencies = ["requests>=2.0; python_version >= '3.8'", "Attrs [x,a]  >= 1"]

[project.optional-dependencies]
zeta = ["rich"]
Dev_X = ["pytest>=7; sys_platform == 'linux' or sys_platform == 'darwin'", "tomli; python_version < '3.11'"]

[project.urls]
Homepage = "https://example.com"
"Source Code" = "https://example.com/src"

[project.scripts]
fx = "fx_pkg:main"

[project.gui-scripts]
fxg = "fx_pkg:gui"

[project.entry-points."fx.plugins"]
b = "fx_pkg.sub:b"
a = "fx_pkg.sub:a"

[build-system]
requires = ["uv_build>=0.13.6,<0.14"]
build-backend = "uv_build"

[tool.uv.build-backend]
module-name = "fx_pkg"
data = { scripts = "scripts", data = "data" }
"#;

const LONG_DIR: &str =
    "a_directory_name_that_is_long_enough_to_matter/another_quite_long_directory_name_for_ustar";

/// (relative path, contents, executable)
fn fixture_files() -> Vec<(String, Vec<u8>, bool)> {
    let mut files: Vec<(String, Vec<u8>, bool)> = vec![
        ("pyproject.toml".into(), PYPROJECT.into(), false),
        ("README.md".into(), "# Fx\n\nHéllo ünïcode\n".into(), false),
        ("LICENSE".into(), "MIT License\n".into(), false),
        (
            "licenses/APACHE.txt".into(),
            "Apache License 2.0\n".into(),
            false,
        ),
        (
            "src/fx_pkg/__init__.py".into(),
            "def main():\n    print('fx')\n\n\ndef gui():\n    pass\n".into(),
            false,
        ),
        ("src/fx_pkg/sub/__init__.py".into(), Vec::new(), false),
        ("src/fx_pkg/ünï/__init__.py".into(), Vec::new(), false),
        ("src/fx_pkg/ünï/ü.py".into(), "X = 1\n".into(), false),
        (
            format!("src/fx_pkg/{LONG_DIR}/module_with_a_long_name.py"),
            "LONG = True\n".into(),
            false,
        ),
        (
            "src/fx_pkg/tool.py".into(),
            "#!/usr/bin/env python3\nprint(1)\n".into(),
            true,
        ),
        (
            "src/fx_pkg/__pycache__/x.cpython-311.pyc".into(),
            b"\x00junk".to_vec(),
            false,
        ),
        ("src/fx_pkg/stale.pyc".into(), b"\x00junk".to_vec(), false),
        ("scripts/fx.sh".into(), "#!/bin/sh\necho hi\n".into(), true),
        ("data/share/d.txt".into(), "data\n".into(), false),
        ("data/share/empty.txt".into(), Vec::new(), false),
        ("docs/not-included.md".into(), "no\n".into(), false),
        (".gitignore".into(), "*.txt\n".into(), false),
    ];
    files.sort();
    files
}

struct Variant {
    reverse: bool,
    mtime: SystemTime,
    /// (regular, executable) modes
    modes: (u32, u32),
}

fn write_fixture(dir: &Path, v: &Variant) {
    let mut files = fixture_files();
    if v.reverse {
        files.reverse();
    }
    for (rel, data, exec) in &files {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, data).unwrap();
        let mode = if *exec { v.modes.1 } else { v.modes.0 };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let f = fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(v.mtime).unwrap();
    }
}

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

fn kiln_build(project_dir: &Path, out: &Path) -> (PathBuf, PathBuf) {
    fs::create_dir_all(out).unwrap();
    let project = NativeProject::load(project_dir).unwrap();
    let artifacts = build(&project, out, &opts(), &|_| {}).unwrap();
    assert_eq!(artifacts[0].kind, ArtifactKind::Sdist);
    assert_eq!(artifacts[1].kind, ArtifactKind::Wheel);
    (artifacts[0].path.clone(), artifacts[1].path.clone())
}

/// Archive order, and member path → (bytes, executable); directories skipped.
type Members = (Vec<String>, BTreeMap<String, (Vec<u8>, bool)>);

fn read_wheel(path: &Path) -> Members {
    let mut zip = zip::ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    let mut order = Vec::new();
    let mut members = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        if f.is_dir() {
            continue;
        }
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        let exec = f.unix_mode().unwrap_or(0) & 0o111 != 0;
        order.push(f.name().unwrap().to_string());
        members.insert(f.name().unwrap().to_string(), (data, exec));
    }
    (order, members)
}

fn read_sdist(path: &Path) -> Members {
    let gz = flate2_reader(path);
    let mut ar = tar::Archive::new(gz);
    let mut order = Vec::new();
    let mut members = BTreeMap::new();
    for entry in ar.entries().unwrap() {
        let mut e = entry.unwrap();
        if e.header().entry_type().is_dir() {
            continue;
        }
        let name = String::from_utf8(e.path_bytes().to_vec()).unwrap();
        let exec = e.header().mode().unwrap() & 0o111 != 0;
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        order.push(name.clone());
        members.insert(name, (data, exec));
    }
    (order, members)
}

fn flate2_reader(path: &Path) -> impl Read {
    flate2::read::GzDecoder::new(fs::File::open(path).unwrap())
}

fn python() -> Option<PathBuf> {
    match std::env::var_os("KILN_TEST_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            if std::env::var("KILN_REQUIRE_PYTHON").as_deref() == Ok("1") {
                panic!("KILN_REQUIRE_PYTHON=1 but KILN_TEST_PYTHON is not set");
            }
            eprintln!("skipping: set KILN_TEST_PYTHON (cargo xtask ci does)");
            None
        }
    }
}

/// Run the interpreter's venv `bin/` first on PATH (uv_build's PEP 517 shim
/// looks up the `uv-build` executable there).
fn py_cmd(py: &Path, cwd: &Path) -> Command {
    let bin = py.parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(py);
    c.current_dir(cwd).env("PATH", path);
    c
}

fn run_ok(mut c: Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn default_variant() -> Variant {
    Variant {
        reverse: false,
        mtime: SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000),
        modes: (0o644, 0o755),
    }
}

#[test]
fn dry_run_lists_files() {
    let tmp = tempfile::tempdir().unwrap();
    write_fixture(tmp.path(), &default_variant());
    let project = NativeProject::load(tmp.path()).unwrap();
    let plan = plan(&project, &opts()).unwrap();
    insta::assert_snapshot!("sdist_members", plan.sdist_paths().join("\n"));
    insta::assert_snapshot!("wheel_members", plan.wheel_paths(&project).join("\n"));
}

#[test]
fn same_members_and_bytes_as_uv_build() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let project_dir = tmp.path().join("project");
    write_fixture(&project_dir, &default_variant());
    let (k_sdist, k_wheel) = kiln_build(&project_dir, &tmp.path().join("kiln"));
    let uv_out = tmp.path().join("uv");
    fs::create_dir_all(&uv_out).unwrap();
    let mut c = py_cmd(&py, &project_dir);
    c.args([
        "-c",
        "import sys, uv_build; print(uv_build.build_sdist(sys.argv[1])); print(uv_build.build_wheel(sys.argv[1]))",
    ])
    .arg(&uv_out);
    let names = run_ok(c);
    let names: Vec<&str> = names.lines().collect();
    assert_eq!(
        names,
        [
            k_sdist.file_name().unwrap().to_str().unwrap(),
            k_wheel.file_name().unwrap().to_str().unwrap()
        ]
    );

    let (k_order, k_members) = read_wheel(&k_wheel);
    let (_, u_members) = read_wheel(&uv_out.join(names[1]));
    assert_eq!(
        k_members.keys().collect::<Vec<_>>(),
        u_members.keys().collect::<Vec<_>>(),
        "wheel member lists differ"
    );
    for (name, (data, exec)) in &k_members {
        if name.ends_with(".dist-info/WHEEL") || name.ends_with(".dist-info/RECORD") {
            continue;
        }
        let (u_data, u_exec) = &u_members[name];
        assert_eq!(
            String::from_utf8_lossy(data),
            String::from_utf8_lossy(u_data),
            "wheel member {name} differs"
        );
        assert_eq!(data, u_data, "wheel member {name} differs");
        let _ = (exec, u_exec); // uv_build 0.13.6 stores no unix mode for wheel members
    }
    // Canonical order: sorted, .dist-info last, RECORD final.
    assert!(k_order.last().unwrap().ends_with(".dist-info/RECORD"));

    let (_, k_sd) = read_sdist(&k_sdist);
    let (_, u_sd) = read_sdist(&uv_out.join(names[0]));
    assert_eq!(
        k_sd.keys().collect::<Vec<_>>(),
        u_sd.keys().collect::<Vec<_>>(),
        "sdist file lists differ"
    );
    for (name, (data, exec)) in &k_sd {
        let (u_data, u_exec) = &u_sd[name];
        assert_eq!(data, u_data, "sdist member {name} differs");
        assert_eq!(exec, u_exec, "sdist member {name}: executable bit differs");
    }
}

#[test]
fn python_tools_accept_the_artifacts() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let project_dir = tmp.path().join("project");
    write_fixture(&project_dir, &default_variant());
    let (sdist, wheel) = kiln_build(&project_dir, &tmp.path().join("out"));

    let mut c = py_cmd(&py, tmp.path());
    c.args(["-m", "twine", "check", "--strict"])
        .arg(&sdist)
        .arg(&wheel);
    run_ok(c);
    let mut c = py_cmd(&py, tmp.path());
    c.args(["-m", "check_wheel_contents"]).arg(&wheel);
    run_ok(c);

    let (_, wheel_members) = read_wheel(&wheel);
    let (_, sdist_members) = read_sdist(&sdist);
    let metadata = &wheel_members["fx_pkg-1.0.0rc1.dist-info/METADATA"].0;
    let pkg_info = &sdist_members["fx_pkg-1.0.0rc1/PKG-INFO"].0;
    for text in [metadata, pkg_info] {
        let mut c = py_cmd(&py, tmp.path());
        c.args([
            "-c",
            "import sys; from packaging.metadata import Metadata; m = Metadata.from_email(sys.argv[1], validate=True); print(m.name, m.version)",
        ])
        .arg(String::from_utf8(text.clone()).unwrap());
        assert_eq!(run_ok(c).trim(), "Fx.Pkg 1.0.0rc1");
    }

    let target = tmp.path().join("site");
    let mut c = py_cmd(&py, tmp.path());
    c.args([
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-index",
        "--quiet",
        "--target",
    ])
    .arg(&target)
    .arg(&wheel);
    run_ok(c);
    let mut c = py_cmd(&py, tmp.path());
    c.env("PYTHONPATH", &target).args([
        "-c",
        "import fx_pkg, fx_pkg.sub, importlib; importlib.import_module('fx_pkg.ünï.ü'); print('ok')",
    ]);
    assert_eq!(run_ok(c).trim(), "ok");
}

fn sha256_hex(path: &Path) -> String {
    let bytes = fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn reproducible_under_hostile_conditions() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    write_fixture(&a, &default_variant());
    let b = tmp.path().join("somewhere/else/entirely/b");
    write_fixture(
        &b,
        &Variant {
            reverse: true,
            mtime: SystemTime::UNIX_EPOCH + Duration::from_secs(1_234_567),
            modes: (0o600, 0o700),
        },
    );
    let (sa, wa) = kiln_build(&a, &tmp.path().join("out-a"));
    let (sb, wb) = kiln_build(&b, &tmp.path().join("out-b"));
    assert_eq!(
        fs::read(&sa).unwrap(),
        fs::read(&sb).unwrap(),
        "sdists differ"
    );
    assert_eq!(
        fs::read(&wa).unwrap(),
        fs::read(&wb).unwrap(),
        "wheels differ"
    );

    // The x bit is meaningful: it survives in both containers.
    let (_, w) = read_wheel(&wa);
    assert!(w["fx_pkg/tool.py"].1);
    assert!(w["fx_pkg-1.0.0rc1.data/scripts/fx.sh"].1);
    assert!(!w["fx_pkg/__init__.py"].1);

    // Pinned. Re-pinning is only legitimate when kiln's canonical form
    // deliberately changes (kiln-archive's container bytes, uv_build
    // compatibility of metadata), never to make a flaky build pass.
    assert_eq!(
        sha256_hex(&sa),
        "242a7001d604c9699c869e543b4966100edd5c050ce43b1fcd597e1595760000"
    );
    assert_eq!(
        sha256_hex(&wa),
        "87e535857c527190b547312afd22ee42eecc8ee4e06999eeaf609b68ad050888"
    );
}

fn load_err(dir: &Path) -> NativeError {
    let project = match NativeProject::load(dir) {
        Ok(p) => p,
        Err(e) => return e,
    };
    plan(&project, &opts()).unwrap_err()
}

fn redact(e: &NativeError, dir: &Path) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!("\n  caused by: {inner}"));
        src = inner.source();
    }
    s.replace(&dir.display().to_string(), "[PROJECT]")
}

#[test]
fn errors_name_the_file_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    fs::create_dir_all(&dir).unwrap();

    let e = load_err(&dir);
    assert!(matches!(e, NativeError::NoPyproject { .. }));
    insta::assert_snapshot!("no_pyproject", redact(&e, &dir));

    let with = |pyproject: &str| {
        fs::write(dir.join("pyproject.toml"), pyproject).unwrap();
        load_err(&dir)
    };
    let base = "[project]\nname = \"demo\"\nversion = \"1.0\"\n\n[build-system]\nrequires = [\"uv_build>=0.13,<0.14\"]\nbuild-backend = \"uv_build\"\n";

    let e = with(&base.replace("uv_build\"\n", "hatchling.build\"\n"));
    assert!(matches!(e, NativeError::NotUvBuild { .. }));
    insta::assert_snapshot!("not_uv_build", redact(&e, &dir));

    let e = with(&base.replace("version = \"1.0\"", "dynamic = [\"version\"]"));
    assert!(matches!(
        e,
        NativeError::Metadata(kiln_metadata::MetadataError::Dynamic { .. })
    ));
    insta::assert_snapshot!("dynamic", redact(&e, &dir));

    let e = with(&base.replace(
        "version = \"1.0\"",
        "version = \"1.0\"\ndependencies = [\"x ==\"]",
    ));
    assert!(matches!(
        e,
        NativeError::Metadata(kiln_metadata::MetadataError::Dependency { .. })
    ));

    let e = with(base);
    assert!(matches!(e, NativeError::MissingModule { .. }));
    insta::assert_snapshot!("missing_module", redact(&e, &dir));

    fs::create_dir_all(dir.join("src/demo")).unwrap();
    let e = with(base);
    assert!(matches!(e, NativeError::MissingModule { .. }));
    insta::assert_snapshot!("missing_init", redact(&e, &dir));
    fs::write(dir.join("src/demo/__init__.py"), "").unwrap();
    let e = {
        fs::write(
            dir.join("pyproject.toml"),
            base.replace(
                "version = \"1.0\"",
                "version = \"1.0\"\nlicense-files = [\"COPYING*\"]",
            ),
        )
        .unwrap();
        load_err(&dir)
    };
    assert!(matches!(e, NativeError::GlobNoMatch { .. }));
    insta::assert_snapshot!("license_glob_no_match", redact(&e, &dir));

    fs::write(dir.join("pyproject.toml"), base).unwrap();
    let outside = tmp.path().join("outside.py");
    fs::write(&outside, "SECRET = 1\n").unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("src/demo/leak.py")).unwrap();
    let e = load_err(&dir);
    assert!(matches!(e, NativeError::SymlinkOutside { .. }));
    assert!(e.to_string().contains("leak.py"), "{e}");
    fs::remove_file(dir.join("src/demo/leak.py")).unwrap();

    // A symlink that stays inside the project is followed, as uv_build does.
    fs::write(dir.join("src/demo/real.py"), "R = 1\n").unwrap();
    std::os::unix::fs::symlink("real.py", dir.join("src/demo/alias.py")).unwrap();
    let project = NativeProject::load(&dir).unwrap();
    let p = plan(&project, &opts()).unwrap();
    assert!(
        p.sdist_paths()
            .contains(&"demo-1.0/src/demo/alias.py".to_string())
    );

    // A dangling symlink is a read error naming it.
    std::os::unix::fs::symlink("missing.py", dir.join("src/demo/dangling.py")).unwrap();
    let e = load_err(&dir);
    assert!(redact(&e, &dir).contains("dangling.py"), "{e}");
    fs::remove_file(dir.join("src/demo/dangling.py")).unwrap();

    // Unreadable file (meaningless as root, who can read anything).
    let secret = dir.join("src/demo/secret.py");
    fs::write(&secret, "S = 1\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&secret).is_err() {
        let project = NativeProject::load(&dir).unwrap();
        let out = tmp.path().join("out");
        fs::create_dir_all(&out).unwrap();
        let e = build(&project, &out, &opts(), &|_| {}).unwrap_err();
        assert!(matches!(e, NativeError::Read { .. }), "{e}");
        assert!(e.to_string().contains("secret.py"));
        // Nothing partial is left behind.
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
    }
}

/// `build` reads and deflates each file once for both archives; its bytes
/// must be those of the separate writers (`write_sdist`, `write_wheel`),
/// whatever the thread count, with files held whole (one of several
/// deflate pieces) and one large enough to be streamed into each archive.
#[test]
fn one_pass_build_equals_the_separate_writers_on_1_2_and_8_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    write_fixture(&dir, &default_variant());
    let mut state = 0x9e37_79b9_u32;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                if (i >> 12) % 2 == 0 {
                    b"def f(x):\n    return x\n"[i % 23]
                } else {
                    state as u8
                }
            })
            .collect()
    };
    let held = noise(3 * (1 << 20) + 4321);
    let streamed = noise(kiln_archive::ZIP_STREAM_ABOVE as usize + 777);
    fs::write(dir.join("src/fx_pkg/held.bin"), &held).unwrap();
    fs::write(dir.join("src/fx_pkg/zz_streamed.bin"), &streamed).unwrap();

    let project = NativeProject::load(&dir).unwrap();
    let o = opts();
    let p = plan(&project, &o).unwrap();
    let sdist = kiln_native::write_sdist(&p, Vec::new(), &o, "s", &|_| {}).unwrap();
    let wheel = kiln_native::write_wheel(
        &project,
        &p,
        std::io::Cursor::new(Vec::new()),
        &o,
        "w",
        &|_| {},
    )
    .unwrap()
    .into_inner();

    for threads in [1, 2, 8] {
        let out = tmp.path().join(format!("out-{threads}"));
        let (s, w) = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| kiln_build(&dir, &out));
        assert!(fs::read(&s).unwrap() == sdist, "sdist, {threads} threads");
        assert!(fs::read(&w).unwrap() == wheel, "wheel, {threads} threads");
    }
    let (_, members) = read_wheel(&tmp.path().join("out-1/fx_pkg-1.0.0rc1-py3-none-any.whl"));
    assert_eq!(members["fx_pkg/held.bin"].0, held);
    assert_eq!(members["fx_pkg/zz_streamed.bin"].0, streamed);
    let (_, members) = read_sdist(&tmp.path().join("out-1/fx_pkg-1.0.0rc1.tar.gz"));
    assert_eq!(members["fx_pkg-1.0.0rc1/src/fx_pkg/held.bin"].0, held);
}

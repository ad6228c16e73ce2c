//! Conventions, enforced by `cargo test`: the pins agree with each other,
//! the crate graph points the way ARCHITECTURE.md says, every crate takes
//! its versions and lints from the workspace, every module says what it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn toml_file(path: &Path) -> toml::Table {
    toml::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn crate_manifests() -> BTreeMap<String, toml::Table> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root().join("crates"))
        .min_depth(1)
        .max_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.unwrap();
        let manifest = entry.path().join("Cargo.toml");
        if manifest.is_file() {
            out.insert(
                entry.file_name().to_string_lossy().into_owned(),
                toml_file(&manifest),
            );
        }
    }
    out.insert("xtask".into(), toml_file(&root().join("xtask/Cargo.toml")));
    out
}

#[test]
fn rust_toolchain_agrees_with_the_pin() {
    let pins = toml_file(&root().join("pinned-toolchain.toml"));
    let toolchain = toml_file(&root().join("rust-toolchain.toml"));
    assert_eq!(
        pins["rust"]["channel"].as_str(),
        toolchain["toolchain"]["channel"].as_str(),
        "rust-toolchain.toml and pinned-toolchain.toml must pin the same Rust"
    );
}

#[test]
fn deflate_implementation_agrees_with_cargo_lock() {
    let pins = toml_file(&root().join("pinned-toolchain.toml"));
    let lock = toml_file(&root().join("Cargo.lock"));
    let pinned = pins["compression"]["miniz_oxide"].as_str().unwrap();
    let locked: Vec<_> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"].as_str() == Some("miniz_oxide"))
        .map(|p| p["version"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        locked,
        vec![pinned.to_string()],
        "Cargo.lock must hold exactly the pinned miniz_oxide"
    );
}

/// The layers of ARCHITECTURE.md, bottom to top.
fn layer(name: &str) -> usize {
    match name {
        "kiln-names" | "kiln-digest" | "kiln-fs" => 0,
        "kiln-archive" | "kiln-metadata" | "kiln-record" | "kiln-lock" | "kiln-provenance"
        | "kiln-index" => 1,
        "kiln-native" | "kiln-canon" => 2,
        "kiln-diff" => 3,
        "kiln-report" => 4,
        "xtask" => 5,
        other => panic!("crate {other} has no layer: add it to tidy.rs and ARCHITECTURE.md"),
    }
}

#[test]
fn dependencies_point_down_and_format_crates_are_independent() {
    for (name, manifest) in crate_manifests() {
        let deps = manifest
            .get("dependencies")
            .and_then(|d| d.as_table())
            .cloned()
            .unwrap_or_default();
        for dep in deps.keys().filter(|d| d.starts_with("kiln-")) {
            assert!(
                layer(dep) < layer(&name),
                "{name} depends on {dep}: dependencies must point to a lower layer (ARCHITECTURE.md)"
            );
        }
        if name == "kiln-archive" {
            assert!(
                !deps.keys().any(|d| d.starts_with("kiln-")),
                "kiln-archive knows nothing of Python, so it depends on no other kiln crate"
            );
        }
        if name != "xtask" {
            for banned in [
                "xshell",
                "reqwest",
                "ureq",
                "hyper",
                "tokio",
                "sigstore-sign",
                "sigstore-verify",
                "clap",
                "indicatif",
            ] {
                assert!(
                    !deps.contains_key(banned),
                    "{name} depends on {banned}: processes, network and the CLI belong to xtask"
                );
            }
        }
    }
}

#[test]
fn versions_and_lints_come_from_the_workspace() {
    for (name, manifest) in crate_manifests() {
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(deps) = manifest.get(section).and_then(|d| d.as_table()) else {
                continue;
            };
            for (dep, spec) in deps {
                assert!(
                    spec.get("workspace").and_then(|w| w.as_bool()) == Some(true),
                    "{name}: [{section}] {dep} must be `{dep}.workspace = true` (versions live in the root Cargo.toml)"
                );
            }
        }
        assert!(
            manifest
                .get("lints")
                .and_then(|l| l.get("workspace"))
                .and_then(|w| w.as_bool())
                == Some(true),
            "{name}: add `[lints] workspace = true`"
        );
        assert_eq!(
            manifest["package"]
                .get("publish")
                .and_then(|p| p.get("workspace"))
                .and_then(|w| w.as_bool()),
            Some(true),
            "{name}: add `publish.workspace = true` (nothing is published)"
        );
    }
}

#[test]
fn workspace_dependencies_are_exact() {
    let manifest = toml_file(&root().join("Cargo.toml"));
    for (dep, spec) in manifest["workspace"]["dependencies"].as_table().unwrap() {
        if spec.get("path").is_some() {
            continue;
        }
        let version = spec
            .as_str()
            .or_else(|| spec.get("version").and_then(|v| v.as_str()))
            .unwrap_or("");
        assert!(
            version.starts_with('='),
            "[workspace.dependencies] {dep} = {version:?}: pin it with `=x.y.z`"
        );
    }
}

#[test]
fn architecture_md_names_every_crate() {
    let text = read(&root().join("ARCHITECTURE.md"));
    for name in crate_manifests().keys() {
        assert!(
            text.contains(name.as_str()),
            "ARCHITECTURE.md does not mention {name}"
        );
    }
}

#[test]
fn every_rust_file_says_what_it_is() {
    for dir in ["crates", "xtask/src"] {
        for entry in walkdir::WalkDir::new(root().join(dir)).sort_by_file_name() {
            let entry = entry.unwrap();
            let path = entry.path();
            let in_src = path.components().any(|c| c.as_os_str() == "src");
            if path.extension().is_some_and(|e| e == "rs") && in_src && !path.ends_with("tests.rs")
            {
                let text = read(path);
                assert!(
                    text.trim_start().starts_with("//!"),
                    "{} must open with a `//!` paragraph on what it is and why",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn readme_gives_the_two_commands_and_ci_runs_the_test_command() {
    let readme = read(&root().join("README.md"));
    assert!(
        readme.contains("cargo xtask release"),
        "README.md must give the main command"
    );
    assert!(
        readme.contains("cargo xtask ci"),
        "README.md must give the test command"
    );
    let ci = read(&root().join(".ci/run"));
    assert!(
        ci.contains("cargo xtask ci"),
        ".ci/run must run the README's test command"
    );
}

//! kiln-metadata against uv_build 0.13.6: the files under `tests/data/` with
//! a `.uv_build-0.13.6` suffix were written by the real uv_build for
//! `tests/data/full.pyproject.toml`; kiln must reproduce them byte for byte.

#![allow(clippy::unwrap_used)] // test helpers panic on purpose

use kiln_metadata::{MetadataError, MetadataInputs, PyProject, wheel_file};
use kiln_names::WheelTags;
use std::path::Path;

fn parse(text: &str) -> Result<PyProject, MetadataError> {
    PyProject::parse(Path::new("demo/pyproject.toml"), text)
}

fn minimal(extra_project: &str) -> String {
    format!(
        "[project]\nname = \"demo\"\nversion = \"0.1.0\"\n{extra_project}\n\n[build-system]\nrequires = [\"uv_build>=0.13,<0.14\"]\nbuild-backend = \"uv_build\"\n"
    )
}

#[test]
fn full_metadata_matches_uv_build() {
    let text = include_str!("data/full.pyproject.toml");
    let p = parse(text).unwrap();
    assert_eq!(p.build_backend(), Some("uv_build"));
    assert_eq!(p.readme_path(), Some("README.md"));
    let inputs = MetadataInputs {
        readme: Some(include_str!("data/full.README.md").to_string()),
        license_text_file: None,
        license_files: vec!["licenses/APACHE.txt".into(), "LICENSE".into()],
    };
    let metadata = p.core_metadata(&inputs);
    assert_eq!(metadata, include_str!("data/full.METADATA.uv_build-0.13.6"));
    assert_eq!(
        p.entry_points_txt().unwrap(),
        "[console_scripts]\nfx = fx_pkg:main\n\n[gui_scripts]\nfxg = fx_pkg:gui\n\n[fx.plugins]\na = fx_pkg.sub:a\nb = fx_pkg.sub:b\n\n"
    );
    assert_eq!(
        p.sdist_pyproject_toml().unwrap(),
        include_str!("data/full.sdist-pyproject.toml.uv_build-0.13.6")
    );
}

#[test]
fn minimal_metadata() {
    let p = parse(&minimal("")).unwrap();
    assert_eq!(
        p.core_metadata(&MetadataInputs::default()),
        "Metadata-Version: 2.3\nName: demo\nVersion: 0.1.0\n"
    );
    assert_eq!(p.entry_points_txt(), None);
}

#[test]
fn license_text_and_file_forms() {
    let p = parse(&minimal("license = { text = \"Line one\\nLine two\" }")).unwrap();
    insta::assert_snapshot!(p.core_metadata(&MetadataInputs::default()), @r"
    Metadata-Version: 2.3
    Name: demo
    Version: 0.1.0
    License: Line one
             Line two
    ");
    let p = parse(&minimal("license = { file = \"COPYING\" }")).unwrap();
    assert_eq!(p.license_file(), Some("COPYING"));
    let inputs = MetadataInputs {
        license_text_file: Some("Permission\nis granted\n".into()),
        ..Default::default()
    };
    insta::assert_snapshot!(p.core_metadata(&inputs), @r"
    Metadata-Version: 2.3
    Name: demo
    Version: 0.1.0
    License: Permission
             is granted
    ");
}

#[test]
fn readme_table_forms() {
    let p = parse(&minimal(
        "readme = { text = \"Hi\\nthere\", content-type = \"text/x-rst\" }",
    ))
    .unwrap();
    assert_eq!(
        p.core_metadata(&MetadataInputs::default()),
        "Metadata-Version: 2.3\nName: demo\nVersion: 0.1.0\nDescription-Content-Type: text/x-rst\n\nHi\nthere"
    );
}

#[test]
fn wheel_file_format() {
    assert_eq!(
        wheel_file("kiln 0.1.0", &WheelTags::py3_none_any()),
        "Wheel-Version: 1.0\nGenerator: kiln 0.1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    );
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn error_texts() {
    insta::assert_snapshot!(
        "invalid_toml",
        err("[project]\nname = \"demo\"\nversion = 0.1.0\n")
    );
    insta::assert_snapshot!("no_project", err("[build-system]\nrequires = []\n"));
    insta::assert_snapshot!(
        "bad_name",
        err("[project]\nname = \"-demo\"\nversion = \"1\"\n")
    );
    insta::assert_snapshot!(
        "bad_version",
        err("[project]\nname = \"demo\"\nversion = \"1.0-banana\"\n")
    );
    insta::assert_snapshot!("unknown_field", err(&minimal("colour = \"blue\"")));
    insta::assert_snapshot!(
        "bad_dependency",
        err(&minimal("dependencies = [\"requests >>= 2\"]"))
    );
    insta::assert_snapshot!(
        "dynamic",
        err("[project]\nname = \"demo\"\ndynamic = [\"version\"]\n")
    );
    insta::assert_snapshot!("bad_readme", err(&minimal("readme = \"README.adoc\"")));
    insta::assert_snapshot!(
        "multiline_description",
        err(&minimal("description = \"a\\nb\""))
    );
    insta::assert_snapshot!(
        "unknown_backend_setting",
        err(&format!(
            "{}\n[tool.uv.build-backend]\nmodule-nme = \"x\"\n",
            minimal("")
        ))
    );
    insta::assert_snapshot!(
        "reserved_group",
        err(&minimal(
            "[project.entry-points.console_scripts]\na = \"b:c\""
        ))
    );
    insta::assert_snapshot!(
        "mixed_license",
        err(&minimal(
            "license = { text = \"x\" }\nlicense-files = [\"L\"]"
        ))
    );
}

#[test]
fn error_variants() {
    assert!(matches!(
        parse("x = ").unwrap_err(),
        MetadataError::Toml { line: 1, .. }
    ));
    assert!(matches!(
        parse("[project]\nname = \"demo\"\ndynamic = [\"version\"]\n").unwrap_err(),
        MetadataError::Dynamic { .. }
    ));
    assert!(matches!(
        parse(&minimal("dependencies = [\"requests >>= 2\"]")).unwrap_err(),
        MetadataError::Dependency { .. }
    ));
}

//! The committed JSON Schema (docs/kiln-report.schema.json) is the one the
//! types generate: a change to a report type changes the schema in the
//! same commit.

use std::path::Path;

fn committed() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/kiln-report.schema.json")
}

#[test]
fn committed_schema_is_the_generated_one() {
    let generated = kiln_report::json_schema_text();
    let path = committed();
    #[allow(clippy::disallowed_methods)] // A test's own switch, for regenerating the snapshot.
    if std::env::var_os("KILN_UPDATE_SCHEMA").is_some_and(|v| !v.is_empty()) {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is not the schema the report types generate: if the change to the types is meant, \
         regenerate it with `KILN_UPDATE_SCHEMA=1 cargo test -p kiln-report --test schema`, \
         review the diff, and commit it (a change that renames or removes a field, or changes \
         a value's meaning, also needs a new version: docs/report-format.md)",
        path.display()
    );
}

use kiln_names::{ArtifactKind, BuildMode};
use kiln_report::{
    Command, DiffCommandReport, DiffResult, EpochReport, Error, ErrorKind, ErrorReport, Output,
    ReleaseReport, ReleasedArtifact, ReleasedProject, Report, VerifyCheck, VerifyReport, Version,
};

fn value(output: Output) -> serde_json::Value {
    serde_json::to_value(output).unwrap_or_default()
}

fn release() -> Output {
    Output::Report(Report::Release(ReleaseReport {
        schema: Version,
        out: "dist".into(),
        sha256sums: "dist/SHA256SUMS".into(),
        projects: vec![ReleasedProject {
            name: "demo".into(),
            version: "1.0".into(),
            mode: BuildMode::Native,
            epoch: EpochReport {
                seconds: 315_532_800,
                source: "flag".into(),
                clamped: true,
            },
            record: "release/records/demo-1.0.toml".into(),
            provenance: None,
            signing: "development key".into(),
            publish: None,
            artifacts: vec![ReleasedArtifact {
                kind: ArtifactKind::Wheel,
                filename: "demo-1.0-py3-none-any.whl".into(),
                path: "dist/demo-1.0-py3-none-any.whl".into(),
                size: 1,
                sha256: "0".repeat(64),
                sha512: "0".repeat(128),
                blake2s: "0".repeat(64),
                reproduced: true,
            }],
        }],
    }))
}

fn schema() -> serde_json::Value {
    kiln_report::json_schema()
}

#[test]
fn reports_and_errors_validate_against_the_schema() {
    let verify = Output::Report(Report::Verify(VerifyReport {
        schema: Version,
        project: "demo".into(),
        version: "1.0".into(),
        git_ref: "v1.0".into(),
        commit: "0".repeat(40),
        mode: BuildMode::Backend,
        faithful: false,
        epoch: 1,
        notes: vec![],
        checks: vec![VerifyCheck {
            source: "dist".into(),
            source_kind: kiln_report::SourceKind::Directory,
            artifact: "demo-1.0.tar.gz".into(),
            status: kiln_report::CheckStatus::Missing,
            sha256: None,
            diff: None,
            detail: Some("not there".into()),
        }],
        verified: false,
    }));
    let diff = Output::Report(Report::Diff(DiffCommandReport {
        schema: Version,
        a: "a".into(),
        b: "b".into(),
        identical: false,
        results: vec![DiffResult::OnlyIn {
            only_in: "A".into(),
            file: "x.whl".into(),
        }],
    }));
    let error = Output::Error(ErrorReport {
        schema: Version,
        command: Some(Command::Build),
        error: Error::located(
            ErrorKind::BadInput,
            "x/y: no such project directory",
            Some("x/y".into()),
            None,
        ),
    });
    for output in [release(), verify, diff, error] {
        let v = value(output);
        assert_eq!(
            kiln_report::validate::validate(&schema(), &v),
            Ok(()),
            "{v:#}"
        );
    }
}

#[test]
fn the_schema_refuses_unknown_fields_other_versions_and_missing_fields() {
    let good = value(release());
    let mut extra = good.clone();
    extra["projects"][0]["artifacts"][0]["extra"] = true.into();
    let mut version = good.clone();
    version["schema"] = "kiln-report/2".into();
    let mut missing = good.clone();
    missing["projects"][0]
        .as_object_mut()
        .map(|p| p.remove("mode"));
    let mut mode = good;
    mode["projects"][0]["mode"] = "fast".into();
    for bad in [extra, version, missing, mode] {
        assert!(
            kiln_report::validate::validate(&schema(), &bad).is_err(),
            "{bad:#}"
        );
    }
}

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
    if std::env::var_os("KILN_UPDATE_SCHEMA").is_some() {
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

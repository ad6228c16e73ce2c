//! kiln's wheel installer on its own: a wheel made here is laid out in a
//! fresh environment as the wheel spec says, and a wheel whose members do
//! not match its RECORD is refused, naming the member.

#![allow(clippy::unwrap_used)]

use kiln_pep517::{Layout, Pep517Error, install_wheel};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn record_hash(data: &[u8]) -> String {
    kiln_digest::urlsafe_b64_nopad(&kiln_digest::sha256(data))
}

/// A wheel of `members`; RECORD lists them with `record_for`'s bytes.
fn wheel(members: &[(&str, &[u8])], record_for: impl Fn(&str, &[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut record = String::new();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (path, data) in members {
        zip.start_file(*path, options).unwrap();
        zip.write_all(data).unwrap();
        let listed = record_for(path, data);
        record += &format!("{path},sha256={},{}\n", record_hash(&listed), data.len());
    }
    record += "demo-1.0.dist-info/RECORD,,\n";
    zip.start_file("demo-1.0.dist-info/RECORD", options)
        .unwrap();
    zip.write_all(record.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

fn layout(root: &Path) -> Layout {
    Layout {
        root: root.to_path_buf(),
        site_packages: root.join("lib/site-packages"),
        bin: root.join("bin"),
        include: root.join("include/site"),
        python: Path::new("/env/bin/python").to_path_buf(),
    }
}

const MEMBERS: &[(&str, &[u8])] = &[
    ("demo/__init__.py", b"def main():\n    return 0\n"),
    ("demo-1.0.data/scripts/tool", b"#!python\nprint('hi')\n"),
    ("demo-1.0.data/headers/demo.h", b"int demo;\n"),
    ("demo-1.0.dist-info/METADATA", b"Name: demo\nVersion: 1.0\n"),
    (
        "demo-1.0.dist-info/entry_points.txt",
        b"[console_scripts]\ndemo = demo:main\n",
    ),
];

#[test]
fn a_wheel_is_laid_out_as_the_spec_says() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = layout(tmp.path());
    let bytes = wheel(MEMBERS, |_, data| data.to_vec());
    install_wheel("demo", "demo-1.0-py3-none-any.whl", &bytes, &layout).unwrap();

    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(
        read(&layout.site_packages.join("demo/__init__.py")),
        "def main():\n    return 0\n"
    );
    assert_eq!(
        read(&layout.bin.join("tool")),
        "#!/env/bin/python\nprint('hi')\n"
    );
    assert_eq!(read(&layout.include.join("demo.h")), "int demo;\n");
    let wrapper = read(&layout.bin.join("demo"));
    assert!(wrapper.starts_with("#!/env/bin/python\n"), "{wrapper}");
    assert!(wrapper.contains("from demo import main"), "{wrapper}");
    for script in ["tool", "demo"] {
        let mode = std::fs::metadata(layout.bin.join(script))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755, "{script}");
    }
}

#[test]
fn a_member_that_does_not_match_record_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = wheel(MEMBERS, |path, data| {
        if path == "demo/__init__.py" {
            b"tampered".to_vec()
        } else {
            data.to_vec()
        }
    });
    let err = install_wheel(
        "demo",
        "demo-1.0-py3-none-any.whl",
        &bytes,
        &layout(tmp.path()),
    )
    .unwrap_err();
    assert!(matches!(err, Pep517Error::Install { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "demo: demo-1.0-py3-none-any.whl: demo/__init__.py does not match demo-1.0.dist-info/RECORD"
        ),
        "{message}"
    );
}

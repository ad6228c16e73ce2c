//! verify's decisions on the record of the fuzz seeds and on made-up copies.

use super::*;

const WHEEL: &str = "p-1.0-py3-none-any.whl";
const SDIST: &str = "p-1.0.tar.gz";
const WHEEL_SHA: &str = "ba59926159d2aa256eb8739b8da7e2b574b960e1202c6d624cbe981cef996c91";
const SDIST_SHA: &str = "714772a9f82b2aeb4fa5f7092d00fe4ac4c9cdeb6800840b6ed39ea64c4d785a";
const OTHER_SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const DISTINFO: &str = "p-1.0.distinfo";
const RECORD: &str = include_str!("../../../fuzz/seeds/distinfo/native.distinfo");

fn record() -> Record {
    Record::parse(DISTINFO, RECORD).unwrap()
}

fn expected() -> BTreeMap<String, Expected> {
    expectations(Some(&record()), &BTreeMap::new()).0
}

fn disagreement(status: Status) -> String {
    match status {
        Status::Disagrees(d) => d,
        other => panic!("expected a disagreement, got {other:?}"),
    }
}

#[test]
fn sums_that_agree_match() {
    let text =
        format!("{WHEEL_SHA}  {WHEEL}\n{SDIST_SHA}  ./{SDIST}\n{OTHER_SHA}  unrelated.txt\n");
    assert!(matches!(
        check_sums(Ok(text.into_bytes()), &expected()),
        Status::Match
    ));
}

#[test]
fn sums_that_disagree_name_the_line() {
    let text = format!("{WHEEL_SHA}  {WHEEL}\n{OTHER_SHA}  {SDIST}\n");
    let d = disagreement(check_sums(Ok(text.into_bytes()), &expected()));
    assert_eq!(
        d,
        format!("SHA256SUMS:2: {SDIST} has sha256 {OTHER_SHA}; the record says {SDIST_SHA}")
    );
}

#[test]
fn sums_that_cannot_be_read_or_parsed_fail() {
    let unreadable = check_sums(Err("cannot read SHA256SUMS: gone".into()), &expected());
    assert!(matches!(unreadable, Status::Failed(ref e) if e == "cannot read SHA256SUMS: gone"));
    let not_utf8 = check_sums(Ok(vec![0xff, 0xfe]), &expected());
    assert!(matches!(not_utf8, Status::Failed(ref e) if e == "SHA256SUMS: not UTF-8"));
    let d = disagreement(check_sums(Ok(b"not a digest\n".to_vec()), &expected()));
    assert!(d.starts_with("SHA256SUMS:1: cannot parse "), "{d}");
}

#[test]
fn a_distinfo_that_is_the_record_matches() {
    let status = check_distinfo(
        Ok(RECORD.as_bytes().to_vec()),
        DISTINFO,
        Some(&record()),
        &expected(),
    );
    assert!(matches!(status, Status::Match), "{status:?}");
}

#[test]
fn a_distinfo_that_disagrees_names_each_line() {
    let text = RECORD
        .replace("PIN (compression.level) = 9", "PIN (compression.level) = 6")
        .replace(SDIST_SHA, OTHER_SHA);
    let d = disagreement(check_distinfo(
        Ok(text.into_bytes()),
        DISTINFO,
        Some(&record()),
        &expected(),
    ));
    assert_eq!(
        d.lines().collect::<Vec<_>>(),
        [
            "p-1.0.distinfo:7: PIN (compression.level) says 6; the record says 9",
            &format!(
                "p-1.0.distinfo:13: SHA256 ({SDIST}) says {OTHER_SHA}; the record says {SDIST_SHA}"
            ),
        ]
    );
}

#[test]
fn a_distinfo_missing_a_field_says_nothing() {
    let text: String = RECORD
        .lines()
        .filter(|l| !l.starts_with("PIN (rust.toolchain)"))
        .map(|l| format!("{l}\n"))
        .collect();
    let d = disagreement(check_distinfo(
        Ok(text.into_bytes()),
        DISTINFO,
        Some(&record()),
        &expected(),
    ));
    assert_eq!(
        d,
        "p-1.0.distinfo: PIN (rust.toolchain) says nothing; the record says 1.95.0"
    );
}

#[test]
fn without_a_record_a_distinfo_is_held_to_the_expected_digests() {
    let mut want = expected();
    want.get_mut(WHEEL).unwrap().size = 6;
    let d = disagreement(check_distinfo(
        Ok(RECORD.as_bytes().to_vec()),
        DISTINFO,
        None,
        &want,
    ));
    assert_eq!(
        d,
        format!("p-1.0.distinfo:12: SIZE ({WHEEL}) says 5; the record says 6")
    );
}

#[test]
fn index_statements_are_compared_ignoring_case() {
    let want = &expected()[WHEEL];
    let page = "https://index.example/simple/p/";
    let upper = WHEEL_SHA.to_ascii_uppercase();
    assert!(matches!(
        index_statement(page, WHEEL, &upper, want),
        Status::Match
    ));
    assert_eq!(
        disagreement(index_statement(page, WHEEL, OTHER_SHA, want)),
        format!(
            "the index page {page} links {WHEEL} with sha256 {OTHER_SHA}; the record says {WHEEL_SHA}"
        )
    );
}

#[test]
fn the_rebuild_is_held_to_the_record() {
    let record = record().artifacts;
    let mut rebuilt = expected();
    assert!(
        rebuild_against_record(&record, &rebuilt)
            .iter()
            .all(|(_, s)| matches!(s, Status::Match))
    );
    rebuilt.get_mut(WHEEL).unwrap().sha256 = OTHER_SHA.into();
    rebuilt.remove(SDIST);
    rebuilt.insert(
        "p-1.0-cp312-abi3-linux_x86_64.whl".into(),
        Expected {
            sha256: OTHER_SHA.into(),
            size: 1,
        },
    );
    let got = rebuild_against_record(&record, &rebuilt);
    let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(names, [WHEEL, SDIST, "p-1.0-cp312-abi3-linux_x86_64.whl"]);
    assert!(
        matches!(&got[0].1, Status::Differs { sha256, explanation: Err(e) }
            if sha256 == OTHER_SHA && e.starts_with(&format!("the rebuild has sha256 {OTHER_SHA} (5 bytes), the record {WHEEL_SHA} (5 bytes)")))
    );
    assert!(
        matches!(&got[1].1, Status::Missing(d) if d == &format!("the record lists {SDIST}, the rebuild did not produce it"))
    );
    assert!(
        matches!(&got[2].1, Status::Failed(d) if d == "the rebuild produced p-1.0-cp312-abi3-linux_x86_64.whl, which the record does not list")
    );
}

#[test]
fn a_copy_is_matched_by_sha256_and_size() {
    let want = &expected()[WHEEL];
    assert!(same_digests(WHEEL_SHA, 5, want));
    assert!(!same_digests(WHEEL_SHA, 6, want));
    assert!(!same_digests(OTHER_SHA, 5, want));
}

#[test]
fn a_copy_with_the_expected_digests_is_not_opened() {
    let want = &expected()[WHEEL];
    let missing = Path::new("/nonexistent/kiln-verify-test/p.whl");
    let known = Some((WHEEL_SHA.to_string(), 5));
    let status = compare(missing, known, WHEEL, want, None, &DiffOptions::default());
    assert!(matches!(status, Status::Match), "{status:?}");
    let status = compare(missing, None, WHEEL, want, None, &DiffOptions::default());
    assert!(
        matches!(status, Status::Failed(ref e) if e.starts_with("cannot read /nonexistent")),
        "{status:?}"
    );
}

#[test]
fn copies_are_held_to_the_record_or_without_one_to_the_rebuild() {
    let record = record();
    let mut rebuilt = expected();
    rebuilt.get_mut(WHEEL).unwrap().sha256 = OTHER_SHA.into();
    let (want, checks) = expectations(Some(&record), &rebuilt);
    assert_eq!(want[WHEEL].sha256, WHEEL_SHA, "the record's digests");
    assert_eq!(checks.len(), 2);
    assert!(matches!(&checks[0].1, Status::Differs { .. }));
    let (want, checks) = expectations(None, &rebuilt);
    assert_eq!(want[WHEEL].sha256, OTHER_SHA, "the rebuild's digests");
    assert!(checks.is_empty());

    let subjects = provenance_subjects(&expected(), Some(&record));
    assert_eq!(subjects[SDIST].0, SDIST_SHA);
    assert_eq!(
        subjects[SDIST].1.as_deref(),
        Some(record.artifacts[SDIST].sha512.as_str())
    );
    assert!(provenance_subjects(&expected(), None)[SDIST].1.is_none());
}

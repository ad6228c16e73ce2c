use super::*;

fn is_text(chunks: &[&[u8]]) -> bool {
    let mut t = TextCheck::default();
    for c in chunks {
        t.update(c);
    }
    t.finish()
}

#[test]
fn captures_share_one_budget_per_archive() {
    let take = |so_far: u64, bytes: &[u8]| {
        let mut sink = MemberSink::new(true, so_far);
        sink.write_all(bytes).unwrap();
        sink.finish().3
    };
    assert!(matches!(take(0, b"Name: p\n"), Some(Captured::Bytes(b)) if b == b"Name: p\n"));
    // 10 bytes left of the archive's budget: a 20-byte member is only
    // measured.
    assert!(matches!(
        take(MAX_CAPTURE_TOTAL - 10, &[b'x'; 20]),
        Some(Captured::TooLarge(20))
    ));
    assert!(matches!(take(MAX_CAPTURE_TOTAL, b""), Some(Captured::Bytes(b)) if b.is_empty()));
    // Not captured at all: nothing kept.
    let mut sink = MemberSink::new(false, 0);
    sink.write_all(b"x").unwrap();
    assert!(sink.finish().3.is_none());
}

#[test]
fn long_pax_values_are_kept_as_summaries_that_compare_like_the_bytes() {
    let short = b"1700000000.5".to_vec();
    let long = vec![b'x'; 1 << 20];
    let mut other = long.clone();
    other[500_000] = b'y';
    let records = |v: &[u8]| vec![("comment".to_owned(), v.to_vec())];
    let kept = summarize_pax(&records(&short));
    assert_eq!(kept, records(&short));
    let a = summarize_pax(&records(&long));
    assert!(
        a[0].1.len() < 200 && a[0].1.len() > PAX_KEPT,
        "{}",
        a[0].1.len()
    );
    assert!(a[0].1.starts_with(&long[..40]));
    assert_eq!(a, summarize_pax(&records(&long)));
    assert_ne!(a, summarize_pax(&records(&other)));
    // A long key, likewise.
    let key = "k".repeat(10_000);
    let s = summarize_pax(&[(key, Vec::new())]);
    assert!(s[0].0.len() < 200, "{}", s[0].0.len());
}

#[test]
fn text_check_across_chunk_boundaries() {
    let e_acute = "é".as_bytes(); // 2 bytes
    let euro = "€".as_bytes(); // 3 bytes
    assert!(is_text(&[b"abc\n", b"def"]));
    assert!(is_text(&[&e_acute[..1], &e_acute[1..]]));
    assert!(is_text(&[&euro[..1], &euro[1..2], &euro[2..], b"x"]));
    assert!(is_text(&[&euro[..1], b"", &euro[1..]]));
    assert!(!is_text(&[&euro[..2]]), "truncated at the end");
    assert!(!is_text(&[&euro[..1], b"x"]));
    assert!(!is_text(&[b"a\0b"]));
    assert!(!is_text(&[b"\xff"]));
    assert!(is_text(&[]));
}

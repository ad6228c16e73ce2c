use super::*;

fn zip_both(members: &[(&str, Vec<u8>)]) -> (Vec<u8>, Vec<u8>) {
    let deflate = Deflate {
        level: 6,
        gzip_chunk_size: 1 << 20,
        solid_below: 128 << 10,
        solid_level: 5,
    };
    let mut whole = ZipWriter::new(Vec::new(), 1_700_000_000, deflate).unwrap();
    let mut streamed =
        ZipWriter::new(std::io::Cursor::new(Vec::new()), 1_700_000_000, deflate).unwrap();
    for (path, data) in members {
        whole.add_file(path, data, path.ends_with(".sh")).unwrap();
        let mut r = Read::chain(&data[..], &b"ignored: past the size"[..]);
        streamed
            .add_reader_seekable(path, data.len() as u64, &mut r, path.ends_with(".sh"))
            .unwrap();
    }
    (
        whole.finish().unwrap(),
        streamed.finish().unwrap().into_inner(),
    )
}

#[test]
fn streamed_members_give_the_same_bytes() {
    let over = STREAM_ABOVE as usize + 12_345;
    // Mixed: runs, a repeating pattern and pseudo-random stretches, so
    // the compressor emits several blocks of each kind.
    let mut state = 0x2545_f491_u32;
    let mixed: Vec<u8> = (0..over)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            match (i >> 16) % 3 {
                0 => 0,
                1 => (i % 97) as u8,
                _ => state as u8,
            }
        })
        .collect();
    let members = vec![
        ("a.txt", b"small".to_vec()),
        ("b.bin", mixed),
        ("c/empty", Vec::new()),
        ("d/run.sh", vec![b'z'; over + 1]),
        ("\u{e9}.txt", b"after".to_vec()),
    ];
    let (whole, streamed) = zip_both(&members);
    assert_eq!(whole, streamed);
}

#[test]
fn a_streamed_member_that_ends_early_is_an_error() {
    let deflate = Deflate {
        level: 6,
        gzip_chunk_size: 1 << 20,
        solid_below: 128 << 10,
        solid_level: 5,
    };
    let mut w = ZipWriter::new(std::io::Cursor::new(Vec::new()), 1_700_000_000, deflate).unwrap();
    let short = vec![1u8; 1000];
    let e = w
        .add_reader_seekable("big.bin", STREAM_ABOVE + 1, &mut &short[..], false)
        .unwrap_err();
    assert!(e.to_string().contains("big.bin"), "{e}");
    let e = w
        .add_reader_seekable("huge.bin", 5 << 30, &mut std::io::repeat(0), false)
        .unwrap_err();
    assert!(matches!(e, ArchiveError::Zip64Needed { .. }), "{e}");
}

#[test]
fn dos_times() {
    // 1980-01-01T00:00:00Z
    assert_eq!(dos_date_time(315_532_800).unwrap(), (0, (1 << 5) | 1));
    // 2023-11-14T22:13:21Z = 1700000001
    let (t, d) = dos_date_time(1_700_000_001).unwrap();
    assert_eq!(d, (43 << 9) | (11 << 5) | 14);
    assert_eq!(t, (22 << 11) | (13 << 5) | 10);
    // 2000-02-29T12:00:00Z = 951825600 (leap day)
    assert_eq!(
        dos_date_time(951_825_600).unwrap().1,
        (20 << 9) | (2 << 5) | 29
    );
    assert!(dos_date_time(315_532_799).is_err());
    assert!(dos_date_time(4_354_819_199).is_ok());
    assert!(dos_date_time(4_354_819_200).is_err());
    assert!(dos_date_time(u64::MAX).is_err());
}

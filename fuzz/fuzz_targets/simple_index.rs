//! The simple-index page parser (`kiln_index`): HTML (PEP 503) and JSON
//! (PEP 691) pages, by content type and sniffed. Never a panic (and, with
//! `-timeout`, never a slow input: the parser is one linear pass), and
//! what it returns is well formed: absolute URLs without a fragment,
//! sha256s of 64 lowercase hex digits, a filter that only ever removes
//! files, and `links` counting every file listed.
#![no_main]

use kiln_index::{Listing, all, parse_html, parse_json, parse_page};

const PAGE: &str = "https://example.com/simple/p/";

fn check(listing: &Listing) {
    assert!(listing.files.len() <= listing.links);
    for file in &listing.files {
        let url = url::Url::parse(&file.url)
            .unwrap_or_else(|e| panic!("{:?} is not an absolute URL: {e}", file.url));
        assert!(url.fragment().is_none(), "{:?}", file.url);
        if let Some(sha256) = &file.sha256 {
            assert!(
                sha256.len() == 64
                    && sha256
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{sha256:?}"
            );
        }
    }
}

/// The same page read with every file kept and with only wheels kept.
fn both(parse: impl Fn(&dyn Fn(&str) -> bool) -> Result<Listing, kiln_index::IndexError>) {
    let every = parse(&all);
    let wheels = parse(&|name: &str| name.ends_with(".whl"));
    // Filtering only removes files: a page read whole is read filtered
    // (a file left out may take its problem with it, not the other way).
    let Ok(every) = every else { return };
    let wheels = wheels.unwrap_or_else(|e| panic!("only the filtered read fails: {e}"));
    check(&every);
    check(&wheels);
    assert_eq!(every.files.len(), every.links);
    assert!(every.others.is_empty());
    assert_eq!(every.links, wheels.links);
    let expected: Vec<_> = every
        .files
        .iter()
        .filter(|f| f.filename.ends_with(".whl"))
        .collect();
    assert_eq!(expected, wheels.files.iter().collect::<Vec<_>>());
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    both(|keep| parse_html(PAGE, body, keep));
    both(|keep| parse_json(PAGE, body, keep));
    for content_type in ["", "text/html", "application/vnd.pypi.simple.v1+json"] {
        if let Ok(listing) = parse_page(PAGE, content_type, body, all) {
            check(&listing);
        }
    }
});

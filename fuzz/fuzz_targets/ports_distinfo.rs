//! The distfile cache's `distinfo` parser (`kiln_distfiles::Distinfo`,
//! BSD ports' and kiln's syntax): never a panic, and what it accepts
//! renders to text that parses back to the same value (but for the
//! `$NetBSD$` line rendering supplies where there was none) and renders to
//! the same text again.
#![no_main]

use kiln_distfiles::{Distinfo, Format};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = Distinfo::parse("fuzz/distinfo", text) else {
        return;
    };
    // Rendering may refuse what it cannot write (a name it would not
    // accept back); it must not panic.
    let Ok(rendered) = parsed.render() else {
        return;
    };
    let again = Distinfo::parse("rendered/distinfo", &rendered)
        .unwrap_or_else(|e| panic!("a rendered distinfo does not parse: {e}\n{rendered}"));
    let mut expected = parsed;
    if expected.format == Format::NetBsd && expected.rcs_id.is_none() {
        expected.rcs_id = Some("$NetBSD$".to_owned());
    }
    assert_eq!(again, expected, "{rendered}");
    assert_eq!(again.render().ok().as_deref(), Some(rendered.as_str()));
});

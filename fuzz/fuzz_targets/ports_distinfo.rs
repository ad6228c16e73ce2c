//! The distfile cache's `distinfo` parser (`kiln_distfiles::Distinfo`,
//! BSD ports' and kiln's syntax): never a panic, and what it accepts
//! renders to text that parses back to the same value and renders to the
//! same text again.
#![no_main]

use kiln_distfiles::Distinfo;

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
    assert_eq!(again, parsed, "{rendered}");
    assert_eq!(again.render().ok().as_deref(), Some(rendered.as_str()));
});

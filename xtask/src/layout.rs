//! The `release/` layout of a repository kiln releases, spelled once in
//! `kiln_release::layout`.

pub use kiln_release::layout::*;

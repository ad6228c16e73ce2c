//! The hostile-input suite: every input here is made by the test itself
//! (nothing downloaded), handed to the real `xtask` binary, and must end
//! with its documented exit code within a time bound and under a peak
//! memory bound that the harness measures (the command's own `VmHWM`).
//!
//! One module per surface: `project` (files a project points at),
//! `archives` (sdists and wheels given to `diff` and `normalize`),
//! `network` (simple indexes and downloads, against a real server on
//! 127.0.0.1), `published` (what `verify` finds beside a release) and
//! `kill` (a release killed at random points). The raw tar and zip
//! builders are kiln-archive's test support (`raw`), shared with its own
//! reader tests.

#[path = "support/common.rs"]
mod common;
#[path = "hostile/harness.rs"]
mod harness;
#[path = "../../crates/kiln-archive/tests/support/raw.rs"]
mod raw;

#[path = "hostile/archives.rs"]
mod archives;
#[path = "hostile/kill.rs"]
mod kill;
#[path = "hostile/network.rs"]
mod network;
#[path = "hostile/project.rs"]
mod project;
#[path = "hostile/published.rs"]
mod published;
#[path = "hostile/terminal.rs"]
mod terminal;

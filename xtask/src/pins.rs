//! `pinned-toolchain.toml`: every pin that can change artifact bytes; the
//! reader is `kiln_release::pins`.

pub use kiln_release::pins::{PINS_TOML, Pins};

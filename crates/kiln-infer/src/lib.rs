//! What the publisher of a release used, inferred from the files they
//! published, so that a rebuild can use the same: the build backend and its
//! version (the wheel's `WHEEL` `Generator:` line) and the epoch the
//! containers were dated with (the wheel's zip timestamps, the sdist's gzip
//! header and tar mtimes), or that none was set and the backend's own
//! default shows. Every inference is a typed value carrying its evidence,
//! in words a report can print.
//!
//! Reads only through `kiln-archive`'s bounded readers, and reads no data
//! but the wheel's `WHEEL` file: a hostile archive costs bounded memory and
//! gives an error naming it. No clock, no environment.
//!
//! Codemap: `backend` (the Generator line and the distribution it names),
//! `epoch` (container timestamps and the backends' defaults), `asof` (the
//! newest release uploaded before a date, from PEP 700 upload times).

mod asof;
mod backend;
mod epoch;

pub use asof::{cutoff, newest_before};
pub use backend::{BackendInference, generator_backend, infer_backend};
pub use epoch::{
    EpochChoice, EpochInference, EpochValue, SdistTimes, WheelTimes, choose_epoch, dos_to_unix,
    infer_epoch, sdist_times, wheel_times,
};

/// Why an inference could not read a published file.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("cannot read the published {name}")]
    Archive {
        name: String,
        source: Box<kiln_archive::ArchiveError>,
    },
    #[error("{date:?}: {problem}")]
    Date { date: String, problem: String },
}

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
//! newest release uploaded before a date, from PEP 700 upload times),
//! `published` (the version a dynamic project published, and when an index
//! says the release was uploaded).

mod asof;
mod backend;
mod epoch;
mod published;

pub use asof::{cutoff, newest_before};
pub use backend::{BackendInference, generator_backend, infer_backend, wheel_to_read};
pub use epoch::{
    EpochChoice, EpochInference, EpochValue, SdistTimes, WheelTimes, choose_epoch, dos_to_unix,
    infer_epoch, sdist_times, wheel_times,
};
pub use published::{Upload, earliest_upload, published_version};

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
    #[error(
        "{name}: the version is dynamic and the published files hold {} version(s) ({}): give the sdist as SOURCE, or a --ref naming the version",
        versions.len(),
        versions.join(", ")
    )]
    DynamicVersion { name: String, versions: Vec<String> },
}

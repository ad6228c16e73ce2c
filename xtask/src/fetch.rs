//! `verify`'s use of the network edge (`kiln-fetch`): the download pace
//! from the environment (`KILN_FETCH_DEADLINE_SECS`, `KILN_FETCH_MIN_RATE`,
//! `KILN_FETCH_RATE_WINDOW_SECS`), read here because libraries never read
//! it, and the downloads and index pages under that pace.

use anyhow::Context as _;
pub use kiln_fetch::{FetchError, Fetched, Pace, Page};
use std::path::Path;

/// The default pace with the environment's settings applied; a value that
/// is not valid is an error naming the variable.
pub fn pace() -> Result<Pace, FetchError> {
    Pace::with_settings(|name| {
        #[allow(clippy::disallowed_methods)] // xtask is the edge: the user's limits.
        match std::env::var(name) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(value)) => Err(FetchError::Setting {
                name,
                value: value.to_string_lossy().into_owned(),
                expected: "text",
            }),
        }
    })
}

/// [`kiln_fetch::download`] under the environment's [`pace`].
pub fn download(
    url: &str,
    dir: &Path,
    file_name: &str,
    max_size: u64,
) -> Result<Fetched, FetchError> {
    kiln_fetch::download(url, dir, file_name, max_size, pace()?)
}

/// [`kiln_fetch::project_files`] under the environment's [`pace`]: a 404
/// is `Ok(None)`, the project is not on that index.
pub fn project_files(
    index_url: &str,
    project: &str,
    keep: impl Fn(&str) -> bool,
) -> anyhow::Result<Option<Page>> {
    let pace = pace().with_context(|| {
        format!("could not read the page of {project} on the index {index_url}")
    })?;
    Ok(kiln_fetch::project_files(index_url, project, keep, pace)?)
}

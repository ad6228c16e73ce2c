//! The reports of `cargo xtask wheelhouse --json` and `cargo xtask verify
//! --wheelhouse DIR --json`.

use schemars::JsonSchema;
use serde::Serialize;
use std::path::PathBuf;

use crate::Version;

/// `cargo xtask wheelhouse --json`: one row per requirement.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WheelhouseReport {
    pub schema: Version,
    /// The requirements file given.
    pub requirements: PathBuf,
    /// The wheelhouse directory; written only when every wheel reproduced.
    pub out: PathBuf,
    pub published: bool,
    /// The simple index the sdists came from.
    pub index: String,
    /// How the statement is signed (`unsigned (--no-sign)` when it is not).
    pub signing: String,
    pub wheels: Vec<WheelhouseWheel>,
}

/// One requirement of a wheelhouse, as built.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WheelhouseWheel {
    pub name: String,
    pub version: String,
    pub sdist: String,
    /// Hex.
    pub sdist_sha256: String,
    /// The epoch the wheel was built with: the sdist's newest member mtime.
    pub epoch: u64,
    pub wheel: String,
    /// Hex.
    pub wheel_sha256: String,
    pub size: u64,
    /// The second build, elsewhere and under other conditions, gave the
    /// same bytes.
    pub reproducible: bool,
    /// When not: the member that varies and how.
    pub difference: Option<String>,
}

/// `cargo xtask verify --wheelhouse DIR --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyWheelhouseReport {
    pub schema: Version,
    pub wheelhouse: PathBuf,
    pub index: String,
    /// Every file of DIR matched the rebuild and the statement (if any)
    /// verified.
    pub verified: bool,
    /// The files that differ from the rebuild, and how.
    pub differences: Vec<WheelhouseDifference>,
    /// `signed by …`, `missing`, or why the statement failed.
    pub statement: String,
}

/// One file of a wheelhouse that does not match its rebuild.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WheelhouseDifference {
    pub file: String,
    pub what: String,
}

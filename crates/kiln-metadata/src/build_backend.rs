//! uv_build's own table, `[tool.uv.build-backend]`: where the module is
//! (`module-root`, `module-name`), what the sdist and wheel include and
//! exclude beyond the defaults, namespace packages, and the data
//! directories installed into the wheel's `.data/`. Its shape is checked
//! by serde (unknown keys are errors, as for uv_build) and its defaults
//! are uv_build's; `pyproject.rs` reads it as part of a `pyproject.toml`.

use serde::Deserialize;

/// `tool.uv.build-backend.module-name`: one module or several.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(untagged, expecting = "a module name string or a list of module names")]
pub enum ModuleName {
    One(String),
    Many(Vec<String>),
}

/// `tool.uv.build-backend.data`: directories installed into the wheel's
/// `{name}-{version}.data/{key}/`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DataDirs {
    pub purelib: Option<String>,
    pub platlib: Option<String>,
    pub headers: Option<String>,
    pub scripts: Option<String>,
    pub data: Option<String>,
}

impl DataDirs {
    /// `(key, directory)` pairs, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("purelib", &self.purelib),
            ("platlib", &self.platlib),
            ("headers", &self.headers),
            ("scripts", &self.scripts),
            ("data", &self.data),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    }
}

/// `[tool.uv.build-backend]` with uv_build's defaults.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BuildBackendSettings {
    #[serde(default = "default_module_root")]
    pub module_root: String,
    pub module_name: Option<ModuleName>,
    #[serde(default)]
    pub source_include: Vec<String>,
    #[serde(default = "yes")]
    pub default_excludes: bool,
    #[serde(default)]
    pub source_exclude: Vec<String>,
    #[serde(default)]
    pub wheel_exclude: Vec<String>,
    #[serde(default)]
    pub namespace: bool,
    #[serde(default)]
    pub data: DataDirs,
}

fn default_module_root() -> String {
    "src".to_string()
}

fn yes() -> bool {
    true
}

impl Default for BuildBackendSettings {
    fn default() -> Self {
        Self {
            module_root: default_module_root(),
            module_name: None,
            source_include: Vec::new(),
            default_excludes: true,
            source_exclude: Vec::new(),
            wheel_exclude: Vec::new(),
            namespace: false,
            data: DataDirs::default(),
        }
    }
}

//! The hash lock as backend mode reads it: the file (a missing one says how
//! to make it), and which of a backend's requirements the locked packages
//! satisfy, judged in the build environment's own PEP 508 marker
//! environment (which `driver.py` reports).

use crate::Pep517Error;
use kiln_lock::Lock;
use std::path::Path;

type Result<T> = std::result::Result<T, Pep517Error>;

/// The lock at `path`, parsed strictly.
pub fn read_lock(path: &Path) -> Result<Lock> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Pep517Error::NoLock {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(Pep517Error::io("read", path)(e)),
    };
    Ok(Lock::parse(&path.display().to_string(), &text)?)
}

/// The requirements of `wanted` that the lock does not satisfy (by
/// normalized name and, when given, version specifier; requirements whose
/// marker is false in the build environment are not needed).
pub fn unsatisfied(
    lock: &Lock,
    wanted: &[String],
    markers: Option<&serde_json::Value>,
) -> Result<Vec<String>> {
    let env = markers.and_then(marker_env);
    let mut missing = Vec::new();
    for text in wanted {
        let req: pep508_rs::Requirement =
            text.parse()
                .map_err(|e: pep508_rs::Pep508Error| Pep517Error::Requirement {
                    requirement: text.clone(),
                    message: e.to_string(),
                })?;
        if let Some(env) = &env
            && !req.marker.evaluate(env, &[])
        {
            continue;
        }
        let ok = match lock.find(req.name.as_ref()) {
            None => false,
            Some(p) => match &req.version_or_url {
                None => true,
                Some(pep508_rs::VersionOrUrl::Url(_)) => false,
                Some(pep508_rs::VersionOrUrl::VersionSpecifier(specs)) => {
                    match p.version.parse::<pep508_rs::pep440_rs::Version>() {
                        Ok(v) => specs.contains(&v),
                        Err(_) => false,
                    }
                }
            },
        };
        if !ok && !missing.contains(text) {
            missing.push(text.clone());
        }
    }
    Ok(missing)
}

fn marker_env(v: &serde_json::Value) -> Option<pep508_rs::MarkerEnvironment> {
    let s = |k: &str| v[k].as_str();
    pep508_rs::MarkerEnvironment::try_from(pep508_rs::MarkerEnvironmentBuilder {
        implementation_name: s("implementation_name")?,
        implementation_version: s("implementation_version")?,
        os_name: s("os_name")?,
        platform_machine: s("platform_machine")?,
        platform_python_implementation: s("platform_python_implementation")?,
        platform_release: s("platform_release")?,
        platform_system: s("platform_system")?,
        platform_version: s("platform_version")?,
        python_full_version: s("python_full_version")?,
        python_version: s("python_version")?,
        sys_platform: s("sys_platform")?,
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_lock::Package;

    fn lock(packages: &[(&str, &str)]) -> Lock {
        Lock {
            version: kiln_lock::FORMAT_VERSION,
            python: "3.12".into(),
            build_backend: "b".into(),
            backend_path: vec![],
            requires: vec![],
            packages: packages
                .iter()
                .map(|(name, version)| Package {
                    name: name.to_string(),
                    version: version.to_string(),
                    filename: format!("{name}-{version}-py3-none-any.whl"),
                    url: String::new(),
                    sha256: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn requirements_by_name_and_version() {
        let lock = lock(&[("setuptools", "70.0.0"), ("wheel", "0.43.0")]);
        let wanted: Vec<String> = ["setuptools>=60", "Wheel", "hatchling", "wheel<0.40"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            unsatisfied(&lock, &wanted, None).unwrap(),
            ["hatchling", "wheel<0.40"]
        );
        assert!(unsatisfied(&lock, &["!!".into()], None).is_err());
    }
}

//! `release/release.toml`: the projects this repository releases, read by
//! `kiln_release::config`; here, the keyless identity it names as
//! Sigstore's policy.

pub use kiln_release::config::*;

/// The keyless identity policy, when release.toml gives one.
pub fn keyless_policy(project: &ProjectConfig) -> Option<crate::keyless::IdentityPolicy> {
    let s = project.signing.as_ref()?;
    Some(crate::keyless::IdentityPolicy {
        issuer: s
            .keyless_issuer
            .clone()
            .unwrap_or_else(|| crate::keyless::GITHUB_ACTIONS_ISSUER.to_string()),
        identity: s.keyless_identity.clone()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn project(mode: &str) -> String {
        format!(
            "[[project]]\nname = \"demo\"\npath = \"examples/demo\"\nmode = \"{mode}\"\ntag = \"v{{version}}\"\n"
        )
    }

    #[test]
    fn errors_name_release_toml_and_the_field() {
        let cases = [
            (project("native").replace("v{version}", "v1"), "tag"),
            (
                project("native").replace("examples/demo", "../demo"),
                "path",
            ),
            (format!("{}epoch = 1.5\n", project("native")), "epoch"),
            ("# no projects\n".to_owned(), "project"),
        ];
        for (text, field) in cases {
            let e = anyhow::Error::from(ReleaseConfig::parse(&text).unwrap_err());
            let at = crate::located::locate(&e);
            assert_eq!(at.path.as_deref(), Some(RELEASE_TOML), "{e}");
            assert_eq!(at.field.as_deref(), Some(field), "{e}");
        }
    }
}

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

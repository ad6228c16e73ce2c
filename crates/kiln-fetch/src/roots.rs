//! Roots of trust a caller adds to the bundled Mozilla roots, for a
//! network whose TLS a proxy intercepts (a CI sandbox, a company network)
//! and signs with its own certificate authority.
//!
//! The caller reads the PEM bundle (kiln's tests and bench name it with
//! `$SSL_CERT_FILE`, as OpenSSL and curl read it) and passes its bytes to
//! [`ExtraRoots::from_pem`]; this crate reads no environment and no file
//! for it. A connection made with extra roots trusts Mozilla's roots and
//! those certificates together, so one agent reaches both a server with a
//! public certificate and one behind the proxy. Trust in the transport
//! never makes a file trusted: the caller still checks the digest.

use crate::FetchError;
use ureq::tls::{Certificate, PemItem, RootCerts};

/// Certificates trusted besides the bundled Mozilla roots; empty (the
/// default) adds none.
#[derive(Debug, Clone, Default)]
pub struct ExtraRoots {
    certs: Vec<Certificate<'static>>,
}

impl ExtraRoots {
    /// The certificates of the PEM bundle `pem`; `bundle` names it in
    /// errors. Other PEM sections (a private key) are skipped; a bundle
    /// without a certificate, or with a section that does not parse, is
    /// [`FetchError::Roots`].
    pub fn from_pem(bundle: &str, pem: &[u8]) -> Result<Self, FetchError> {
        let bad = |message: String| FetchError::Roots {
            bundle: bundle.to_string(),
            message,
        };
        let mut certs = Vec::new();
        for (index, item) in ureq::tls::parse_pem(pem).enumerate() {
            match item {
                Ok(PemItem::Certificate(cert)) => certs.push(cert),
                Ok(_) => {}
                Err(e) => {
                    return Err(bad(format!(
                        "PEM section #{} does not parse: {e}",
                        index + 1
                    )));
                }
            }
        }
        if certs.is_empty() {
            return Err(bad("it holds no PEM certificate".to_string()));
        }
        Ok(ExtraRoots { certs })
    }

    /// How many certificates are added.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// The roots an agent trusts: Mozilla's alone without extra roots,
    /// else Mozilla's and these.
    pub(crate) fn root_certs(&self) -> RootCerts {
        if self.certs.is_empty() {
            return RootCerts::WebPki;
        }
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()))
            .chain(self.certs.iter().cloned())
            .collect::<Vec<_>>()
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed P-256 root, `CN=kiln test root` (no key kept).
    const ROOT: &str = "-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUL5gGO4EbFSwbmQOOj4btVdYECC4wCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOa2lsbiB0ZXN0IHJvb3QwIBcNMjYxMTMwMTcyNzE2WhgPMjEy
NjExMDYxNzI3MTZaMBkxFzAVBgNVBAMMDmtpbG4gdGVzdCByb290MFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEvG1Pfyq/+fooP3yzpj6qys4yyKl8IUmf9HtRmAcV
1lFvdZEuRecXuLK05F1bLb3RsHqYyn1y+dw1qpvwbXAO56NTMFEwHQYDVR0OBBYE
FOkuiYb+vHV83tzF4PCz3qeEntvsMB8GA1UdIwQYMBaAFOkuiYb+vHV83tzF4PCz
3qeEntvsMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgUwcWoHT+
qohBcS+MgJ7BVG6Y7wDaAbOlvoiRiLHW6AACIQDWgn7QCRJ8ubouI2CEuQeqbtas
gJbzBD7QA+yHu2u8eQ==
-----END CERTIFICATE-----
";

    #[test]
    fn a_bundle_adds_its_certificates_to_mozillas() {
        let two = format!("# a comment, as bundles have\n{ROOT}{ROOT}");
        let roots = ExtraRoots::from_pem("ca.pem", two.as_bytes()).unwrap();
        assert_eq!(roots.len(), 2);
        let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS.len();
        match roots.root_certs() {
            RootCerts::Specific(certs) => assert_eq!(certs.len(), mozilla + 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            ExtraRoots::default().root_certs(),
            RootCerts::WebPki
        ));
    }

    #[test]
    fn a_bundle_without_a_certificate_is_refused_by_name() {
        for pem in [
            &b""[..],
            b"not PEM at all\n",
            b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        ] {
            let e = ExtraRoots::from_pem("/etc/proxy-ca.pem", pem).unwrap_err();
            let text = e.to_string();
            assert!(
                matches!(e, FetchError::Roots { .. }) && text.contains("/etc/proxy-ca.pem"),
                "{text}"
            );
        }
        let cut = &ROOT[..ROOT.len() - 30];
        let e = ExtraRoots::from_pem("ca.pem", cut.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("ca.pem"), "{e}");
    }
}

//! `cargo xtask keygen --out PATH`: a new ed25519 signing key from the OS's
//! random source -- the private key as PKCS#8 PEM at PATH (mode 0600,
//! never overwriting), the public key as SPKI PEM at PATH.pub. The private
//! key is never printed; the summary gives the paths and the key id.

use crate::flags::Keygen;
use crate::report;
use crate::sign::random_seed;
use anyhow::{Result, bail};
use kiln_provenance::PrivateKey;
use kiln_provenance::keyfile::{write_private_key, write_public_key};
use std::path::PathBuf;

impl Keygen {
    pub fn run(self) -> Result<()> {
        let public: PathBuf = {
            let mut p = self.out.clone().into_os_string();
            p.push(".pub");
            p.into()
        };
        for path in [&self.out, &public] {
            if path.exists() {
                bail!(
                    "{} exists: not overwriting a key; choose another --out or remove it",
                    path.display()
                );
            }
        }
        let key = PrivateKey::from_seed(random_seed()?);
        write_private_key(&self.out, &key)?;
        if let Err(e) = write_public_key(&public, &key.public_key()) {
            // Leave no half pair behind.
            let _ = std::fs::remove_file(&self.out);
            return Err(e.into());
        }
        let keyid = key.public_key().keyid();
        if self.json {
            report::json(kiln_report::Report::Keygen(kiln_report::KeygenReport {
                schema: kiln_report::Version,
                private_key: self.out.clone(),
                public_key: public.clone(),
                keyid: keyid.clone(),
            }));
        } else {
            report::step(&format!(
                "wrote the private key to {} (mode 0600: keep it out of the repository)",
                self.out.display()
            ));
            report::step(&format!(
                "wrote the public key to {} (key id {keyid}): copy it into {}/ and commit it, then `cargo xtask release --key {}`",
                public.display(),
                crate::layout::KEYS_DIR,
                self.out.display()
            ));
        }
        Ok(())
    }
}

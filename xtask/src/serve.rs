//! `cargo xtask serve DIR [--port N]`: the mirror tree over HTTP on
//! 127.0.0.1 (`kiln-serve`), the index URL on stderr first, then one line
//! per request.

use crate::{flags, report};
use std::sync::Arc;

impl flags::Serve {
    pub fn run(self) -> anyhow::Result<()> {
        let server = kiln_serve::Server::bind(&self.dir, self.port)?;
        report::eprint(&format!(
            "serving {} at http://127.0.0.1:{}/simple/\n",
            self.dir.display(),
            server.port()
        ));
        server.run(Arc::new(|line: &str| report::eprint(&format!("{line}\n"))));
        Ok(())
    }
}

//! `cargo xtask bench` (being written).

mod generate;

impl crate::flags::Bench {
    pub fn run(self) -> anyhow::Result<()> {
        anyhow::bail!("cargo xtask bench is being written")
    }
}

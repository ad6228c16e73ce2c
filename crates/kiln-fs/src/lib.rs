//! The file-system edge every kiln library shares: `project` opens a
//! project's files (resolved inside the project root, regular files only,
//! never blocking on a FIFO or device, every read bounded), and `publish`
//! makes a directory of outputs visible in one step.

pub mod project;
pub mod publish;

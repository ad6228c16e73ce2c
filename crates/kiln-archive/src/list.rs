//! The dry-run writer: records what a real writer would have written, with
//! the same path rules, so `--dry-run` fails where a real build would.

use std::collections::BTreeSet;

use crate::{ArchiveError, ArchiveWriter, validate_member_path};

/// One member as a dry run sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    pub path: String,
    pub size: u64,
    pub executable: bool,
}

/// Dry-run writer: records what would be written.
#[derive(Debug, Default)]
pub struct ListWriter {
    pub files: Vec<ListedFile>,
    seen: BTreeSet<String>,
}

impl ListWriter {
    pub fn new() -> Self {
        Self::default()
    }
}

impl ArchiveWriter for ListWriter {
    fn add_file(&mut self, path: &str, data: &[u8], executable: bool) -> Result<(), ArchiveError> {
        validate_member_path(path)?;
        if !self.seen.insert(path.to_owned()) {
            return Err(ArchiveError::DuplicatePath {
                path: path.to_owned(),
            });
        }
        self.files.push(ListedFile {
            path: path.to_owned(),
            size: data.len() as u64,
            executable,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_refuses() {
        let mut w = ListWriter::new();
        w.add_file("b", b"xy", true).unwrap();
        w.add_file("a", b"", false).unwrap();
        assert!(w.add_file("a", b"", false).is_err());
        assert!(w.add_file("../a", b"", false).is_err());
        assert_eq!(
            w.files,
            vec![
                ListedFile {
                    path: "b".into(),
                    size: 2,
                    executable: true
                },
                ListedFile {
                    path: "a".into(),
                    size: 0,
                    executable: false
                },
            ]
        );
    }
}

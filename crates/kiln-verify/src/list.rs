//! A census's list of releases (`rebuild --list FILE`): one SOURCE per
//! line, blank lines and `#` comments skipped. The file is small text: a
//! regular file (never a FIFO or device) of at most [`MAX_LIST`] bytes.

use std::path::{Path, PathBuf};

/// A list file is small text; more is refused.
pub const MAX_LIST: u64 = 1 << 20;

/// Why a list file cannot be read. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("--list {}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--list {}: not a regular file of at most {MAX_LIST} bytes", path.display())]
    NotSmallFile { path: PathBuf },
    #[error("--list {}: not UTF-8 text", path.display())]
    NotText {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--list {}: lists no SOURCE", path.display())]
    Empty { path: PathBuf },
}

impl ListError {
    /// The list file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Unreadable { path, .. }
            | Self::NotSmallFile { path }
            | Self::NotText { path, .. }
            | Self::Empty { path } => path,
        }
    }

    /// Where the error is, for a `--json` error object: the list file.
    pub fn location(&self) -> Option<(Option<String>, Option<String>)> {
        Some((Some(self.path().display().to_string()), None))
    }
}

/// The SOURCEs of the list file at `path`, in order.
pub fn read_list(path: &Path) -> Result<Vec<String>, ListError> {
    let meta = std::fs::metadata(path).map_err(|source| ListError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_file() || meta.len() > MAX_LIST {
        return Err(ListError::NotSmallFile {
            path: path.to_path_buf(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| ListError::NotText {
        path: path.to_path_buf(),
        source,
    })?;
    let sources = parse_list(&text);
    if sources.is_empty() {
        return Err(ListError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(sources)
}

/// The SOURCEs of a list file's text.
pub fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_without_comments_or_blank_lines() {
        assert_eq!(
            parse_list("# a census\n\n a-1.0.tar.gz  # first\n\t\nhttps://x/b-2.0.tar.gz\n#\n"),
            ["a-1.0.tar.gz", "https://x/b-2.0.tar.gz"]
        );
    }

    #[test]
    fn only_a_small_regular_file_of_text_listing_something() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("list.txt");
        std::fs::write(&file, "a\n").unwrap();
        assert_eq!(read_list(&file).unwrap(), ["a"]);

        let missing = tmp.path().join("missing.txt");
        let e = read_list(&missing).unwrap_err();
        assert!(matches!(e, ListError::Unreadable { .. }), "{e}");
        assert_eq!(e.path(), missing);

        let e = read_list(tmp.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "--list {}: not a regular file of at most 1048576 bytes",
                tmp.path().display()
            )
        );

        let big = tmp.path().join("big.txt");
        std::fs::write(&big, vec![b'a'; MAX_LIST as usize + 1]).unwrap();
        assert!(matches!(
            read_list(&big),
            Err(ListError::NotSmallFile { .. })
        ));

        std::fs::write(&file, b"\xff\n").unwrap();
        assert!(matches!(read_list(&file), Err(ListError::NotText { .. })));

        std::fs::write(&file, "# nothing\n\n").unwrap();
        let e = read_list(&file).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("--list {}: lists no SOURCE", file.display())
        );
    }

    #[test]
    fn a_list_error_is_at_its_file() {
        let err = ListError::Empty {
            path: "list.txt".into(),
        };
        assert_eq!(err.location(), Some((Some("list.txt".into()), None)));
    }
}

//! kiln's access to git: the commit time of the last commit touching a
//! directory (the epoch's default), a file or a listing as a revision has
//! it (never the working tree), revisions resolved to commits, the origin's
//! URL, and clean checkouts (a clone holding only committed objects, a
//! commit checked out detached), for `release` and `verify`.
//!
//! git runs as a process (`git` from `PATH`, the caller's environment, no
//! shell, stdin closed, stdout and stderr captured); this is one of the
//! edge crates allowed to spawn processes. Every failure is a [`GitError`]
//! naming the command, the directory and what git said.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The most of git's stderr an error keeps.
const STDERR_KEPT: usize = 4096;

/// Why a git command gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// git could not be started (not installed, or not on `PATH`).
    #[error("could not run `git {command}` in {}: {source} (is git installed?)", dir.display())]
    Spawn {
        command: String,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// git ran and failed.
    #[error("`git {command}` failed in {} ({status}){}", dir.display(), said(stderr))]
    Failed {
        command: String,
        dir: PathBuf,
        status: String,
        stderr: String,
    },
    /// git's answer is not text.
    #[error("`git {command}` in {} printed output that is not UTF-8", dir.display())]
    NotUtf8 { command: String, dir: PathBuf },
    /// The revision names no object.
    #[error("{} has no revision {rev:?}", dir.display())]
    NoSuchRevision { rev: String, dir: PathBuf },
    /// git's answer is not what the command promises.
    #[error("`git {command}` in {} printed {output:?}, not {expected}", dir.display())]
    Unexpected {
        command: String,
        dir: PathBuf,
        output: String,
        expected: &'static str,
    },
}

fn said(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

/// A git working directory (or any directory inside one): every command
/// runs there.
#[derive(Debug, Clone)]
pub struct Repo {
    dir: PathBuf,
}

/// What a command printed, or that it exited with status 1 (the "no such
/// thing" answer of `rev-parse --verify --quiet` and `config --get`).
enum Answer {
    Output(String),
    No,
}

impl Repo {
    /// The repository at (or above) `dir`. Nothing is run yet.
    pub fn at(dir: impl Into<PathBuf>) -> Repo {
        Repo { dir: dir.into() }
    }

    /// The directory commands run in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `git rev-parse --git-dir`: an error when `dir` is not inside a git
    /// repository (or git cannot run).
    pub fn git_dir(&self) -> Result<String, GitError> {
        Ok(self
            .run(&["rev-parse", "--git-dir"])?
            .trim_end()
            .to_string())
    }

    /// The object `spec` names (`v1.0^{commit}`, `HEAD`, `HEAD:crates`),
    /// or None when there is no such object.
    pub fn rev_parse(&self, spec: &str) -> Result<Option<String>, GitError> {
        Ok(
            match self.ask(&["rev-parse", "--verify", "--quiet", spec])? {
                Answer::Output(out) => Some(out.trim().to_string()).filter(|s| !s.is_empty()),
                Answer::No => None,
            },
        )
    }

    /// The commit `rev` names (`HEAD`, a tag), as a full hash; an error when
    /// there is none.
    pub fn commit(&self, rev: &str) -> Result<String, GitError> {
        self.rev_parse(&format!("{rev}^{{commit}}"))?
            .ok_or_else(|| GitError::NoSuchRevision {
                rev: rev.to_string(),
                dir: self.dir.clone(),
            })
    }

    /// The file `path` as revision `rev` has it, exactly, or None when
    /// `git cat-file -e` says it is not there (whatever the reason: no such
    /// path, no such revision).
    pub fn read_file(&self, rev: &str, path: &str) -> Result<Option<String>, GitError> {
        let spec = format!("{rev}:{path}");
        match self.ask(&["cat-file", "-e", &spec]) {
            Ok(Answer::Output(_)) => {}
            Ok(Answer::No) | Err(GitError::Failed { .. }) => return Ok(None),
            Err(err) => return Err(err),
        }
        self.run(&["show", &spec]).map(Some)
    }

    /// The paths under `dir` (a directory with a trailing `/`, or a file)
    /// in revision `rev`, as `git ls-tree --name-only` lists them.
    pub fn list(&self, rev: &str, dir: &str) -> Result<Vec<String>, GitError> {
        let out = self.run(&["ls-tree", "--name-only", rev, dir])?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// `git config --get key`, or None when it is unset or empty.
    pub fn config(&self, key: &str) -> Result<Option<String>, GitError> {
        Ok(match self.ask(&["config", "--get", key])? {
            Answer::Output(out) => Some(out.trim().to_string()).filter(|s| !s.is_empty()),
            Answer::No => None,
        })
    }

    /// The commit time (seconds since 1970) of the last commit that touched
    /// `path` (relative to the directory; `.` for all of it), or None when
    /// no commit did.
    pub fn last_commit_time(&self, path: &str) -> Result<Option<i64>, GitError> {
        let args = ["log", "-1", "--format=%ct", "--", path];
        let out = self.run(&args)?;
        let out = out.trim();
        if out.is_empty() {
            return Ok(None);
        }
        out.parse().map(Some).map_err(|_| GitError::Unexpected {
            command: args.join(" "),
            dir: self.dir.clone(),
            output: out.to_string(),
            expected: "a commit time",
        })
    }

    /// Runs `git args` and returns its stdout; any failure is an error.
    fn run(&self, args: &[impl AsRef<OsStr>]) -> Result<String, GitError> {
        match self.ask(args)? {
            Answer::Output(out) => Ok(out),
            Answer::No => Err(self.failed(args, "exit status: 1".into(), String::new())),
        }
    }

    /// Runs `git args`: its stdout, or [`Answer::No`] for exit status 1
    /// with nothing on stderr.
    fn ask(&self, args: &[impl AsRef<OsStr>]) -> Result<Answer, GitError> {
        let command = command_line(args);
        #[allow(clippy::disallowed_methods)] // The git edge: this crate runs git.
        let output = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| GitError::Spawn {
                command: command.clone(),
                dir: self.dir.clone(),
                source,
            })?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        if !output.status.success() {
            if output.status.code() == Some(1) && stderr.is_empty() {
                return Ok(Answer::No);
            }
            let mut kept: String = stderr.chars().take(STDERR_KEPT).collect();
            if kept.len() < stderr.len() {
                kept.push_str(" [...]");
            }
            return Err(self.failed(args, output.status.to_string(), kept));
        }
        String::from_utf8(output.stdout)
            .map(Answer::Output)
            .map_err(|_| GitError::NotUtf8 {
                command,
                dir: self.dir.clone(),
            })
    }

    fn failed(&self, args: &[impl AsRef<OsStr>], status: String, stderr: String) -> GitError {
        GitError::Failed {
            command: command_line(args),
            dir: self.dir.clone(),
            status,
            stderr,
        }
    }
}

/// The arguments as a message shows them.
fn command_line(args: &[impl AsRef<OsStr>]) -> String {
    let words: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    words.join(" ")
}

/// Clones the repository at `source` into `dest` (which must not exist or
/// be empty) and checks out `commit` there, detached: the clone holds only
/// committed objects, so uncommitted and untracked files cannot leak in.
pub fn clean_checkout(source: &Path, dest: &Path, commit: &str) -> Result<(), GitError> {
    clone_without_checkout(source, dest)?;
    Repo::at(dest).checkout_detached(commit)
}

/// `git clone --quiet --no-checkout source dest`: only committed objects.
pub fn clone_without_checkout(source: &Path, dest: &Path) -> Result<(), GitError> {
    let args = [
        OsStr::new("clone"),
        OsStr::new("--quiet"),
        OsStr::new("--no-checkout"),
        source.as_os_str(),
        dest.as_os_str(),
    ];
    Repo::at(source).run(&args)?;
    Ok(())
}

/// `git clone --quiet --no-checkout -- url dest` for a repository given by
/// URL (`https://…`, `ssh://…`, `git@host:path`, `file://…`), run in
/// `dest`'s parent: only committed objects; `--` keeps a URL from being
/// read as an option.
pub fn clone_url(url: &str, dest: &Path) -> Result<(), GitError> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    let args = [
        OsStr::new("clone"),
        OsStr::new("--quiet"),
        OsStr::new("--no-checkout"),
        OsStr::new("--"),
        OsStr::new(url),
        dest.as_os_str(),
    ];
    Repo::at(parent).run(&args)?;
    Ok(())
}

impl Repo {
    /// Checks out `commit` in this (cloned) repository, detached.
    pub fn checkout_detached(&self, commit: &str) -> Result<(), GitError> {
        self.run(&[
            "-c",
            "advice.detachedHead=false",
            "checkout",
            "--quiet",
            "--detach",
            commit,
        ])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with one commit (time 1700000000) of `a.txt` and
    /// `keys/k.pub`, plus an uncommitted `b.txt`.
    fn repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            #[allow(clippy::disallowed_methods)] // The test builds a repository.
            let status = Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .env("GIT_AUTHOR_DATE", "1700000000 +0000")
                .env("GIT_COMMITTER_DATE", "1700000000 +0000")
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        };
        git(&["init", "-q", "."]);
        std::fs::write(dir.path().join("a.txt"), "a\r\n").unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("keys/k.pub"), "k").unwrap();
        git(&["add", "."]);
        git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.org",
            "commit",
            "-q",
            "-m",
            "one",
        ]);
        std::fs::write(dir.path().join("b.txt"), "b").unwrap();
        dir
    }

    #[test]
    fn reads_what_the_revision_has() {
        let dir = repository();
        let repo = Repo::at(dir.path());
        assert!(repo.git_dir().is_ok());
        assert_eq!(
            repo.read_file("HEAD", "a.txt").unwrap().as_deref(),
            Some("a\r\n")
        );
        assert_eq!(repo.read_file("HEAD", "b.txt").unwrap(), None);
        assert_eq!(repo.list("HEAD", "keys/").unwrap(), ["keys/k.pub"]);
        assert!(repo.list("HEAD", "none/").unwrap().is_empty());
        assert_eq!(repo.last_commit_time(".").unwrap(), Some(1_700_000_000));
        assert_eq!(repo.last_commit_time("b.txt").unwrap(), None);
        let head = repo.rev_parse("HEAD^{commit}").unwrap().unwrap();
        assert_eq!(head.len(), 40);
        assert_eq!(repo.rev_parse("v9^{commit}").unwrap(), None);
        assert_eq!(repo.commit("HEAD").unwrap(), head);
        assert!(matches!(
            repo.commit("v9").unwrap_err(),
            GitError::NoSuchRevision { .. }
        ));
        assert!(repo.rev_parse("HEAD:keys").unwrap().is_some());
        assert_eq!(repo.rev_parse("HEAD:none").unwrap(), None);
        assert_eq!(repo.config("remote.origin.url").unwrap(), None);
    }

    #[test]
    fn a_clean_checkout_holds_only_committed_files() {
        let dir = repository();
        let head = Repo::at(dir.path()).rev_parse("HEAD").unwrap().unwrap();
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("src");
        clean_checkout(dir.path(), &dest, &head).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("a.txt")).unwrap(),
            "a\r\n"
        );
        assert!(!dest.join("b.txt").exists());
        let err = clean_checkout(dir.path(), &out.path().join("other"), "0000").unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, GitError::Failed { .. }) && text.contains("checkout"),
            "{text}"
        );
    }

    #[test]
    fn outside_a_repository_is_an_error_naming_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::at(dir.path());
        let err = repo.git_dir().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`git rev-parse --git-dir` failed"), "{text}");
        assert!(text.contains("not a git repository"), "{text}");
        assert!(repo.last_commit_time(".").is_err());
        let missing = Repo::at(dir.path().join("gone"));
        assert!(matches!(
            missing.git_dir().unwrap_err(),
            GitError::Spawn { .. }
        ));
    }
}

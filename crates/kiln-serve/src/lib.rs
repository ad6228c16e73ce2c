//! The network edge that serves a mirror tree: a small, real HTTP/1.1
//! server (std's `TcpListener`, a thread per connection, every response
//! `Connection: close`) answering GET and HEAD from one directory.
//!
//! - A directory is served as its simple-index page, chosen by PEP 691
//!   content negotiation on `Accept`: `index.json` as
//!   `application/vnd.pypi.simple.v1+json` when the client prefers a JSON
//!   form (`…v1+json`, `…latest+json`; by q-value, JSON winning ties, as
//!   PEP 691's example server does), else `index.html` as `text/html`
//!   (or `application/vnd.pypi.simple.v1+html` when asked for by name). A
//!   directory asked for without its trailing slash is redirected (301).
//! - A file is served as `application/octet-stream` with its length.
//! - Only what is inside the directory: the path is percent-decoded and
//!   refused (404) if a segment is empty-dot, `..`, hidden (`.…`, so the
//!   staging and temporary entries of an update are never served) or holds
//!   a backslash or NUL; symlinks are not followed.
//!
//! Every request is handed to the caller's log as one line (`GET /path
//! 200 1234`), which is how a test sees pip read a `.metadata` file before
//! its wheel. No clock, no environment: the address and the log are the
//! caller's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{}: not a directory to serve", dir.display())]
    NotADirectory { dir: PathBuf },
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
}

/// PEP 691's JSON content type, version 1.
pub const JSON: &str = "application/vnd.pypi.simple.v1+json";
const HTML_V1: &str = "application/vnd.pypi.simple.v1+html";
/// A request head larger than this is refused.
const MAX_HEAD: usize = 64 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A bound server: [`Server::port`] is known before [`Server::run`].
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    root: PathBuf,
}

pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

impl Server {
    /// Binds 127.0.0.1:`port` (0: any free port) to serve `root`.
    pub fn bind(root: &Path, port: u16) -> Result<Server, ServeError> {
        if !root.is_dir() {
            return Err(ServeError::NotADirectory {
                dir: root.to_path_buf(),
            });
        }
        let listener = TcpListener::bind(("127.0.0.1", port))
            .map_err(|source| ServeError::Bind { port, source })?;
        Ok(Server {
            listener,
            root: root.to_path_buf(),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until the process ends; each request is logged through `log`.
    pub fn run(self, log: Log) {
        for stream in self.listener.incoming().flatten() {
            let root = self.root.clone();
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
                let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
                if let Some(line) = handle(&root, stream) {
                    log(&line);
                }
            });
        }
    }
}

struct Head {
    method: String,
    target: String,
    accept: String,
}

fn read_head(stream: &TcpStream) -> Option<Head> {
    let mut reader = BufReader::new(stream.take(MAX_HEAD as u64));
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut accept = String::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("accept")
        {
            if !accept.is_empty() {
                accept.push(',');
            }
            accept.push_str(value.trim());
        }
    }
    Some(Head {
        method,
        target,
        accept,
    })
}

/// The response to one connection, and its log line.
fn handle(root: &Path, mut stream: TcpStream) -> Option<String> {
    let head = read_head(&stream)?;
    let (status, content_type, body, location) = if head.method != "GET" && head.method != "HEAD" {
        (405, "text/plain", b"only GET and HEAD\n".to_vec(), None)
    } else {
        respond(root, &head)
    };
    let reason = match status {
        200 => "OK",
        301 => "Moved Permanently",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if content_type != "application/octet-stream" {
        out.push_str("Vary: Accept\r\n");
    }
    if let Some(location) = location {
        out.push_str(&format!("Location: {location}\r\n"));
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    if head.method == "GET" {
        let _ = stream.write_all(&body);
    }
    let _ = stream.flush();
    Some(format!(
        "{} {} {status} {}",
        head.method,
        head.target,
        body.len()
    ))
}

type Response = (u16, &'static str, Vec<u8>, Option<String>);

fn not_found() -> Response {
    (404, "text/plain", b"not found\n".to_vec(), None)
}

fn respond(root: &Path, head: &Head) -> Response {
    let path = head.target.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let Some(rest) = decoded.strip_prefix('/') else {
        return not_found();
    };
    let mut local = root.to_path_buf();
    let segments: Vec<&str> = rest.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        if segment.is_empty() && i + 1 == segments.len() {
            break;
        }
        if segment.is_empty() || segment.starts_with('.') || segment.contains(['\\', '\0']) {
            return not_found();
        }
        local.push(segment);
        match std::fs::symlink_metadata(&local) {
            Ok(meta) if meta.file_type().is_symlink() => return not_found(),
            Ok(_) => {}
            Err(_) => return not_found(),
        }
    }
    let Ok(meta) = std::fs::symlink_metadata(&local) else {
        return not_found();
    };
    if meta.is_dir() {
        if !path.ends_with('/') {
            return (301, "text/plain", Vec::new(), Some(format!("{path}/")));
        }
        let (file, content_type) = match negotiate(&head.accept) {
            Form::Json => ("index.json", JSON),
            Form::HtmlV1 => ("index.html", HTML_V1),
            Form::Html => ("index.html", "text/html; charset=utf-8"),
        };
        return match std::fs::read(local.join(file)) {
            Ok(body) => (200, content_type, body, None),
            Err(_) => not_found(),
        };
    }
    if !meta.is_file() {
        return not_found();
    }
    match std::fs::read(&local) {
        Ok(body) => (200, "application/octet-stream", body, None),
        Err(_) => not_found(),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Form {
    Json,
    HtmlV1,
    Html,
}

/// PEP 691 negotiation: the highest q among the forms we serve; JSON wins
/// a tie; no `Accept` (or only `*/*`) is HTML, which every client reads.
fn negotiate(accept: &str) -> Form {
    let mut json = 0.0f32;
    let mut html_v1 = 0.0f32;
    let mut html = 0.0f32;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        match mime.as_str() {
            "application/vnd.pypi.simple.v1+json" | "application/vnd.pypi.simple.latest+json" => {
                json = json.max(q);
            }
            "application/vnd.pypi.simple.v1+html" | "application/vnd.pypi.simple.latest+html" => {
                html_v1 = html_v1.max(q);
            }
            "text/html" => html = html.max(q),
            _ => {}
        }
    }
    if json > 0.0 && json >= html_v1 && json >= html {
        Form::Json
    } else if html_v1 > 0.0 && html_v1 >= html {
        Form::HtmlV1
    } else {
        Form::Html
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_pep_691() {
        assert_eq!(negotiate(""), Form::Html);
        assert_eq!(negotiate("*/*"), Form::Html);
        assert_eq!(
            negotiate("application/vnd.pypi.simple.v1+json, text/html;q=0.1"),
            Form::Json
        );
        assert_eq!(
            negotiate(
                "application/vnd.pypi.simple.v1+json;q=0.2, application/vnd.pypi.simple.v1+html"
            ),
            Form::HtmlV1
        );
        assert_eq!(
            negotiate("application/vnd.pypi.simple.v1+json;q=0, text/html"),
            Form::Html
        );
    }
}

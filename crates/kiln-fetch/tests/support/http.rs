//! A real, static HTTP/1.1 server on 127.0.0.1 for tests of the network
//! edge (`kiln-fetch`'s downloads and index client): it serves files from a directory on an
//! ephemeral port, answers 404 for what is missing, takes per-path
//! overrides (status, content type, redirect, a truncated or unsized body,
//! a body dripped slowly),
//! logs every request, and stops when dropped. Every response carries
//! `Connection: close`; a directory is served as its `index.json` when the
//! request's `Accept` asks for JSON and the file exists, else `index.html`,
//! which is how a static PEP 503 / PEP 691 simple index behaves.
//!
//! Included with `#[path]` by `kiln-fetch`'s unit tests and by test files in
//! `xtask/tests/`, so not every helper is used by every includer.
#![allow(dead_code)]

use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The content type PEP 691 gives the JSON form of the simple API.
pub const PEP691_JSON: &str = "application/vnd.pypi.simple.v1+json";

/// What the server answers for one path instead of the file.
#[derive(Debug, Clone)]
pub enum Override {
    /// This status with a short text body.
    Status(u16),
    /// A redirect: `status` (301, 302, 303, 307, 308) with `Location`.
    Redirect { status: u16, location: String },
    /// The file (or directory index) with this `Content-Type`.
    ContentType(String),
    /// The file without `Content-Length`: the body ends when the
    /// connection closes.
    NoContentLength,
    /// `Content-Length: claimed`, then the file (shorter), then close.
    Truncated { claimed: u64 },
    /// The file (or directory index) with its full `Content-Length`, sent
    /// `chunk` bytes at a time with `pause` between them: a server that
    /// stalls or drips. Stops when the client hangs up.
    Drip { chunk: usize, pause: Duration },
    /// This status, content type and body, whatever is on disk.
    Body {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
}

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    /// Header names lowercased, in the order sent.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
struct State {
    stop: AtomicBool,
    overrides: Mutex<BTreeMap<String, Override>>,
    log: Mutex<Vec<Request>>,
}

/// The running server; dropping it stops the thread.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    root: PathBuf,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serve `root` on 127.0.0.1 at an ephemeral port.
    pub fn start(root: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State::default());
        let thread = {
            let state = Arc::clone(&state);
            let root = root.to_path_buf();
            std::thread::spawn(move || serve(listener, &root, &state))
        };
        Server {
            addr,
            root: root.to_path_buf(),
            state,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Answer requests for `path` (without query) with `how`.
    pub fn set(&self, path: &str, how: Override) {
        lock(&self.state.overrides).insert(path.to_string(), how);
    }

    /// Every request served so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.state.log).clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept; the loop sees the flag and returns.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn serve(listener: TcpListener, root: &Path, state: &State) {
    for stream in listener.incoming() {
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        // One connection at a time: tests are sequential, and a client that
        // never finishes its request is cut off by the timeouts.
        let _ = handle(stream, root, state);
    }
}

const MAX_REQUEST_HEAD: usize = 64 * 1024;

fn handle(mut stream: TcpStream, root: &Path, state: &State) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let Some(request) = read_request(&mut stream)? else {
        return Ok(());
    };
    lock(&state.log).push(request.clone());
    let path = request
        .target
        .split(['?', '#'])
        .next()
        .unwrap_or("/")
        .to_string();
    let how = lock(&state.overrides).get(&path).cloned();
    let head = request.method == "HEAD";
    let mut out = BufWriter::new(&mut stream);
    match how {
        Some(Override::Status(status)) => {
            let body = format!("{status} {}\n", reason(status));
            respond(
                &mut out,
                status,
                "text/plain",
                &[],
                Some(body.as_bytes()),
                head,
            )?;
        }
        Some(Override::Redirect { status, location }) => {
            respond(
                &mut out,
                status,
                "text/plain",
                &[("Location", &location)],
                Some(b"redirect\n"),
                head,
            )?;
        }
        Some(Override::Body {
            status,
            content_type,
            body,
        }) => respond(&mut out, status, &content_type, &[], Some(&body), head)?,
        how => match resolve(root, &path, &request) {
            Found::File(bytes, content_type) => match how {
                Some(Override::ContentType(ct)) => {
                    respond(&mut out, 200, &ct, &[], Some(&bytes), head)?;
                }
                Some(Override::NoContentLength) => {
                    write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n"
                    )?;
                    if !head {
                        out.write_all(&bytes)?;
                    }
                }
                Some(Override::Drip { chunk, pause }) => {
                    write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        bytes.len()
                    )?;
                    out.flush()?;
                    if !head {
                        for piece in bytes.chunks(chunk.max(1)) {
                            std::thread::sleep(pause);
                            out.write_all(piece)?;
                            out.flush()?;
                        }
                    }
                }
                Some(Override::Truncated { claimed }) => {
                    write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {claimed}\r\nConnection: close\r\n\r\n"
                    )?;
                    if !head {
                        out.write_all(&bytes)?;
                    }
                }
                _ => respond(&mut out, 200, &content_type, &[], Some(&bytes), head)?,
            },
            Found::Slash(location) => respond(
                &mut out,
                301,
                "text/plain",
                &[("Location", &location)],
                Some(b"moved\n"),
                head,
            )?,
            Found::Missing => respond(
                &mut out,
                404,
                "text/plain",
                &[],
                Some(b"404 Not Found\n"),
                head,
            )?,
        },
    }
    out.flush()?;
    drop(out);
    stream.shutdown(std::net::Shutdown::Write)
}

/// Reads the request line and headers (a GET or HEAD has no body).
fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_REQUEST_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
        if !head[0].is_ascii_uppercase() {
            return Ok(None); // not HTTP (a TLS hello, say): hang up at once
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("/").to_string();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Some(Request {
        method,
        target,
        headers,
    }))
}

fn respond(
    out: &mut impl Write,
    status: u16,
    content_type: &str,
    extra: &[(&str, &str)],
    body: Option<&[u8]>,
    head: bool,
) -> std::io::Result<()> {
    let body = body.unwrap_or(b"");
    write!(out, "HTTP/1.1 {status} {}\r\n", reason(status))?;
    write!(out, "Content-Type: {content_type}\r\n")?;
    write!(out, "Content-Length: {}\r\n", body.len())?;
    for (name, value) in extra {
        write!(out, "{name}: {value}\r\n")?;
    }
    write!(out, "Connection: close\r\n\r\n")?;
    if !head {
        out.write_all(body)?;
    }
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

enum Found {
    File(Vec<u8>, String),
    /// A directory asked for without its trailing slash: redirect here.
    Slash(String),
    Missing,
}

fn resolve(root: &Path, path: &str, request: &Request) -> Found {
    let decoded = percent_decode(path);
    let mut file = root.to_path_buf();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment == ".." || segment == "." || segment.contains('\\') {
            return Found::Missing;
        }
        file.push(segment);
    }
    if file.is_dir() {
        if !path.ends_with('/') {
            return Found::Slash(format!("{path}/"));
        }
        let wants_json = request.header("accept").is_some_and(|a| a.contains("json"));
        let json = file.join("index.json");
        if wants_json && let Ok(bytes) = std::fs::read(&json) {
            return Found::File(bytes, PEP691_JSON.to_string());
        }
        file.push("index.html");
    }
    match std::fs::read(&file) {
        Ok(bytes) => {
            let content_type = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("json") => "application/json",
                Some("txt") => "text/plain; charset=utf-8",
                _ => "application/octet-stream",
            };
            Found::File(bytes, content_type.to_string())
        }
        Err(_) => Found::Missing,
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// PEP 503 normalization: lowercase, runs of `-_.` become one `-`.
pub fn normalize(project: &str) -> String {
    let mut out = String::new();
    let mut separator = false;
    for c in project.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !separator {
                out.push('-');
            }
            separator = true;
        } else {
            out.push(c.to_ascii_lowercase());
            separator = false;
        }
    }
    out
}

/// Writes a static simple index under `root`: each file at
/// `files/<filename>`, and `simple/<normalized project>/index.html` linking
/// them relatively (`../../files/<filename>#sha256=<hex>`), plus, when
/// `json`, the PEP 691 form beside it as `index.json` (served when the
/// request's `Accept` asks for JSON). Returns the page's directory.
pub fn write_simple_index(
    root: &Path,
    project: &str,
    files: &[(&str, &[u8])],
    json: bool,
) -> PathBuf {
    let page_dir = root.join("simple").join(normalize(project));
    std::fs::create_dir_all(&page_dir).expect("create the index page directory");
    std::fs::create_dir_all(root.join("files")).expect("create the files directory");
    let mut html = format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n    <title>Links for {project}</title>\n  </head>\n  <body>\n    <h1>Links for {project}</h1>\n"
    );
    let mut entries = Vec::new();
    for (filename, bytes) in files {
        std::fs::write(root.join("files").join(filename), bytes).expect("write an index file");
        let sha = sha256_hex(bytes);
        html.push_str(&format!(
            "    <a href=\"../../files/{filename}#sha256={sha}\" data-requires-python=\"&gt;=3.9\">{filename}</a><br />\n"
        ));
        entries.push(serde_json::json!({
            "filename": filename,
            "url": format!("../../files/{filename}"),
            "hashes": { "sha256": sha },
            "requires-python": ">=3.9",
            "size": bytes.len(),
            "yanked": false,
        }));
    }
    html.push_str("  </body>\n</html>\n");
    std::fs::write(page_dir.join("index.html"), html).expect("write index.html");
    if json {
        let page = serde_json::json!({
            "meta": { "api-version": "1.1", "_last-serial": 1 },
            "name": normalize(project),
            "files": entries,
            "versions": [],
        });
        std::fs::write(
            page_dir.join("index.json"),
            serde_json::to_vec_pretty(&page).expect("serialize the JSON page"),
        )
        .expect("write index.json");
    }
    page_dir
}

//! The server over real loopback sockets: PEP 691 negotiation of a
//! directory's page, files as octet streams, a directory without its slash
//! redirected, and nothing hidden, outside the tree or behind a symlink
//! served; every request logged.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

fn get(port: u16, target: &str, accept: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (
        String::from_utf8(response[..split].to_vec()).unwrap(),
        response[split + 4..].to_vec(),
    )
}

#[test]
fn serves_the_tree_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("m");
    std::fs::create_dir_all(root.join("simple/demo")).unwrap();
    std::fs::create_dir_all(root.join("files")).unwrap();
    std::fs::write(root.join("simple/demo/index.html"), "<html>").unwrap();
    std::fs::write(root.join("simple/demo/index.json"), "{}").unwrap();
    std::fs::write(root.join("files/a b.whl"), "wheel").unwrap();
    std::fs::write(root.join("files/.kiln-tmp-x"), "partial").unwrap();
    std::fs::write(tmp.path().join("secret"), "secret").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret"), root.join("files/link")).unwrap();

    let server = kiln_serve::Server::bind(&root, 0).unwrap();
    let port = server.port();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        server.run(Arc::new(move |line: &str| {
            sink.lock().unwrap().push(line.into())
        }))
    });

    let json = "application/vnd.pypi.simple.v1+json, text/html;q=0.1";
    let (head, body) = get(port, "/simple/demo/", json);
    assert!(
        head.contains("Content-Type: application/vnd.pypi.simple.v1+json"),
        "{head}"
    );
    assert_eq!(body, b"{}");
    let (head, body) = get(port, "/simple/demo/", "text/html");
    assert!(head.contains("Content-Type: text/html"), "{head}");
    assert_eq!(body, b"<html>");
    let (head, _) = get(port, "/simple/demo", "*/*");
    assert!(
        head.starts_with("HTTP/1.1 301") && head.contains("Location: /simple/demo/"),
        "{head}"
    );
    let (head, body) = get(port, "/files/a%20b.whl", "*/*");
    assert!(
        head.starts_with("HTTP/1.1 200") && head.contains("application/octet-stream"),
        "{head}"
    );
    assert_eq!(body, b"wheel");
    for refused in [
        "/files/.kiln-tmp-x",
        "/../secret",
        "/files/%2e%2e/%2e%2e/secret",
        "/files/link",
        "/nothing",
    ] {
        let (head, _) = get(port, refused, "*/*");
        assert!(head.starts_with("HTTP/1.1 404"), "{refused}: {head}");
    }
    // The log line is written after the response: wait for the last one.
    for _ in 0..100 {
        if log.lock().unwrap().len() == 9 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let log = log.lock().unwrap();
    assert!(
        log.iter().any(|l| l == "GET /files/a%20b.whl 200 5"),
        "{log:?}"
    );
}

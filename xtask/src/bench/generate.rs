//! The benchmark inputs, generated from a fixed seed so every run (and every
//! machine) measures the same bytes: a large project (5,000 modules, about
//! 50 MB, in one package a few subpackages deep) and a small one.
//!
//! The text is plausible Python -- docstrings, imports, classes, functions,
//! comments -- built from a word list, so that gzip and deflate see
//! compression ratios like real source rather than one repeated line.
//! Everything here is pure: [`generate`] returns paths and bytes; writing
//! them, with a pyproject.toml per build backend, is [`write_project`].

use anyhow::{Context, Result};
use std::path::Path;

/// The seed of every benchmark input.
pub const SEED: u64 = 0x6b69_6c6e_6265_6e63; // "kilnbenc"

/// The import name shared by every flavour of the project.
pub const PACKAGE: &str = "benchpkg";
pub const VERSION: &str = "1.0.0";

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// `.py` files, `__init__.py` included.
    pub files: usize,
    /// Roughly the sum of their sizes, in bytes.
    pub total_bytes: u64,
    /// Subpackage fan-out per level below the top package (its length is
    /// the depth).
    pub fanout: &'static [usize],
}

/// 5,000 modules, about 50 MB, three levels of subpackages (8 x 5 x 4).
pub const LARGE: Shape = Shape {
    files: 5_000,
    total_bytes: 47_000_000,
    fanout: &[8, 5, 4],
};
/// Four times the large project: kiln alone builds it, once, for its peak
/// memory (the peers would take minutes).
pub const HUGE: Shape = Shape {
    files: 20_000,
    total_bytes: 188_000_000,
    fanout: &[8, 5, 4, 4],
};
/// A handful of files: one subpackage.
pub const SMALL: Shape = Shape {
    files: 6,
    total_bytes: 24_000,
    fanout: &[1],
};

/// One generated source file: its path under the project (`src/benchpkg/…`)
/// and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// splitmix64: tiny, fast and fully specified, which is all a benchmark
/// generator needs (no cryptographic quality, no crate).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const WORDS: &[&str] = &[
    "account", "active", "adapter", "address", "alias", "amount", "archive", "array", "asset",
    "attempt", "backend", "balance", "batch", "binary", "block", "bucket", "buffer", "build",
    "bundle", "cache", "callback", "channel", "chunk", "client", "column", "config", "context",
    "counter", "cursor", "data", "delta", "digest", "domain", "draft", "entry", "event", "export",
    "factor", "field", "filter", "flag", "format", "frame", "graph", "group", "handle", "header",
    "index", "input", "item", "job", "key", "label", "layer", "limit", "line", "link", "loader",
    "lock", "manager", "message", "meta", "method", "mode", "model", "node", "offset", "option",
    "order", "output", "owner", "packet", "page", "parser", "path", "payload", "pending", "policy",
    "pool", "prefix", "profile", "proxy", "query", "queue", "range", "reader", "record", "region",
    "registry", "report", "request", "result", "retry", "route", "row", "rule", "sample", "scope",
    "segment", "session", "signal", "source", "state", "status", "store", "stream", "suffix",
    "table", "target", "task", "token", "total", "trace", "update", "user", "value", "version",
    "view", "window", "worker", "writer", "zone",
];

const VERBS: &[&str] = &[
    "apply",
    "build",
    "check",
    "collect",
    "compute",
    "convert",
    "create",
    "decode",
    "encode",
    "ensure",
    "fetch",
    "find",
    "flush",
    "format",
    "get",
    "handle",
    "load",
    "merge",
    "normalize",
    "open",
    "parse",
    "prepare",
    "process",
    "read",
    "refresh",
    "register",
    "render",
    "reset",
    "resolve",
    "save",
    "scan",
    "select",
    "send",
    "split",
    "store",
    "sync",
    "update",
    "validate",
    "write",
];

const PROSE: &[&str] = &[
    "the", "a", "each", "every", "this", "that", "is", "are", "when", "if", "not", "only",
    "returned", "given", "before", "after", "with", "without", "for", "from", "into", "of", "and",
    "or", "as", "by", "which", "may", "must", "should", "will", "be", "called", "used", "kept",
    "empty", "missing", "default", "current", "new", "previous",
];

const MODULES: &[&str] = &[
    "os",
    "sys",
    "re",
    "json",
    "logging",
    "itertools",
    "functools",
    "collections",
    "dataclasses",
    "typing",
    "pathlib",
    "hashlib",
    "datetime",
    "enum",
    "abc",
    "contextlib",
    "threading",
    "struct",
    "math",
];

const TYPES: &[&str] = &[
    "int",
    "str",
    "bytes",
    "float",
    "bool",
    "list[str]",
    "dict[str, int]",
    "Optional[str]",
];

fn ident(rng: &mut Rng) -> String {
    let mut s = rng.pick(WORDS).to_string();
    if rng.chance(60) {
        s.push('_');
        s.push_str(rng.pick(WORDS));
    }
    s
}

fn class_name(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..1 + rng.below(2) {
        let w = rng.pick(WORDS);
        s.push_str(&w[..1].to_ascii_uppercase());
        s.push_str(&w[1..]);
    }
    s
}

/// A sentence of `min` to `min + spread - 1` words.
fn sentence(rng: &mut Rng, min: usize, spread: usize) -> String {
    let words = min + rng.below(spread);
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(if rng.chance(35) {
            rng.pick(WORDS)
        } else {
            rng.pick(PROSE)
        });
    }
    let mut chars = s.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or('X');
    format!("{first}{}.", chars.as_str())
}

fn expression(rng: &mut Rng, names: &[String]) -> String {
    let name = |rng: &mut Rng| names[rng.below(names.len())].clone();
    match rng.below(8) {
        0 => format!("{} + {}", name(rng), rng.below(1000)),
        1 => format!("len({})", name(rng)),
        2 => format!("self.{}", ident(rng)),
        3 => format!("{}({}, {})", rng.pick(VERBS), name(rng), name(rng)),
        4 => format!("\"{}-{}\"", rng.pick(WORDS), rng.below(100)),
        5 => format!("[x for x in {} if x]", name(rng)),
        6 => format!("{}.get(\"{}\", None)", name(rng), rng.pick(WORDS)),
        _ => format!("{} * {}", name(rng), name(rng)),
    }
}

fn body(rng: &mut Rng, out: &mut String, indent: &str, args: &[String]) {
    let mut names: Vec<String> = args.to_vec();
    if names.is_empty() {
        names.push("self".to_string());
    }
    for _ in 0..2 + rng.below(7) {
        match rng.below(6) {
            0 => {
                let var = ident(rng);
                let expr = expression(rng, &names);
                out.push_str(&format!("{indent}{var} = {expr}\n"));
                names.push(var);
            }
            1 => {
                let cond = expression(rng, &names);
                let expr = expression(rng, &names);
                out.push_str(&format!("{indent}if {cond}:\n{indent}    return {expr}\n"));
            }
            2 => {
                let item = rng.pick(WORDS);
                let seq = names[rng.below(names.len())].clone();
                let call = rng.pick(VERBS);
                out.push_str(&format!(
                    "{indent}for {item} in {seq}:\n{indent}    {call}({item})\n"
                ));
            }
            3 => out.push_str(&format!("{indent}# {}\n", sentence(rng, 4, 10))),
            4 => {
                let logger = rng.pick(VERBS);
                out.push_str(&format!(
                    "{indent}logger.debug(\"{logger} %s\", {})\n",
                    names[rng.below(names.len())]
                ));
            }
            _ => {
                let expr = expression(rng, &names);
                out.push_str(&format!(
                    "{indent}{} = {expr}\n",
                    names[rng.below(names.len())]
                ));
            }
        }
    }
    let ret = expression(rng, &names);
    out.push_str(&format!("{indent}return {ret}\n"));
}

fn function(rng: &mut Rng, out: &mut String, indent: &str, method: bool) {
    let name = format!("{}_{}", rng.pick(VERBS), ident(rng));
    let mut args: Vec<String> = (0..rng.below(4)).map(|_| ident(rng)).collect();
    args.dedup();
    let mut params: Vec<String> = args
        .iter()
        .map(|a| format!("{a}: {}", rng.pick(TYPES)))
        .collect();
    if method {
        params.insert(0, "self".to_string());
    }
    let ret = rng.pick(TYPES);
    out.push_str(&format!(
        "{indent}def {name}({}) -> {ret}:\n",
        params.join(", ")
    ));
    out.push_str(&format!("{indent}    \"\"\"{}\n", sentence(rng, 5, 8)));
    if rng.chance(50) {
        out.push('\n');
        for a in &args {
            out.push_str(&format!(
                "{indent}    :param {a}: {}\n",
                sentence(rng, 3, 6)
            ));
        }
    }
    out.push_str(&format!("{indent}    \"\"\"\n"));
    body(rng, out, &format!("{indent}    "), &args);
    out.push('\n');
}

fn class(rng: &mut Rng, out: &mut String) {
    let name = class_name(rng);
    let base = if rng.chance(40) {
        format!("({})", class_name(rng))
    } else {
        String::new()
    };
    out.push_str(&format!(
        "class {name}{base}:\n    \"\"\"{}\"\"\"\n\n",
        sentence(rng, 6, 10)
    ));
    for _ in 0..1 + rng.below(3) {
        out.push_str(&format!(
            "    {}: {} = {}\n",
            ident(rng),
            rng.pick(TYPES),
            rng.below(4096)
        ));
    }
    out.push('\n');
    for _ in 0..1 + rng.below(4) {
        function(rng, out, "    ", true);
    }
}

/// One module of about `target` bytes (it stops at the first top-level
/// definition that reaches it).
fn module(rng: &mut Rng, dotted: &str, target: usize) -> Vec<u8> {
    let mut out = format!(
        "\"\"\"{dotted}: {}\n\n{}\n\"\"\"\n\n",
        sentence(rng, 4, 6),
        sentence(rng, 10, 20)
    );
    out.push_str("from __future__ import annotations\n\n");
    let mut imports: Vec<&str> = (0..2 + rng.below(5)).map(|_| rng.pick(MODULES)).collect();
    imports.push("logging");
    imports.sort_unstable();
    imports.dedup();
    for m in imports {
        out.push_str(&format!("import {m}\n"));
    }
    out.push_str("from typing import Optional\n\nlogger = logging.getLogger(__name__)\n\n");
    for _ in 0..rng.below(4) {
        out.push_str(&format!(
            "{} = {}\n",
            ident(rng).to_ascii_uppercase(),
            rng.below(1 << 20)
        ));
    }
    out.push_str("\n\n");
    while out.len() < target {
        if rng.chance(45) {
            class(rng, &mut out);
        } else {
            function(rng, &mut out, "", false);
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// Package directories under `src/benchpkg`, parents first: "" is the top
/// package, then e.g. "cache", "cache/parser", "cache/parser/token".
fn packages(rng: &mut Rng, fanout: &[usize]) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut level = vec![String::new()];
    for &n in fanout {
        let mut next = Vec::new();
        for parent in &level {
            let mut names: Vec<&str> = Vec::new();
            while names.len() < n {
                let w = rng.pick(WORDS);
                if !names.contains(&w) {
                    names.push(w);
                }
            }
            for w in names {
                next.push(if parent.is_empty() {
                    w.to_string()
                } else {
                    format!("{parent}/{w}")
                });
            }
        }
        all.extend(next.iter().cloned());
        level = next;
    }
    all
}

/// The `.py` files of a project of this shape, sorted by path; the same
/// seed gives the same files and bytes.
pub fn generate(shape: Shape, seed: u64) -> Vec<SourceFile> {
    let mut rng = Rng::new(seed);
    let packages = packages(&mut rng, shape.fanout);
    // Every package gets an __init__.py; the other modules go to random
    // packages with skewed sizes (many small modules, a few large ones).
    let modules = shape.files.saturating_sub(packages.len());
    let mut slots: Vec<(String, u64)> = packages
        .iter()
        .map(|p| (join(p, "__init__.py"), 1))
        .collect();
    let mut taken = std::collections::BTreeSet::new();
    while slots.len() < packages.len() + modules {
        let package = &packages[rng.below(packages.len())];
        let name = join(package, &format!("{}.py", ident(&mut rng)));
        if taken.insert(name.clone()) {
            // Weights 1..=64 squared-ish: sizes range over about 1:60.
            let w = 1 + rng.below(8) as u64;
            slots.push((name, w * w + rng.below(8) as u64));
        }
    }
    let weight_sum: u64 = slots.iter().map(|(_, w)| w).sum();
    let mut files: Vec<SourceFile> = slots
        .into_iter()
        .map(|(path, w)| {
            let target = (shape.total_bytes * w / weight_sum.max(1)) as usize;
            let dotted = path
                .trim_end_matches(".py")
                .trim_end_matches("__init__")
                .trim_end_matches('/')
                .replace('/', ".");
            let dotted = if dotted.is_empty() {
                PACKAGE.to_string()
            } else {
                format!("{PACKAGE}.{dotted}")
            };
            SourceFile {
                bytes: module(&mut rng, &dotted, target),
                path: format!("src/{PACKAGE}/{path}"),
            }
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn join(package: &str, file: &str) -> String {
    if package.is_empty() {
        file.to_string()
    } else {
        format!("{package}/{file}")
    }
}

/// The build backend a copy of the project declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    UvBuild,
    Hatchling,
    Flit,
}

const README: &str = "# benchpkg\n\nA generated project for `cargo xtask bench`: kiln, uv build, hatchling and\nflit pack the same sources.\n";

const LICENSE: &str = "MIT License\n\nCopyright (c) 2024 kiln bench\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal\nin the Software without restriction, including without limitation the rights\nto use, copy, modify, merge, publish, distribute, sublicense, and/or sell\ncopies of the Software, and to permit persons to whom the Software is\nfurnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all\ncopies or substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR\nIMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,\nFITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE\nAUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER\nLIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,\nOUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE\nSOFTWARE.\n";

/// The pyproject.toml of one flavour: the same PEP 621 metadata (static,
/// so flit needs no import of the module), the backend's own settings.
pub fn pyproject(backend: Backend) -> String {
    let build_system = match backend {
        Backend::UvBuild => {
            "requires = [\"uv_build>=0.13.6,<0.14\"]\nbuild-backend = \"uv_build\"\n"
        }
        Backend::Hatchling => "requires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n",
        Backend::Flit => {
            "requires = [\"flit_core>=3.12,<5\"]\nbuild-backend = \"flit_core.buildapi\"\n"
        }
    };
    let tool = match backend {
        // uv_build's defaults: module `benchpkg` under `src/`.
        Backend::UvBuild => "",
        Backend::Hatchling => "\n[tool.hatch.build.targets.wheel]\npackages = [\"src/benchpkg\"]\n",
        // flit_core finds `benchpkg` in `src/` by itself; the name is spelled
        // out since it equals the distribution name anyway.
        Backend::Flit => "\n[tool.flit.module]\nname = \"benchpkg\"\n",
    };
    format!(
        "[build-system]\n{build_system}\n[project]\nname = \"{PACKAGE}\"\nversion = \"{VERSION}\"\n\
         description = \"A generated benchmark project\"\nreadme = \"README.md\"\nlicense = \"MIT\"\n\
         license-files = [\"LICENSE\"]\nrequires-python = \">=3.9\"\n{tool}"
    )
}

/// Writes the project (sources, README.md, LICENSE, pyproject.toml) into
/// `dir`, which must not exist yet or be empty.
pub fn write_project(dir: &Path, files: &[SourceFile], backend: Backend) -> Result<()> {
    let write = |rel: &str, bytes: &[u8]| -> Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("failed to create {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("failed to write {}", path.display()))
    };
    write("pyproject.toml", pyproject(backend).as_bytes())?;
    write("README.md", README.as_bytes())?;
    write("LICENSE", LICENSE.as_bytes())?;
    for file in files {
        write(&file.path, &file.bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_files() {
        let a = generate(SMALL, SEED);
        let b = generate(SMALL, SEED);
        assert_eq!(a, b);
        assert_ne!(a, generate(SMALL, SEED + 1));
    }

    #[test]
    fn small_shape() {
        let files = generate(SMALL, SEED);
        assert_eq!(files.len(), SMALL.files);
        assert!(files.iter().any(|f| f.path == "src/benchpkg/__init__.py"));
        assert!(
            files
                .iter()
                .all(|f| f.path.starts_with("src/benchpkg/") && f.path.ends_with(".py"))
        );
    }

    #[test]
    fn large_shape_and_determinism() {
        let files = generate(LARGE, SEED);
        assert_eq!(files.len(), 5_000);
        let total: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
        assert!((48_000_000..56_000_000).contains(&total), "total {total}");
        // Packages nest three levels below benchpkg.
        assert!(files.iter().any(|f| f.path.matches('/').count() == 5));
        // Sizes vary; the text is not one repeated line.
        let min = files.iter().map(|f| f.bytes.len()).min().unwrap_or(0);
        let max = files.iter().map(|f| f.bytes.len()).max().unwrap_or(0);
        assert!(max > 10 * min.max(1), "sizes {min}..{max}");
        let lines: std::collections::BTreeSet<&[u8]> =
            files[100].bytes.split(|&b| b == b'\n').collect();
        assert!(lines.len() > 20);
        // Pin the content: any change to the generator changes this digest.
        let mut all = Vec::new();
        for f in &files {
            all.extend_from_slice(f.path.as_bytes());
            all.push(0);
            all.extend_from_slice(&f.bytes);
        }
        let digest = kiln_digest::hex(&kiln_digest::sha256(&all));
        assert_eq!(
            digest,
            "3800bf82e80ce2b4ead35cbdafc349863c552e88ff0b23c638a5549b6c5f1689"
        );
    }
}

//! PEP 503's HTML project page, scanned in one forward pass: only `<a>` and
//! `<base>` are read, entities decoded, every byte looked at a fixed number
//! of times.

use crate::{
    Collector, IndexError, Listing, MAX_TEXT, MAX_YANK_REASON, last_segment, page_base, resolve,
};

/// The files of a PEP 503 HTML project page served from `page_url` that
/// `keep` wants by name: every `<a href>` (relative hrefs resolved against
/// the page, or a `<base href>` before it), its text (or, if empty, the
/// URL's last path segment) as the file name, `#sha256=` as the hash and
/// `data-yanked` as yanked. An anchor's text ends at `</a>`, at the next
/// `<a>`, or at any tag other than inline markup (`<span>`, `<b>`, ...);
/// comments are skipped; entities in attributes and text are decoded.
pub fn parse_html(
    page_url: &str,
    body: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<Listing, IndexError> {
    let mut base = page_base(page_url)?;
    let mut collector = Collector::new(page_url, keep);
    let bytes = body.as_bytes();
    let mut open: Option<Anchor> = None;
    let mut at = 0;
    while at < bytes.len() {
        let next = find_byte(bytes, at, b'<');
        let text_end = next.unwrap_or(bytes.len());
        if let Some(anchor) = &mut open {
            anchor.push_text(&body[at..text_end]);
        }
        let Some(start) = next else { break };
        if bytes[start..].starts_with(b"<!--") {
            match find_seq(&bytes[start + 4..], b"-->") {
                Some(end) => {
                    at = start + 4 + end + 3;
                    continue;
                }
                None => break,
            }
        }
        let tag = match scan_tag(body, start) {
            Scan::Text => {
                if let Some(anchor) = &mut open {
                    anchor.push_text("<");
                }
                at = start + 1;
                continue;
            }
            // End of input inside a tag: HTML drops the tag and the rest.
            Scan::Eof => break,
            Scan::Tag(tag) => tag,
        };
        at = tag.end;
        let name = &body[tag.name.0..tag.name.1];
        if name.eq_ignore_ascii_case("a") {
            if let Some(anchor) = open.take() {
                anchor.finish(&mut collector)?;
            }
            if !tag.closing {
                let link = match tag.href {
                    Some(href) => {
                        Some(resolve(&base, &href).map_err(|reason| IndexError::Link {
                            page: page_url.to_string(),
                            href,
                            reason,
                        })?)
                    }
                    None => None,
                };
                open = Some(Anchor {
                    link,
                    yanked: tag.yanked,
                    text: String::new(),
                });
            }
        } else if !PHRASING.iter().any(|p| name.eq_ignore_ascii_case(p)) {
            if let Some(anchor) = open.take() {
                anchor.finish(&mut collector)?;
            }
            if name.eq_ignore_ascii_case("base")
                && !tag.closing
                && let Some(href) = tag.href
            {
                base = base.join(&href).map_err(|e| IndexError::Base {
                    page: page_url.to_string(),
                    href,
                    reason: e.to_string(),
                })?;
            }
        }
    }
    if let Some(anchor) = open.take() {
        anchor.finish(&mut collector)?;
    }
    Ok(collector.listing)
}

/// Inline markup that may sit inside a link's text without ending it.
const PHRASING: &[&str] = &[
    "abbr", "b", "big", "code", "em", "font", "i", "kbd", "mark", "s", "samp", "small", "span",
    "strong", "sub", "sup", "tt", "u", "var", "wbr",
];

/// An `<a>` whose text is being read.
struct Anchor {
    /// The resolved URL and its fragment's sha256; `None` without `href`.
    link: Option<(String, Option<String>)>,
    /// `data-yanked`'s value (capped), if present.
    yanked: Option<String>,
    text: String,
}

impl Anchor {
    fn push_text(&mut self, text: &str) {
        let room = MAX_TEXT.saturating_sub(self.text.len());
        if room == 0 {
            return;
        }
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&text[..end]);
    }

    fn finish<F: Fn(&str) -> bool>(
        self,
        collector: &mut Collector<'_, F>,
    ) -> Result<(), IndexError> {
        let Some((url, sha256)) = self.link else {
            return Ok(());
        };
        let text = decode_entities(&self.text).trim().to_string();
        let filename = if text.is_empty() {
            last_segment(&url)
        } else {
            text
        };
        if collector.offer(&filename)? {
            collector.push(filename, url, sha256, self.yanked.is_some())?;
            collector.set_yank_reason(self.yanked);
        }
        Ok(())
    }
}

/// A start or end tag: what the scanner keeps of it.
struct Tag {
    /// Byte range of the name in the body.
    name: (usize, usize),
    /// `</name>`: an end tag.
    closing: bool,
    /// The first `href`, entities decoded (`""` for a bare attribute).
    href: Option<String>,
    /// The first `data-yanked` attribute's value, entities decoded and
    /// capped at [`MAX_YANK_REASON`] bytes (`""` for a bare attribute).
    yanked: Option<String>,
    /// Just past the closing `>`.
    end: usize,
}

enum Scan {
    /// A `<` that starts no tag: it is text.
    Text,
    /// The input ends inside the tag.
    Eof,
    Tag(Tag),
}

/// Reads the tag at `start` (a `<`), looking at each byte once.
fn scan_tag(body: &str, start: usize) -> Scan {
    let bytes = body.as_bytes();
    let len = bytes.len();
    let mut i = start + 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while i < len && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'!') {
        i += 1;
    }
    if i == name_start {
        return Scan::Text;
    }
    let mut tag = Tag {
        name: (name_start, i),
        closing,
        href: None,
        yanked: None,
        end: 0,
    };
    loop {
        while i < len && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        match bytes.get(i) {
            None => return Scan::Eof,
            Some(b'>') => {
                tag.end = i + 1;
                return Scan::Tag(tag);
            }
            Some(_) => {}
        }
        let attr_start = i;
        while i < len && !bytes[i].is_ascii_whitespace() && !b"=>/".contains(&bytes[i]) {
            i += 1;
        }
        let attr = &body[attr_start..i];
        while i < len && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            if attr_start == i {
                i += 1; // junk that starts no attribute: step over it
            }
            tag.note(attr, "");
            continue;
        }
        i += 1;
        while i < len && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = match bytes.get(i) {
            None => return Scan::Eof,
            Some(&quote @ (b'"' | b'\'')) => {
                let value_start = i + 1;
                let Some(value_len) = find_byte(bytes, value_start, quote).map(|q| q - value_start)
                else {
                    return Scan::Eof;
                };
                i = value_start + value_len + 1;
                &body[value_start..value_start + value_len]
            }
            _ => {
                let value_start = i;
                while i < len && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                &body[value_start..i]
            }
        };
        tag.note(attr, value);
    }
}

impl Tag {
    /// Keeps the attributes the scanner needs; drops the rest unread.
    fn note(&mut self, attr: &str, value: &str) {
        if attr.eq_ignore_ascii_case("href") {
            if self.href.is_none() {
                self.href = Some(decode_entities(value));
            }
        } else if attr.eq_ignore_ascii_case("data-yanked") && self.yanked.is_none() {
            let mut end = value.len().min(MAX_YANK_REASON);
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            self.yanked = Some(decode_entities(&value[..end]));
        }
    }
}

/// The first `needle` at or after `from`.
fn find_byte(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|p| from + p)
}

/// The first `needle` in `haystack` (needle short, no repeated prefix
/// that would matter: a plain scan stays linear for `-->`).
fn find_seq(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;` and numeric
/// references; anything else is kept as written. An entity's `;` is looked
/// for in the next 32 bytes only, so the pass is linear.
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.as_bytes()[1..]
            .iter()
            .take(33)
            .position(|&b| b == b';')
            .and_then(|semi| Some((entity(&rest[1..1 + semi])?, semi + 2)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        u32::from_str_radix(hex, 16).ok()?
    } else if let Some(dec) = name.strip_prefix('#') {
        dec.parse().ok()?
    } else {
        return match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => None,
        };
    };
    Some(char::from_u32(code).unwrap_or('\u{fffd}'))
}

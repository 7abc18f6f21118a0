//! HTTP header storage and the list grammars of RFC 7230 §7 used by the
//! handshake: comma-separated token lists and extension offers with
//! parameters and quoted strings.

use std::fmt;

use bytes::BufMut;

/// One HTTP header as it appeared on the wire, borrowed from [`Headers`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name, with its original case.
    pub name: &'a str,
    /// The raw value (HTTP allows bytes that are not UTF-8).
    pub value: &'a [u8],
}

impl<'a> Header<'a> {
    /// The value as text, if it is UTF-8.
    pub fn value_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.value).ok()
    }
}

impl fmt::Debug for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {:?}",
            self.name,
            String::from_utf8_lossy(self.value)
        )
    }
}

/// An ordered list of headers with case-insensitive lookup. Repeated
/// headers are kept as separate entries.
///
/// Names and values live in one buffer, so a parsed request of a dozen
/// headers costs two allocations, not two per header.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Each header's name followed by its value.
    text: Vec<u8>,
    entries: Vec<Entry>,
}

/// Where one header lies in `Headers::text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    start: usize,
    name_len: usize,
    value_len: usize,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Headers::default()
    }

    /// Appends a header.
    pub fn push(&mut self, name: impl AsRef<str>, value: impl AsRef<[u8]>) {
        self.push_raw(name.as_ref(), value.as_ref());
    }

    fn push_raw(&mut self, name: &str, value: &[u8]) {
        let start = self.text.len();
        self.text.extend_from_slice(name.as_bytes());
        self.text.extend_from_slice(value);
        self.entries.push(Entry {
            start,
            name_len: name.len(),
            value_len: value.len(),
        });
    }

    fn header(&self, entry: &Entry) -> Header<'_> {
        let name_end = entry.start + entry.name_len;
        let name = self.text.get(entry.start..name_end).unwrap_or_default();
        Header {
            // Names are pushed as `&str`, so this never falls back.
            name: std::str::from_utf8(name).unwrap_or_default(),
            value: self
                .text
                .get(name_end..name_end + entry.value_len)
                .unwrap_or_default(),
        }
    }

    /// The first value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.values(name).next()
    }

    /// The first value of `name` as text, if present and UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.values(name)
    }

    /// The values of `name`, comparing names as bytes (no UTF-8 check per
    /// header looked at).
    fn values<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s [u8]> + use<'s, 'n> {
        self.entries.iter().filter_map(move |e| {
            let name_end = e.start + e.name_len;
            let this = self.text.get(e.start..name_end)?;
            if !this.eq_ignore_ascii_case(name.as_bytes()) {
                return None;
            }
            self.text.get(name_end..name_end + e.value_len)
        })
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The comma-separated elements of every `name` header, trimmed, empty
    /// elements skipped (RFC 7230 §7). Values that are not UTF-8 yield
    /// nothing.
    pub fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .flat_map(|v| v.split(','))
            .map(|item| item.trim_matches([' ', '\t']))
            .filter(|item| !item.is_empty())
    }

    /// Whether the list in `name` contains `token`, ignoring ASCII case.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.list(name).any(|item| item.eq_ignore_ascii_case(token))
    }

    /// Every header in order.
    pub fn iter(&self) -> impl Iterator<Item = Header<'_>> {
        self.entries.iter().map(|entry| self.header(entry))
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn from_httparse(raw: &[httparse::Header<'_>]) -> Self {
        let mut headers = Headers {
            text: Vec::with_capacity(raw.iter().map(|h| h.name.len() + h.value.len()).sum()),
            entries: Vec::with_capacity(raw.len()),
        };
        for h in raw {
            headers.push_raw(h.name, h.value);
        }
        headers
    }

    /// Checks that every header can be written into an HTTP head.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for h in self.iter() {
            if !is_token(h.name) || h.value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
                return Err(h.name.to_owned());
            }
        }
        Ok(())
    }

    pub(crate) fn write_to(&self, out: &mut impl BufMut) {
        for h in self.iter() {
            write_header(out, h.name, h.value);
        }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

pub(crate) fn write_header(out: &mut impl BufMut, name: &str, value: &[u8]) {
    out.put_slice(name.as_bytes());
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// RFC 7230 `tchar`.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Whether `s` is a non-empty RFC 7230 token.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// One extension offered or accepted in `Sec-WebSocket-Extensions`, e.g.
/// `permessage-deflate; client_max_window_bits`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The extension token.
    pub name: String,
    /// Parameters in order; quoted values are unquoted.
    pub params: Vec<(String, Option<String>)>,
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            match value {
                Some(v) if is_token(v) => write!(f, "; {name}={v}")?,
                Some(v) => write!(
                    f,
                    "; {name}=\"{}\"",
                    v.replace('\\', "\\\\").replace('"', "\\\"")
                )?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

/// The value cannot be parsed as an extension list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidExtensionList;

/// Parses every `Sec-WebSocket-Extensions` value in `headers` into one list
/// (RFC 6455 §9.1 grammar, with RFC 7230 quoted strings).
pub fn parse_extensions(headers: &Headers) -> Result<Vec<Extension>, InvalidExtensionList> {
    let mut out = Vec::new();
    for value in headers.get_all("Sec-WebSocket-Extensions") {
        let text = std::str::from_utf8(value).map_err(|_| InvalidExtensionList)?;
        ExtensionParser { rest: text }.parse_into(&mut out)?;
    }
    Ok(out)
}

struct ExtensionParser<'a> {
    rest: &'a str,
}

impl ExtensionParser<'_> {
    fn parse_into(&mut self, out: &mut Vec<Extension>) -> Result<(), InvalidExtensionList> {
        loop {
            self.skip_ows();
            if self.eat(',') {
                continue; // empty list elements are allowed
            }
            if self.rest.is_empty() {
                return Ok(());
            }
            let name = self.token()?;
            let mut params = Vec::new();
            loop {
                self.skip_ows();
                if !self.eat(';') {
                    break;
                }
                self.skip_ows();
                let param = self.token()?;
                self.skip_ows();
                let value = if self.eat('=') {
                    self.skip_ows();
                    Some(self.value()?)
                } else {
                    None
                };
                params.push((param, value));
            }
            out.push(Extension { name, params });
            self.skip_ows();
            if !self.rest.is_empty() && !self.eat(',') {
                return Err(InvalidExtensionList);
            }
        }
    }

    fn skip_ows(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn token(&mut self) -> Result<String, InvalidExtensionList> {
        let end = self
            .rest
            .bytes()
            .position(|b| !is_tchar(b))
            .unwrap_or(self.rest.len());
        let (token, rest) = self
            .rest
            .split_at_checked(end)
            .ok_or(InvalidExtensionList)?;
        if token.is_empty() {
            return Err(InvalidExtensionList);
        }
        self.rest = rest;
        Ok(token.to_owned())
    }

    fn value(&mut self) -> Result<String, InvalidExtensionList> {
        if !self.eat('"') {
            return self.token();
        }
        let mut value = String::new();
        let mut chars = self.rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = self.rest.get(i + 1..).unwrap_or_default();
                    return Ok(value);
                }
                // quoted-pair: a backslash and any visible character.
                '\\' => match chars.next() {
                    Some((_, c)) if !c.is_control() || c == '\t' => value.push(c),
                    _ => return Err(InvalidExtensionList),
                },
                c if c.is_control() && c != '\t' => return Err(InvalidExtensionList),
                c => value.push(c),
            }
        }
        Err(InvalidExtensionList)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in pairs {
            h.push(*n, v.as_bytes());
        }
        h
    }

    #[test]
    fn token_lists_span_lines_and_ignore_case() {
        let h = headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("Sec-WebSocket-Protocol", "chat"),
            ("sec-websocket-protocol", " superchat ,,"),
        ]);
        assert!(h.has_token("Connection", "upgrade"));
        assert_eq!(
            h.list("Sec-WebSocket-Protocol").collect::<Vec<_>>(),
            ["chat", "superchat"]
        );
    }

    #[test]
    fn extension_grammar() {
        let h = headers(&[
            (
                "Sec-WebSocket-Extensions",
                "permessage-deflate; client_max_window_bits, permessage-deflate ;server_max_window_bits=\"10\"",
            ),
            ("Sec-WebSocket-Extensions", "x-foo; a=\"q\\\"uo,te;d\""),
        ]);
        let list = parse_extensions(&h).ok().unwrap_or_default();
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[0].params,
            [("client_max_window_bits".to_owned(), None)]
        );
        assert_eq!(
            list[1].params,
            [("server_max_window_bits".to_owned(), Some("10".to_owned()))]
        );
        assert_eq!(
            list[2].params,
            [("a".to_owned(), Some("q\"uo,te;d".to_owned()))]
        );
        assert_eq!(list[2].to_string(), "x-foo; a=\"q\\\"uo,te;d\"");
        for bad in [
            "foo;",
            "foo bar",
            "foo; a=\"open",
            "=x",
            "foo; a=b c",
            "foo; a=\"\\\u{1}\"",
        ] {
            let h = headers(&[("Sec-WebSocket-Extensions", bad)]);
            assert_eq!(parse_extensions(&h), Err(InvalidExtensionList), "{bad}");
        }
    }
}

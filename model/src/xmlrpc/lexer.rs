//! A small XML tokenizer for XML-RPC documents.
//!
//! It yields start, empty, end, text and CDATA tokens over a UTF-8 document, skipping comments
//! and processing instructions (after checking the declared encoding), and refusing any
//! document type declaration, so no entity can be declared, expanded or fetched. Nesting is
//! checked by the grammar in `decode.rs`, which knows which closing tag it expects at each
//! point. Written for XML-RPC's small vocabulary and for speed: a general-purpose XML reader
//! spent most of the decode time re-validating and describing tokens we do not need.

use std::borrow::Cow;

use super::DecodeError;

/// One token. Names and text borrow from the document; text is raw (see [`unescape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    Start(&'a str),
    Empty(&'a str),
    End(&'a str),
    Text(&'a str),
    CData(&'a str),
    Eof,
}

pub(super) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

fn malformed(what: &str) -> DecodeError {
    DecodeError::Xml(what.to_owned())
}

/// The offset of `needle` in `haystack`, or a "not closed" error naming `what`.
fn find(haystack: &str, needle: &str, what: &str) -> Result<usize, DecodeError> {
    haystack
        .find(needle)
        .ok_or_else(|| malformed(&format!("{what} is not closed")))
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Self { text, pos: 0 }
    }

    pub fn next(&mut self) -> Result<Token<'a>, DecodeError> {
        loop {
            let bytes = self.text.as_bytes();
            if self.pos >= bytes.len() {
                return Ok(Token::Eof);
            }
            if bytes[self.pos] != b'<' {
                let start = self.pos;
                let end = memchr::memchr(b'<', &bytes[start..]).map_or(bytes.len(), |i| start + i);
                self.pos = end;
                return Ok(Token::Text(&self.text[start..end]));
            }

            // Dispatch on the byte after `<`: most tags are plain start and end tags, which
            // then cost no further comparisons.
            let rest = &self.text[self.pos..];
            match bytes.get(self.pos + 1) {
                Some(b'/') => {
                    let end_tag = &rest[2..];
                    let close = memchr::memchr(b'>', end_tag.as_bytes())
                        .ok_or_else(|| malformed("a closing tag is not closed"))?;
                    let name = end_tag[..close].trim_end();
                    check_name(name)?;
                    self.pos += 2 + close + 1;
                    return Ok(Token::End(name));
                }
                Some(b'?') => {
                    let pi = &rest[2..];
                    let end = find(pi, "?>", "a processing instruction")?;
                    let body = &pi[..end];
                    if let Some(declaration) = body.strip_prefix("xml")
                        && declaration.starts_with(|c: char| c.is_ascii_whitespace())
                    {
                        check_declaration(declaration)?;
                    }
                    self.pos += 2 + end + 2;
                }
                Some(b'!') => {
                    if let Some(comment) = rest.strip_prefix("<!--") {
                        let end = find(comment, "-->", "a comment")?;
                        self.pos += 4 + end + 3;
                    } else if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
                        let end = find(cdata, "]]>", "a CDATA section")?;
                        self.pos += 9 + end + 3;
                        return Ok(Token::CData(&cdata[..end]));
                    } else if rest.starts_with("<!DOCTYPE") || rest.starts_with("<!doctype") {
                        return Err(DecodeError::Doctype);
                    } else {
                        return Err(malformed("markup declarations are not allowed"));
                    }
                }
                _ => return self.start_tag(rest),
            }
        }
    }

    /// A start or empty-element tag at the start of `rest`. Attributes are skipped (XML-RPC
    /// has none), quotes honoured.
    fn start_tag(&mut self, rest: &'a str) -> Result<Token<'a>, DecodeError> {
        let bytes = rest.as_bytes();
        let mut i = 1;
        while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>') {
            i += 1;
        }
        let name = &rest[1..i];
        check_name(name)?;
        while i < bytes.len() {
            match bytes[i] {
                b'>' => {
                    self.pos += i + 1;
                    return Ok(Token::Start(name));
                }
                b'/' if bytes.get(i + 1) == Some(&b'>') => {
                    self.pos += i + 2;
                    return Ok(Token::Empty(name));
                }
                quote @ (b'"' | b'\'') => {
                    let close = memchr::memchr(quote, &bytes[i + 1..])
                        .ok_or_else(|| malformed("an attribute value is not closed"))?;
                    i += close + 2;
                }
                b'<' => return Err(malformed("`<` inside a tag")),
                _ => i += 1,
            }
        }
        Err(malformed("a tag is not closed"))
    }
}

#[inline]
fn check_name(name: &str) -> Result<(), DecodeError> {
    // Only the first character is checked: the grammar compares every name with the one it
    // expects, so a name with odd characters later is refused there.
    let valid = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80);
    if valid {
        Ok(())
    } else {
        Err(malformed(&format!("invalid element name `{name}`")))
    }
}

/// Refuses a declared encoding other than UTF-8.
fn check_declaration(declaration: &str) -> Result<(), DecodeError> {
    let Some(at) = declaration.find("encoding") else {
        return Ok(());
    };
    let value = declaration[at + "encoding".len()..].trim_start();
    let value = value.strip_prefix('=').map(str::trim_start).unwrap_or("");
    let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'');
    let encoding = quote
        .and_then(|q| value[1..].split(q).next())
        .ok_or_else(|| malformed("malformed encoding declaration"))?;
    if encoding.eq_ignore_ascii_case("utf-8") {
        Ok(())
    } else {
        Err(DecodeError::Encoding(encoding.chars().take(64).collect()))
    }
}

/// Resolves the five predefined entities and character references, and normalises line ends,
/// in raw text. Borrows when there is nothing to do.
pub(super) fn unescape(raw: &str) -> Result<Cow<'_, str>, DecodeError> {
    if memchr::memchr2(b'&', b'\r', raw.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = memchr::memchr2(b'&', b'\r', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        if rest.as_bytes()[at] == b'\r' {
            out.push('\n');
            rest = &rest[at + 1..];
            rest = rest.strip_prefix('\n').unwrap_or(rest);
            continue;
        }
        let after = &rest[at + 1..];
        let semicolon = after
            .find(';')
            .filter(|i| *i <= 12)
            .ok_or_else(|| DecodeError::Entity(after.chars().take(12).collect()))?;
        out.push(resolve(&after[..semicolon])?);
        rest = &after[semicolon + 1..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// Normalises line ends in CDATA content.
pub(super) fn normalize_lines(raw: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\r', raw.as_bytes()).is_none() {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
    }
}

fn resolve(name: &str) -> Result<char, DecodeError> {
    let refused = || DecodeError::Entity(name.chars().take(12).collect());
    Ok(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).map_err(|_| refused())?
            } else if let Some(decimal) = name.strip_prefix('#') {
                decimal.parse::<u32>().map_err(|_| refused())?
            } else {
                return Err(refused());
            };
            char::from_u32(code)
                .filter(|c| *c != '\0')
                .ok_or_else(refused)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Result<Vec<Token<'_>>, DecodeError> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        loop {
            match lexer.next()? {
                Token::Eof => return Ok(out),
                token => out.push(token),
            }
        }
    }

    #[test]
    fn tags_text_comments_and_declarations() {
        let got = tokens(
            "\u{feff}<?xml version=\"1.0\" encoding='UTF-8'?><!-- c -->\
             <a x=\"1>2\"><b/>t<![CDATA[<c>]]></a >",
        )
        .unwrap();
        assert_eq!(
            got,
            [
                Token::Start("a"),
                Token::Empty("b"),
                Token::Text("t"),
                Token::CData("<c>"),
                Token::End("a")
            ]
        );
    }

    #[test]
    fn unterminated_and_forbidden_markup_is_refused() {
        for text in [
            "<a",
            "</a",
            "<!-- x",
            "<![CDATA[x",
            "<?xml",
            "<a b=\"x>",
            "<!ENTITY x>",
            "<1a>",
        ] {
            assert!(tokens(text).is_err(), "{text}");
        }
        assert_eq!(tokens("<!DOCTYPE x>"), Err(DecodeError::Doctype));
    }

    #[test]
    fn entities_and_line_ends() {
        assert_eq!(
            unescape("a&lt;b&amp;&#65;&#x42;\r\nc\rd").unwrap(),
            "a<b&AB\nc\nd"
        );
        assert!(matches!(unescape("plain"), Ok(Cow::Borrowed("plain"))));
        assert_eq!(unescape("&nbsp;"), Err(DecodeError::Entity("nbsp".into())));
        assert!(unescape("&#0;").is_err());
        assert!(unescape("&amp").is_err());
        assert!(unescape("&#xD800;").is_err());
    }
}

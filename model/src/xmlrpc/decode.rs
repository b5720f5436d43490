//! The bounded XML-RPC decoder.

use std::borrow::Cow;

use base64::Engine;

use super::Value;
use super::lexer::{Lexer, Token as Event, normalize_lines, unescape};
use crate::time_format::parse_xmlrpc_datetime;

/// Limits that keep a hostile document from exhausting the decoder.
#[derive(Debug, Clone)]
pub struct DecodeLimits {
    /// Bytes in the whole document. Default 16 MiB.
    pub max_bytes: usize,
    /// Nesting of arrays and structs. Default 32.
    pub max_depth: usize,
    /// Elements in the whole document. Default 2,000,000.
    pub max_elements: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 << 20,
            max_depth: 32,
            max_elements: 2_000_000,
        }
    }
}

/// Why a document could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("document is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("document is not UTF-8")]
    NotUtf8,
    #[error("encoding `{0}` is not supported: send UTF-8")]
    Encoding(String),
    #[error("document type declarations are not allowed")]
    Doctype,
    #[error("entity `&{0};` is not allowed: only the five predefined entities may be used")]
    Entity(String),
    #[error("values are nested more than {0} levels deep")]
    TooDeep(usize),
    #[error("document has more than {0} elements")]
    TooManyElements(usize),
    #[error("malformed XML: {0}")]
    Xml(String),
    #[error("expected {expected}, found {found}")]
    Unexpected {
        expected: &'static str,
        found: String,
    },
    #[error("invalid <{kind}> value `{text}`")]
    BadScalar { kind: &'static str, text: String },
    #[error("unknown value type <{0}>")]
    UnknownType(String),
    #[error("struct member `{0}` appears twice")]
    DuplicateMember(String),
}

/// A decoded `<methodCall>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    pub method: String,
    pub params: Vec<Value>,
}

/// A decoded `<methodResponse>`.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Value(Value),
    Fault { code: i64, message: String },
}

/// Decodes a method call.
pub fn decode_call(body: &[u8], limits: &DecodeLimits) -> Result<MethodCall, DecodeError> {
    let mut d = Decoder::new(body, limits)?;
    d.expect_start("methodCall", "<methodCall>")?;
    d.expect_start("methodName", "<methodName>")?;
    let method = d.read_text("methodName")?.trim().to_owned();

    let mut params = Vec::new();
    match d.next_significant()? {
        Event::Start("params") => loop {
            match d.next_significant()? {
                Event::Start("param") => {
                    params.push(d.read_value_element(0)?);
                    d.expect_end("param")?;
                }
                Event::End("params") => break,
                other => return Err(unexpected("<param> or </params>", &other)),
            }
        },
        Event::Empty("params") => {}
        Event::End("methodCall") => {
            d.expect_eof()?;
            return Ok(MethodCall { method, params });
        }
        other => return Err(unexpected("<params>", &other)),
    }
    d.expect_end("methodCall")?;
    d.expect_eof()?;
    Ok(MethodCall { method, params })
}

/// Decodes a method response: a value or a fault.
pub fn decode_response(body: &[u8], limits: &DecodeLimits) -> Result<Response, DecodeError> {
    let mut d = Decoder::new(body, limits)?;
    d.expect_start("methodResponse", "<methodResponse>")?;
    let response = match d.next_significant()? {
        Event::Start("params") => {
            d.expect_start("param", "<param>")?;
            let value = d.read_value_element(0)?;
            d.expect_end("param")?;
            d.expect_end("params")?;
            Response::Value(value)
        }
        Event::Start("fault") => {
            let fault = d.read_value_element(0)?;
            d.expect_end("fault")?;
            let code = match fault.member("faultCode") {
                Some(Value::Int(code)) => *code,
                _ => {
                    return Err(DecodeError::Unexpected {
                        expected: "an int `faultCode`",
                        found: "none".into(),
                    });
                }
            };
            let message = match fault.member("faultString") {
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            Response::Fault { code, message }
        }
        other => return Err(unexpected("<params> or <fault>", &other)),
    };
    d.expect_end("methodResponse")?;
    d.expect_eof()?;
    Ok(response)
}

struct Decoder<'a> {
    lexer: Lexer<'a>,
    limits: &'a DecodeLimits,
    elements: usize,
}

impl<'a> Decoder<'a> {
    fn new(body: &'a [u8], limits: &'a DecodeLimits) -> Result<Self, DecodeError> {
        if body.len() > limits.max_bytes {
            return Err(DecodeError::TooLarge {
                size: body.len(),
                limit: limits.max_bytes,
            });
        }
        let text = std::str::from_utf8(body).map_err(|_| DecodeError::NotUtf8)?;
        Ok(Self {
            lexer: Lexer::new(text),
            limits,
            elements: 0,
        })
    }

    /// The next token, counting elements against the limit.
    fn next(&mut self) -> Result<Event<'a>, DecodeError> {
        let token = self.lexer.next()?;
        if matches!(token, Event::Start(_) | Event::Empty(_)) {
            self.elements += 1;
            if self.elements > self.limits.max_elements {
                return Err(DecodeError::TooManyElements(self.limits.max_elements));
            }
        }
        Ok(token)
    }

    /// The next event that is not whitespace-only text.
    fn next_significant(&mut self) -> Result<Event<'a>, DecodeError> {
        loop {
            match self.next()? {
                Event::Text(t) if t.bytes().all(|b| b.is_ascii_whitespace()) => {}
                event => return Ok(event),
            }
        }
    }

    fn expect_start(&mut self, name: &str, expected: &'static str) -> Result<(), DecodeError> {
        match self.next_significant()? {
            Event::Start(found) if found == name => Ok(()),
            other => Err(unexpected(expected, &other)),
        }
    }

    fn expect_end(&mut self, name: &str) -> Result<(), DecodeError> {
        match self.next_significant()? {
            Event::End(found) if found == name => Ok(()),
            other => Err(DecodeError::Unexpected {
                expected: "a closing tag",
                found: format!("{} instead of </{name}>", describe(&other)),
            }),
        }
    }

    fn expect_eof(&mut self) -> Result<(), DecodeError> {
        match self.next_significant()? {
            Event::Eof => Ok(()),
            other => Err(unexpected("the end of the document", &other)),
        }
    }

    /// Reads character data up to `</end>`, resolving predefined entities and character
    /// references. Elements inside are refused.
    fn read_text(&mut self, end: &str) -> Result<Cow<'a, str>, DecodeError> {
        let mut text: Option<Cow<'a, str>> = None;
        loop {
            match self.next()? {
                Event::Text(t) => append(&mut text, unescape(t)?),
                Event::CData(c) => append(&mut text, normalize_lines(c)),
                Event::End(found) if found == end => {
                    return Ok(text.unwrap_or_default());
                }
                other => return Err(unexpected("text", &other)),
            }
        }
    }

    /// Reads `<value>...</value>` (or `<value/>`), whose opening tag comes next.
    fn read_value_element(&mut self, depth: usize) -> Result<Value, DecodeError> {
        match self.next_significant()? {
            Event::Start("value") => self.read_value(depth),
            Event::Empty("value") => Ok(Value::String(String::new())),
            other => Err(unexpected("<value>", &other)),
        }
    }

    /// Reads the content of a `<value>` whose opening tag was consumed, and its closing tag.
    fn read_value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > self.limits.max_depth {
            return Err(DecodeError::TooDeep(self.limits.max_depth));
        }
        let mut untyped: Option<Cow<'a, str>> = None;
        loop {
            match self.next()? {
                Event::Text(t) => append(&mut untyped, unescape(t)?),
                Event::CData(c) => append(&mut untyped, normalize_lines(c)),
                Event::End("value") => {
                    let text = untyped.map(Cow::into_owned).unwrap_or_default();
                    return Ok(Value::String(text));
                }
                Event::Start(name) => {
                    if untyped.as_ref().is_some_and(|t| !t.trim().is_empty()) {
                        return Err(DecodeError::Unexpected {
                            expected: "either text or one typed element in <value>",
                            found: "both".into(),
                        });
                    }
                    let tag = Tag::parse(name)?;
                    let value = self.read_typed(tag, depth)?;
                    self.expect_end("value")?;
                    return Ok(value);
                }
                Event::Empty(name) => {
                    let value = match name {
                        "string" => Value::String(String::new()),
                        "nil" => Value::Nil,
                        "struct" => Value::Struct(Vec::new()),
                        "base64" => Value::Base64(Vec::new()),
                        other => {
                            return Err(DecodeError::UnknownType(format!("{other}/")));
                        }
                    };
                    self.expect_end("value")?;
                    return Ok(value);
                }
                other => return Err(unexpected("a value", &other)),
            }
        }
    }

    /// Reads a typed element whose opening tag was consumed, through its closing tag.
    fn read_typed(&mut self, tag: Tag, depth: usize) -> Result<Value, DecodeError> {
        let end = tag.name();
        match tag {
            Tag::Int | Tag::I4 | Tag::I8 => {
                let text = self.read_text(end)?;
                let kind = if tag == Tag::I8 { "i8" } else { "int" };
                parse_scalar(kind, &text, |t| t.parse::<i64>().ok()).map(Value::Int)
            }
            Tag::Boolean => {
                let text = self.read_text(end)?;
                parse_scalar("boolean", &text, |t| match t {
                    "1" | "true" => Some(true),
                    "0" | "false" => Some(false),
                    _ => None,
                })
                .map(Value::Bool)
            }
            Tag::Double => {
                let text = self.read_text(end)?;
                parse_scalar("double", &text, |t| {
                    t.parse::<f64>().ok().filter(|d| d.is_finite())
                })
                .map(Value::Double)
            }
            Tag::String => self.read_text(end).map(|t| Value::String(t.into_owned())),
            Tag::DateTime => {
                let text = self.read_text(end)?;
                parse_scalar("dateTime.iso8601", &text, parse_xmlrpc_datetime).map(Value::DateTime)
            }
            Tag::Base64 => {
                let text = self.read_text(end)?;
                let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                let engine = &base64::engine::general_purpose::STANDARD;
                let bytes = engine
                    .decode(&compact)
                    .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&compact));
                bytes
                    .map(Value::Base64)
                    .map_err(|_| DecodeError::BadScalar {
                        kind: "base64",
                        text: truncate(&text),
                    })
            }
            Tag::Nil => {
                self.expect_end("nil")?;
                Ok(Value::Nil)
            }
            Tag::Struct => self.read_struct(depth),
            Tag::Array => self.read_array(depth),
        }
    }

    fn read_struct(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let mut members: Vec<(String, Value)> = Vec::new();
        loop {
            match self.next_significant()? {
                Event::Start("member") => {
                    self.expect_start("name", "<name>")?;
                    let name = self.read_text("name")?.into_owned();
                    let value = self.read_value_element(depth + 1)?;
                    self.expect_end("member")?;
                    if members.iter().any(|(n, _)| *n == name) {
                        return Err(DecodeError::DuplicateMember(truncate(&name)));
                    }
                    members.push((name, value));
                }
                Event::End("struct") => {
                    return Ok(Value::Struct(members));
                }
                other => return Err(unexpected("<member> or </struct>", &other)),
            }
        }
    }

    fn read_array(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let mut items = Vec::new();
        match self.next_significant()? {
            Event::Start("data") => loop {
                match self.next_significant()? {
                    Event::Start("value") => {
                        items.push(self.read_value(depth + 1)?);
                    }
                    Event::Empty("value") => {
                        items.push(Value::String(String::new()));
                    }
                    Event::End("data") => break,
                    other => return Err(unexpected("<value> or </data>", &other)),
                }
            },
            Event::Empty("data") => {}
            other => return Err(unexpected("<data>", &other)),
        }
        self.expect_end("array")?;
        Ok(Value::Array(items))
    }
}

/// The type elements of a `<value>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Int,
    I4,
    I8,
    Boolean,
    Double,
    String,
    DateTime,
    Base64,
    Nil,
    Struct,
    Array,
}

impl Tag {
    fn parse(name: &str) -> Result<Tag, DecodeError> {
        Ok(match name {
            "int" => Tag::Int,
            "i4" => Tag::I4,
            "i8" => Tag::I8,
            "boolean" => Tag::Boolean,
            "double" => Tag::Double,
            "string" => Tag::String,
            "dateTime.iso8601" => Tag::DateTime,
            "base64" => Tag::Base64,
            "nil" => Tag::Nil,
            "struct" => Tag::Struct,
            "array" => Tag::Array,
            other => return Err(DecodeError::UnknownType(truncate(other))),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Tag::Int => "int",
            Tag::I4 => "i4",
            Tag::I8 => "i8",
            Tag::Boolean => "boolean",
            Tag::Double => "double",
            Tag::String => "string",
            Tag::DateTime => "dateTime.iso8601",
            Tag::Base64 => "base64",
            Tag::Nil => "nil",
            Tag::Struct => "struct",
            Tag::Array => "array",
        }
    }
}

fn append<'a>(text: &mut Option<Cow<'a, str>>, more: Cow<'a, str>) {
    match text {
        None => *text = Some(more),
        Some(existing) => existing.to_mut().push_str(&more),
    }
}

fn parse_scalar<T>(
    kind: &'static str,
    text: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, DecodeError> {
    parse(text.trim()).ok_or_else(|| DecodeError::BadScalar {
        kind,
        text: truncate(text),
    })
}

fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

fn unexpected(expected: &'static str, found: &Event<'_>) -> DecodeError {
    DecodeError::Unexpected {
        expected,
        found: describe(found),
    }
}

fn describe(event: &Event<'_>) -> String {
    let name = |n: &str| truncate(n);
    match event {
        Event::Start(e) => format!("<{}>", name(e)),
        Event::Empty(e) => format!("<{}/>", name(e)),
        Event::End(e) => format!("</{}>", name(e)),
        Event::Text(t) => format!("text `{}`", name(t).trim()),
        Event::Eof => "the end of the document".into(),
        _ => "markup".into(),
    }
}

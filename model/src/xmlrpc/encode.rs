//! The XML-RPC encoder: method calls, responses and faults.

use std::fmt::Write;

use base64::Engine;

use super::Value;
use crate::time_format::format_xmlrpc_datetime;

/// Encodes a method call.
pub fn encode_call(method: &str, params: &[Value]) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodCall><methodName>");
    escape_into(&mut out, method);
    out.push_str("</methodName><params>");
    for param in params {
        out.push_str("<param>");
        write_value(&mut out, param);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>\n");
    out
}

/// Encodes a successful response carrying one value.
pub fn encode_response(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse><params><param>");
    write_value(&mut out, value);
    out.push_str("</param></params></methodResponse>\n");
    out
}

/// Encodes a fault response.
pub fn encode_fault(code: i32, message: &str) -> String {
    let fault = Value::structure([
        ("faultCode", Value::Int(i64::from(code))),
        ("faultString", Value::String(message.to_owned())),
    ]);
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse><fault>");
    write_value(&mut out, &fault);
    out.push_str("</fault></methodResponse>\n");
    out
}

/// Writes `<value>...</value>`. Integers that fit 32 bits are written as `<int>`, larger ones as
/// `<i8>`, so that clients without the extension still read every common value.
pub(crate) fn write_value(out: &mut String, value: &Value) {
    out.push_str("<value>");
    match value {
        Value::Int(i) if i32::try_from(*i).is_ok() => {
            let _ = write!(out, "<int>{i}</int>");
        }
        Value::Int(i) => {
            let _ = write!(out, "<i8>{i}</i8>");
        }
        Value::Bool(b) => {
            let _ = write!(out, "<boolean>{}</boolean>", u8::from(*b));
        }
        Value::String(s) => {
            out.push_str("<string>");
            escape_into(out, s);
            out.push_str("</string>");
        }
        Value::Double(d) => {
            // `Display` gives the shortest text that reads back to the same double and never
            // an exponent, which the XML-RPC specification does not allow. Non-finite values
            // have no XML-RPC form; the mapping layer never produces them.
            let _ = write!(out, "<double>{d}</double>");
        }
        Value::DateTime(at) => {
            let _ = write!(
                out,
                "<dateTime.iso8601>{}</dateTime.iso8601>",
                format_xmlrpc_datetime(*at)
            );
        }
        Value::Base64(bytes) => {
            out.push_str("<base64>");
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
            out.push_str("</base64>");
        }
        Value::Struct(members) => {
            out.push_str("<struct>");
            for (name, member) in members {
                out.push_str("<member><name>");
                escape_into(out, name);
                out.push_str("</name>");
                write_value(out, member);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array>");
        }
        Value::Nil => out.push_str("<nil/>"),
    }
    out.push_str("</value>");
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

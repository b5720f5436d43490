//! The XML-RPC value tree.

use time::OffsetDateTime;

/// One XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>`, `<i4>` or `<i8>`.
    Int(i64),
    Bool(bool),
    /// `<string>`, or a `<value>` without a type element.
    String(String),
    Double(f64),
    /// `<dateTime.iso8601>`; a value without an offset is taken as UTC.
    DateTime(OffsetDateTime),
    Base64(Vec<u8>),
    /// Members in the order received. Duplicate names are refused by the decoder.
    Struct(Vec<(String, Value)>),
    Array(Vec<Value>),
    /// `<nil/>`.
    Nil,
}

impl Value {
    /// A struct member by name.
    pub fn member(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The XML-RPC type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Bool(_) => "boolean",
            Value::String(_) => "string",
            Value::Double(_) => "double",
            Value::DateTime(_) => "dateTime.iso8601",
            Value::Base64(_) => "base64",
            Value::Struct(_) => "struct",
            Value::Array(_) => "array",
            Value::Nil => "nil",
        }
    }

    /// Builds a struct from `(name, value)` pairs.
    pub fn structure<const N: usize>(members: [(&str, Value); N]) -> Value {
        Value::Struct(
            members
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v))
                .collect(),
        )
    }
}

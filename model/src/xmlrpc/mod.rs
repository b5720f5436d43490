//! XML-RPC: a bounded streaming decoder, an encoder, and the mapping between XML-RPC values and
//! the wire batch.
//!
//! The decoder accepts the whole XML-RPC specification plus the common extensions (`<i8>`,
//! `<nil/>`), treats a `<value>` without a type element as a string (whitespace kept), and refuses
//! anything a hostile client might use to exhaust the gateway: document type declarations,
//! entities other than the five predefined ones and character references, nesting deeper than
//! [`DecodeLimits::max_depth`], more than [`DecodeLimits::max_elements`] elements, and encodings
//! other than UTF-8.

mod batch;
mod decode;
mod encode;
mod lexer;
mod value;

pub use batch::{MappingError, batch_from_value, batch_to_value, submit_result_to_value};
pub use decode::{DecodeError, DecodeLimits, MethodCall, Response, decode_call, decode_response};
pub use encode::{encode_call, encode_fault, encode_response};
pub use value::Value;

#[cfg(test)]
mod tests;

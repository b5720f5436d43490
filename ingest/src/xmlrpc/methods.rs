//! The methods served at `/RPC2`, including the de-facto standard introspection methods and
//! `system.multicall`.

use std::net::IpAddr;

use fleet_model::xmlrpc::{Value, batch_from_value, submit_result_to_value};
use time::OffsetDateTime;

use super::faults::{self, fault_of};
use crate::error::IngestError;
use crate::ingestor::{Ingestor, Submission, Transport};

/// A method's answer: a value or a fault.
pub type Outcome = Result<Value, Fault>;

/// An XML-RPC fault with extra HTTP advice.
#[derive(Debug, Clone)]
pub struct Fault {
    pub code: i32,
    pub message: String,
    /// Seconds to wait before retrying, sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl From<IngestError> for Fault {
    fn from(error: IngestError) -> Self {
        let (code, message) = fault_of(&error);
        Fault {
            code,
            message,
            retry_after: error.retry_after_secs(),
        }
    }
}

fn fault(code: i32, message: impl Into<String>) -> Fault {
    Fault {
        code,
        message: message.into(),
        retry_after: None,
    }
}

struct MethodInfo {
    name: &'static str,
    signature: &'static [&'static str],
    help: &'static str,
}

const METHODS: &[MethodInfo] = &[
    MethodInfo {
        name: "fleet.submit",
        signature: &["struct", "string", "struct"],
        help: "fleet.submit(token, batch): store a batch of device reports. Returns \
               {batch_id, devices, rows, duplicate, rejected}. See docs/ingest-api.md.",
    },
    MethodInfo {
        name: "fleet.ping",
        signature: &["struct", "string"],
        help: "fleet.ping(token): check the token and the connection. Returns {server_time, \
               version}.",
    },
    MethodInfo {
        name: "system.listMethods",
        signature: &["array"],
        help: "system.listMethods(): the methods this server offers.",
    },
    MethodInfo {
        name: "system.methodHelp",
        signature: &["string", "string"],
        help: "system.methodHelp(name): what a method does.",
    },
    MethodInfo {
        name: "system.methodSignature",
        signature: &["array", "string"],
        help: "system.methodSignature(name): the method's signatures, return type first.",
    },
    MethodInfo {
        name: "system.multicall",
        signature: &["array", "array"],
        help: "system.multicall([{methodName, params}, ...]): call several methods in one \
               request; each result is a one-element array, each failure a fault struct in \
               place.",
    },
];

/// Calls a method.
pub async fn call(
    ingestor: &Ingestor,
    peer: Option<IpAddr>,
    method: &str,
    params: Vec<Value>,
    nested: bool,
) -> Outcome {
    match method {
        "fleet.submit" => submit(ingestor, peer, params).await,
        "fleet.ping" => ping(ingestor, peer, params).await,
        "system.listMethods" => {
            expect_count(&params, 0)?;
            Ok(Value::Array(
                METHODS
                    .iter()
                    .map(|m| Value::String(m.name.into()))
                    .collect(),
            ))
        }
        "system.methodHelp" => Ok(Value::String(method_info(&params)?.help.into())),
        "system.methodSignature" => {
            let signature = method_info(&params)?.signature;
            let types = signature
                .iter()
                .map(|t| Value::String((*t).into()))
                .collect();
            Ok(Value::Array(vec![Value::Array(types)]))
        }
        "system.multicall" if nested => Err(fault(
            faults::BAD_PARAMS,
            "system.multicall cannot be nested",
        )),
        "system.multicall" => Box::pin(multicall(ingestor, peer, params)).await,
        other => Err(fault(
            faults::UNKNOWN_METHOD,
            format!("unknown method `{other}`"),
        )),
    }
}

async fn submit(ingestor: &Ingestor, peer: Option<IpAddr>, params: Vec<Value>) -> Outcome {
    expect_count(&params, 2)?;
    let mut params = params.into_iter();
    let token = token(params.next())?;
    let (envelope, devices) = batch_from_value(params.next().unwrap_or(Value::Nil))
        .map_err(|e| fault(faults::MALFORMED, format!("malformed batch: {e}")))?;
    let result = ingestor
        .submit(
            Some(&token),
            peer,
            Transport::XmlRpc,
            Submission { envelope, devices },
        )
        .await?;
    Ok(submit_result_to_value(&result))
}

async fn ping(ingestor: &Ingestor, peer: Option<IpAddr>, params: Vec<Value>) -> Outcome {
    expect_count(&params, 1)?;
    let token = token(params.into_iter().next())?;
    ingestor.authenticate(Some(&token), peer).await?;
    Ok(Value::structure([
        ("server_time", Value::DateTime(OffsetDateTime::now_utc())),
        ("version", Value::String(env!("CARGO_PKG_VERSION").into())),
    ]))
}

async fn multicall(ingestor: &Ingestor, peer: Option<IpAddr>, params: Vec<Value>) -> Outcome {
    expect_count(&params, 1)?;
    let Some(Value::Array(calls)) = params.into_iter().next() else {
        return Err(fault(
            faults::BAD_PARAMS,
            "system.multicall takes an array of calls",
        ));
    };
    let mut results = Vec::with_capacity(calls.len());
    for entry in calls {
        let outcome = match split_call(entry) {
            Ok((method, params)) => call(ingestor, peer, &method, params, true).await,
            Err(f) => Err(f),
        };
        results.push(match outcome {
            Ok(value) => Value::Array(vec![value]),
            Err(f) => Value::structure([
                ("faultCode", Value::Int(i64::from(f.code))),
                ("faultString", Value::String(f.message)),
            ]),
        });
    }
    Ok(Value::Array(results))
}

fn split_call(entry: Value) -> Result<(String, Vec<Value>), Fault> {
    let Value::Struct(members) = entry else {
        return Err(fault(
            faults::BAD_PARAMS,
            "each call is a struct {methodName, params}",
        ));
    };
    let mut method = None;
    let mut params = Vec::new();
    for (name, value) in members {
        match (name.as_str(), value) {
            ("methodName", Value::String(m)) => method = Some(m),
            ("params", Value::Array(p)) => params = p,
            _ => {
                return Err(fault(
                    faults::BAD_PARAMS,
                    format!("unexpected member `{name}`"),
                ));
            }
        }
    }
    let method = method.ok_or_else(|| fault(faults::BAD_PARAMS, "`methodName` is missing"))?;
    Ok((method, params))
}

fn method_info(params: &[Value]) -> Result<&'static MethodInfo, Fault> {
    expect_count(params, 1)?;
    let Value::String(name) = &params[0] else {
        return Err(fault(faults::BAD_PARAMS, "the method name is a string"));
    };
    METHODS
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| fault(faults::UNKNOWN_METHOD, format!("unknown method `{name}`")))
}

fn expect_count(params: &[Value], count: usize) -> Result<(), Fault> {
    if params.len() == count {
        Ok(())
    } else {
        Err(fault(
            faults::BAD_PARAMS,
            format!("expected {count} parameters, received {}", params.len()),
        ))
    }
}

fn token(value: Option<Value>) -> Result<String, Fault> {
    match value {
        Some(Value::String(token)) => Ok(token),
        _ => Err(fault(
            faults::BAD_PARAMS,
            "the first parameter is the token, a string",
        )),
    }
}

//! Delivery over HTTP(S): protobuf at `POST /v1/batches`, or XML-RPC `fleet.submit` at
//! `POST /RPC2`. reqwest with rustls; proxies from the configuration or the environment.

use std::time::Duration;

use fleet_model::proto;
use fleet_model::xmlrpc::{self, Value};
use prost::Message;

use super::{SendError, Stored, Transport};
use crate::config::ServerConfig;
use crate::snmp::BoxFuture;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Protobuf,
    XmlRpc,
}

pub(super) struct Http {
    client: reqwest::Client,
    url: String,
    token: String,
    format: Format,
}

impl Http {
    pub(super) fn new(
        server: &ServerConfig,
        ca: Option<&[u8]>,
        format: Format,
    ) -> Result<Http, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(server.timeout_seconds.max(1)))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("fleet-collector/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca {
            let cert =
                reqwest::Certificate::from_pem(pem).map_err(|e| format!("server.ca_file: {e}"))?;
            builder = builder.tls_certs_merge([cert]);
        }
        if let Some(proxy) = &server.proxy {
            let p =
                reqwest::Proxy::all(proxy).map_err(|e| format!("server.proxy `{proxy}`: {e}"))?;
            builder = builder.proxy(p);
        }
        let client = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
        let base = server.url.trim_end_matches('/');
        let url = match format {
            Format::Protobuf => format!("{base}/v1/batches"),
            Format::XmlRpc => format!("{base}/RPC2"),
        };
        Ok(Http {
            client,
            url,
            token: server.token.clone(),
            format,
        })
    }

    /// Sends one POST; returns the status, any `Retry-After`, and the body.
    async fn post(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Option<Duration>, bytes::Bytes), SendError> {
        let network = |e: reqwest::Error| SendError::Network(e.to_string());
        let response = request.send().await.map_err(network)?;
        let status = response.status().as_u16();
        let header = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok());
        let after = super::retry_after(header);
        let body = response.bytes().await.map_err(network)?;
        Ok((status, after, body))
    }

    async fn protobuf(&self, encoded: &[u8]) -> Result<Stored, SendError> {
        let request = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", "application/x-protobuf")
            .body(encoded.to_vec());
        let (status, after, body) = self.post(request).await?;
        let text = || {
            String::from_utf8_lossy(&body)
                .chars()
                .take(300)
                .collect::<String>()
        };
        match status {
            200 => {
                let r = proto::SubmitResult::decode(body.as_ref())
                    .map_err(|e| SendError::Network(format!("bad answer: {e}")))?;
                Ok(Stored {
                    duplicate: r.duplicate,
                    rejected: r
                        .rejected
                        .into_iter()
                        .map(|x| (x.index, x.reason))
                        .collect(),
                })
            }
            401 | 403 => Err(SendError::Auth(text())),
            429 | 503 | 502 | 504 => Err(SendError::RetryLater {
                after,
                reason: text(),
            }),
            413 => Err(SendError::TooLarge(text())),
            400 | 422 => Err(SendError::Refused(text())),
            other => Err(SendError::Network(format!("HTTP {other}: {}", text()))),
        }
    }

    async fn xmlrpc(&self, batch: &proto::Batch) -> Result<Stored, SendError> {
        let call = xmlrpc::encode_call(
            "fleet.submit",
            &[
                Value::String(self.token.clone()),
                xmlrpc::batch_to_value(batch),
            ],
        );
        let request = self
            .client
            .post(&self.url)
            .header("content-type", "text/xml")
            .body(call);
        let (status, after, body) = self.post(request).await?;
        if status == 413 {
            return Err(SendError::TooLarge(format!("HTTP {status}")));
        }
        if !(200..300).contains(&status) {
            return Err(SendError::Network(format!("HTTP {status}")));
        }
        let decoded = xmlrpc::decode_response(&body, &xmlrpc::DecodeLimits::default())
            .map_err(|e| SendError::Network(format!("bad answer: {e}")))?;
        match decoded {
            xmlrpc::Response::Fault { code, message } => Err(match code {
                1 => SendError::Auth(message),
                5 | 6 => SendError::RetryLater {
                    after,
                    reason: message,
                },
                4 => SendError::TooLarge(message),
                2 | 3 | 7 | 8 => SendError::Refused(format!("fault {code}: {message}")),
                _ => SendError::Network(format!("fault {code}: {message}")),
            }),
            xmlrpc::Response::Value(v) => Ok(stored_of(&v)),
        }
    }
}

fn stored_of(v: &Value) -> Stored {
    let Value::Struct(members) = v else {
        return Stored {
            duplicate: false,
            rejected: Vec::new(),
        };
    };
    let member = |name: &str| members.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let duplicate = matches!(member("duplicate"), Some(Value::Bool(true)));
    let mut rejected = Vec::new();
    if let Some(Value::Array(items)) = member("rejected") {
        for item in items {
            if let Value::Struct(m) = item {
                let get = |n: &str| m.iter().find(|(k, _)| k == n).map(|(_, v)| v);
                let index = match get("index") {
                    Some(Value::Int(i)) => *i as u32,
                    _ => 0,
                };
                let reason = match get("reason") {
                    Some(Value::String(s)) => s.clone(),
                    _ => String::new(),
                };
                rejected.push((index, reason));
            }
        }
    }
    Stored {
        duplicate,
        rejected,
    }
}

impl Transport for Http {
    fn send<'a>(
        &'a self,
        batch: &'a proto::Batch,
        encoded: &'a [u8],
    ) -> BoxFuture<'a, Result<Stored, SendError>> {
        Box::pin(async move {
            match self.format {
                Format::Protobuf => self.protobuf(encoded).await,
                Format::XmlRpc => self.xmlrpc(batch).await,
            }
        })
    }

    fn name(&self) -> &'static str {
        match self.format {
            Format::Protobuf => "protobuf",
            Format::XmlRpc => "xmlrpc",
        }
    }
}

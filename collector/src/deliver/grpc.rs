//! gRPC delivery (`fleet.v1.Ingest/Submit`) with tonic, TLS through rustls.

use std::time::Duration;

use fleet_model::proto;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use super::{SendError, Stored, Transport};
use crate::config::ServerConfig;
use crate::snmp::BoxFuture;

#[allow(
    clippy::all,
    missing_docs,
    missing_debug_implementations,
    unused_qualifications
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/fleet.v1.rs"));
}

use generated::ingest_client::IngestClient;

pub(super) struct Grpc {
    client: IngestClient<Channel>,
    authorization: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
}

impl Grpc {
    pub(super) fn new(server: &ServerConfig, ca: Option<&[u8]>) -> Result<Grpc, String> {
        let mut endpoint = Endpoint::from_shared(server.url.clone())
            .map_err(|e| format!("server.url `{}`: {e}", server.url))?
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(server.timeout_seconds.max(1)))
            .http2_keep_alive_interval(Duration::from_secs(30));
        if server.url.starts_with("https://") {
            let mut tls = ClientTlsConfig::new().with_native_roots();
            if let Some(pem) = ca {
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| format!("TLS: {e}"))?;
        }
        let channel = match &server.proxy {
            Some(proxy) => {
                endpoint.connect_with_connector_lazy(super::proxy::ConnectProxy::new(proxy)?)
            }
            None => endpoint.connect_lazy(),
        };
        let client = IngestClient::new(channel)
            .send_compressed(tonic::codec::CompressionEncoding::Gzip)
            .max_decoding_message_size(16 << 20);
        let authorization = format!("Bearer {}", server.token)
            .parse()
            .map_err(|_| "server.token has characters that cannot go in a header".to_string())?;
        Ok(Grpc {
            client,
            authorization,
        })
    }
}

fn retry_after(status: &tonic::Status) -> Option<Duration> {
    super::retry_after(
        status
            .metadata()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
    )
}

impl Transport for Grpc {
    fn send<'a>(
        &'a self,
        batch: &'a proto::Batch,
        _encoded: &'a [u8],
    ) -> BoxFuture<'a, Result<Stored, SendError>> {
        Box::pin(async move {
            let mut request = tonic::Request::new(batch.clone());
            request
                .metadata_mut()
                .insert("authorization", self.authorization.clone());
            let mut client = self.client.clone();
            match client.submit(request).await {
                Ok(answer) => {
                    let r = answer.into_inner();
                    Ok(Stored {
                        duplicate: r.duplicate,
                        rejected: r
                            .rejected
                            .into_iter()
                            .map(|x| (x.index, x.reason))
                            .collect(),
                    })
                }
                Err(status) => {
                    use tonic::Code;
                    let reason = status.message().to_owned();
                    Err(match status.code() {
                        Code::Unauthenticated | Code::PermissionDenied => SendError::Auth(reason),
                        Code::ResourceExhausted if reason.contains("too large") => {
                            SendError::TooLarge(reason)
                        }
                        Code::ResourceExhausted | Code::Unavailable | Code::Aborted => {
                            SendError::RetryLater {
                                after: retry_after(&status),
                                reason,
                            }
                        }
                        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
                            SendError::Refused(reason)
                        }
                        _ => SendError::Network(format!("{}: {reason}", status.code())),
                    })
                }
            }
        })
    }

    fn name(&self) -> &'static str {
        "grpc"
    }
}

//! HTTP proxies for gRPC: a connector that opens a `CONNECT` tunnel through the proxy, over
//! which tonic speaks TLS and HTTP/2 as it would directly.

use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::codegen::http::Uri;

use crate::snmp::BoxFuture;

/// The most a proxy may answer before the tunnel opens.
const MAX_ANSWER: usize = 16 * 1024;

/// Connects to a target through an HTTP proxy (`http://[user:password@]host:port`).
#[derive(Clone, Debug)]
pub(super) struct ConnectProxy {
    address: String,
    authorization: Option<String>,
}

impl ConnectProxy {
    pub(super) fn new(proxy: &str) -> Result<ConnectProxy, String> {
        let url = reqwest::Url::parse(proxy).map_err(|e| format!("server.proxy `{proxy}`: {e}"))?;
        if url.scheme() != "http" {
            return Err(format!(
                "server.proxy `{proxy}`: only http:// proxies are supported"
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("server.proxy `{proxy}` has no host"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let authorization = (!url.username().is_empty()).then(|| {
            use base64::Engine;
            let user = percent_decode(url.username());
            let password = percent_decode(url.password().unwrap_or(""));
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        });
        Ok(ConnectProxy {
            address: format!("{host}:{port}"),
            authorization,
        })
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl tower::Service<Uri> for ConnectProxy {
    type Response = TokioIo<TcpStream>;
    type Error = std::io::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, target: Uri) -> Self::Future {
        let proxy = self.clone();
        Box::pin(async move {
            let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
            let host = target
                .host()
                .ok_or_else(|| invalid(format!("no host in {target}")))?;
            let default = if target.scheme_str() == Some("https") {
                443
            } else {
                80
            };
            let authority = format!("{host}:{}", target.port_u16().unwrap_or(default));
            let mut stream = TcpStream::connect(&proxy.address).await?;
            let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
            if let Some(a) = &proxy.authorization {
                request.push_str(&format!("Proxy-Authorization: {a}\r\n"));
            }
            request.push_str("\r\n");
            stream.write_all(request.as_bytes()).await?;
            // Read the proxy's answer up to the blank line, byte by byte so that nothing of
            // the tunnel is consumed.
            let mut answer = Vec::new();
            while !answer.ends_with(b"\r\n\r\n") {
                if answer.len() >= MAX_ANSWER {
                    return Err(invalid("the proxy's answer is too long".into()));
                }
                let byte = stream.read_u8().await?;
                answer.push(byte);
            }
            let status = String::from_utf8_lossy(&answer);
            let line = status.lines().next().unwrap_or_default();
            let code = line.split_whitespace().nth(1).unwrap_or_default();
            if code != "200" {
                return Err(std::io::Error::other(format!(
                    "the proxy {} refused CONNECT {authority}: {line}",
                    proxy.address
                )));
            }
            Ok(TokioIo::new(stream))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls() {
        let p = ConnectProxy::new("http://user:p%40ss@proxy.example:3128").unwrap();
        assert_eq!(p.address, "proxy.example:3128");
        // "user:p@ss" in base64.
        assert_eq!(p.authorization.as_deref(), Some("Basic dXNlcjpwQHNz"));
        assert_eq!(
            ConnectProxy::new("http://proxy").unwrap().address,
            "proxy:80"
        );
        assert!(ConnectProxy::new("socks5://proxy:1080").is_err());
        assert!(ConnectProxy::new("not a url").is_err());
    }
}

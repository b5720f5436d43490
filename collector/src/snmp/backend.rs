//! The [`SnmpEngine`] implemented with `async-snmp` (pinned to an exact version in the
//! workspace manifest). This is the only file of the polling side that names the crate; the
//! simulator's agent (`sim::agent`) uses it too.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_snmp as engine;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::{
    AuthProtocol, BoxFuture, Credentials, NextRows, Oid, Patience, PrivProtocol, SnmpEngine,
    SnmpError, SnmpSession, Value, Values, Wake,
};

/// One UDP socket shared by every target, an SNMPv3 engine cache, and a global request rate
/// limit.
pub struct AsyncSnmpEngine {
    transport: engine::UdpTransport,
    engines: Arc<engine::EngineCache>,
    limiter: Arc<DefaultDirectRateLimiter>,
    /// DES privacy needs salts that never repeat: a boots epoch kept in a file across
    /// restarts (or, without a file, a fresh epoch per process).
    des: std::sync::Mutex<Option<engine::DesSaltState>>,
    des_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for AsyncSnmpEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSnmpEngine").finish_non_exhaustive()
    }
}

impl AsyncSnmpEngine {
    /// Binds the shared socket (IPv4, any port) and limits requests to `requests_per_second`
    /// across all targets.
    pub async fn bind(requests_per_second: u32) -> Result<Self, SnmpError> {
        let transport = engine::UdpTransport::bind("0.0.0.0:0")
            .await
            .map_err(|e| SnmpError::Network(e.to_string()))?;
        let rate = NonZeroU32::new(requests_per_second.max(1)).expect("at least one");
        Ok(AsyncSnmpEngine {
            transport,
            engines: Arc::new(engine::EngineCache::new()),
            limiter: Arc::new(RateLimiter::direct(
                Quota::per_second(rate).allow_burst(rate),
            )),
            des: std::sync::Mutex::new(None),
            des_file: None,
        })
    }

    /// Keeps the DES salt epoch in `path`, so that DES privacy never reuses a salt across
    /// restarts of the collector.
    pub fn with_des_state(mut self, path: std::path::PathBuf) -> Self {
        self.des_file = Some(path);
        self
    }

    fn des_state(&self) -> Result<engine::DesSaltState, SnmpError> {
        let mut slot = self.des.lock().expect("not poisoned");
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let file = self.des_file.clone();
        let persist = move |state: &engine::PersistedDesSaltState| -> Result<(), std::io::Error> {
            let Some(path) = &file else { return Ok(()) };
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, state.engine_boots().to_string())?;
            std::fs::rename(&tmp, path)
        };
        let previous = self
            .des_file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| t.trim().parse::<u32>().ok())
            .and_then(|n| engine::PersistedDesSaltState::new(n).ok());
        let state = match previous {
            Some(prev) => engine::DesSaltState::restart(prev, persist),
            None => engine::DesSaltState::install(persist),
        }
        .map_err(|e| SnmpError::Config(format!("DES salt state: {e}")))?;
        *slot = Some(state.clone());
        Ok(state)
    }
}

fn auth_of(credentials: &Credentials) -> Result<engine::Auth, SnmpError> {
    credentials.validate().map_err(SnmpError::Config)?;
    Ok(match credentials {
        Credentials::V1 { community } => engine::Auth::v1(community.as_bytes().to_vec()),
        Credentials::V2c { community } => engine::Auth::v2c(community.as_bytes().to_vec()),
        Credentials::V3(u) => {
            let base = engine::UsmConfig::new(u.user.as_bytes().to_vec());
            let config = match (
                u.auth_protocol,
                &u.auth_password,
                u.priv_protocol,
                &u.priv_password,
            ) {
                (Some(a), Some(ap), Some(p), Some(pp)) => base.auth_priv(
                    auth_protocol(a),
                    ap.as_bytes(),
                    priv_protocol(p),
                    pp.as_bytes(),
                ),
                (Some(a), Some(ap), None, None) => base.auth(auth_protocol(a), ap.as_bytes()),
                _ => Ok(base),
            }
            .map_err(|e| SnmpError::Config(e.to_string()))?;
            let config = if u.context.is_empty() {
                config
            } else {
                config.context_name(u.context.as_bytes().to_vec())
            };
            engine::Auth::Usm(config)
        }
    })
}

pub(crate) fn auth_protocol(p: AuthProtocol) -> engine::AuthProtocol {
    match p {
        AuthProtocol::Md5 => engine::AuthProtocol::Md5,
        AuthProtocol::Sha => engine::AuthProtocol::Sha1,
        AuthProtocol::Sha224 => engine::AuthProtocol::Sha224,
        AuthProtocol::Sha256 => engine::AuthProtocol::Sha256,
        AuthProtocol::Sha384 => engine::AuthProtocol::Sha384,
        AuthProtocol::Sha512 => engine::AuthProtocol::Sha512,
    }
}

pub(crate) fn priv_protocol(p: PrivProtocol) -> engine::PrivProtocol {
    match p {
        PrivProtocol::Des => engine::PrivProtocol::Des,
        PrivProtocol::Aes => engine::PrivProtocol::Aes128,
        PrivProtocol::Aes192 => engine::PrivProtocol::Aes192Blumenthal,
        PrivProtocol::Aes256 => engine::PrivProtocol::Aes256Blumenthal,
    }
}

impl SnmpEngine for AsyncSnmpEngine {
    fn open<'a>(
        &'a self,
        peer: SocketAddr,
        credentials: &'a Credentials,
        patience: Patience,
    ) -> BoxFuture<'a, Result<Box<dyn SnmpSession>, SnmpError>> {
        Box::pin(async move {
            let auth = auth_of(credentials)?;
            let des = match credentials {
                Credentials::V3(u) if u.priv_protocol == Some(PrivProtocol::Des) => {
                    Some(self.des_state()?)
                }
                _ => None,
            };
            let build = |timeout: Duration, retries: u32| {
                let retry = if retries == 0 {
                    engine::Retry::none()
                } else {
                    engine::Retry::fixed(retries.min(16), Duration::ZERO)
                        .expect("at most 16 retries are valid")
                };
                let builder = engine::Client::builder(peer, auth.clone());
                let builder = match &des {
                    Some(state) => builder.des_salt_state(state.clone()),
                    None => builder,
                };
                builder
                    .request_timeout(timeout)
                    .retry(retry)
                    .engine_cache(self.engines.clone())
                    .max_oids_per_request(24)
                    .build_with(&self.transport)
            };
            let client = build(patience.timeout, patience.retries)
                .await
                .map_err(map_error)?;
            let mut wake = Vec::new();
            let mut timeout = patience.timeout;
            for _ in 0..patience.wake_attempts.max(1) {
                wake.push(build(timeout, 0).await.map_err(map_error)?);
                timeout = timeout.saturating_mul(2);
            }
            Ok(Box::new(Session {
                client,
                wake,
                limiter: self.limiter.clone(),
                v1: matches!(credentials, Credentials::V1 { .. }),
                peer,
            }) as Box<dyn SnmpSession>)
        })
    }
}

type Client = engine::Client<engine::UdpHandle>;

struct Session {
    client: Client,
    /// One client per wake-up attempt, each with twice the previous timeout and no retry.
    wake: Vec<Client>,
    limiter: Arc<DefaultDirectRateLimiter>,
    v1: bool,
    peer: SocketAddr,
}

/// Our value as the engine's (for the simulator's agent).
pub(crate) fn to_engine(v: &Value) -> engine::Value {
    match v {
        Value::Integer(i) => engine::Value::Integer(*i as i32),
        Value::Unsigned(u) if *u > u64::from(u32::MAX) => engine::Value::Counter64(*u),
        Value::Unsigned(u) => engine::Value::Counter32(*u as u32),
        Value::TimeTicks(t) => engine::Value::TimeTicks(*t),
        Value::Bytes(b) => engine::Value::OctetString(b.clone().into()),
        Value::Oid(o) => engine::Value::ObjectIdentifier(engine::Oid::from_slice(o.arcs())),
        Value::IpAddress(a) => engine::Value::IpAddress(*a),
        Value::Null => engine::Value::Null,
    }
}

fn value_of(v: &engine::Value) -> Option<Value> {
    Some(match v {
        engine::Value::Integer(i) => Value::Integer(i64::from(*i)),
        engine::Value::OctetString(b) | engine::Value::Opaque(b) => Value::Bytes(b.to_vec()),
        engine::Value::Null => Value::Null,
        engine::Value::ObjectIdentifier(o) => Value::Oid(Oid::new(o.arcs().to_vec())),
        engine::Value::IpAddress(a) => Value::IpAddress(*a),
        engine::Value::Counter32(v) | engine::Value::Gauge32(v) | engine::Value::UInteger32(v) => {
            Value::Unsigned(u64::from(*v))
        }
        engine::Value::TimeTicks(t) => Value::TimeTicks(*t),
        engine::Value::Counter64(v) => Value::Unsigned(*v),
        _ => return None,
    })
}

fn oid_of(o: &Oid) -> engine::Oid {
    engine::Oid::from_slice(o.arcs())
}

fn map_error(e: Box<engine::Error>) -> SnmpError {
    use engine::ErrorKind as K;
    match e.kind() {
        K::Timeout => {
            let attempts = match &*e {
                engine::Error::Timeout { retries, .. } => retries + 1,
                _ => 1,
            };
            SnmpError::Timeout { attempts }
        }
        K::Auth | K::Report | K::Privacy => SnmpError::Auth(e.to_string()),
        K::Snmp => match &*e {
            engine::Error::Snmp { status, .. } => SnmpError::Status(format!("{status:?}")),
            _ => SnmpError::Status(e.to_string()),
        },
        K::Network => SnmpError::Network(e.to_string()),
        K::Config => SnmpError::Config(e.to_string()),
        _ => SnmpError::Other(e.to_string()),
    }
}

impl Session {
    async fn get_with(&self, client: &Client, oids: &[Oid]) -> Result<Values, SnmpError> {
        if oids.is_empty() {
            return Ok(Vec::new());
        }
        self.limiter.until_ready().await;
        let request: Vec<engine::Oid> = oids.iter().map(oid_of).collect();
        match client.get_many(&request).await {
            Ok(response) => {
                // Match by OID, not by position: broken agents reorder or drop bindings.
                let mut out = vec![None; oids.len()];
                for vb in &response.varbinds {
                    if let Some(i) = request.iter().position(|o| *o == vb.oid) {
                        out[i] = value_of(&vb.value);
                    }
                }
                Ok(out)
            }
            Err(e) => {
                let err = map_error(e);
                // SNMPv1 fails the whole PDU when one object is missing: ask one at a time.
                if self.v1 && oids.len() > 1 && matches!(err, SnmpError::Status(_)) {
                    let mut out = Vec::with_capacity(oids.len());
                    for oid in oids {
                        self.limiter.until_ready().await;
                        out.push(match client.get(&oid_of(oid)).await {
                            Ok(r) => r.varbinds.first().and_then(|vb| value_of(&vb.value)),
                            Err(e) => match map_error(e) {
                                SnmpError::Status(_) => None,
                                other => return Err(other),
                            },
                        });
                    }
                    return Ok(out);
                }
                if self.v1 && matches!(err, SnmpError::Status(_)) {
                    return Ok(vec![None]);
                }
                Err(err)
            }
        }
    }
}

impl SnmpSession for Session {
    fn get<'a>(&'a self, oids: &'a [Oid]) -> BoxFuture<'a, Result<Values, SnmpError>> {
        Box::pin(self.get_with(&self.client, oids))
    }

    fn wake<'a>(&'a self, oids: &'a [Oid]) -> BoxFuture<'a, Result<(Values, Wake), SnmpError>> {
        Box::pin(async move {
            let started = Instant::now();
            let mut last = SnmpError::Timeout { attempts: 0 };
            for (i, client) in self.wake.iter().enumerate() {
                match self.get_with(client, oids).await {
                    Ok(values) => {
                        let wake = Wake {
                            attempts: i as u32 + 1,
                            latency: started.elapsed(),
                        };
                        return Ok((values, wake));
                    }
                    Err(e) if e.is_timeout() => last = e,
                    Err(e) => return Err(e),
                }
            }
            if let SnmpError::Timeout { attempts } = &mut last {
                *attempts = self.wake.len() as u32;
            }
            Err(last)
        })
    }

    fn next<'a>(
        &'a self,
        oids: &'a [Oid],
        bulk: u32,
    ) -> BoxFuture<'a, Result<NextRows, SnmpError>> {
        Box::pin(async move {
            let request: Vec<engine::Oid> = oids.iter().map(oid_of).collect();
            let mut repetitions = bulk;
            loop {
                self.limiter.until_ready().await;
                let result = if repetitions > 0 && !self.v1 {
                    self.client.get_bulk(&request, 0, repetitions).await
                } else {
                    self.client
                        .get_next_many(&request)
                        .await
                        .map(|r| r.varbinds)
                };
                match result {
                    Ok(varbinds) => {
                        return Ok(varbinds
                            .iter()
                            .map(|vb| (Oid::new(vb.oid.arcs().to_vec()), value_of(&vb.value)))
                            .collect());
                    }
                    Err(e) => match map_error(e) {
                        // An agent that cannot fit the answer: ask for fewer rows.
                        SnmpError::Status(s) if s == "TooBig" && repetitions > 1 => {
                            repetitions /= 2;
                        }
                        // SNMPv1 signals the end of the MIB with noSuchName.
                        SnmpError::Status(s) if self.v1 && s == "NoSuchName" => {
                            return Ok(Vec::new());
                        }
                        other => return Err(other),
                    },
                }
            }
        })
    }

    fn peer(&self) -> SocketAddr {
        self.peer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn values() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i32>().prop_map(|i| Value::Integer(i64::from(i))),
            any::<u64>().prop_map(Value::Unsigned),
            any::<u32>().prop_map(Value::TimeTicks),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Value::Bytes),
            (
                proptest::collection::vec(any::<u32>(), 0..20),
                0u32..3,
                0u32..40
            )
                .prop_map(|(rest, a, b)| {
                    let mut arcs = vec![a, b];
                    arcs.extend(rest);
                    Value::Oid(Oid::new(arcs))
                }),
            any::<[u8; 4]>().prop_map(Value::IpAddress),
            Just(Value::Null),
        ]
    }

    proptest! {
        /// Every value survives BER encoding and decoding by the engine, including the edge
        /// cases: negative and extreme INTEGERs, Counter32 against Counter64 at 2^32, empty
        /// and long OCTET STRINGs, large OID arcs.
        #[test]
        fn values_round_trip_through_ber(
            v in values(),
            arcs in proptest::collection::vec(0u32..100_000, 1..12),
        ) {
            let mut oid = vec![1, 3, 6, 1];
            oid.extend(arcs);
            let vb = engine::VarBind::new(engine::Oid::from_slice(&oid), to_engine(&v));
            let mut buf = engine::ber::EncodeBuf::new();
            vb.encode(&mut buf).unwrap();
            let bytes = buf.finish();
            let mut d = engine::ber::Decoder::new(bytes);
            let back = engine::VarBind::decode(&mut d).unwrap();
            prop_assert_eq!(back.oid.arcs(), &oid[..]);
            prop_assert_eq!(value_of(&back.value), Some(v));
        }

        /// Arbitrary bytes never panic the decoder: they decode or are refused.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut d = engine::ber::Decoder::new(bytes::Bytes::from(bytes));
            let _ = engine::VarBind::decode(&mut d).map(|vb| value_of(&vb.value));
        }
    }
}

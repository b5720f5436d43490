//! SNMP agents for the simulator, on `async-snmp`'s agent: a MIB handler that answers GET and
//! GETNEXT from a device's rendered MIB.

use std::net::SocketAddr;
use std::ops::Bound;
use std::sync::Arc;

use async_snmp as engine;
use async_snmp::handler::{
    BoxFuture, GetNextResult, GetResult, HandlerResult, MibHandler, RequestContext,
};
use tokio_util::sync::CancellationToken;

use super::Fleet;
use crate::snmp::backend::{auth_protocol, priv_protocol, to_engine};
use crate::snmp::{AuthProtocol, Oid, PrivProtocol};

/// The SNMPv3 user every simulated device accepts.
#[derive(Debug, Clone)]
pub struct V3User {
    pub user: String,
    pub auth: Option<(AuthProtocol, String)>,
    pub privacy: Option<(PrivProtocol, String)>,
}

struct Handler {
    fleet: Arc<Fleet>,
    own: Option<usize>,
}

impl Handler {
    fn device(&self, ctx: &RequestContext) -> Option<usize> {
        let selector: &[u8] = if ctx.context_name().is_empty() {
            ctx.security_name().as_bytes()
        } else {
            ctx.context_name()
        };
        self.fleet.select(self.own, selector)
    }
}

impl MibHandler for Handler {
    fn get<'a>(
        &'a self,
        ctx: &'a RequestContext,
        oid: &'a engine::Oid,
    ) -> BoxFuture<'a, HandlerResult<GetResult>> {
        Box::pin(async move {
            let Some(i) = self.device(ctx) else {
                return Ok(GetResult::NoSuchObject);
            };
            let mib = self.fleet.mib(i).await;
            let key = Oid::new(oid.arcs().to_vec());
            Ok(match mib.get(&key) {
                Some(v) => GetResult::Value(to_engine(v)),
                None => GetResult::NoSuchObject,
            })
        })
    }

    fn get_next<'a>(
        &'a self,
        ctx: &'a RequestContext,
        oid: &'a engine::Oid,
    ) -> BoxFuture<'a, HandlerResult<GetNextResult>> {
        Box::pin(async move {
            let Some(i) = self.device(ctx) else {
                return Ok(GetNextResult::EndOfMibView);
            };
            let mib = self.fleet.mib(i).await;
            let key = Oid::new(oid.arcs().to_vec());
            Ok(
                match mib.range((Bound::Excluded(key), Bound::Unbounded)).next() {
                    Some((o, v)) => GetNextResult::Value(engine::VarBind::new(
                        engine::Oid::from_slice(o.arcs()),
                        to_engine(v),
                    )),
                    None => GetNextResult::EndOfMibView,
                },
            )
        })
    }
}

/// Binds an agent at `addr` serving device `own` (or every device by community) and runs it
/// until `stop` is cancelled.
pub(super) async fn spawn(
    fleet: Arc<Fleet>,
    addr: SocketAddr,
    own: Option<usize>,
    stop: CancellationToken,
) -> Result<(), String> {
    let communities: Vec<String> = match own {
        Some(_) => vec![fleet.community.clone()],
        None => fleet
            .devices
            .iter()
            .map(|d| d.lock().expect("not poisoned").community.clone())
            .collect(),
    };
    let mut builder = engine::agent::Agent::builder()
        .bind(addr.to_string())
        .communities(communities.iter().map(|c| c.as_bytes().to_vec()))
        .handler(
            engine::Oid::from_slice(&[1, 3, 6, 1]),
            Arc::new(Handler {
                fleet: fleet.clone(),
                own,
            }),
        )
        .cancellation_token(stop)
        .allow_all_access();
    if let Some(u) = &fleet.v3 {
        // A stable engine ID per address, so a restarted simulator is the same engine.
        let mut engine_id = b"fleetsim".to_vec();
        engine_id.extend_from_slice(addr.to_string().as_bytes());
        let authoritative = engine::v3::AuthoritativeEngine::install(engine_id, |_| {
            Ok::<(), std::convert::Infallible>(())
        })
        .map_err(|e| e.to_string())?;
        let user = u.clone();
        builder = builder
            .authoritative_engine(authoritative)
            .usm_user(u.user.as_bytes().to_vec(), move |mut usm| {
                match (&user.auth, &user.privacy) {
                    (Some((a, ap)), Some((p, pp))) => {
                        usm = usm.auth_priv(auth_protocol(*a), ap, priv_protocol(*p), pp)?;
                    }
                    (Some((a, ap)), None) => usm = usm.auth(auth_protocol(*a), ap)?,
                    _ => {}
                }
                Ok(usm)
            })
            .map_err(|e| e.to_string())?;
    }
    let agent = builder
        .build()
        .await
        .map_err(|e| format!("cannot serve SNMP on {addr}: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = agent.run().await {
            tracing::warn!(%addr, error = %e, "simulated agent stopped");
        }
    });
    Ok(())
}

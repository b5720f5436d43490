//! Discovery: sweep address ranges with SNMP GETs and keep what is a printer.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;

use crate::poll::{
    HR_DEVICE_PRINTER, HR_DEVICE_TYPE_1, PRT_GENERAL_SERIAL, SYS_DESCR, SYS_OBJECT_ID,
};
use crate::profile::Pack;
use crate::profile::transform::{Charset, text_of, trim};
use crate::snmp::{Credentials, Oid, Patience, SnmpEngine, Value};

/// The most addresses one sweep may cover (a /16).
pub const MAX_ADDRESSES: usize = 65_536;

/// Parses `10.0.0.0/24`, `10.0.0.5-10.0.0.20`, `10.0.0.5-20` or a single address. Network
/// and broadcast addresses of a CIDR block wider than /31 are left out.
pub fn parse_range(s: &str) -> Result<Vec<Ipv4Addr>, String> {
    let s = s.trim();
    if let Ok(net) = s.parse::<ipnet::Ipv4Net>() {
        if 1usize << (32 - u32::from(net.prefix_len())) > MAX_ADDRESSES {
            return Err(format!(
                "`{s}`: more than {MAX_ADDRESSES} addresses (a /16 at most)"
            ));
        }
        let hosts: Vec<Ipv4Addr> = net.hosts().collect();
        return Ok(hosts);
    }
    if let Some((a, b)) = s.split_once('-') {
        let start: Ipv4Addr = a
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: bad start address"))?;
        let end: Ipv4Addr = match b.trim().parse::<Ipv4Addr>() {
            Ok(e) => e,
            Err(_) => {
                let last: u8 = b
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{s}`: bad end address"))?;
                let o = start.octets();
                Ipv4Addr::new(o[0], o[1], o[2], last)
            }
        };
        let (lo, hi) = (u32::from(start), u32::from(end));
        if hi < lo {
            return Err(format!("`{s}`: the range ends before it starts"));
        }
        if (hi - lo) as usize >= MAX_ADDRESSES {
            return Err(format!("`{s}`: more than {MAX_ADDRESSES} addresses"));
        }
        return Ok((lo..=hi).map(Ipv4Addr::from).collect());
    }
    s.parse::<Ipv4Addr>()
        .map(|a| vec![a])
        .map_err(|_| format!("`{s}` is not an address, a CIDR block or an address range"))
}

/// A printer found by a sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub address: SocketAddr,
    pub vendor: String,
    pub model: String,
    pub serial: String,
    pub sys_object_id: String,
    /// Index of the credential set that worked.
    #[serde(skip)]
    pub credentials: usize,
}

/// Sweeps `addresses` at `port`, trying each credential set in order, `concurrency` addresses
/// at a time (the engine's rate limit bounds the packets per second).
pub async fn sweep(
    engine: Arc<dyn SnmpEngine>,
    pack: Arc<Pack>,
    addresses: Vec<Ipv4Addr>,
    port: u16,
    credentials: Arc<Vec<Credentials>>,
    concurrency: usize,
) -> Vec<Found> {
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for ip in addresses {
        let permit = limit.clone().acquire_owned().await.expect("never closed");
        let (engine, pack, credentials) = (engine.clone(), pack.clone(), credentials.clone());
        tasks.spawn(async move {
            let _permit = permit;
            identify(
                &*engine,
                &pack,
                SocketAddr::new(IpAddr::V4(ip), port),
                &credentials,
            )
            .await
        });
    }
    let mut found = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Ok(Some(f)) = r {
            found.push(f);
        }
    }
    found.sort_by_key(|f| (f.address.ip(), f.address.port()));
    found
}

/// Asks one address; `Some` when it is a printer.
pub async fn identify(
    engine: &dyn SnmpEngine,
    pack: &Pack,
    peer: SocketAddr,
    credentials: &[Credentials],
) -> Option<Found> {
    let oids = [
        SYS_DESCR.clone(),
        SYS_OBJECT_ID.clone(),
        HR_DEVICE_TYPE_1.clone(),
        PRT_GENERAL_SERIAL.clone(),
        "1.3.6.1.2.1.25.3.2.1.3.1".parse::<Oid>().expect("valid"),
    ];
    for (i, c) in credentials.iter().enumerate() {
        let Ok(session) = engine.open(peer, c, Patience::DISCOVERY).await else {
            continue;
        };
        let Ok((values, _)) = session.wake(&oids).await else {
            continue;
        };
        let text = |v: &Option<Value>| {
            v.as_ref()
                .map(|v| trim(&text_of(v, Charset::DEFAULT)))
                .unwrap_or_default()
        };
        let descr = text(&values[0]);
        let sys_object_id = match &values[1] {
            Some(Value::Oid(o)) => Some(o.clone()),
            _ => None,
        };
        let printer_type = matches!(&values[2], Some(Value::Oid(o)) if *o == *HR_DEVICE_PRINTER);
        let has_printer_mib = values[3].is_some();
        let claimed = !pack.candidates(sys_object_id.as_ref(), &descr).is_empty();
        if !(printer_type || has_printer_mib || claimed) {
            return None;
        }
        let mut model = text(&values[4]);
        if model.is_empty() {
            model = descr.lines().next().unwrap_or_default().to_owned();
        }
        let vendor = crate::vendors::vendor_of(sys_object_id.as_ref(), &model)
            .or_else(|| crate::vendors::brand_of(&descr))
            .unwrap_or("unknown");
        return Some(Found {
            address: peer,
            vendor: vendor.to_owned(),
            model,
            serial: text(&values[3]),
            sys_object_id: sys_object_id.map(|o| o.to_string()).unwrap_or_default(),
            credentials: i,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("10.0.0.0/30").unwrap().len(), 2);
        assert_eq!(parse_range("10.0.0.0/22").unwrap().len(), 1022);
        assert_eq!(parse_range("10.0.0.5-10.0.0.9").unwrap().len(), 5);
        assert_eq!(parse_range("10.0.0.5-9").unwrap().len(), 5);
        assert_eq!(
            parse_range("10.0.0.7").unwrap(),
            [Ipv4Addr::new(10, 0, 0, 7)]
        );
        assert!(parse_range("10.0.0.9-10.0.0.5").is_err());
        assert!(parse_range("printer.local").is_err());
        assert!(parse_range("10.0.0.0-10.2.0.0").is_err());
        assert!(parse_range("10.0.0.0/8").is_err());
        assert_eq!(parse_range("10.0.0.0/16").unwrap().len(), 65_534);
    }
}

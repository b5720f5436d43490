//! The printer fleet simulator behind `fleet-sim`: many virtual printers served over SNMP
//! v1/v2c/v3, each on its own loopback address or all on one address by community, from
//! built-in models or `.snmprec` recordings; devices that live, sleep and fail on request.

mod agent;
mod control;
pub mod device;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use tokio_util::sync::CancellationToken;

pub use agent::V3User;
pub use device::{Device, Fault, Life, Model};

use crate::snmp::{Oid, Value};

/// What a virtual device serves.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A built-in model that lives.
    Live(Box<Device>),
    /// A recording, served as it is.
    Recording {
        name: String,
        values: Arc<BTreeMap<Oid, Value>>,
    },
}

/// One virtual device and where it answers.
#[derive(Debug)]
pub struct SimDevice {
    pub kind: Kind,
    pub address: SocketAddr,
    /// The community (v1/v2c) or context (v3) that selects it when devices share an address.
    pub community: String,
    rendered: Arc<BTreeMap<Oid, Value>>,
    waking_until: Option<Instant>,
    last_request: Instant,
    stop: CancellationToken,
}

impl SimDevice {
    fn render(&mut self) {
        if let Kind::Live(d) = &self.kind {
            self.rendered = Arc::new(d.render(&self.address.ip().to_string()));
        }
    }
}

/// The whole simulated fleet.
#[derive(Debug)]
pub struct Fleet {
    pub devices: Vec<Mutex<SimDevice>>,
    pub life: Life,
    /// `true` when all devices share one address and are told apart by community.
    pub shared_address: bool,
    pub v3: Option<V3User>,
    pub community: String,
    rng: Mutex<rand::rngs::StdRng>,
    shutdown: CancellationToken,
}

/// How devices accept requests.
#[derive(Debug, Clone)]
pub struct Access {
    /// The v1/v2c community of per-address devices.
    pub community: String,
    /// The SNMPv3 user every device accepts.
    pub v3: Option<V3User>,
}

/// Where the devices answer.
#[derive(Debug, Clone)]
pub enum Layout {
    /// Device `i` at `base + i * stride`, all on `port`.
    PerAddress {
        base: std::net::Ipv4Addr,
        stride: u32,
        port: u16,
    },
    /// All devices at one address, selected by community (v1/v2c) or context (v3).
    Shared(SocketAddr),
}

impl Fleet {
    /// Builds the fleet: `count` live devices cycling through `models`, then one device per
    /// recording.
    pub fn new(
        count: usize,
        models: &[Model],
        recordings: Vec<(String, BTreeMap<Oid, Value>)>,
        layout: &Layout,
        life: Life,
        seed: u64,
        access: Access,
    ) -> Result<Fleet, String> {
        let Access { community, v3 } = access;
        let mut kinds = Vec::new();
        for i in 0..count {
            let model = models[i % models.len().max(1)];
            kinds.push(Kind::Live(Box::new(Device::new(i, model, seed, &life))));
        }
        for (name, values) in recordings {
            kinds.push(Kind::Recording {
                name,
                values: Arc::new(values),
            });
        }
        let mut devices = Vec::with_capacity(kinds.len());
        for (i, kind) in kinds.into_iter().enumerate() {
            let (address, dev_community) = match layout {
                Layout::PerAddress { base, stride, port } => {
                    let ip = u32::from(*base)
                        .checked_add(i as u32 * stride)
                        .ok_or("too many devices for the address range")?;
                    let ip = std::net::Ipv4Addr::from(ip);
                    if !ip.is_loopback() {
                        return Err(format!(
                            "device {i} would be at {ip}, outside 127.0.0.0/8; the simulator \
                             serves loopback only"
                        ));
                    }
                    (SocketAddr::from((ip, *port)), community.clone())
                }
                Layout::Shared(addr) => {
                    let c = match &kind {
                        Kind::Recording { name, .. } => name.clone(),
                        Kind::Live(d) => format!("sim-{:05}", d.id),
                    };
                    (*addr, c)
                }
            };
            let mut d = SimDevice {
                kind,
                address,
                community: dev_community,
                rendered: Arc::new(BTreeMap::new()),
                waking_until: None,
                last_request: Instant::now(),
                stop: CancellationToken::new(),
            };
            if let Kind::Recording { values, .. } = &d.kind {
                d.rendered = values.clone();
            }
            d.render();
            devices.push(Mutex::new(d));
        }
        Ok(Fleet {
            devices,
            life,
            shared_address: matches!(layout, Layout::Shared(_)),
            v3,
            community,
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
            shutdown: CancellationToken::new(),
        })
    }

    /// Starts the SNMP agents and the clock. Returns when every agent is bound.
    pub async fn start(self: &Arc<Self>) -> Result<(), String> {
        if self.shared_address {
            let addr = self.devices[0].lock().expect("not poisoned").address;
            agent::spawn(self.clone(), addr, None, self.shutdown.child_token()).await?;
        } else {
            for i in 0..self.devices.len() {
                let (addr, token) = {
                    let d = self.devices[i].lock().expect("not poisoned");
                    (d.address, d.stop.clone())
                };
                agent::spawn(self.clone(), addr, Some(i), token).await?;
            }
        }
        let fleet = self.clone();
        tokio::spawn(async move { fleet.clock().await });
        Ok(())
    }

    /// Serves the control API on `addr` (loopback).
    pub async fn serve_control(self: &Arc<Self>, addr: SocketAddr) -> Result<SocketAddr, String> {
        control::serve(self.clone(), addr, self.shutdown.child_token()).await
    }

    pub fn shutdown(&self) {
        self.shutdown.cancel();
        for d in &self.devices {
            d.lock().expect("not poisoned").stop.cancel();
        }
    }

    /// Advances every live device by `seconds` of simulated time.
    pub fn advance(&self, seconds: f64) {
        let mut rng = self.rng.lock().expect("not poisoned");
        for d in &self.devices {
            let mut d = d.lock().expect("not poisoned");
            if let Kind::Live(dev) = &mut d.kind {
                dev.tick(seconds, &self.life, &mut *rng);
            }
            d.render();
        }
    }

    async fn clock(self: Arc<Self>) {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = interval.tick() => {}
            }
            self.advance(self.life.speed);
            if self.life.sleep_after > 0.0 {
                let after = Duration::from_secs_f64(self.life.sleep_after);
                for d in &self.devices {
                    let mut d = d.lock().expect("not poisoned");
                    let idle = d.last_request.elapsed() >= after;
                    if let Kind::Live(dev) = &mut d.kind
                        && idle
                        && !dev.asleep
                    {
                        dev.asleep = true;
                        d.render();
                    }
                }
            }
        }
    }

    /// The device index for a request: the agent's own device, or by community/context.
    fn select(&self, own: Option<usize>, community: &[u8]) -> Option<usize> {
        if let Some(i) = own {
            return Some(i);
        }
        let c = std::str::from_utf8(community).ok()?;
        self.devices
            .iter()
            .position(|d| d.lock().expect("not poisoned").community == c)
    }

    /// The MIB to answer from, after the wake-up delay of a sleeping device.
    async fn mib(&self, index: usize) -> Arc<BTreeMap<Oid, Value>> {
        let wait = {
            let mut d = self.devices[index].lock().expect("not poisoned");
            d.last_request = Instant::now();
            let asleep = matches!(&d.kind, Kind::Live(dev) if dev.asleep);
            if asleep && d.waking_until.is_none() {
                d.waking_until = Some(Instant::now() + self.life.wake_delay);
            }
            d.waking_until
        };
        if let Some(until) = wait {
            tokio::time::sleep_until(until.into()).await;
            let mut d = self.devices[index].lock().expect("not poisoned");
            if let Kind::Live(dev) = &mut d.kind {
                dev.asleep = false;
            }
            d.waking_until = None;
            d.render();
        }
        self.devices[index]
            .lock()
            .expect("not poisoned")
            .rendered
            .clone()
    }

    /// Moves device `index` to a new address (its agent is restarted there).
    pub async fn relocate(self: &Arc<Self>, index: usize, to: SocketAddr) -> Result<(), String> {
        if self.shared_address {
            return Err("devices share one address; they cannot move".into());
        }
        if !to.ip().is_loopback() {
            return Err(format!("{to} is not a loopback address"));
        }
        let token = {
            let mut d = self
                .devices
                .get(index)
                .ok_or("no such device")?
                .lock()
                .expect("not poisoned");
            d.stop.cancel();
            d.stop = CancellationToken::new();
            d.address = to;
            d.render();
            d.stop.clone()
        };
        agent::spawn(self.clone(), to, Some(index), token).await
    }
}

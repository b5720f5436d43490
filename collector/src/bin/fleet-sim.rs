//! `fleet-sim`: a fleet of virtual printers on loopback, for tests, benchmarks and demos.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use fleet_collector::sim::{Access, Fleet, Layout, Life, Model, V3User};
use fleet_collector::snmp::{AuthProtocol, PrivProtocol, snmprec};

/// Serve virtual printers over SNMP v1/v2c/v3.
///
/// Each device answers on its own loopback address (`--base` + i * `--stride`, at `--port`),
/// or all devices answer on `--shared ADDR` and are told apart by community (v1/v2c) or context
/// name (v3): `sim-00000`, ... for built-in models and the file stem for recordings.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// Number of devices of the built-in models
    #[arg(long, default_value_t = 10)]
    devices: usize,
    /// Built-in models to cycle through
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "mono-laser,color-mfp,a3-copier"
    )]
    models: Vec<String>,
    /// Also serve every `.snmprec` recording in this folder (one device per file)
    #[arg(long)]
    recordings: Option<PathBuf>,
    /// First device address (loopback)
    #[arg(long, default_value = "127.1.0.1")]
    base: Ipv4Addr,
    /// Distance between device addresses
    #[arg(long, default_value_t = 1)]
    stride: u32,
    /// UDP port of every device
    #[arg(long, default_value_t = 1161)]
    port: u16,
    /// Serve every device on this one address, selected by community or context
    #[arg(long)]
    shared: Option<SocketAddr>,
    /// v1/v2c community of per-address devices
    #[arg(long, default_value = "public")]
    community: String,
    /// SNMPv3 user accepted by every device
    #[arg(long)]
    v3_user: Option<String>,
    #[arg(long, requires = "v3_user")]
    v3_auth_protocol: Option<AuthProtocol>,
    #[arg(long, requires = "v3_auth_protocol")]
    v3_auth_password: Option<String>,
    #[arg(long, requires = "v3_auth_protocol")]
    v3_priv_protocol: Option<PrivProtocol>,
    #[arg(long, requires = "v3_priv_protocol")]
    v3_priv_password: Option<String>,
    /// Mean pages per device per day
    #[arg(long, default_value_t = 400.0)]
    daily_volume: f64,
    /// Simulated seconds per real second
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Random faults per device per simulated day
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seconds without requests after which a device sleeps (0 = never)
    #[arg(long, default_value_t = 0.0)]
    sleep_after: f64,
    /// Milliseconds a sleeping device takes to answer its first request
    #[arg(long, default_value_t = 2500)]
    wake_delay_ms: u64,
    /// Address of the control API (loopback)
    #[arg(long, default_value = "127.0.0.1:1180")]
    control: SocketAddr,
    /// Seed for serials, volumes and random events
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn models(names: &[String]) -> anyhow::Result<Vec<Model>> {
    names
        .iter()
        .map(|n| {
            Model::ALL
                .into_iter()
                .find(|m| {
                    serde_json::to_value(m)
                        .ok()
                        .and_then(|v| v.as_str().map(|s| s == n))
                        .unwrap_or(false)
                })
                .with_context(|| format!("unknown model `{n}` (mono-laser, color-mfp, a3-copier)"))
        })
        .collect()
}

fn recordings(
    dir: &PathBuf,
) -> anyhow::Result<
    Vec<(
        String,
        std::collections::BTreeMap<fleet_collector::snmp::Oid, fleet_collector::snmp::Value>,
    )>,
> {
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "snmprec"))
        .collect();
    paths.sort();
    for p in paths {
        let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        // Recordings are ISO-8859-1: map bytes to chars one to one.
        let text: String = bytes.iter().map(|&b| char::from(b)).collect();
        let (values, errors) = snmprec::parse(&text);
        for e in errors {
            tracing::warn!(file = %p.display(), "{e}; the device stops answering past this object");
        }
        let name = p
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        out.push((name, values));
    }
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            // The SNMP engine logs every timeout as an error; polling reports them itself.
            tracing_subscriber::EnvFilter::new(match std::env::var("RUST_LOG") {
                Ok(f) if f.contains("async_snmp") => f,
                Ok(f) => format!("{f},async_snmp=off"),
                Err(_) => "info,async_snmp=off".into(),
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let models = models(&cli.models)?;
    if models.is_empty() && cli.devices > 0 {
        bail!("--models is empty");
    }
    let recs = match &cli.recordings {
        Some(dir) => recordings(dir)?,
        None => Vec::new(),
    };
    let layout = match cli.shared {
        Some(addr) => Layout::Shared(addr),
        None => Layout::PerAddress {
            base: cli.base,
            stride: cli.stride.max(1),
            port: cli.port,
        },
    };
    let v3 = cli.v3_user.clone().map(|user| V3User {
        user,
        auth: cli.v3_auth_protocol.zip(cli.v3_auth_password.clone()),
        privacy: cli.v3_priv_protocol.zip(cli.v3_priv_password.clone()),
    });
    let life = Life {
        daily_volume: cli.daily_volume,
        speed: cli.speed,
        fault_rate: cli.fault_rate,
        sleep_after: cli.sleep_after,
        wake_delay: Duration::from_millis(cli.wake_delay_ms),
    };
    let access = Access {
        community: cli.community.clone(),
        v3,
    };
    let fleet = Fleet::new(cli.devices, &models, recs, &layout, life, cli.seed, access)
        .map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let fleet = Arc::new(fleet);
        fleet.start().await.map_err(anyhow::Error::msg)?;
        let control = fleet
            .serve_control(cli.control)
            .await
            .map_err(anyhow::Error::msg)?;
        let first = fleet
            .devices
            .first()
            .map(|d| d.lock().expect("not poisoned").address);
        // One line for scripts to wait for.
        println!(
            "fleet-sim ready: {} devices, first at {}, control http://{control}",
            fleet.devices.len(),
            first.map(|a| a.to_string()).unwrap_or_default()
        );
        wait_for_signal().await;
        fleet.shutdown();
        anyhow::Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

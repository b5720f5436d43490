//! `fleet-collector`: the on-site collector.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use fleet_collector::config::Config;
use fleet_collector::poll::{Poller, Scope};
use fleet_collector::profile::Pack;
use fleet_collector::service::Collector;
use fleet_collector::snmp::backend::AsyncSnmpEngine;
use fleet_collector::snmp::{
    AuthProtocol, Credentials, Patience, PrivProtocol, SnmpEngine, UsmCredentials, WalkLimits,
};

#[derive(Parser)]
#[command(
    version,
    about = "Fleetmeter's collector: reads printers over SNMP and sends the readings to the gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: discover, poll on schedule, spool, deliver
    Run {
        #[arg(long)]
        config: PathBuf,
    },
    /// Read one device once and print its report as JSON
    Probe {
        /// HOST or HOST:PORT
        target: String,
        #[command(flatten)]
        credentials: CredentialArgs,
        /// Also print every raw value read (for writing a profile)
        #[arg(long)]
        walk: bool,
        /// Only status and alerts
        #[arg(long)]
        status_only: bool,
        /// An extra profile folder
        #[arg(long)]
        profiles: Option<PathBuf>,
        /// Timeout of one request in milliseconds
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },
    /// Sweep address ranges and list the printers found
    Discover {
        /// CIDR blocks (192.168.1.0/24), ranges (10.0.0.5-10.0.0.90) or addresses
        #[arg(required = true)]
        ranges: Vec<String>,
        #[arg(long, default_value_t = 161)]
        port: u16,
        #[command(flatten)]
        credentials: CredentialArgs,
        /// Addresses asked at once
        #[arg(long, default_value_t = 1024)]
        concurrency: usize,
        /// Requests per second
        #[arg(long, default_value_t = 5000)]
        rate: u32,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Work with device profiles
    Profiles {
        #[command(subcommand)]
        command: ProfilesCommand,
    },
    /// Set the status page password (read from standard input), stored as an argon2 hash
    SetPassword {
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum ProfilesCommand {
    /// Validate a profile folder (with the built-in pack) and report every problem
    Check { dir: PathBuf },
    /// List the loaded profiles
    List {
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print what a full poll with a profile reads: the scalars it GETs and the subtrees it walks
    Plan {
        /// A vendor profile name (the generic profile is always included)
        #[arg(long, default_value = "generic")]
        profile: String,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Args, Clone)]
struct CredentialArgs {
    /// Community (SNMP v1/v2c)
    #[arg(long, default_value = "public")]
    community: String,
    #[arg(long, default_value = "2c", value_parser = ["1", "2c"])]
    snmp_version: String,
    /// SNMPv3 user (selects v3)
    #[arg(long)]
    user: Option<String>,
    #[arg(long, requires = "user")]
    auth_protocol: Option<AuthProtocol>,
    #[arg(long, requires = "auth_protocol")]
    auth_password: Option<String>,
    #[arg(long, requires = "auth_protocol")]
    priv_protocol: Option<PrivProtocol>,
    #[arg(long, requires = "priv_protocol")]
    priv_password: Option<String>,
    /// SNMPv3 context name
    #[arg(long, default_value = "", requires = "user")]
    context: String,
}

impl CredentialArgs {
    fn credentials(&self) -> anyhow::Result<Credentials> {
        let c = match &self.user {
            Some(user) => Credentials::V3(UsmCredentials {
                user: user.clone(),
                auth_protocol: self.auth_protocol,
                auth_password: self.auth_password.clone(),
                priv_protocol: self.priv_protocol,
                priv_password: self.priv_password.clone(),
                context: self.context.clone(),
            }),
            None if self.snmp_version == "1" => Credentials::V1 {
                community: self.community.clone(),
            },
            None => Credentials::V2c {
                community: self.community.clone(),
            },
        };
        c.validate().map_err(anyhow::Error::msg)?;
        Ok(c)
    }
}

fn target(s: &str) -> anyhow::Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let with_port = if s.parse::<std::net::SocketAddr>().is_ok()
        || s.rsplit_once(':')
            .is_some_and(|(h, p)| !h.contains(':') && p.parse::<u16>().is_ok())
    {
        s.to_owned()
    } else {
        format!("{s}:161")
    };
    with_port
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve `{s}`"))?
        .find(|a| a.is_ipv4())
        .with_context(|| format!("`{s}` has no IPv4 address"))
}

fn pack(dir: Option<&std::path::Path>) -> anyhow::Result<Pack> {
    Pack::load(dir).map_err(|problems| {
        anyhow::anyhow!(
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn main() -> std::process::ExitCode {
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
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Run { config } => serve(config).await?,
        Command::Probe {
            target: t,
            credentials,
            walk,
            status_only,
            profiles,
            timeout_ms,
        } => {
            let pack = pack(profiles.as_deref())?;
            let engine = AsyncSnmpEngine::bind(500).await?;
            let patience = Patience {
                timeout: std::time::Duration::from_millis(timeout_ms),
                ..Patience::POLL
            };
            let poller = Poller {
                engine: &engine,
                pack: &pack,
                patience,
                limits: WalkLimits::default(),
            };
            let scope = if status_only {
                Scope::Status
            } else {
                Scope::Full
            };
            let polled = poller
                .poll(target(&t)?, &credentials.credentials()?, scope)
                .await?;
            let mut out = serde_json::json!({
                "profile": polled.profile,
                "wake": {
                    "attempts": polled.wake.attempts,
                    "latency_ms": polled.wake.latency.as_millis() as u64,
                },
                "elapsed_ms": polled.elapsed.as_millis() as u64,
                "report": polled.report,
                "warnings": polled.warnings,
            });
            if let Err(e) = polled.report.validate() {
                out["invalid"] = serde_json::json!(e);
            }
            if walk {
                out["walk"] = polled
                    .snapshot
                    .values
                    .iter()
                    .map(|(o, v)| {
                        (
                            o.to_string(),
                            serde_json::json!({ "type": v.type_name(), "value": v.to_string() }),
                        )
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into();
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Discover {
            ranges,
            port,
            credentials,
            concurrency,
            rate,
            json,
        } => {
            let mut addresses = Vec::new();
            for r in &ranges {
                addresses
                    .extend(fleet_collector::discover::parse_range(r).map_err(anyhow::Error::msg)?);
            }
            let engine: Arc<dyn SnmpEngine> = Arc::new(AsyncSnmpEngine::bind(rate).await?);
            let started = std::time::Instant::now();
            let found = fleet_collector::discover::sweep(
                engine,
                Arc::new(pack(None)?),
                addresses.clone(),
                port,
                Arc::new(vec![credentials.credentials()?]),
                concurrency,
            )
            .await;
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else {
                println!("{:<22} {:<16} {:<36} serial", "address", "vendor", "model");
                for f in &found {
                    println!(
                        "{:<22} {:<16} {:<36} {}",
                        f.address, f.vendor, f.model, f.serial
                    );
                }
            }
            eprintln!(
                "{} printers among {} addresses in {:.2} s",
                found.len(),
                addresses.len(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Profiles {
            command: ProfilesCommand::Check { dir },
        } => {
            if !dir.is_dir() {
                bail!("{} is not a folder", dir.display());
            }
            let (profiles, mut problems) = fleet_collector::profile::load_dir(&dir);
            if let Err(p) = Pack::load(Some(&dir)) {
                for x in p {
                    if !problems.contains(&x) {
                        problems.push(x);
                    }
                }
            }
            for p in &problems {
                println!("{p}");
            }
            if problems.is_empty() {
                println!(
                    "{} profile(s) in {} are valid",
                    profiles.len(),
                    dir.display()
                );
            } else {
                println!("{} problem(s)", problems.len());
                return Ok(std::process::ExitCode::FAILURE);
            }
        }
        Command::Profiles {
            command: ProfilesCommand::List { dir },
        } => {
            let pack = pack(dir.as_deref())?;
            for p in std::iter::once(&pack.generic).chain(&pack.vendors) {
                println!(
                    "{:<16} {:<28} {}",
                    p.profile.name, p.origin, p.profile.description
                );
            }
        }
        Command::Profiles {
            command: ProfilesCommand::Plan { profile, dir },
        } => {
            let pack = pack(dir.as_deref())?;
            let vendor = pack
                .by_name(&profile)
                .with_context(|| format!("no profile `{profile}`"))?;
            let mut profiles = vec![&pack.generic];
            if profile != "generic" {
                profiles.push(vendor);
            }
            let plan = fleet_collector::poll::Plan::for_profiles(&profiles, Scope::Full);
            for o in &plan.gets {
                println!("get  {o}");
            }
            for o in &plan.walks {
                println!("walk {o}");
            }
        }
        Command::SetPassword { config } => {
            let mut c = Config::load(&config).map_err(anyhow::Error::msg)?;
            if atty_stdin() {
                eprint!("New status page password: ");
                let _ = std::io::stderr().flush();
            }
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let password = line.trim_end_matches(['\r', '\n']);
            let hash = fleet_collector::status_page::hash_password(password)
                .map_err(anyhow::Error::msg)?;
            // Saved with the data folder as written in the file, not resolved.
            let text = std::fs::read_to_string(&config)?;
            let mut raw: Config = toml::from_str(&text)?;
            raw.status_page.password_hash = Some(hash.clone());
            raw.save(&config).map_err(anyhow::Error::msg)?;
            c.status_page.password_hash = Some(hash);
            eprintln!("password set in {}", config.display());
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn atty_stdin() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
}

async fn serve(path: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(&path).map_err(anyhow::Error::msg)?;
    let listen = config.status_page.listen;
    let enabled = config.status_page.enabled;
    let collector = Collector::open(config, path.clone())
        .await
        .map_err(anyhow::Error::msg)?;
    if enabled {
        let addr = fleet_collector::status_page::serve(collector.clone(), listen)
            .await
            .map_err(anyhow::Error::msg)?;
        tracing::info!("status page on http://{addr}/");
    }
    let runner = tokio::spawn(collector.clone().run());
    tracing::info!(config = %path.display(), "collector running");
    wait_for_signals(&collector).await;
    collector.stop.cancel();
    let _ = runner.await;
    Ok(())
}

async fn wait_for_signals(collector: &Arc<Collector>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("signal handler");
        let mut hup = signal(SignalKind::hangup()).expect("signal handler");
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return,
                _ = term.recv() => return,
                _ = hup.recv() => {
                    if let Err(e) = collector.reload_profiles() {
                        tracing::error!("profiles not reloaded, the previous ones stay: {e}");
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = collector;
        let _ = tokio::signal::ctrl_c().await;
    }
}

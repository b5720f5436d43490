//! `fleet-bench`: the ingest load tool and the demo feeder.
//!
//! `fleet-bench ingest` measures each transport end to end against a running gateway (or one it
//! starts), and the ceiling: the same rows inserted straight into ClickHouse with the
//! `clickhouse` crate. `fleet-bench feed` sends a synthetic fleet to a gateway on a schedule.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use fleet_benches::synth::{Fleet, add_rows};
use fleet_ingest::auth::issue_token;
use fleet_ingest::grpc::IngestClient;
use fleet_model::xmlrpc::{
    DecodeLimits, Response, Value, batch_to_value, decode_response, encode_call,
};
use fleet_model::{CollectorId, TenantId, proto};
use fleet_store::{ClickHouseSettings, Origin, PartialClickHouseSettings, RowSet, Store};
use prost::Message;
use time::OffsetDateTime;
use tokio::sync::Mutex;

#[derive(Parser)]
#[command(name = "fleet-bench", about = "Fleetmeter load tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure ingest throughput and latency per transport against the direct-insert ceiling
    Ingest(IngestArgs),
    /// Poll simulated printers with the collector's poller and report the time per round
    Poll(PollArgs),
    /// Fill ClickHouse with a synthetic fleet's counter history (inside ClickHouse)
    Seed(fleet_benches::reports::SeedArgs),
    /// Time the monthly meter-read report through the query service and straight on ClickHouse
    Report(fleet_benches::reports::ReportArgs),
    /// Send a synthetic fleet to a gateway on a schedule (the demo)
    Feed {
        /// Gateway URL
        #[arg(long, default_value = "http://127.0.0.1:8090")]
        url: String,
        #[arg(long, env = "FLEET_TOKEN")]
        token: String,
        #[arg(long, default_value_t = 200)]
        devices: u32,
        /// Seconds between batches
        #[arg(long, default_value_t = 30)]
        every_secs: u64,
        /// Send one batch and exit
        #[arg(long)]
        once: bool,
    },
}

#[derive(clap::Args)]
struct PollArgs {
    /// First device address (as given to `fleet-sim --base`)
    #[arg(long, default_value = "127.6.0.1")]
    base: std::net::Ipv4Addr,
    #[arg(long, default_value_t = 1000)]
    devices: u32,
    #[arg(long, default_value_t = 1161)]
    port: u16,
    /// Devices polled at once (the collector's `snmp.concurrency`)
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Requests per second across all devices (the collector's `snmp.requests_per_second`)
    #[arg(long, default_value_t = 20_000)]
    rate: u32,
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Only status and alerts instead of full reads
    #[arg(long)]
    status: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    Xmlrpc,
    Protobuf,
    Grpc,
}

#[derive(clap::Args)]
struct IngestArgs {
    /// ClickHouse for the ceiling measurement and the benchmark's tenant and token
    #[arg(
        long,
        env = "FLEET_CLICKHOUSE_URL",
        default_value = "http://127.0.0.1:18123"
    )]
    clickhouse_url: String,
    /// Database to create and use (dropped first)
    #[arg(long, default_value = "fleet_bench")]
    database: String,
    /// Start this fleet-ingest binary with default limits (and report its peak memory)
    #[arg(long)]
    spawn_gateway: Option<PathBuf>,
    /// Gateway address when not spawning one
    #[arg(long, default_value = "127.0.0.1:8090")]
    gateway: String,
    /// Transports to measure
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_values_t = [Transport::Xmlrpc, Transport::Protobuf, Transport::Grpc]
    )]
    transports: Vec<Transport>,
    /// Concurrent clients
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds per transport
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Device reports per batch
    #[arg(long, default_value_t = 50)]
    devices_per_batch: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Ingest(args) => ingest(args).await,
        Command::Poll(args) => poll(args).await,
        Command::Seed(args) => fleet_benches::reports::seed(args).await,
        Command::Report(args) => fleet_benches::reports::report(args).await,
        Command::Feed {
            url,
            token,
            devices,
            every_secs,
            once,
        } => feed(url, token, devices, every_secs, once).await,
    }
}

async fn feed(
    url: String,
    token: String,
    devices: u32,
    every: u64,
    once: bool,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let mut fleet = Fleet::new(1, devices);
    loop {
        let batch = fleet.next_batch();
        let response = http
            .post(format!("{url}/v1/batches"))
            .header("content-type", "application/x-protobuf")
            .header("accept", "application/json")
            .bearer_auth(&token)
            .body(batch.encode_to_vec())
            .send()
            .await;
        match response {
            Ok(r) => eprintln!(
                "sent {devices} device reports: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            ),
            Err(e) => eprintln!("gateway unreachable: {e}"),
        }
        if once {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(every)).await;
    }
}

struct Measurement {
    rows: u64,
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Measurement {
    fn rate(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&mut self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        self.latencies.sort();
        let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[index]
    }
}

async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let partial = PartialClickHouseSettings {
        url: Some(args.clickhouse_url.clone()),
        database: Some(args.database.clone()),
        ..Default::default()
    };
    let settings = ClickHouseSettings::resolve(&[&partial])?;
    let store = Store::connect(&settings).await?;
    store.drop_database().await?;
    store.migrate().await?;
    let tokens = create_tokens(&store, args.concurrency).await?;

    let mut child = None;
    let gateway = match &args.spawn_gateway {
        Some(bin) => {
            let port = free_port()?;
            let listen = format!("127.0.0.1:{port}");
            let process = tokio::process::Command::new(bin)
                .args(["serve", "--listen", &listen])
                .env("FLEET_CLICKHOUSE_URL", &args.clickhouse_url)
                .env("FLEET_DATABASE", &args.database)
                .env("FLEET_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("cannot start {}", bin.display()))?;
            child = Some(process);
            wait_ready(&listen).await?;
            listen
        }
        None => args.gateway.clone(),
    };

    println!(
        "fleet-bench ingest: {} clients, {} s per transport, {} devices per batch, \
         gateway {gateway}",
        args.concurrency, args.seconds, args.devices_per_batch
    );
    let ceiling = direct_ceiling(&store, &args).await?;
    println!(
        "{:<10} {:>12.0} rows/s  (direct clickhouse inserts of about {} rows, {} writers)",
        "ceiling",
        ceiling.rate(),
        ceiling.rows / ceiling.requests.max(1),
        CEILING_WRITERS
    );

    for transport in &args.transports {
        let mut m = run_transport(*transport, &gateway, &tokens, &args).await?;
        let (p50, p99) = (m.percentile(0.5), m.percentile(0.99));
        println!(
            "{:<10} {:>12.0} rows/s  {:>5.2} of ceiling  p50 {:>6.1} ms  p99 {:>6.1} ms  \
             {} requests, {} errors",
            name(*transport),
            m.rate(),
            m.rate() / ceiling.rate(),
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            m.requests,
            m.errors
        );
    }

    if let Some(mut process) = child {
        let pid = process.id().unwrap_or(0);
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM"))
        {
            let peak = line.trim_start_matches("VmHWM:").trim();
            println!("gateway peak memory (VmHWM): {peak}");
        }
        let _ = process.kill().await;
    }
    Ok(())
}

fn name(t: Transport) -> &'static str {
    match t {
        Transport::Xmlrpc => "xmlrpc",
        Transport::Protobuf => "protobuf",
        Transport::Grpc => "grpc",
    }
}

/// One collector token per client, as in a real fleet (each collector has its own rate limit
/// and sequence numbers).
async fn create_tokens(store: &Store, count: usize) -> anyhow::Result<Vec<String>> {
    let tenant = store.create_tenant("bench", None).await?;
    let mut tokens = Vec::with_capacity(count);
    for i in 0..count {
        let (token, _) = issue_token(store, &tenant, &format!("bench-{i}")).await?;
        tokens.push(token.token);
    }
    Ok(tokens)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(listen: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("http://{listen}/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the gateway on {listen} did not become ready")
}

const CEILING_WRITERS: usize = 2;
/// Batches per direct INSERT: about what the gateway's group commit gathers under load.
const CEILING_BATCHES_PER_INSERT: usize = 64;

/// The same kind of rows inserted straight into ClickHouse with the `clickhouse` crate.
async fn direct_ceiling(store: &Store, args: &IngestArgs) -> anyhow::Result<Measurement> {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..CEILING_WRITERS {
        let store = store.clone();
        let devices = args.devices_per_batch;
        tasks.push(tokio::spawn(async move {
            let origin = Origin {
                tenant: TenantId(999),
                collector: CollectorId(writer as u64),
                received_at: OffsetDateTime::now_utc(),
            };
            let mut fleets: Vec<Fleet> = (0..CEILING_BATCHES_PER_INSERT)
                .map(|i| Fleet::new((writer * 1000 + i) as u32, devices))
                .collect();
            let (mut rows, mut inserts) = (0u64, 0u64);
            while Instant::now() < deadline {
                let mut set = RowSet::default();
                for fleet in &mut fleets {
                    add_rows(&mut set, fleet.next_batch(), origin, inserts == 0)?;
                }
                rows += set.data_rows() as u64;
                store.commit(&set).await?;
                inserts += 1;
            }
            anyhow::Ok((rows, inserts))
        }));
    }
    let (mut rows, mut requests) = (0, 0);
    for task in tasks {
        let (r, i) = task.await??;
        rows += r;
        requests += i;
    }
    Ok(Measurement {
        rows,
        requests,
        errors: 0,
        elapsed: started.elapsed(),
        latencies: Vec::new(),
    })
}

async fn run_transport(
    transport: Transport,
    gateway: &str,
    tokens: &[String],
    args: &IngestArgs,
) -> anyhow::Result<Measurement> {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let results = Arc::new(Mutex::new(Measurement {
        rows: 0,
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    }));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    // One gRPC connection per client, as each collector has its own: a single shared HTTP/2
    // connection would measure one connection's limits, not the gateway's.
    let mut grpc = Vec::new();
    if transport == Transport::Grpc {
        for _ in 0..args.concurrency {
            let client = IngestClient::connect(format!("http://{gateway}")).await?;
            grpc.push(Some(client.max_encoding_message_size(64 << 20)));
        }
    } else {
        grpc.resize(args.concurrency, None);
    }

    let mut tasks = Vec::new();
    for ((client, token), grpc) in tokens.iter().enumerate().zip(grpc) {
        let (http, results) = (http.clone(), Arc::clone(&results));
        let (gateway, token) = (gateway.to_owned(), token.clone());
        let site = 10_000 * (1 + transport as u32) + client as u32;
        let devices = args.devices_per_batch;
        tasks.push(tokio::spawn(async move {
            let mut fleet = Fleet::new(site, devices);
            while Instant::now() < deadline {
                let batch = fleet.next_batch();
                let sent = Instant::now();
                let outcome = match transport {
                    Transport::Xmlrpc => send_xmlrpc(&http, &gateway, &token, &batch).await,
                    Transport::Protobuf => send_protobuf(&http, &gateway, &token, &batch).await,
                    Transport::Grpc => {
                        send_grpc(grpc.clone().expect("connected"), &token, batch).await
                    }
                };
                let latency = sent.elapsed();
                let mut r = results.lock().await;
                r.requests += 1;
                match outcome {
                    Ok(rows) => {
                        r.rows += rows;
                        r.latencies.push(latency);
                    }
                    Err(_) => r.errors += 1,
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let mut m = Arc::try_unwrap(results)
        .ok()
        .expect("tasks are done")
        .into_inner();
    m.elapsed = started.elapsed();
    Ok(m)
}

async fn send_xmlrpc(
    http: &reqwest::Client,
    gateway: &str,
    token: &str,
    batch: &proto::Batch,
) -> anyhow::Result<u64> {
    let body = encode_call(
        "fleet.submit",
        &[Value::String(token.into()), batch_to_value(batch)],
    );
    let bytes = http
        .post(format!("http://{gateway}/RPC2"))
        .body(body)
        .send()
        .await?
        .bytes()
        .await?;
    match decode_response(&bytes, &DecodeLimits::default())? {
        Response::Value(v) => match v.member("rows") {
            Some(Value::Int(rows)) => Ok(*rows as u64),
            _ => bail!("no rows in the answer"),
        },
        Response::Fault { code, message } => bail!("fault {code}: {message}"),
    }
}

async fn send_protobuf(
    http: &reqwest::Client,
    gateway: &str,
    token: &str,
    batch: &proto::Batch,
) -> anyhow::Result<u64> {
    let response = http
        .post(format!("http://{gateway}/v1/batches"))
        .header("content-type", "application/x-protobuf")
        .bearer_auth(token)
        .body(batch.encode_to_vec())
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("status {}", response.status());
    }
    Ok(proto::SubmitResult::decode(response.bytes().await?)?.rows)
}

async fn send_grpc(
    mut client: IngestClient<tonic::transport::Channel>,
    token: &str,
    batch: proto::Batch,
) -> anyhow::Result<u64> {
    let mut request = tonic::Request::new(batch);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(client.submit(request).await?.into_inner().rows)
}

/// Full polls of simulated devices, as `fleet-collector run` does them: one shared socket,
/// bounded concurrency, the built-in profile pack.
async fn poll(args: PollArgs) -> anyhow::Result<()> {
    use fleet_collector::poll::{Poller, Scope};
    use fleet_collector::snmp::{Credentials, Patience, SnmpEngine, WalkLimits};
    use std::sync::Arc;
    let engine: Arc<dyn SnmpEngine> =
        Arc::new(fleet_collector::snmp::backend::AsyncSnmpEngine::bind(args.rate).await?);
    let pack =
        Arc::new(fleet_collector::profile::Pack::load(None).map_err(|p| anyhow::anyhow!("{p:?}"))?);
    let scope = if args.status {
        Scope::Status
    } else {
        Scope::Full
    };
    let addresses: Vec<std::net::SocketAddr> = (0..args.devices)
        .map(|i| {
            std::net::SocketAddr::from((
                std::net::Ipv4Addr::from(u32::from(args.base) + i),
                args.port,
            ))
        })
        .collect();
    println!("round  devices  ok  failed  seconds  requests-free devices/s  varbinds");
    for round in 1..=args.rounds {
        let started = Instant::now();
        let limit = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for addr in addresses.clone() {
            let (engine, pack, limit) = (engine.clone(), pack.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire().await.expect("open");
                let poller = Poller {
                    engine: &*engine,
                    pack: &pack,
                    patience: Patience::POLL,
                    limits: WalkLimits::default(),
                };
                poller
                    .poll(addr, &Credentials::public(), scope)
                    .await
                    .map(|p| p.snapshot.values.len())
            });
        }
        let (mut ok, mut failed, mut varbinds) = (0, 0, 0);
        while let Some(r) = tasks.join_next().await {
            match r? {
                Ok(n) => {
                    ok += 1;
                    varbinds += n;
                }
                Err(e) => {
                    failed += 1;
                    if failed <= 3 {
                        eprintln!("{e}");
                    }
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{round:>5}  {:>7}  {ok:>4}  {failed:>6}  {secs:>7.2}  {:>24.0}  {varbinds}",
            args.devices,
            f64::from(args.devices) / secs
        );
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status
            .lines()
            .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        {
            println!("{line}");
        }
    }
    Ok(())
}

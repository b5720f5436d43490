//! `fleet-ingest`: migrate the schema, manage tenants and collector tokens, and run the gateway.

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};
use fleet_ingest::Gateway;
use fleet_ingest::auth::issue_token;
use fleet_ingest::cli::{ClickHouseArgs, ServeArgs, cancel_on_signal, init_logging};
use fleet_ingest::config::FileConfig;
use fleet_store::{ClickHouseSettings, Features, MigrationOutcome, ServerVersion, Store};

#[derive(Parser)]
#[command(name = "fleet-ingest", version, about = "Fleetmeter's ingest gateway")]
struct Cli {
    #[command(flatten)]
    clickhouse: ClickHouseArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply the schema migrations (a no-op when the schema is current)
    Migrate,
    /// Manage tenants (dealers and their customers)
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage collector tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run the gateway
    Serve(ServeArgs),
    /// Print the DDL the store emits for a server version (for compatibility checks)
    Ddl {
        /// Server version to render for, such as 24.8 or 18.16
        #[arg(long)]
        server_version: String,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant
    Create {
        #[arg(long)]
        name: String,
        /// The dealer this customer belongs to
        #[arg(long)]
        parent: Option<String>,
    },
    /// List tenants
    List,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a collector token and print it on standard output (and nothing else)
    Create {
        #[arg(long)]
        tenant: String,
        /// The collector's name; created under the tenant if new
        #[arg(long)]
        collector: String,
    },
    /// Revoke tokens by their listed prefix
    Revoke { prefix: String },
    /// List tokens (prefixes only: tokens themselves are never stored)
    List,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = match &cli.clickhouse.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let flags = cli.clickhouse.partial();
    let settings = ClickHouseSettings::resolve(&[&flags, &file.clickhouse])?;

    match cli.command {
        Command::Serve(args) => serve(file, settings, args).await,
        Command::Ddl { server_version } => {
            let version = ServerVersion::parse(&server_version)
                .with_context(|| format!("`{server_version}` is not a version"))?;
            let mut out = std::io::stdout().lock();
            for statement in fleet_store::ddl_statements(&settings.database, &Features::of(version))
            {
                writeln!(out, "{statement};\n")?;
            }
            Ok(())
        }
        command => {
            let store = connect(&settings).await?;
            admin(store, command).await
        }
    }
}

async fn connect(settings: &ClickHouseSettings) -> anyhow::Result<Store> {
    Store::connect(settings)
        .await
        .with_context(|| format!("cannot reach clickhouse at {}", settings.url))
}

async fn serve(
    mut file: FileConfig,
    settings: ClickHouseSettings,
    args: ServeArgs,
) -> anyhow::Result<()> {
    let server = &mut file.server;
    args.apply(
        &mut server.listen,
        &mut server.tls_cert,
        &mut server.tls_key,
    );
    let gateway = Gateway::start(file, settings).await?;
    cancel_on_signal(gateway.stopper());
    gateway.wait().await;
    Ok(())
}

async fn admin(store: Store, command: Command) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        Command::Migrate => match store.migrate().await? {
            MigrationOutcome::UpToDate(version) => {
                eprintln!(
                    "schema of `{}` is up to date (version {version})",
                    store.database()
                );
            }
            MigrationOutcome::Applied { from, to } => {
                eprintln!(
                    "migrated `{}` from version {from} to {to}",
                    store.database()
                );
            }
        },
        Command::Tenant(TenantCommand::Create { name, parent }) => {
            store.check_schema().await?;
            let tenant = store.create_tenant(&name, parent.as_deref()).await?;
            eprintln!("created tenant `{}` (id {})", tenant.name, tenant.tenant_id);
        }
        Command::Tenant(TenantCommand::List) => {
            for tenant in store.list_tenants().await? {
                writeln!(
                    out,
                    "{}\t{}\t{}",
                    tenant.tenant_id, tenant.name, tenant.parent_id
                )?;
            }
        }
        Command::Token(TokenCommand::Create { tenant, collector }) => {
            store.check_schema().await?;
            let tenant = store
                .find_tenant(&tenant)
                .await?
                .with_context(|| format!("no tenant named `{tenant}`"))?;
            let (token, collector) = issue_token(&store, &tenant, &collector).await?;
            writeln!(out, "{}", token.token)?;
            eprintln!(
                "token {}… for collector `{}` of tenant `{}`; it is shown only this once",
                token.prefix, collector.name, tenant.name
            );
        }
        Command::Token(TokenCommand::Revoke { prefix }) => {
            let revoked = store.revoke_tokens(&prefix).await?;
            anyhow::ensure!(revoked > 0, "no active token with prefix `{prefix}`");
            eprintln!(
                "revoked {revoked} token(s); gateways stop accepting them within their token \
                 cache time (30 s by default)"
            );
        }
        Command::Token(TokenCommand::List) => {
            writeln!(out, "prefix\tcollector_id\ttenant_id\tcreated_at\tstate")?;
            for t in store.list_tokens().await? {
                let state = if t.revoked == 1 { "revoked" } else { "active" };
                let created = time::OffsetDateTime::from_unix_timestamp(i64::from(t.created_at))
                    .map(|at| at.to_string())
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{}\t{}\t{}\t{created}\t{state}",
                    t.token_prefix, t.collector_id, t.tenant_id
                )?;
            }
        }
        Command::Serve(_) | Command::Ddl { .. } => unreachable!("handled by `run`"),
    }
    Ok(())
}

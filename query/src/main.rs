//! `fleet-query`: the query service, and the operator's commands for users, API tokens,
//! reports and BI users.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use fleet_ingest::cli::{ClickHouseArgs, ServeArgs, cancel_on_signal, init_logging};
use fleet_query::api;
use fleet_query::auth::Role;
use fleet_query::config::FileConfig;
use fleet_query::reporting::{self, ReportParams};
use fleet_query::tenancy::Directory;
use fleet_query::{QueryService, bi};
use fleet_store::{ClickHouseSettings, Scope, Store};

#[derive(Parser)]
#[command(name = "fleet-query", version, about = "Fleetmeter's query service")]
struct Cli {
    #[command(flatten)]
    clickhouse: ClickHouseArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the query service (REST API, reports, OpenAPI and Swagger UI)
    Serve(ServeArgs),
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Produce a report file, the same as the API's
    Report {
        /// meter-reads, supplies, inventory, utilization or alerts
        name: String,
        /// Tenant name or id
        #[arg(long)]
        tenant: String,
        /// First day (YYYY-MM-DD), or a month (2026-11) or quarter (2026-Q4) without --to
        #[arg(long)]
        from: String,
        /// Day after the last (exclusive)
        #[arg(long)]
        to: Option<String>,
        /// json, csv, xlsx or pdf [default: json]
        #[arg(long)]
        format: Option<String>,
        /// Output file [default: standard output]
        #[arg(long)]
        output: Option<PathBuf>,
        /// Meter reads: hours a read may lie from a boundary [default: 24]
        #[arg(long)]
        tolerance_hours: Option<i64>,
        /// CSV delimiter: `,`, `;` or `tab`
        #[arg(long)]
        csv_delimiter: Option<String>,
        /// CSV: start with a UTF-8 byte-order mark
        #[arg(long)]
        bom: bool,
        /// Print the report's SQL instead of running it
        #[arg(long)]
        sql: bool,
    },
    /// Read-only ClickHouse users for BI tools (needs a server with row policies)
    #[command(subcommand)]
    BiUser(BiCommand),
    /// Print the OpenAPI document
    Openapi,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input
    Create {
        #[arg(long)]
        email: String,
        /// admin, dealer or customer
        #[arg(long)]
        role: String,
        /// The user's tenant (dealer or customer name); none for admin
        #[arg(long)]
        tenant: Option<String>,
        /// Read the password from standard input (required: passwords are never arguments)
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users
    List,
    /// Disable a user (its sessions and tokens stop working)
    Disable { email: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print it (only its hash is stored)
    Create {
        /// The user's e-mail address
        #[arg(long)]
        user: String,
        /// Days until it expires [default: never]
        #[arg(long)]
        expires: Option<u32>,
    },
}

#[derive(Subcommand)]
enum BiCommand {
    /// Create the tenant's read-only user; the password is read from standard input
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Drop the tenant's read-only user and its row policies
    Drop {
        #[arg(long)]
        tenant: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

fn read_password() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let password = text.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut file = match &cli.clickhouse.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let settings = ClickHouseSettings::resolve(&[&cli.clickhouse.partial(), &file.clickhouse])?;
    if let Command::Serve(args) = cli.command {
        let server = &mut file.server;
        args.apply(
            &mut server.listen,
            &mut server.tls_cert,
            &mut server.tls_key,
        );
        let service = QueryService::start(file, settings).await?;
        cancel_on_signal(service.stopper());
        service.wait().await;
        return Ok(());
    }
    if let Command::Openapi = cli.command {
        println!("{}", api::openapi_json());
        return Ok(());
    }
    let store = Store::connect(&settings)
        .await
        .with_context(|| format!("cannot reach clickhouse at {}", settings.url))?;
    store.check_schema().await?;
    let directory = Directory::new(store.clone());
    let err = |e: fleet_query::error::ApiError| anyhow::anyhow!("{e}");
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::User(UserCommand::Create {
            email,
            role,
            tenant,
            ..
        }) => {
            let role = Role::parse(&role).map_err(anyhow::Error::msg)?;
            let tenant_id = match (role, tenant) {
                (Role::Admin, None) => 0,
                (Role::Admin, Some(_)) => anyhow::bail!("administrators belong to no tenant"),
                (_, None) => anyhow::bail!("--tenant is required for dealer and customer users"),
                (_, Some(name)) => {
                    let tree = directory.tree().await.map_err(err)?;
                    let t = tree
                        .by_name(&name)
                        .with_context(|| format!("no tenant named `{name}`"))?;
                    let kind = tree.kind(t.tenant_id);
                    anyhow::ensure!(
                        api::users::role_fits(role, kind),
                        "`{name}` is a {kind:?} tenant, not for a {} user",
                        role.as_str()
                    );
                    t.tenant_id
                }
            };
            let email = api::users::check_email(&email).map_err(err)?;
            let hash = api::users::hash(read_password()?).await.map_err(err)?;
            let user = store
                .create_user(&email, tenant_id, role.as_str(), &hash)
                .await?;
            eprintln!(
                "created {} user {} (id {})",
                role.as_str(),
                user.email,
                user.user_id
            );
        }
        Command::User(UserCommand::List) => {
            writeln!(out, "user_id\temail\trole\ttenant_id\tstate")?;
            for u in store.list_users().await? {
                let state = if u.disabled == 0 {
                    "active"
                } else {
                    "disabled"
                };
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{state}",
                    u.user_id, u.email, u.role, u.tenant_id
                )?;
            }
        }
        Command::User(UserCommand::Disable { email }) => {
            let user = store
                .find_user(&email.trim().to_lowercase())
                .await?
                .with_context(|| format!("no user `{email}`"))?;
            api::users::disable(&store, user).await.map_err(err)?;
            eprintln!("disabled {email}; running services notice within their cache time (10 s)");
        }
        Command::Token(TokenCommand::Create { user, expires }) => {
            let record = store
                .find_user(&user.trim().to_lowercase())
                .await?
                .with_context(|| format!("no user `{user}`"))?;
            anyhow::ensure!(record.disabled == 0, "`{user}` is disabled");
            let token = api::tokens::issue_api_token(&store, record.user_id, expires)
                .await
                .map_err(err)?;
            writeln!(out, "{}", token.token)?;
            eprintln!(
                "API token {}… for {user}; it is shown only this once",
                token.prefix
            );
        }
        Command::Report {
            name,
            tenant,
            from,
            to,
            format,
            output,
            tolerance_hours,
            csv_delimiter,
            bom,
            sql,
        } => {
            let params = ReportParams {
                tenant: Some(tenant),
                from,
                to,
                format,
                tolerance_hours,
                csv_delimiter,
                bom: Some(bom),
                ..ReportParams::default()
            };
            let defaults = file.report_options();
            if sql {
                let text = reporting::sql(&directory, &name, &params, &defaults)
                    .await
                    .map_err(err)?;
                writeln!(out, "{text}")?;
                return Ok(());
            }
            drop(out);
            let prepared = reporting::prepare(
                &store,
                &directory,
                &Scope::everything(),
                0,
                &name,
                &params,
                &defaults,
            )
            .await
            .map_err(err)?;
            let rows = match output {
                Some(path) => {
                    let mut f = tokio::fs::File::create(&path)
                        .await
                        .with_context(|| format!("cannot create `{}`", path.display()))?;
                    fleet_reports::render::write(
                        prepared.report,
                        prepared.format,
                        prepared.csv,
                        &mut f,
                    )
                    .await?
                }
                None => {
                    let mut stdout = tokio::io::stdout();
                    fleet_reports::render::write(
                        prepared.report,
                        prepared.format,
                        prepared.csv,
                        &mut stdout,
                    )
                    .await?
                }
            };
            eprintln!("{rows} rows");
        }
        Command::BiUser(BiCommand::Create { tenant, .. }) => {
            bi::check_row_policies(store.version())?;
            let user = bi::create(&store, &directory, &tenant, &read_password()?).await?;
            writeln!(out, "{user}")?;
            eprintln!("created read-only user `{user}` for `{tenant}` and its customers");
        }
        Command::BiUser(BiCommand::Drop { tenant }) => {
            let user = bi::drop(&store, &tenant).await?;
            eprintln!("dropped `{user}`");
        }
        Command::Serve(_) | Command::Openapi => unreachable!("handled above"),
    }
    Ok(())
}

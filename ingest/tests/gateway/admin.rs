//! Authentication, token revocation, failed-authentication limits and the command line.

use std::process::Command;
use std::time::Duration;

use fleet_model::xmlrpc::Value;
use fleet_store::Table;

use crate::common::*;

#[tokio::test]
async fn a_revoked_token_stops_working() {
    let gw = start_with("revoke", |c| c.auth.token_cache_ttl_ms = 300).await;
    let ping = [Value::String(gw.token.clone())];
    assert!(matches!(
        gw.xmlrpc("fleet.ping", &ping).await,
        fleet_model::xmlrpc::Response::Value(_)
    ));

    let prefix = &gw.token[..12];
    assert_eq!(gw.store.revoke_tokens(prefix).await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(fault_code(&gw.xmlrpc("fleet.ping", &ping).await), 1);
    assert_eq!(fault_code(&gw.submit_xmlrpc(&sample_batch(1, 1)).await), 1);
    assert_eq!(gw.count(Table::Counters).await, 0);
    gw.finish().await;
}

#[tokio::test]
async fn unknown_tokens_are_refused_by_every_transport() {
    let gw = start("bad_token").await;
    let response = gw
        .xmlrpc(
            "fleet.ping",
            &[Value::String("fmt_not-a-real-token".into())],
        )
        .await;
    assert_eq!(fault_code(&response), 1);

    let response = gw.submit_protobuf("fmt_nope", &sample_batch(1, 1)).await;
    assert_eq!(response.status(), 401);

    let mut request = tonic::Request::new(sample_batch(1, 1));
    request
        .metadata_mut()
        .insert("authorization", "Bearer fmt_nope".parse().unwrap());
    let status = gw.grpc().await.submit(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    gw.finish().await;
}

#[tokio::test]
async fn repeated_failed_authentication_from_one_address_is_rate_limited() {
    let gw = start_with("failed_auth", |c| {
        c.rate_limit.failed_auth_per_minute = 1;
        c.rate_limit.failed_auth_burst = 3;
    })
    .await;
    let mut codes = Vec::new();
    for _ in 0..6 {
        let response = gw
            .xmlrpc("fleet.ping", &[Value::String("fmt_guess".into())])
            .await;
        codes.push(fault_code(&response));
    }
    assert_eq!(&codes[..3], &[1, 1, 1]);
    assert!(codes[3..].iter().all(|c| *c == 5), "{codes:?}");
    gw.finish().await;
}

fn cli(database: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fleet-ingest"))
        .args(args)
        .env(
            "FLEET_CLICKHOUSE_URL",
            fleet_store::testing::clickhouse_url(),
        )
        .env("FLEET_DATABASE", database)
        .output()
        .expect("fleet-ingest runs")
}

#[tokio::test]
async fn the_command_line_migrates_and_manages_tenants_and_tokens() {
    let settings = fleet_store::testing::fresh_settings("cli");
    let db = settings.database.as_str();

    let first = cli(db, &["migrate"]);
    assert!(first.status.success(), "{first:?}");
    assert!(String::from_utf8_lossy(&first.stderr).contains("from version 0 to 2"));
    let second = cli(db, &["migrate"]);
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("up to date"),
        "{second:?}"
    );

    assert!(
        cli(db, &["tenant", "create", "--name", "dealer"])
            .status
            .success()
    );
    let customer = cli(
        db,
        &["tenant", "create", "--name", "acme", "--parent", "dealer"],
    );
    assert!(customer.status.success(), "{customer:?}");
    let again = cli(db, &["tenant", "create", "--name", "acme"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let token = cli(
        db,
        &[
            "token",
            "create",
            "--tenant",
            "acme",
            "--collector",
            "site-1",
        ],
    );
    assert!(token.status.success(), "{token:?}");
    let stdout = String::from_utf8(token.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the token on standard output"
    );
    let token = stdout.trim();
    assert!(token.starts_with("fmt_") && token.len() == 47);

    let list = String::from_utf8(cli(db, &["token", "list"]).stdout).unwrap();
    assert!(
        list.contains(&token[..12]) && list.contains("active"),
        "{list}"
    );
    assert!(!list.contains(token), "tokens are never listed");
    assert!(cli(db, &["token", "revoke", &token[..12]]).status.success());
    let list = String::from_utf8(cli(db, &["token", "list"]).stdout).unwrap();
    assert!(list.contains("revoked"), "{list}");

    let unknown = cli(
        db,
        &["token", "create", "--tenant", "nobody", "--collector", "x"],
    );
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no tenant named `nobody`"));

    let store = fleet_store::Store::connect(&settings).await.unwrap();
    store.drop_database().await.unwrap();
}

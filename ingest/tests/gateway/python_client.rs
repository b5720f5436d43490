//! Python's standard `xmlrpc.client` (`ServerProxy`, `MultiCall`) against the gateway.

use std::path::PathBuf;

use fleet_store::Table;

use crate::common::*;

#[tokio::test]
async fn python_standard_client_submits_and_receives_documented_faults() {
    let gw = start("python").await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/xmlrpc_client.py");
    let python = std::env::var("FLEET_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = tokio::process::Command::new(python)
        .arg(&script)
        .arg(gw.url("/RPC2"))
        .arg(&gw.token)
        .output()
        .await
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"));

    let big = gw
        .store
        .count(Table::Counters, "value = 5000000001")
        .await
        .unwrap();
    assert!(big >= 1, "a counter above 2^31 arrives intact");
    gw.finish().await;
}

//! Generates the gRPC `fleet.v1.Ingest` client; the messages come from `fleet-model`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../model/proto");
    let files = protox::compile(["fleet/v1/ingest.proto"], ["../model/proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .extern_path(".fleet.v1", "::fleet_model::proto")
        .compile_fds(files)?;
    Ok(())
}

//! Fleetmeter's benchmarks and load tools: synthetic fleets ([`synth`]) for the criterion
//! benchmarks in `benches/`, the `fleet-bench ingest` load tool and the demo feeder.

pub mod reports;
pub mod synth;

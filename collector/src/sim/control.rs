//! The simulator's control API (JSON over HTTP, loopback only):
//!
//! - `GET /devices`: every device with its address, community, serial, faults and the
//!   counters a collector should read;
//! - `POST /devices/{id}/faults/{fault}` and `DELETE` the same: inject or clear `jam`,
//!   `door_open`, `toner_empty`, `offline`, `service_call`, `no_paper`;
//! - `POST /devices/{id}/sleep`: put a device to sleep now;
//! - `POST /devices/{id}/move?to=IP:PORT`: move a device to another loopback address;
//! - `POST /advance?seconds=N`: advance simulated time for every device.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value as Json_, json};
use tokio_util::sync::CancellationToken;

use super::{Fault, Fleet, Kind};

type Reply = (StatusCode, Json<Json_>);

fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    (status, Json(json!({ "error": message.into() })))
}

fn with_device(fleet: &Fleet, id: usize, f: impl FnOnce(&mut super::SimDevice) -> Reply) -> Reply {
    match fleet.devices.get(id) {
        Some(d) => f(&mut d.lock().expect("not poisoned")),
        None => error(StatusCode::NOT_FOUND, format!("no device {id}")),
    }
}

async fn list(State(fleet): State<Arc<Fleet>>) -> Json<Json_> {
    let devices: Vec<Json_> =
        fleet
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let d = d.lock().expect("not poisoned");
                let mut v = json!({
                    "id": i,
                    "address": d.address.to_string(),
                    "community": d.community,
                });
                match &d.kind {
                    Kind::Live(dev) => {
                        v["model"] = json!(dev.model);
                        v["serial"] = json!(dev.serial);
                        v["mac"] = json!(
                            dev.mac
                                .iter()
                                .map(|b| format!("{b:02x}"))
                                .collect::<Vec<_>>()
                                .join(":")
                        );
                        v["faults"] =
                            json!(dev.faults.iter().map(|f| f.name()).collect::<Vec<_>>());
                        v["asleep"] = json!(dev.asleep);
                        v["counters"] = json!(dev.expected_counters());
                        v["supplies"] =
                            json!(dev.supplies.iter().map(|s| json!({
                        "description": s.description, "level": s.level, "max": s.max,
                    })).collect::<Vec<_>>());
                        v["replacements"] = json!(dev.replacements);
                    }
                    Kind::Recording { name, .. } => v["recording"] = json!(name),
                }
                v
            })
            .collect();
    Json(json!({ "devices": devices }))
}

async fn fault(
    State(fleet): State<Arc<Fleet>>,
    Path((id, name)): Path<(usize, String)>,
    method: axum::http::Method,
) -> Reply {
    let Some(f) = Fault::parse(&name) else {
        let known: Vec<_> = Fault::ALL.iter().map(|f| f.name()).collect();
        return error(
            StatusCode::BAD_REQUEST,
            format!("unknown fault `{name}` (one of {})", known.join(", ")),
        );
    };
    with_device(&fleet, id, |d| {
        let Kind::Live(dev) = &mut d.kind else {
            return error(StatusCode::CONFLICT, "recordings do not take faults");
        };
        if method == axum::http::Method::DELETE {
            dev.clear(f);
        } else {
            dev.inject(f);
        }
        d.render();
        (
            StatusCode::OK,
            Json(json!({
                "id": id,
                "fault": f.name(),
                "active": method != axum::http::Method::DELETE,
            })),
        )
    })
}

async fn sleep(State(fleet): State<Arc<Fleet>>, Path(id): Path<usize>) -> Reply {
    with_device(&fleet, id, |d| {
        let Kind::Live(dev) = &mut d.kind else {
            return error(StatusCode::CONFLICT, "recordings do not sleep");
        };
        dev.asleep = true;
        d.render();
        (StatusCode::OK, Json(json!({ "id": id, "asleep": true })))
    })
}

#[derive(Deserialize)]
struct MoveTo {
    to: SocketAddr,
}

async fn relocate(
    State(fleet): State<Arc<Fleet>>,
    Path(id): Path<usize>,
    Query(q): Query<MoveTo>,
) -> Reply {
    match fleet.relocate(id, q.to).await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "id": id, "address": q.to.to_string() })),
        ),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

#[derive(Deserialize)]
struct Advance {
    seconds: f64,
}

async fn advance(State(fleet): State<Arc<Fleet>>, Query(q): Query<Advance>) -> Reply {
    if !(0.0..=365.0 * 86_400.0).contains(&q.seconds) {
        return error(
            StatusCode::BAD_REQUEST,
            "seconds must be between 0 and one year",
        );
    }
    fleet.advance(q.seconds);
    (StatusCode::OK, Json(json!({ "advanced": q.seconds })))
}

pub(super) async fn serve(
    fleet: Arc<Fleet>,
    addr: SocketAddr,
    stop: CancellationToken,
) -> Result<SocketAddr, String> {
    if !addr.ip().is_loopback() {
        return Err(format!("the control API binds loopback only, not {addr}"));
    }
    let app = axum::Router::new()
        .route("/devices", get(list))
        .route("/devices/{id}/faults/{fault}", post(fault).delete(fault))
        .route("/devices/{id}/sleep", post(sleep))
        .route("/devices/{id}/move", post(relocate))
        .route("/advance", post(advance))
        .with_state(fleet);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot bind the control API on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
    Ok(local)
}

//! Shared set-up: a gateway on an ephemeral port in front of a fresh database on the test
//! ClickHouse server, a tenant and a collector token, and clients for each transport.

use std::net::SocketAddr;
use std::time::Duration;

use fleet_ingest::Gateway;
use fleet_ingest::auth::new_token;
use fleet_ingest::config::FileConfig;
use fleet_ingest::grpc::IngestClient;
use fleet_model::proto;
use fleet_model::time_format::to_timestamp;
use fleet_model::xmlrpc::{DecodeLimits, Response, Value, decode_response, encode_call};
use fleet_store::testing::fresh_settings;
use fleet_store::{ClickHouseSettings, Store, TokenRecord, datetime};
use prost::Message;
use time::OffsetDateTime;

pub struct TestGateway {
    pub gateway: Option<Gateway>,
    pub store: Store,
    pub token: String,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
}

impl TestGateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the gateway and drops the test database.
    pub async fn finish(mut self) {
        if let Some(gateway) = self.gateway.take() {
            gateway.shutdown().await;
        }
        let _ = self.store.drop_database().await;
    }

    /// Calls an XML-RPC method and decodes the answer.
    pub async fn xmlrpc(&self, method: &str, params: &[Value]) -> Response {
        let body = encode_call(method, params);
        let response = self
            .http
            .post(self.url("/RPC2"))
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .expect("the gateway answers");
        assert_eq!(response.status(), 200, "XML-RPC answers with HTTP 200");
        let bytes = response.bytes().await.unwrap();
        decode_response(&bytes, &DecodeLimits::default()).expect("a valid XML-RPC response")
    }

    /// `fleet.submit` with this gateway's token.
    pub async fn submit_xmlrpc(&self, batch: &proto::Batch) -> Response {
        let value = fleet_model::xmlrpc::batch_to_value(batch);
        self.xmlrpc("fleet.submit", &[Value::String(self.token.clone()), value])
            .await
    }

    /// `POST /v1/batches`; returns the status and the body.
    pub async fn submit_protobuf(&self, token: &str, batch: &proto::Batch) -> reqwest::Response {
        self.http
            .post(self.url("/v1/batches"))
            .header("content-type", "application/x-protobuf")
            .bearer_auth(token)
            .body(batch.encode_to_vec())
            .send()
            .await
            .expect("the gateway answers")
    }

    /// Submits a protobuf batch from a task of its own; resolves to the decoded answer and
    /// panics unless the status is 200.
    pub fn spawn_protobuf(
        &self,
        batch: &proto::Batch,
    ) -> tokio::task::JoinHandle<proto::SubmitResult> {
        let (http, url, token) = (
            self.http.clone(),
            self.url("/v1/batches"),
            self.token.clone(),
        );
        let body = batch.encode_to_vec();
        tokio::spawn(async move {
            let response = http
                .post(url)
                .header("content-type", "application/x-protobuf")
                .bearer_auth(token)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            proto::SubmitResult::decode(response.bytes().await.unwrap()).unwrap()
        })
    }

    /// The status of `GET /readyz`.
    pub async fn readiness(&self) -> u16 {
        self.http
            .get(self.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn grpc(&self) -> IngestClient<tonic::transport::Channel> {
        IngestClient::connect(self.url(""))
            .await
            .expect("grpc connects")
    }

    /// A gRPC request carrying this gateway's token.
    pub fn grpc_request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let value = format!("Bearer {}", self.token).parse().unwrap();
        request.metadata_mut().insert("authorization", value);
        request
    }

    pub async fn count(&self, table: fleet_store::Table) -> u64 {
        self.store.count(table, "1").await.unwrap()
    }
}

/// Starts a gateway with the default configuration.
pub async fn start(label: &str) -> TestGateway {
    start_with(label, |_| {}).await
}

/// Starts a gateway, letting the test adjust the configuration first.
pub async fn start_with(label: &str, adjust: impl FnOnce(&mut FileConfig)) -> TestGateway {
    let settings = fresh_settings(label);
    start_on(settings, adjust).await
}

/// Starts a gateway against the given settings (a fresh database, possibly behind a proxy).
pub async fn start_on(
    settings: ClickHouseSettings,
    adjust: impl FnOnce(&mut FileConfig),
) -> TestGateway {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The test's own view of the database goes straight to ClickHouse, even when the gateway
    // is put behind a proxy.
    let mut direct = settings.clone();
    direct.url = fleet_store::testing::clickhouse_url();
    let store = Store::connect(&direct)
        .await
        .expect("test clickhouse is reachable");
    store.migrate().await.unwrap();
    let token = create_token(&store, "tenant-a", "collector-1").await;

    let mut config = FileConfig::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    adjust(&mut config);
    let gateway = Gateway::start(config, settings.clone())
        .await
        .expect("gateway starts");
    let addr = gateway.local_addr();
    TestGateway {
        gateway: Some(gateway),
        store,
        token,
        addr,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    }
}

/// Creates a tenant (if new) and a token for one of its collectors.
pub async fn create_token(store: &Store, tenant: &str, collector: &str) -> String {
    let tenant = match store.find_tenant(tenant).await.unwrap() {
        Some(t) => t,
        None => store.create_tenant(tenant, None).await.unwrap(),
    };
    let collector = store
        .ensure_collector(tenant.tenant_id, collector)
        .await
        .unwrap();
    let token = new_token();
    let now = datetime(OffsetDateTime::now_utc());
    store
        .add_token(&TokenRecord {
            token_hash: token.hash,
            token_prefix: token.prefix,
            collector_id: collector.collector_id,
            tenant_id: tenant.tenant_id,
            created_at: now,
            revoked: 0,
            updated_at: now,
        })
        .await
        .unwrap();
    token.token
}

/// A realistic batch of `devices` reports observed a minute ago, with a fresh batch id.
pub fn sample_batch(devices: usize, seed: u64) -> proto::Batch {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let observed = now - Duration::from_secs(60);
    proto::Batch {
        batch_id: uuid::Uuid::new_v4().to_string(),
        sequence: None,
        sent_at: Some(to_timestamp(now)),
        devices: (0..devices as u64)
            .map(|i| device(seed, i, observed))
            .collect(),
    }
}

pub fn device(seed: u64, i: u64, observed: OffsetDateTime) -> proto::DeviceReport {
    let total = 100_000 + seed * 1000 + i;
    proto::DeviceReport {
        observed_at: Some(to_timestamp(observed)),
        identity: Some(proto::Identity {
            vendor: "HP".into(),
            model: "Color LaserJet MFP M479fdw".into(),
            serial: format!("CNB{seed:04}{i:05}"),
            mac: format!(
                "00:11:22:{:02x}:{:02x}:{:02x}",
                seed % 256,
                i / 256 % 256,
                i % 256
            ),
            ip: format!("10.0.{}.{}", i / 250, i % 250 + 1),
            location: "2nd floor, copy room".into(),
            firmware: "20240101".into(),
            ..Default::default()
        }),
        capabilities: Some(proto::Capabilities {
            color: Some(true),
            duplex: Some(true),
            trays: Some(2),
            finisher: String::new(),
        }),
        counters: [
            ("total".to_string(), total),
            ("mono".to_string(), total * 2 / 3),
            ("color".to_string(), total - total * 2 / 3),
            ("x-5000000000".to_string(), 5_000_000_000),
        ]
        .into(),
        supplies: vec![
            proto::Supply {
                kind: "toner".into(),
                color: "black".into(),
                description: "Black Cartridge HP W2030X".into(),
                part_number: "W2030X".into(),
                level: 41,
                max: 100,
            },
            proto::Supply {
                kind: "waste_toner".into(),
                color: String::new(),
                description: "Toner Collection Unit".into(),
                part_number: String::new(),
                level: -3,
                max: -2,
            },
        ],
        status: Some(proto::Status {
            device: "warning".into(),
            printer: "idle".into(),
            errors: vec!["low_toner".into()],
            display: vec!["Ready".into(), "Black cartridge low".into()],
        }),
        alerts: vec![proto::Alert {
            severity: "warning".into(),
            group: "markerSupplies".into(),
            code: 1104,
            description: "Black cartridge low".into(),
            index: 7,
            training_level: "noInterventionRequired".into(),
        }],
    }
}

/// Rows a `sample_batch` device stores outside the inventory: 4 counters, 2 supplies, 1
/// status and 1 alert.
pub const DATA_ROWS_PER_DEVICE: u64 = 8;

/// The value of a struct member in an XML-RPC response.
pub fn member<'a>(response: &'a Response, name: &str) -> &'a Value {
    match response {
        Response::Value(value) => value.member(name).unwrap_or_else(|| panic!("no `{name}`")),
        Response::Fault { code, message } => panic!("fault {code}: {message}"),
    }
}

/// The fault code of an XML-RPC response.
pub fn fault_code(response: &Response) -> i64 {
    match response {
        Response::Fault { code, .. } => *code,
        Response::Value(v) => panic!("expected a fault, got {v:?}"),
    }
}

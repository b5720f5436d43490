//! A query service on a fresh database loaded with the report fixture and a second dealer,
//! with one user and API token per role.

#![allow(dead_code)]

use fleet_query::QueryService;
use fleet_query::config::FileConfig;
use fleet_store::Store;
use fleet_store::testing::fresh_settings;

pub const PASSWORD: &str = "a long password";

pub struct Fleet {
    pub service: QueryService,
    pub store: Store,
    pub base: String,
    /// API tokens by user name: admin, dealer (tenant 100), customer (101), other (dealer 200).
    pub tokens: Vec<(&'static str, String)>,
}

impl Fleet {
    pub fn token(&self, who: &str) -> &str {
        &self
            .tokens
            .iter()
            .find(|(w, _)| *w == who)
            .expect("a user")
            .1
    }

    pub fn client() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("a client")
    }

    pub async fn get(&self, who: &str, path: &str) -> reqwest::Response {
        Fleet::client()
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.token(who))
            .send()
            .await
            .expect("the service answers")
    }
}

/// Second dealer (200) with a customer (201), a device (9) and a collector, beside the fixture.
const OTHER: &[&str] = &[
    "INSERT INTO {db}.tenants (tenant_id, name, parent_id, created_at, updated_at) \
     SELECT toUInt64(r.1), r.2, toUInt64(r.3), toDateTime(1780000000), toDateTime(1780000000) \
     FROM (SELECT arrayJoin([(200, 'other-dealer', 0), (201, 'other-customer', 200)]) AS r)",
    "INSERT INTO {db}.devices (tenant_id, device_id, vendor, model, serial, first_seen, last_seen) \
     VALUES (201, 9, 'Lexmark', 'MS821', 'SER9', '2026-10-01 00:00:00', '2026-10-20 00:00:00')",
    "INSERT INTO {db}.counters (tenant_id, device_id, kind, observed_at, value, collector_id, \
     received_at) VALUES (201, 9, 'total', '2026-10-02 00:00:00', 10, 2, '2026-10-02 00:00:00')",
    "INSERT INTO {db}.collectors (collector_id, tenant_id, name, created_at, updated_at) VALUES \
     (1, 101, 'site-a', '2026-10-01 00:00:00', '2026-10-01 00:00:00'), \
     (2, 201, 'site-other', '2026-10-01 00:00:00', '2026-10-01 00:00:00')",
];

pub async fn start(label: &str) -> Fleet {
    let settings = fresh_settings(label);
    let store = Store::connect(&settings).await.expect("clickhouse is up");
    store.migrate().await.expect("migrations apply");
    let fixture = include_str!("../../../reports/tests/fixture.sql");
    let statements = fleet_store::sql_statements(fixture, store.database())
        .into_iter()
        .chain(OTHER.iter().map(|s| s.replace("{db}", store.database())));
    for sql in statements {
        store
            .raw_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
    let hash = fleet_model::password::hash_password(PASSWORD).unwrap();
    let mut tokens = Vec::new();
    for (who, tenant, role) in [
        ("admin", 0, "admin"),
        ("dealer", 100, "dealer"),
        ("customer", 101, "customer"),
        ("other", 200, "dealer"),
    ] {
        let user = store
            .create_user(&format!("{who}@example.com"), tenant, role, &hash)
            .await
            .unwrap();
        let token = fleet_query::api::tokens::issue_api_token(&store, user.user_id, None)
            .await
            .unwrap();
        tokens.push((who, token.token));
    }
    let mut config = FileConfig::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    let service = QueryService::start(config, settings).await.expect("starts");
    let base = format!("http://{}", service.local_addr());
    Fleet {
        service,
        store,
        base,
        tokens,
    }
}

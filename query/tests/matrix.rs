//! The role × tenant matrix: for every endpoint and every role, nothing from outside the
//! caller's subtree, and ids from another tenant answer 404 (as if they did not exist).

mod support;

use serde_json::{Value, json};
use support::Fleet;

/// The tenants each user may see.
fn allowed(who: &str) -> &'static [u64] {
    match who {
        "admin" => &[100, 101, 102, 200, 201],
        "dealer" => &[100, 101, 102],
        "customer" => &[101],
        _ => &[200, 201],
    }
}

const USERS: [&str; 4] = ["admin", "dealer", "customer", "other"];

fn tenant_of_name(name: &str) -> u64 {
    match name {
        "fixture-dealer" => 100,
        "fixture-a" => 101,
        "fixture-b" => 102,
        "other-dealer" => 200,
        "other-customer" => 201,
        other => panic!("unknown tenant {other}"),
    }
}

fn ids(items: &[Value], field: &str) -> Vec<u64> {
    items.iter().map(|v| v[field].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_hold_only_the_callers_tenants() {
    let fleet = support::start("matrix_lists").await;
    for who in USERS {
        let ok = allowed(who);
        let within = |found: &[u64], what: &str| {
            assert!(
                found.iter().all(|t| ok.contains(t)),
                "{who} {what}: {found:?}"
            );
        };
        let tenants: Vec<Value> = fleet
            .get(who, "/api/v1/tenants")
            .await
            .json()
            .await
            .unwrap();
        let mut seen = ids(&tenants, "tenant_id");
        seen.sort();
        assert_eq!(seen, ok, "{who} tenants");

        let page: Value = fleet
            .get(who, "/api/v1/devices?limit=500")
            .await
            .json()
            .await
            .unwrap();
        let devices = page["devices"].as_array().unwrap();
        within(&ids(devices, "tenant_id"), "devices");
        assert!(!devices.is_empty(), "{who} sees devices");

        let collectors: Vec<Value> = fleet
            .get(who, "/api/v1/collectors")
            .await
            .json()
            .await
            .unwrap();
        within(&ids(&collectors, "tenant_id"), "collectors");

        for path in ["/api/v1/users", "/api/v1/collector-tokens"] {
            let r = fleet.get(who, path).await;
            if who == "customer" {
                assert_eq!(r.status(), 403, "{who} {path}");
                continue;
            }
            assert_eq!(r.status(), 200, "{who} {path}");
            let items: Vec<Value> = r.json().await.unwrap();
            let tenants: Vec<u64> = ids(&items, "tenant_id")
                .into_iter()
                .filter(|t| *t != 0)
                .collect();
            within(&tenants, path);
        }
        let tokens: Vec<Value> = fleet
            .get(who, "/api/v1/api-tokens")
            .await
            .json()
            .await
            .unwrap();
        let expected = if who == "admin" {
            4
        } else if who == "dealer" {
            2
        } else {
            1
        };
        assert_eq!(tokens.len(), expected, "{who} API tokens");

        for report in [
            "meter-reads",
            "supplies",
            "inventory",
            "utilization",
            "alerts",
        ] {
            let own = if who == "admin" { "&tenant=100" } else { "" };
            let r = fleet
                .get(who, &format!("/api/v1/reports/{report}?from=2026-10{own}"))
                .await;
            assert_eq!(r.status(), 200, "{who} {report}");
            let rows: Vec<Value> = r.json().await.unwrap();
            let tenants: Vec<u64> = rows
                .iter()
                .map(|row| tenant_of_name(row["customer"].as_str().unwrap()))
                .collect();
            within(&tenants, report);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_from_other_tenants_are_not_found() {
    let fleet = support::start("matrix_ids").await;
    let devices = [("1", 101), ("4", 102), ("9", 201)];
    for who in USERS {
        let ok = allowed(who);
        let expect = |tenant: u64| if ok.contains(&tenant) { 200 } else { 404 };
        for (device, tenant) in devices {
            for suffix in [
                "",
                "/counters",
                "/supplies",
                "/alerts",
                "/chart",
                "/chart?format=png",
            ] {
                let path = format!("/api/v1/devices/{device}{suffix}");
                let status = fleet.get(who, &path).await.status();
                assert_eq!(status, expect(tenant), "{who} {path}");
            }
        }
        for tenant in [100, 101, 102, 200, 201] {
            let status = fleet
                .get(who, &format!("/api/v1/tenants/{tenant}"))
                .await
                .status();
            assert_eq!(status, expect(tenant), "{who} tenant {tenant}");
            let path = format!("/api/v1/reports/inventory?from=2026-10&tenant={tenant}");
            assert_eq!(
                fleet.get(who, &path).await.status(),
                expect(tenant),
                "{who} {path}"
            );
            let path = format!("/api/v1/devices?customer={tenant}");
            assert_eq!(
                fleet.get(who, &path).await.status(),
                expect(tenant),
                "{who} {path}"
            );
        }
        // Ids that exist nowhere look the same as ids of other tenants.
        assert_eq!(fleet.get(who, "/api/v1/devices/123456").await.status(), 404);
        assert_eq!(
            fleet
                .get(who, "/api/v1/devices/not-a-number")
                .await
                .status(),
            404
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_stay_inside_the_callers_tenants() {
    let fleet = support::start("matrix_writes").await;
    let client = Fleet::client();
    let post = |who: &'static str, path: &'static str, body: Value| {
        let request = client
            .post(format!("{}{path}", fleet.base))
            .bearer_auth(fleet.token(who))
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    // A dealer creates customers only under itself, and collector tokens only for its customers.
    let r = post("dealer", "/api/v1/tenants", json!({"name": "new-a"})).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["parent_id"], 100);
    assert_eq!(
        created["time_zone"], "Europe/Berlin",
        "inherited from the dealer"
    );
    let r = post(
        "dealer",
        "/api/v1/tenants",
        json!({"name": "x", "parent_id": 200}),
    )
    .await;
    assert_eq!(r.status(), 404);
    let r = post("customer", "/api/v1/tenants", json!({"name": "y"})).await;
    assert_eq!(r.status(), 403);
    let r = post(
        "dealer",
        "/api/v1/collector-tokens",
        json!({"tenant_id": 201, "collector": "c"}),
    )
    .await;
    assert_eq!(r.status(), 404);
    let r = post(
        "other",
        "/api/v1/collector-tokens",
        json!({"tenant_id": 201, "collector": "c"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let token: Value = r.json().await.unwrap();
    let prefix = token["prefix"].as_str().unwrap().to_owned();
    let revoke = |who: &str| {
        client
            .delete(format!("{}/api/v1/collector-tokens/{prefix}", fleet.base))
            .bearer_auth(fleet.token(who))
            .send()
    };
    assert_eq!(revoke("dealer").await.unwrap().status(), 404);
    assert_eq!(revoke("other").await.unwrap().status(), 204);
    // Users: a dealer creates customer users for its customers only.
    let user = json!({"email": "c2@example.com", "password": support::PASSWORD,
                      "role": "customer", "tenant_id": 201});
    assert_eq!(
        post("dealer", "/api/v1/users", user.clone()).await.status(),
        404
    );
    let user = json!({"email": "c2@example.com", "password": support::PASSWORD,
                      "role": "customer", "tenant_id": 101});
    assert_eq!(post("dealer", "/api/v1/users", user).await.status(), 201);
    let admin = json!({"email": "a2@example.com", "password": support::PASSWORD, "role": "admin"});
    assert_eq!(post("dealer", "/api/v1/users", admin).await.status(), 403);
    // Another dealer's user cannot be disabled (or even found).
    let users: Vec<Value> = fleet
        .get("admin", "/api/v1/users")
        .await
        .json()
        .await
        .unwrap();
    let other = users
        .iter()
        .find(|u| u["email"] == "other@example.com")
        .unwrap();
    let path = format!("/api/v1/users/{}/disable", other["user_id"]);
    let r = client
        .post(format!("{}{path}", fleet.base))
        .bearer_auth(fleet.token("dealer"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

//! Sessions: cookie attributes, CSRF on changes, logout, login rate limits; tokens: revocation.

mod support;

use serde_json::{Value, json};
use support::Fleet;

#[tokio::test(flavor = "multi_thread")]
async fn cookie_sessions_need_csrf_for_changes_and_end_at_logout() {
    let fleet = support::start("sessions").await;
    let client = Fleet::client();
    let url = |path: &str| format!("{}{path}", fleet.base);
    let r = client
        .post(url("/api/v1/session"))
        .json(&json!({"email": "Dealer@Example.com", "password": support::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "no Secure over plain HTTP: {cookie}"
    );
    let me: Value = r.json().await.unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(
        client
            .get(url("/api/v1/devices"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let body = json!({"expires_in_days": 1});
    let r = client
        .post(url("/api/v1/api-tokens"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["type"], "https://fleetmeter.dev/problems/csrf");
    let r = client
        .post(url("/api/v1/api-tokens"))
        .header("x-csrf-token", "wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client
        .post(url("/api/v1/api-tokens"))
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token: Value = r.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();

    let r = client
        .delete(url("/api/v1/session"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = client.get(url("/api/v1/devices")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    // The token made during the session works on its own, and not after it is revoked.
    let bearer = |t: &str| {
        client
            .get(url("/api/v1/me"))
            .bearer_auth(t.to_owned())
            .send()
    };
    assert_eq!(bearer(&token).await.unwrap().status(), 200);
    let r = client
        .delete(url(&format!("/api/v1/api-tokens/{}", &token[..12])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(bearer(&token).await.unwrap().status(), 401);
    assert_eq!(bearer("fqt_made_up").await.unwrap().status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn login_attempts_are_rate_limited_per_account() {
    let fleet = support::start("login_limits").await;
    let client = Fleet::client();
    let attempt = |email: &str, password: &str| {
        client
            .post(format!("{}/api/v1/session", fleet.base))
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("customer@example.com", "wrong")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    let r = attempt("customer@example.com", support::PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        429,
        "even the right password waits once the limit is reached"
    );
    assert!(r.headers().contains_key("retry-after"));
    // Another account is not affected.
    assert_eq!(
        attempt("admin@example.com", support::PASSWORD)
            .await
            .unwrap()
            .status(),
        200
    );
    // Unknown accounts answer like wrong passwords.
    assert_eq!(
        attempt("nobody@example.com", "whatever")
            .await
            .unwrap()
            .status(),
        401
    );
}

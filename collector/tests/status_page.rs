//! The status page's guards: loopback only, `Host` checked, password and CSRF, write-only
//! secrets. (A test binary of its own: the page shows this process's metrics.)

mod support;

use std::net::SocketAddr;

use fleet_collector::config::Config;
use fleet_collector::deliver::Kind;

fn cookie_of(r: &reqwest::Response) -> Option<String> {
    let v = r.headers().get("set-cookie")?.to_str().ok()?;
    Some(v.split(';').next()?.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_is_loopback_only_and_password_protected() {
    support::init_tls();
    let dir = tempfile::tempdir().unwrap();
    let c = support::collector(dir.path(), "", "", Kind::Grpc).await;
    let wild: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let refused = fleet_collector::status_page::serve(c.clone(), wild)
        .await
        .unwrap_err();
    assert!(refused.contains("loopback"), "{refused}");
    let listen = c.config().status_page.listen;
    let addr = fleet_collector::status_page::serve(c.clone(), listen)
        .await
        .unwrap();
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // DNS rebinding: a foreign Host is refused.
    let r = http
        .get(&base)
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 421);
    // Without a session: to the login page.
    let r = http.get(&base).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = http
        .post(format!("{base}/login"))
        .form(&[("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(format!("{base}/login"))
        .form(&[("password", "page-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = cookie_of(&r).unwrap();
    let page = http
        .get(&base)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Health") && page.contains("Spool") && page.contains("Devices"),
        "{page}"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no external assets"
    );
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    // State changes need the session's CSRF token.
    let r = http
        .post(format!("{base}/poll-now"))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{base}/poll-now"))
        .header("cookie", &cookie)
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // Settings: a bad value is refused with the reason; a good one is saved to the file, and
    // the credentials are write-only.
    let form = |full: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("ranges", "10.9.0.0/24".into()),
            ("devices", String::new()),
            ("full_interval_hours", full.into()),
            ("status_interval_seconds", "60".into()),
            ("time_zone", "Europe/Berlin".into()),
            ("url", "https://ingest.example:8443".into()),
            ("transport", "protobuf".into()),
            ("token", "fmt_secret-token".into()),
            ("proxy", String::new()),
            ("new_version", "2c".into()),
            ("new_community", "s3cret-community".into()),
        ]
    };
    let r = http
        .post(format!("{base}/settings"))
        .header("cookie", &cookie)
        .form(&form("30"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("1 to 24"));
    let r = http
        .post(format!("{base}/settings"))
        .header("cookie", &cookie)
        .form(&form("6"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let saved = Config::load(&dir.path().join("collector.toml")).unwrap();
    assert_eq!(saved.schedule.full_interval_hours, 6);
    assert_eq!(saved.discovery.ranges, ["10.9.0.0/24"]);
    assert_eq!(saved.server.token, "fmt_secret-token");
    assert_eq!(saved.credentials.len(), 2);
    let settings = http
        .get(format!("{base}/settings"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !settings.contains("s3cret-community") && !settings.contains("fmt_secret-token"),
        "secrets are write-only"
    );
    assert!(settings.contains("10.9.0.0/24"));

    // Metrics for Prometheus.
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("fleet_collector"), "{metrics}");
    // Signed out: the session is gone.
    http.post(format!("{base}/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let r = http
        .get(&base)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    c.stop.cancel();
}

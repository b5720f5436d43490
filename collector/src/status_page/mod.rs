//! The local status page at `http://127.0.0.1:52005/`: loopback only, `Host` checked against
//! DNS rebinding, password protected (argon2 hash in the configuration), server-rendered HTML
//! with no external assets. It shows health, the last poll and delivery, the devices with
//! their latest counters, supplies and alerts, and the spool; it edits ranges, credentials
//! (write-only), schedules and server settings, and triggers "poll now" and "send now".

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::service::Collector;
use crate::snmp::{AuthProtocol, Credentials, PrivProtocol, UsmCredentials};

const SESSION_COOKIE: &str = "fleet_collector_session";
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
const LOGIN_ATTEMPTS_PER_MINUTE: usize = 10;

pub use fleet_model::password::hash_password;
use fleet_model::password::verify_password;

struct Session {
    csrf: String,
    expires: Instant,
}

struct Page {
    collector: Arc<Collector>,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<Vec<Instant>>,
}

type Shared = Arc<Page>;

fn random_token() -> String {
    let mut b = [0u8; 24];
    rand::fill(&mut b);
    hex::encode(b)
}

/// Serves the page until the collector stops. Refuses any non-loopback address.
pub async fn serve(collector: Arc<Collector>, listen: SocketAddr) -> Result<SocketAddr, String> {
    if !listen.ip().is_loopback() {
        return Err(format!(
            "the status page binds loopback addresses only, not {listen}"
        ));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("status page on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let stop = collector.stop.clone();
    let state: Shared = Arc::new(Page {
        collector,
        sessions: Mutex::new(HashMap::new()),
        failures: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/settings", get(settings_form).post(save_settings))
        .route("/poll-now", post(poll_now))
        .route("/send-now", post(send_now))
        .route("/metrics", get(metrics_page))
        .layer(axum::middleware::from_fn(check_host))
        .with_state(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
    Ok(local)
}

/// Answers only requests whose `Host` is a loopback name, against DNS rebinding.
async fn check_host(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = match host.rsplit_once(':') {
        Some((n, port)) if port.chars().all(|c| c.is_ascii_digit()) => n,
        _ => host,
    };
    let loopback = matches!(name, "localhost" | "127.0.0.1" | "[::1]")
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "this page answers only to a loopback Host",
        )
            .into_response();
    }
    next.run(request).await
}

fn cookie_session(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|c| {
        c.trim()
            .strip_prefix(&format!("{SESSION_COOKIE}="))
            .map(str::to_owned)
    })
}

/// The session's CSRF token, when the request carries a live session.
fn session(page: &Page, headers: &HeaderMap) -> Option<String> {
    let id = cookie_session(headers)?;
    let mut sessions = page.sessions.lock().expect("not poisoned");
    sessions.retain(|_, s| s.expires > Instant::now());
    sessions.get(&id).map(|s| s.csrf.clone())
}

const LAYOUT: &str = include_str!("layout.html");
const LOGIN: &str = include_str!("login.html");
const NO_PASSWORD: &str = include_str!("no-password.html");
const SETTINGS: &str = include_str!("settings.html");

/// Fills `@name@` markers of a template. Values are inserted as given: escape them first.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("@{name}@"), value);
    }
    out
}

fn html(title: &str, body: &str) -> Html<String> {
    Html(fill(LAYOUT, &[("title", &esc(title)), ("body", body)]))
}

/// A table row of a heading and a cell (both already escaped).
fn row(th: &str, td: &str) -> String {
    format!("<tr><th>{th}</th><td>{td}</td></tr>")
}

/// A proxy URL with any password replaced by `***`, for display.
fn without_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

async fn login_form(State(page): State<Shared>) -> Html<String> {
    let configured = page.collector.config().status_page.password_hash.is_some();
    let body = if configured { LOGIN } else { NO_PASSWORD };
    html("Sign in", body)
}

#[derive(Deserialize)]
struct LoginForm {
    password: String,
}

async fn login(State(page): State<Shared>, Form(f): Form<LoginForm>) -> Response {
    {
        let mut failures = page.failures.lock().expect("not poisoned");
        failures.retain(|t| t.elapsed() < Duration::from_secs(60));
        if failures.len() >= LOGIN_ATTEMPTS_PER_MINUTE {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                "too many attempts; wait a minute",
            )
                .into_response();
        }
    }
    let Some(hash) = page.collector.config().status_page.password_hash else {
        return Redirect::to("/login").into_response();
    };
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &f.password))
        .await
        .unwrap_or(false);
    if !ok {
        page.failures
            .lock()
            .expect("not poisoned")
            .push(Instant::now());
        return (
            StatusCode::UNAUTHORIZED,
            html(
                "Sign in",
                "<p class=\"bad\">Wrong password.</p><p><a href=\"/login\">Try again</a></p>",
            ),
        )
            .into_response();
    }
    let id = random_token();
    page.sessions.lock().expect("not poisoned").insert(
        id.clone(),
        Session {
            csrf: random_token(),
            expires: Instant::now() + SESSION_LIFETIME,
        },
    );
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

fn csrf_ok(page: &Page, headers: &HeaderMap, token: &str) -> bool {
    session(page, headers)
        .is_some_and(|c| subtle::ConstantTimeEq::ct_eq(c.as_bytes(), token.as_bytes()).into())
}

async fn logout(State(page): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie_session(&headers) {
        page.sessions.lock().expect("not poisoned").remove(&id);
    }
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

async fn poll_now(
    State(page): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&page, &headers, &f.csrf) {
        return (StatusCode::FORBIDDEN, "sign in again").into_response();
    }
    page.collector.poll_now.notify_one();
    Redirect::to("/").into_response()
}

async fn send_now(
    State(page): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&page, &headers, &f.csrf) {
        return (StatusCode::FORBIDDEN, "sign in again").into_response();
    }
    page.collector.send_now();
    Redirect::to("/").into_response()
}

async fn metrics_page(State(page): State<Shared>) -> String {
    page.collector.metrics.render()
}

fn button(action: &str, label: &str, csrf: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>{}</button></form> ",
        esc(csrf),
        esc(label)
    )
}

async fn dashboard(State(page): State<Shared>, headers: HeaderMap) -> Response {
    let Some(csrf) = session(&page, &headers) else {
        return Redirect::to("/login").into_response();
    };
    let c = &page.collector;
    let health = c.health.lock().expect("not poisoned").clone();
    let depth = c.spool.depth().unwrap_or_default();
    let mut b = String::new();
    let _ = write!(
        b,
        "<p>{}{}{}<a href=\"/settings\">Settings</a> · <a href=\"/metrics\">Metrics</a></p>",
        button("/poll-now", "Poll now", &csrf),
        button("/send-now", "Send now", &csrf),
        button("/logout", "Sign out", &csrf)
    );
    let dash = || "–".to_owned();
    let cell = |v: &Option<String>| v.as_deref().map(esc).unwrap_or_else(dash);
    let bad = |v: &Option<String>| format!("<span class=\"bad\">{}</span>", cell(v));
    let seconds = health
        .last_poll_seconds
        .map(|s| format!("{s:.1} s"))
        .unwrap_or_else(dash);
    let oldest = depth
        .oldest
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .map(|t| t.to_string())
        .unwrap_or_else(dash);
    let health_rows = [
        row("Started", &cell(&health.started)),
        row("Last discovery", &cell(&health.last_discovery)),
        row(
            "Last poll",
            &format!("{} ({seconds})", cell(&health.last_poll)),
        ),
        row(
            "Polls / failed",
            &format!("{} / {}", health.polls, health.poll_failures),
        ),
        row("Last poll error", &bad(&health.last_poll_error)),
        row("Last delivery", &cell(&health.last_delivery)),
        row("Last delivery error", &bad(&health.last_delivery_error)),
        row(
            "Deliveries / retries",
            &format!("{} / {}", health.deliveries, health.retries),
        ),
    ];
    let spool_rows = [
        row("Batches waiting", &depth.batches.to_string()),
        row("Bytes", &depth.bytes.to_string()),
        row("Oldest", &oldest),
        row("Refused by the gateway", &depth.dead.to_string()),
    ];
    let _ = write!(b, "<h2>Health</h2><table>{}</table>", health_rows.concat());
    let _ = write!(b, "<h2>Spool</h2><table>{}</table>", spool_rows.concat());
    let devices: Vec<_> = c
        .devices
        .lock()
        .expect("not poisoned")
        .values()
        .cloned()
        .collect();
    let _ = write!(
        b,
        "<h2>Devices ({})</h2><table><tr><th>Address</th>",
        devices.len()
    );
    b.push_str("<th>Device</th><th>Counters</th><th>Supplies</th><th>Status and alerts</th></tr>");
    for d in devices {
        let mut device = String::new();
        let mut counters = String::new();
        let mut supplies = String::new();
        let mut status = String::new();
        if let Some(r) = &d.last_report {
            let i = &r.identity;
            device = format!(
                "{} {}<br>serial {}<br>profile {}",
                esc(&i.vendor),
                esc(&i.model),
                esc(&i.serial),
                esc(&d.profile)
            );
            for (k, v) in &r.counters {
                let _ = write!(counters, "{}: {v}<br>", esc(k));
            }
            for s in &r.supplies {
                let amount = match (s.percent, s.percent_full) {
                    (Some(p), _) => format!("{p} %"),
                    (_, Some(p)) => format!("{p} % full"),
                    _ if s.level == -3 => "some left".into(),
                    _ => "unknown".into(),
                };
                let _ = write!(
                    supplies,
                    "{} {} {}: {}<br>",
                    esc(&s.kind),
                    esc(&s.color),
                    esc(&s.description),
                    amount
                );
            }
            if let Some(st) = &r.status {
                let _ = write!(
                    status,
                    "{} / {} {}<br>{}",
                    esc(&st.device),
                    esc(&st.printer),
                    esc(&st.errors.join(", ")),
                    esc(&st.display.join(" | "))
                );
            }
            for a in &r.alerts {
                let _ = write!(
                    status,
                    "<br><span class=\"{}\">{} {}: {}</span>",
                    if a.severity == "critical" { "bad" } else { "" },
                    esc(&a.severity),
                    a.code,
                    esc(&a.description)
                );
            }
        }
        if d.unreachable {
            status.insert_str(0, "<span class=\"bad\">unreachable</span><br>");
        }
        if let Some(e) = &d.last_error {
            let _ = write!(status, "<br><span class=\"bad\">{}</span>", esc(e));
        }
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{device}</td><td>{counters}</td>\
             <td>{supplies}</td><td>{status}</td></tr>",
            d.address
        );
    }
    b.push_str("</table>");
    html("Status", &b).into_response()
}

fn settings_body(page: &Page, csrf: &str, message: &str) -> String {
    let c = page.collector.config();
    let mut b = String::new();
    if !message.is_empty() {
        let _ = write!(b, "<p class=\"bad\">{}</p>", esc(message));
    }
    let mut creds = String::new();
    for (i, cr) in c.credentials.iter().enumerate() {
        let _ = write!(
            creds,
            "<label><input type=\"checkbox\" name=\"remove_{i}\"> remove</label> {}<br>",
            esc(&cr.label())
        );
    }
    let transport = |k: &str| {
        if serde_json::to_value(c.server.transport)
            .ok()
            .and_then(|v| v.as_str().map(|s| s == k))
            .unwrap_or(false)
        {
            " selected"
        } else {
            ""
        }
    };
    let full = c.schedule.full_interval_hours.to_string();
    let status = c.schedule.status_interval_seconds.to_string();
    b.push_str(&fill(
        SETTINGS,
        &[
            ("csrf", &esc(csrf)),
            ("ranges", &esc(&c.discovery.ranges.join("\n"))),
            ("devices", &esc(&c.discovery.devices.join("\n"))),
            ("full", &full),
            ("status", &status),
            ("tz", &esc(&c.schedule.time_zone)),
            ("url", &esc(&c.server.url)),
            ("grpc", transport("grpc")),
            ("protobuf", transport("protobuf")),
            ("xmlrpc", transport("xmlrpc")),
            (
                "proxy",
                &esc(&without_password(c.server.proxy.as_deref().unwrap_or(""))),
            ),
            ("credentials", &creds),
        ],
    ));
    b
}

async fn settings_form(State(page): State<Shared>, headers: HeaderMap) -> Response {
    let Some(csrf) = session(&page, &headers) else {
        return Redirect::to("/login").into_response();
    };
    html("Settings", &settings_body(&page, &csrf, "")).into_response()
}

async fn save_settings(
    State(page): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let Some(csrf) = session(&page, &headers) else {
        return Redirect::to("/login").into_response();
    };
    if !f
        .get("csrf")
        .is_some_and(|t| subtle::ConstantTimeEq::ct_eq(t.as_bytes(), csrf.as_bytes()).into())
    {
        return (StatusCode::FORBIDDEN, "sign in again").into_response();
    }
    match apply_settings(page.collector.config(), &f).and_then(|c| page.collector.reconfigure(c)) {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            html("Settings", &settings_body(&page, &csrf, &e)),
        )
            .into_response(),
    }
}

fn lines(s: Option<&String>) -> Vec<String> {
    s.map(|s| {
        s.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// Applies the settings form to a configuration (checked by the caller).
fn apply_settings(
    mut c: crate::config::Config,
    f: &HashMap<String, String>,
) -> Result<crate::config::Config, String> {
    let get = |k: &str| f.get(k).map(|s| s.trim().to_owned()).unwrap_or_default();
    c.discovery.ranges = lines(f.get("ranges"));
    c.discovery.devices = lines(f.get("devices"));
    c.schedule.full_interval_hours = get("full_interval_hours")
        .parse()
        .map_err(|_| "full report interval: a whole number of hours")?;
    c.schedule.status_interval_seconds = get("status_interval_seconds")
        .parse()
        .map_err(|_| "status interval: a whole number of seconds")?;
    c.schedule.time_zone = get("time_zone");
    c.server.url = get("url");
    c.server.transport = serde_json::from_value(serde_json::Value::String(get("transport")))
        .map_err(|_| "unknown transport")?;
    let token = get("token");
    if !token.is_empty() {
        c.server.token = token;
    }
    let mut proxy = get("proxy");
    // The form shows the proxy without its password: unchanged, the stored one stays.
    if let Some(stored) = &c.server.proxy
        && without_password(stored) == proxy
    {
        proxy = stored.clone();
    }
    c.server.proxy = (!proxy.is_empty()).then_some(proxy);
    let mut kept = Vec::new();
    for (i, cr) in c.credentials.iter().enumerate() {
        if !f.contains_key(&format!("remove_{i}")) {
            kept.push(cr.clone());
        }
    }
    let opt = |k: &str| Some(get(k)).filter(|s| !s.is_empty());
    match get("new_version").as_str() {
        "" => {}
        "1" => kept.push(Credentials::V1 {
            community: get("new_community"),
        }),
        "2c" => kept.push(Credentials::V2c {
            community: get("new_community"),
        }),
        "3" => kept.push(Credentials::V3(UsmCredentials {
            user: get("new_user"),
            auth_protocol: opt("new_auth_protocol")
                .map(|p| p.parse::<AuthProtocol>())
                .transpose()?,
            auth_password: opt("new_auth_password"),
            priv_protocol: opt("new_priv_protocol")
                .map(|p| p.parse::<PrivProtocol>())
                .transpose()?,
            priv_password: opt("new_priv_password"),
            context: String::new(),
        })),
        other => return Err(format!("unknown SNMP version `{other}`")),
    }
    c.credentials = kept;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_escaping() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong horse"));
        assert!(hash_password("short").is_err());
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}

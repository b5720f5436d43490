//! `fleet-collector run` reloads its profile folder on SIGHUP; a folder with a problem is
//! refused and the previous profiles stay in use.

mod support;

#[cfg(unix)]
#[test]
fn sighup_reloads_profiles_and_keeps_the_old_ones_on_a_problem() {
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    let acme = "[profile]\nname = \"acme\"\nvendor = \"Acme\"\n\
                [match]\nsys_object_id = [\"1.3.6.1.4.1.2435\"]\n";
    std::fs::write(profiles.join("acme.toml"), acme).unwrap();
    let config = dir.path().join("collector.toml");
    let status = support::free_tcp_port();
    std::fs::write(
        &config,
        format!(
            "data_dir = \"data\"\nprofiles_dir = \"{}\"\n\
             [status_page]\nlisten = \"127.0.0.1:{status}\"\n",
            profiles.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("collector.log");
    let mut child = std::process::Command::new(support::binary("fleet-collector"))
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let wait_for = |text: &str| {
        let started = Instant::now();
        loop {
            let seen = std::fs::read_to_string(&log).unwrap_or_default();
            if seen.contains(text) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no `{text}` in:\n{seen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let hup = |pid: u32| {
        let ok = std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    wait_for("collector running");
    std::fs::write(
        profiles.join("bad.toml"),
        "[profile]\nname = \"bad\"\n[[counters]]\nkind = \"nope\"\n",
    )
    .unwrap();
    hup(child.id());
    wait_for("profiles not reloaded");
    let seen = std::fs::read_to_string(&log).unwrap();
    assert!(
        seen.contains("bad.toml") && seen.contains("unknown counter kind `nope`"),
        "{seen}"
    );
    std::fs::remove_file(profiles.join("bad.toml")).unwrap();
    hup(child.id());
    wait_for("profiles reloaded");
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(not(unix))]
#[test]
fn sighup_reloads_profiles_and_keeps_the_old_ones_on_a_problem() {
    println!("SKIPPED: SIGHUP exists on Unix only");
}

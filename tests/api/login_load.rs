//! Password logins under load: the server process's memory stays bounded however many
//! authenticate calls arrive at once, and what exceeds capacity is refused at once, not queued.

use std::{net::IpAddr, process::Command, time::Duration};

use serde_json::json;

use crate::helpers::{ChildGuard, free_port};

/// Resident and peak memory of a process, in MiB, from `/proc/<pid>/status`.
fn memory_mib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_logins_from_many_addresses_keep_memory_bounded() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("CONFAB_CONFIG")
        .env("CONFAB_DATA_DIR", dir.path().join("data"))
        .env(
            "CONFAB_DATABASE_URL",
            format!("sqlite://{}/data/confab.db", dir.path().display()),
        )
        .env("CONFAB_LISTEN", format!("127.0.0.1:{port}"))
        .env("CONFAB_MEDIA_UDP", "127.0.0.1:0")
        .env("CONFAB_BOOTSTRAP_PASSWORD", "demo-password-1")
        // Rate limits out of the way: this is about what the hashing itself may take.
        .env("CONFAB_LOGIN_ATTEMPTS_PER_MINUTE", "100000")
        .env("CONFAB_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", "1000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start confab");
    let pid = child.id();
    let _guard = ChildGuard(child);
    let url = format!("http://127.0.0.1:{port}/enterprise_api/authenticate");
    let ready = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if ready
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "server did not start");
    let (idle_rss, _) = memory_mib(pid);

    // 300 at once from ten loopback addresses, each for another account (unknown accounts are
    // verified against a decoy hash, so each costs one full argon2 run).
    let mut calls = Vec::new();
    for address in 2..12u8 {
        let client = reqwest::Client::builder()
            .local_address(IpAddr::from([127, 0, 0, address]))
            .build()
            .expect("client");
        for n in 0..30 {
            let (client, url) = (client.clone(), url.clone());
            calls.push(tokio::spawn(async move {
                let response = client
                    .post(url)
                    .header("host", "reseller-admin.localhost")
                    .json(&json!({"email": format!("u{address}-{n}@localhost"), "password": "wrong-password"}))
                    .send()
                    .await
                    .expect("send");
                let retry_after = response.headers().contains_key("retry-after");
                (response.status().as_u16(), retry_after)
            }));
        }
    }
    let mut refused = 0;
    for call in calls {
        let (status, retry_after) = call.await.expect("call");
        match status {
            401 => {}
            503 | 429 => {
                assert!(retry_after, "a refusal says when to retry");
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        refused > 0,
        "beyond capacity, logins are refused rather than queued"
    );
    let (_, peak) = memory_mib(pid);
    // The figures, for docs/security.md (shown with `--nocapture`).
    eprintln!(
        "login burst: 300 calls, {} refused (503/429), {} checked; idle {idle_rss} MiB, peak {peak} MiB",
        refused,
        300 - refused
    );
    assert!(
        peak < 300,
        "peak resident memory {peak} MiB (idle {idle_rss} MiB) under 300 parallel logins"
    );

    // What the burst took is given back (the allocator does not keep the hash buffers).
    let mut rss = u64::MAX;
    for _ in 0..60 {
        rss = memory_mib(pid).0;
        if rss < idle_rss + 100 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    eprintln!("login burst: resident {rss} MiB after the burst");
    assert!(
        rss < idle_rss + 100,
        "resident memory {rss} MiB a minute after the burst (idle {idle_rss} MiB)"
    );

    // The server still serves logins afterwards.
    let response = ready
        .post(&url)
        .header("host", "reseller-admin.localhost")
        .json(&json!({"email": "admin@localhost", "password": "demo-password-1"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
}

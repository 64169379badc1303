//! The `confab` binary: `migrate`, `reseller create`, and the demo reseller of a first start.

use std::process::Command;

use serde_json::json;

use crate::helpers::{Backend, TestApp};

fn confab(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(args)
        .current_dir(dir)
        .env_remove("CONFAB_DATABASE_URL")
        .env_remove("CONFAB_CONFIG")
        .env("CONFAB_DATA_DIR", dir.join("data"))
        .env(
            "CONFAB_DATABASE_URL",
            format!("sqlite://{}/data/confab.db", dir.display()),
        )
        .output()
        .expect("run confab")
}

#[test]
fn migrate_and_reseller_create() {
    let dir = tempfile::tempdir().expect("dir");
    let out = confab(dir.path(), &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/confab.db").exists());

    let args = [
        "reseller",
        "create",
        "--name",
        "Partner",
        "--domain",
        "partner.tld",
        "--admin-email",
        "ops@partner.tld",
    ];
    let out = confab(dir.path(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("reseller-admin.partner.tld"), "{stdout}");
    assert!(
        stdout.contains("admin password (shown once): "),
        "a generated password is printed once: {stdout}"
    );

    // The same domain again is refused with a clear message and a failing exit code.
    let out = confab(dir.path(), &args);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already in use"));
    // So is a bad domain.
    let out = confab(
        dir.path(),
        &[
            "reseller",
            "create",
            "--name",
            "X",
            "--domain",
            "bad_domain",
            "--admin-email",
            "a@b.tld",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("domain"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_creates_the_demo_reseller() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.bootstrap_password = Some("demo-password-1".into())
    })
    .await;
    let created = confab::tenancy::resellers::bootstrap_demo(&app.state)
        .await
        .expect("bootstrap");
    // The fixture already made resellers, so this database is not empty: nothing happens.
    assert!(created.is_none());

    let fresh = tempfile::tempdir().expect("dir");
    let config = confab::config::Config {
        database_url: format!("sqlite://{}/confab.db", fresh.path().display()),
        bootstrap_password: Some("demo-password-1".into()),
        data_dir: fresh.path().to_path_buf(),
        media_udp: "127.0.0.1:0".parse().expect("media address"),
        ..confab::config::Config::default()
    };
    let state = confab::app::AppState::build(config).await.expect("build");
    let (created, generated) = confab::tenancy::resellers::bootstrap_demo(&state)
        .await
        .expect("bootstrap")
        .expect("created");
    assert_eq!(created.api_hostname, "reseller-admin.localhost");
    assert!(generated.is_none(), "the configured password is used");
    assert!(
        confab::tenancy::resellers::bootstrap_demo(&state)
            .await
            .expect("again")
            .is_none(),
        "only once"
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(confab::app::serve(state, listener, std::future::pending()));
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/enterprise_api/authenticate"))
        .header("host", "reseller-admin.localhost:8080")
        .json(&json!({"email": "admin@localhost", "password": "demo-password-1"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["role"], "RESELLER_ADMIN");
}

//! Test harness: a real server on a random port with its own database and a real SMTP server.

use std::{
    net::{SocketAddr, TcpListener as StdTcpListener},
    sync::{Arc, Mutex},
    time::Duration,
};

use confab::{app::AppState, config::Config, tenancy::resellers};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;

/// Runs a test story once per database backend.
#[macro_export]
macro_rules! on_each_backend {
    ($story:ident) => {
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await;
                super::$story(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::TestApp::spawn_postgres().await {
                    super::$story(app).await;
                }
            }
        }
    };
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One message received by the test SMTP server.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone, Default)]
struct SmtpSink {
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    current: Option<ReceivedMail>,
}

impl mailin_embedded::Handler for SmtpSink {
    fn data_start(
        &mut self,
        _domain: &str,
        from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.current = Some(ReceivedMail {
            from: from.to_string(),
            to: to.to_vec(),
            data: String::new(),
        });
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(mail) = self.current.as_mut() {
            mail.data.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        if let Some(mail) = self.current.take() {
            self.inbox.lock().expect("inbox lock").push(mail);
        }
        mailin_embedded::response::OK
    }
}

/// A reseller made for a test, with its admin's API session.
#[derive(Clone, Debug)]
pub struct TestReseller {
    pub api_host: String,
    pub admin_email: String,
    pub admin_token: String,
}

/// A running server with two resellers, `alpha.test` and `beta.test`.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    pub alpha: TestReseller,
    pub beta: TestReseller,
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub const ADMIN_PASSWORD: &str = "Sup3rSecret!";

fn start_smtp_server() -> (u16, Arc<Mutex<Vec<ReceivedMail>>>) {
    let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind smtp");
    let port = listener.local_addr().expect("smtp addr").port();
    let sink = SmtpSink::default();
    let inbox = sink.inbox.clone();
    let mut server = mailin_embedded::Server::new(sink);
    server
        .with_name("smtp.test")
        .with_num_threads(2)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (port, inbox)
}

impl TestApp {
    /// Starts a server on `backend`.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// The PostgreSQL variant, or `None` (with a loud line) when no server is configured.
    pub async fn spawn_postgres() -> Option<Self> {
        Self::spawn_postgres_with(|_| {}).await
    }

    pub async fn spawn_postgres_with(tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        if !postgres_enabled() {
            return None;
        }
        Some(Self::spawn_with(Backend::Postgres, tweak).await)
    }

    /// Starts a server on `backend` after letting the test adjust its configuration.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}/confab.db", dir.path().display()),
            Backend::Postgres => fresh_postgres_database().await,
        };
        let (smtp_port, inbox) = start_smtp_server();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind http");
        let addr = listener.local_addr().expect("http addr");
        let mut config = Config {
            database_url,
            listen: addr,
            smtp_url: Some(format!("smtp://127.0.0.1:{smtp_port}")),
            media_udp: "127.0.0.1:0".parse().expect("media address"),
            data_dir: dir.path().to_path_buf(),
            // Custom domains are verified against this very server.
            domain_verify_connect_to: Some(addr),
            // The OpenID provider and the domains of the tests live on loopback.
            outbound_allow_private_addresses: true,
            ..Config::default()
        };
        tweak(&mut config);
        let state = AppState::build(config).await.expect("build app");
        let (shutdown, on_shutdown) = tokio::sync::oneshot::channel::<()>();
        let server_state = state.clone();
        tokio::spawn(async move {
            let _ = confab::app::serve(server_state, listener, async {
                let _ = on_shutdown.await;
            })
            .await;
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let mut app = TestApp {
            addr,
            state,
            client,
            alpha: placeholder(),
            beta: placeholder(),
            inbox,
            _dir: dir,
            _shutdown: shutdown,
        };
        app.alpha = app
            .make_reseller("Alpha Video", "alpha.test", "root@alpha.test")
            .await;
        app.beta = app
            .make_reseller("Beta Meet", "beta.test", "root@beta.test")
            .await;
        app
    }

    async fn make_reseller(&self, name: &str, domain: &str, email: &str) -> TestReseller {
        let created = resellers::create(&self.state, name, domain, email, ADMIN_PASSWORD)
            .await
            .expect("create reseller");
        let api_host = created.api_hostname.clone();
        let token = self.login(&api_host, email, ADMIN_PASSWORD).await;
        TestReseller {
            api_host,
            admin_email: email.to_string(),
            admin_token: token,
        }
    }

    /// `POST /enterprise_api/<method>` to `host` with a JSON body.
    pub async fn api(&self, host: &str, method: &str, body: Value) -> (StatusCode, Value) {
        self.api_raw(host, method, body.to_string()).await
    }

    /// Same, with a raw body.
    pub async fn api_raw(&self, host: &str, method: &str, body: String) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("http://{}/enterprise_api/{method}", self.addr))
            .header("host", host)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        let status = response.status();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method}: not JSON ({status}): {text}"));
        (status, json)
    }

    /// Calls an authenticated method with `token` in the body.
    pub async fn call(
        &self,
        host: &str,
        token: &str,
        method: &str,
        mut body: Value,
    ) -> (StatusCode, Value) {
        body["auth_token"] = json!(token);
        self.api(host, method, body).await
    }

    /// Calls and insists on 200, returning the body.
    pub async fn ok(&self, host: &str, token: &str, method: &str, body: Value) -> Value {
        let (status, json) = self.call(host, token, method, body).await;
        assert_eq!(status, StatusCode::OK, "{method}: {json}");
        assert!(json["message"].is_string(), "{method}: no message: {json}");
        json
    }

    /// Authenticates and returns the session token.
    pub async fn login(&self, host: &str, email: &str, password: &str) -> String {
        let (status, json) = self
            .api(
                host,
                "authenticate",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {email}: {json}");
        json["auth_token"].as_str().expect("auth_token").to_string()
    }

    /// `GET` a page on `host`.
    pub async fn page(&self, host: &str, path: &str) -> reqwest::Response {
        self.client
            .get(format!("http://{}{path}", self.addr))
            .header("host", host)
            .send()
            .await
            .expect("get page")
    }

    /// A browser-like client with a cookie jar that reaches `hostnames` on this server (so
    /// cookies are scoped to each company domain as in a real browser); redirects are not followed.
    pub fn browser(&self, hostnames: &[&str]) -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone());
        for hostname in hostnames {
            builder = builder.resolve(hostname, self.addr);
        }
        (builder.build().expect("browser client"), jar)
    }

    /// Absolute URL of `path` on a company hostname of this server (for [`TestApp::browser`]).
    pub fn url(&self, hostname: &str, path: &str) -> String {
        format!("http://{hostname}:{}{path}", self.addr.port())
    }

    /// Waits up to 10 s for a mail to `recipient`.
    pub async fn wait_for_mail(&self, recipient: &str) -> ReceivedMail {
        for _ in 0..100 {
            let found = self
                .inbox
                .lock()
                .expect("inbox")
                .iter()
                .find(|m| m.to.iter().any(|t| t == recipient))
                .cloned();
            if let Some(mail) = found {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail reached {recipient}");
    }

    /// All mail received so far.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.inbox.lock().expect("inbox").clone()
    }

    /// Company `joe` of alpha with host Joe Host (`joe@joe.tld`) whose personal room is
    /// `access_code`; returns the company's id. Its pages are on `joe.alpha.test`.
    pub async fn joe_room(&self, access_code: &str, moderator_pin: Option<&str>) -> i64 {
        let r = self.alpha.clone();
        let company = self.company(&r, "joe").await;
        self.ok(
            &r.api_host,
            &r.admin_token,
            "host/create",
            json!({"company_id": company, "name": "Joe Host", "email": "joe@joe.tld",
                   "access_code": access_code, "moderator_pin": moderator_pin, "no_welcome_email": true}),
        )
        .await;
        company
    }

    /// Schedules a conference of alpha's host `host_email` five minutes from now, with a
    /// one-time access code and PIN 432198; `fields` adds to or overrides the request.
    pub async fn pin_conference(&self, host_email: &str, fields: Value) -> Value {
        let r = self.alpha.clone();
        let hosts = self
            .ok(&r.api_host, &r.admin_token, "host/list", json!({}))
            .await;
        let host_id = hosts["hosts"]
            .as_array()
            .expect("hosts")
            .iter()
            .find(|h| h["email"] == host_email)
            .unwrap_or_else(|| panic!("no host {host_email}"))["host_id"]
            .clone();
        let start = chrono::Utc::now() + chrono::Duration::minutes(5);
        let mut request = json!({"host_id": host_id, "subject": "Meeting",
            "start": start.format("%Y-%m-%d %H:%M:%S").to_string(), "time_zone": "UTC",
            "duration": 30, "one_time_access_code": true, "security_pin": "432198"});
        if let (Some(request), Value::Object(fields)) = (request.as_object_mut(), fields) {
            request.extend(fields);
        }
        self.ok(&r.api_host, &r.admin_token, "conference/create", request)
            .await
    }

    /// Creates a company under a reseller and returns its id.
    pub async fn company(&self, reseller: &TestReseller, subdomain: &str) -> i64 {
        let json = self
            .ok(
                &reseller.api_host,
                &reseller.admin_token,
                "company/create",
                json!({"subdomain": subdomain, "name": format!("{subdomain} Inc")}),
            )
            .await;
        json["id"].as_i64().expect("company id")
    }

    /// Creates a host with a password and returns (host_id, session token).
    pub async fn host(
        &self,
        reseller: &TestReseller,
        company_id: i64,
        email: &str,
        role: &str,
    ) -> (i64, String) {
        let json = self
            .ok(
                &reseller.api_host,
                &reseller.admin_token,
                "host/create",
                json!({"company_id": company_id, "name": email, "email": email, "password": "HostPass123", "role": role, "no_welcome_email": true}),
            )
            .await;
        let token = self.login(&reseller.api_host, email, "HostPass123").await;
        (json["host_id"].as_i64().expect("host id"), token)
    }

    /// Counts rows of a table (to prove failed requests wrote nothing).
    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table}"
        )))
        .fetch_one(&self.state.db.pool)
        .await
        .expect("count")
        .try_get("n")
        .expect("n")
    }
}

fn placeholder() -> TestReseller {
    TestReseller {
        api_host: String::new(),
        admin_email: String::new(),
        admin_token: String::new(),
    }
}

/// A suite cannot run because `missing` is not there: refused under CI (`CI=true`), a loud
/// skip line on a developer's machine.
pub fn suite_unavailable(suite: &str, missing: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{missing}: the {suite} may not be skipped under CI");
    }
    eprintln!("!!! SKIPPED {suite}: {missing}");
}

/// A child process (browser driver, identity provider, test CA) killed and reaped when the test
/// ends, however it ends.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback TCP port free at the time of asking, for a child process to listen on.
pub fn free_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Whether the PostgreSQL variants run; skipping is loud, and refused under CI.
pub fn postgres_enabled() -> bool {
    if std::env::var("CONFAB_TEST_POSTGRES_URL").is_ok() {
        return true;
    }
    suite_unavailable(
        "PostgreSQL suite",
        "set CONFAB_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test to run it",
    );
    false
}

/// Creates an empty database named for this test on the configured PostgreSQL server.
async fn fresh_postgres_database() -> String {
    let base = std::env::var("CONFAB_TEST_POSTGRES_URL").expect("CONFAB_TEST_POSTGRES_URL");
    sqlx::any::install_default_drivers();
    let name = format!("confab_test_{}", confab::auth::token::random_digits(12));
    let mut conn = sqlx::AnyConnection::connect(&base)
        .await
        .expect("connect to postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let _ = conn.close().await;
    let mut url = url::Url::parse(&base).expect("postgres url");
    url.set_path(&name);
    url.to_string()
}

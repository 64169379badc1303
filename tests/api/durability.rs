//! Conference mail survives a failing SMTP server and a killed server process: every invitation is
//! delivered, a repeat is possible only for the message in flight at the kill, with its Message-ID.

use std::{
    collections::HashMap,
    net::TcpListener as StdTcpListener,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};

use crate::{
    calendar::invite,
    helpers::{Backend, ReceivedMail, TestApp, free_port},
};

/// An SMTP server that refuses the first `refuse` messages (451, temporary) and takes each
/// accepted one `delay` to acknowledge.
#[derive(Clone)]
struct Sink {
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    refused: Arc<AtomicUsize>,
    refuse: usize,
    delay: Duration,
    current: Option<ReceivedMail>,
}

impl mailin_embedded::Handler for Sink {
    fn mail(
        &mut self,
        _ip: std::net::IpAddr,
        _domain: &str,
        _from: &str,
    ) -> mailin_embedded::Response {
        if self.refused.fetch_add(1, Ordering::SeqCst) < self.refuse {
            return mailin_embedded::response::INTERNAL_ERROR;
        }
        mailin_embedded::response::OK
    }

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
        let mail = self.current.take();
        std::thread::sleep(self.delay);
        if let Some(mail) = mail {
            self.inbox.lock().expect("inbox").push(mail);
        }
        mailin_embedded::response::OK
    }
}

/// Starts a sink; returns its port and inbox.
fn start_sink(refuse: usize, delay: Duration) -> (u16, Arc<Mutex<Vec<ReceivedMail>>>) {
    let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind smtp");
    let port = listener.local_addr().expect("addr").port();
    let sink = Sink {
        inbox: Arc::default(),
        refused: Arc::default(),
        refuse,
        delay,
        current: None,
    };
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

fn message_id(mail: &ReceivedMail) -> String {
    crate::calendar::header(mail, "Message-ID")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_then_accepted_invitations_arrive_once() {
    let (port, inbox) = start_sink(2, Duration::ZERO);
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    })
    .await;
    let r = app.alpha.clone();
    let a = app.company(&r, "acme").await;
    let (_, t) = app.host(&r, a, "olga@acme.tld", "HOST").await;
    app.ok(
        &r.api_host,
        &t,
        "conference/create",
        json!({
            "subject": "Retry", "start": "2030-01-01 10:00:00", "time_zone": "UTC", "duration": 30,
            "participant_emails": [{"email": "one@guest.tld"}, {"email": "two@guest.tld"}]
        }),
    )
    .await;
    // Both first attempts are refused and wait for their backoff; move their time forward.
    let db = &app.state.db.pool;
    for _ in 0..100 {
        if app.count("mail_outbox WHERE attempts = 1").await == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.count("mail_outbox WHERE attempts = 1 AND sent_at IS NULL")
            .await,
        2
    );
    assert!(inbox.lock().expect("inbox").is_empty());
    sqlx::query("UPDATE mail_outbox SET next_attempt_at = 0")
        .execute(db)
        .await
        .expect("advance");
    app.state.mail_wake.notify_one();
    for _ in 0..100 {
        if inbox.lock().expect("inbox").len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = inbox.lock().expect("inbox").clone();
    let mut to: Vec<String> = got.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["one@guest.tld", "two@guest.tld"], "each once");
    assert_eq!(
        app.count("mail_outbox WHERE sent_at IS NOT NULL AND attempts = 2")
            .await,
        2
    );
}

/// Starts `confab serve` from the copy of the binary in `dir` (see the test).
fn start_server(dir: &std::path::Path, http: u16, smtp: u16) -> Child {
    Command::new(dir.join("confab"))
        .arg("serve")
        .current_dir(dir)
        .env_remove("CONFAB_CONFIG")
        .env(
            "CONFAB_DATABASE_URL",
            format!("sqlite://{}/confab.db", dir.display()),
        )
        .env("CONFAB_DATA_DIR", dir)
        .env("CONFAB_LISTEN", format!("127.0.0.1:{http}"))
        // Any free port: the media server must not collide with other servers on the machine.
        .env("CONFAB_MEDIA_UDP", "127.0.0.1:0")
        .env("CONFAB_SMTP_URL", format!("smtp://127.0.0.1:{smtp}"))
        .env("CONFAB_BOOTSTRAP_PASSWORD", "demo-password-1")
        // Problems of the server (only warnings and errors) show in the test output.
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start confab")
}

async fn post(client: &reqwest::Client, http: u16, method: &str, body: Value) -> Option<Value> {
    let response = client
        .post(format!("http://127.0.0.1:{http}/enterprise_api/{method}"))
        .header("host", "reseller-admin.localhost")
        .json(&body)
        .send()
        .await
        .map_err(|e| eprintln!("{method}: {e}"))
        .ok()?;
    let status = response.status();
    let answer: Value = response
        .json()
        .await
        .map_err(|e| eprintln!("{method}: {status}: {e}"))
        .ok()?;
    if !status.is_success() {
        eprintln!("{method}: {status} {answer}");
        return None;
    }
    Some(answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_batch_every_invitation_arrives_with_at_most_one_repeat() {
    let dir = tempfile::tempdir().expect("dir");
    // Both starts run the same build, whatever else writes to the target folder meanwhile.
    std::fs::copy(env!("CARGO_BIN_EXE_confab"), dir.path().join("confab")).expect("copy binary");
    let (smtp, inbox) = start_sink(0, Duration::from_millis(40));
    let http = free_port();
    let mut server = start_server(dir.path(), http, smtp);
    let client = reqwest::Client::new();
    let login = json!({"email": "admin@localhost", "password": "demo-password-1"});
    let mut token = None;
    for _ in 0..100 {
        if let Some(answer) = post(&client, http, "authenticate", login.clone()).await {
            token = answer["auth_token"].as_str().map(str::to_string);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = token.expect("server up");
    let emails: Vec<Value> = (0..100)
        .map(|i| json!({"email": format!("guest{i:03}@guest.tld")}))
        .collect();
    let created = post(&client, http, "conference/create", json!({
        "auth_token": token, "subject": "Big", "start": "2030-01-01 10:00:00", "time_zone": "UTC",
        "duration": 30, "participant_emails": emails
    }))
    .await
    .expect("conference created");
    assert!(created["conference_id"].is_i64());

    // Kill -9 once a part of the batch is out.
    for _ in 0..200 {
        if inbox.lock().expect("inbox").len() >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    let before_restart = inbox.lock().expect("inbox").len();
    assert!(
        (20..100).contains(&before_restart),
        "killed mid-batch ({before_restart} delivered)"
    );

    let mut server = start_server(dir.path(), http, smtp);
    for _ in 0..300 {
        let mut seen: Vec<String> = inbox
            .lock()
            .expect("inbox")
            .iter()
            .flat_map(|m| m.to.clone())
            .collect();
        seen.sort();
        seen.dedup();
        if seen.len() >= 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = server.kill();
    let _ = server.wait();

    let got = inbox.lock().expect("inbox").clone();
    let mut by_recipient: HashMap<String, Vec<&ReceivedMail>> = HashMap::new();
    for mail in &got {
        for to in &mail.to {
            by_recipient.entry(to.clone()).or_default().push(mail);
        }
    }
    assert_eq!(by_recipient.len(), 100, "every invitee got the invitation");
    let repeats: Vec<_> = by_recipient.values().filter(|m| m.len() > 1).collect();
    assert!(
        repeats.len() <= 1,
        "at most one repeat, got {}",
        repeats.len()
    );
    for mails in repeats {
        assert_eq!(mails.len(), 2);
        assert_eq!(
            message_id(mails[0]),
            message_id(mails[1]),
            "a repeat keeps its Message-ID"
        );
    }
    for mails in by_recipient.values() {
        assert_eq!(invite(mails[0]).method, "REQUEST");
    }
}

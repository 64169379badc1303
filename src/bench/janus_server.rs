//! A private Janus process for the side-by-side run: its own configuration folder in a temporary
//! directory (videoroom plugin and WebSocket transport only, no STUN), so nothing system-wide is
//! read or changed.
//!
//! Janus never gathers candidates on a loopback interface (`janus_ice_setup_local` skips
//! `IFF_LOOPBACK`), so its media is pinned to this machine's own primary IPv4 address and the
//! bots bind there too: packets to a local address still travel through the kernel's loopback
//! device, the same path as 127.0.0.1.

use std::{
    net::IpAddr,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context;

/// A running Janus, killed when dropped.
pub struct JanusServer {
    child: Child,
    /// `ws://127.0.0.1:<port>` of its WebSocket transport.
    pub ws_url: String,
    /// The local address Janus gathers ICE candidates on.
    pub media_ip: IpAddr,
    _dir: tempfile::TempDir,
}

/// Where Debian puts the plugins and transports of its `janus` package.
const LIB_DIR: &str = "/usr/lib/x86_64-linux-gnu/janus";

const OTHER_PLUGINS: &str = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,\
libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,\
libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so";
const OTHER_TRANSPORTS: &str = "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,\
libjanus_pfunix.so,libjanus_rabbitmq.so";

/// Finds the library folder next to a binary installed elsewhere, else the Debian one.
fn lib_dir(bin: &Path) -> String {
    let beside = bin
        .canonicalize()
        .ok()
        .and_then(|b| b.parent()?.parent().map(|p| p.join("lib/janus")));
    match beside {
        Some(dir) if dir.join("plugins/libjanus_videoroom.so").exists() => {
            dir.display().to_string()
        }
        _ => LIB_DIR.to_string(),
    }
}

/// The source address of this machine's default route (a UDP `connect` sends nothing).
fn primary_ipv4() -> anyhow::Result<IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0")?;
    probe
        .connect("192.0.2.1:9")
        .context("Janus needs a non-loopback IPv4 address (no default route)")?;
    let ip = probe.local_addr()?.ip();
    anyhow::ensure!(
        !ip.is_loopback() && !ip.is_unspecified(),
        "no non-loopback IPv4 address"
    );
    Ok(ip)
}

fn write_configs(
    dir: &Path,
    libs: &str,
    ws_port: u16,
    media_ip: IpAddr,
    event_loops: u32,
) -> anyhow::Result<()> {
    // 0 keeps Janus's default: one loop thread per handle.
    let loops = match event_loops {
        0 => String::new(),
        n => format!("\tevent_loops = {n}\n"),
    };
    let main = format!(
        "general: {{\n\tconfigs_folder = \"{configs}\"\n\tplugins_folder = \"{libs}/plugins\"\n\
         \ttransports_folder = \"{libs}/transports\"\n\tevents_folder = \"{libs}/events\"\n\
         \tloggers_folder = \"{libs}/loggers\"\n\tdebug_level = 3\n\tsession_timeout = 60\n{loops}}}\n\
         media: {{\n}}\n\
         nat: {{\n\tice_enforce_list = \"{media_ip}\"\n\tice_ignore_list = \"\"\n}}\n\
         plugins: {{\n\tdisable = \"{OTHER_PLUGINS}\"\n}}\n\
         transports: {{\n\tdisable = \"{OTHER_TRANSPORTS}\"\n}}\n\
         loggers: {{\n\tdisable = \"libjanus_jsonlog.so\"\n}}\n\
         events: {{\n\tbroadcast = false\n}}\n",
        configs = dir.display(),
    );
    std::fs::write(dir.join("janus.jcfg"), main)?;
    // Rooms are created by the benchmark over the API; none are configured.
    std::fs::write(dir.join("janus.plugin.videoroom.jcfg"), "general: {\n}\n")?;
    let ws = format!(
        "general: {{\n\tjson = \"plain\"\n\tws = true\n\tws_port = {ws_port}\n\tws_ip = \"127.0.0.1\"\n\
         \twss = false\n}}\nadmin: {{\n\tadmin_ws = false\n\tadmin_wss = false\n}}\n"
    );
    std::fs::write(dir.join("janus.transport.websockets.jcfg"), ws)?;
    Ok(())
}

impl JanusServer {
    /// Starts `bin` and waits until its WebSocket transport accepts connections.
    pub async fn start(bin: &Path, event_loops: u32) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let ws_port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let media_ip = primary_ipv4()?;
        write_configs(dir.path(), &lib_dir(bin), ws_port, media_ip, event_loops)?;
        let log = std::fs::File::create(dir.path().join("janus.log"))?;
        let child = Command::new(bin)
            .arg("-F")
            .arg(dir.path())
            .arg("-C")
            .arg(dir.path().join("janus.jcfg"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = JanusServer {
            child,
            ws_url: format!("ws://127.0.0.1:{ws_port}"),
            media_ip,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!("janus exited at start ({status}): {}", server.log_tail());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", ws_port))
                .await
                .is_ok()
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                anyhow::bail!("janus did not listen in 15 s: {}", server.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines Janus logged, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self._dir.path().join("janus.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// CPU time of the whole Janus process (all threads, user + system), milliseconds.
    pub fn cpu_ms(&self) -> u64 {
        super::procfs::cpu_ms(&format!("/proc/{}/stat", self.child.id()))
    }

    /// Resident memory of the Janus process, MiB.
    pub fn rss_mib(&self) -> f64 {
        super::procfs::rss_mib(&format!("/proc/{}/status", self.child.id()))
    }
}

impl Drop for JanusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

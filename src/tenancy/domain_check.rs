//! Ownership proof of a custom domain: the server fetches
//! `http://<domain>/.well-known/meeting-domain/<token>` itself and compares the body with the token.
//! Plain HTTP on purpose: the domain has no certificate yet. Redirects are not followed.

use std::{net::SocketAddr, time::Duration};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::{Request, body::Bytes, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::outbound::{self, Policy, Refusal};

/// URL path prefix of verification tokens (brand-neutral: tenants' users may see it).
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/meeting-domain/";

/// Longest answer read from the domain.
const MAX_BODY: usize = 1024;

/// Why a verification fetch failed, in words for the API caller. Network details (the addresses
/// tried, the operating system's error) go to the log only: the caller chose the name, and
/// telling it how the server's network answered would make this a port scanner.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0} {1}")]
    Refused(String, Refusal),
    #[error("cannot connect to {0} on port 80")]
    Connect(String),
    #[error("no answer from {0} within {1} seconds")]
    Timeout(String, u64),
    #[error("{0} answered HTTP {1}")]
    Status(String, u16),
    #[error("{0} answered, but not with the verification token")]
    Mismatch(String),
    #[error("the HTTP exchange with {0} failed")]
    Http(String),
}

/// Connects to `hostname:80` at an address the outbound policy allows (the checked DNS answers,
/// tried in order), or to the operator's `connect_to`.
async fn connect(
    hostname: &str,
    connect_to: Option<SocketAddr>,
    policy: Policy,
) -> Result<TcpStream, CheckError> {
    let addresses = match connect_to {
        // Set by the operator for this purpose: trusted as given.
        Some(addr) => vec![addr],
        None => outbound::resolve::resolve(policy, hostname, 80)
            .await
            .map_err(|refusal| CheckError::Refused(hostname.into(), refusal))?,
    };
    for addr in &addresses {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(error) => tracing::info!(hostname, %addr, %error, "domain check: connect failed"),
        }
    }
    Err(CheckError::Connect(hostname.into()))
}

/// Fetches the token from `hostname` (or from `connect_to`, keeping `hostname` in the `Host`
/// header: for tests and for operators whose server cannot reach itself by its public name).
pub async fn fetch_token(
    hostname: &str,
    token: &str,
    connect_to: Option<SocketAddr>,
    timeout: Duration,
    policy: Policy,
) -> Result<(), CheckError> {
    let exchange = async {
        let stream = connect(hostname, connect_to, policy).await?;
        let http = |error: hyper::Error| {
            tracing::info!(hostname, %error, "domain check: HTTP exchange failed");
            CheckError::Http(hostname.into())
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http)?;
        tokio::spawn(connection);
        let request = Request::get(format!("{WELL_KNOWN_PREFIX}{token}"))
            .header(header::HOST, hostname)
            .header(header::USER_AGENT, "meeting-domain-check")
            .body(Empty::<Bytes>::new())
            .map_err(|_| CheckError::Http(hostname.into()))?;
        let response = sender.send_request(request).await.map_err(http)?;
        if !response.status().is_success() {
            return Err(CheckError::Status(
                hostname.into(),
                response.status().as_u16(),
            ));
        }
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|_| CheckError::Mismatch(hostname.into()))?
            .to_bytes();
        if body.trim_ascii() == token.as_bytes() {
            Ok(())
        } else {
            Err(CheckError::Mismatch(hostname.into()))
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| CheckError::Timeout(hostname.into(), timeout.as_secs()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot HTTP server that answers `answer` to whatever it is asked.
    async fn answering(answer: &'static str) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(answer.as_bytes()).await;
        });
        addr
    }

    #[tokio::test]
    async fn token_must_match() {
        let timeout = Duration::from_secs(5);
        // The operator's `connect_to` is trusted even when it is loopback.
        let strict = Policy::new(false);
        let ok = answering("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc\n").await;
        fetch_token("meet.example.com", "abc", Some(ok), timeout, strict)
            .await
            .unwrap();
        let wrong = answering("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz").await;
        let err = fetch_token("meet.example.com", "abc", Some(wrong), timeout, strict).await;
        assert!(matches!(err, Err(CheckError::Mismatch(_))), "{err:?}");
        let moved =
            answering("HTTP/1.1 301 Moved\r\nLocation: http://x/\r\nContent-Length: 0\r\n\r\n")
                .await;
        let err = fetch_token("meet.example.com", "abc", Some(moved), timeout, strict).await;
        assert!(matches!(err, Err(CheckError::Status(_, 301))), "{err:?}");
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let err = fetch_token("meet.example.com", "abc", Some(addr), timeout, strict).await;
        assert!(matches!(err, Err(CheckError::Connect(..))), "{err:?}");
        assert_eq!(
            err.unwrap_err().to_string(),
            "cannot connect to meet.example.com on port 80",
            "the operating system's error is not reflected"
        );
    }

    #[tokio::test]
    async fn names_resolving_inside_are_refused_unless_allowed() {
        let timeout = Duration::from_secs(5);
        // `localhost` resolves to loopback, as `127.0.0.1.nip.io` would: refused before any
        // connection is made.
        let err = fetch_token("localhost", "abc", None, timeout, Policy::new(false)).await;
        assert!(
            matches!(err, Err(CheckError::Refused(_, Refusal::NonPublicAddress))),
            "{err:?}"
        );
        // Allowed, the check goes on to connect (nothing listens on port 80 here, or something
        // does and does not know the token): never a refusal.
        let err = fetch_token("localhost", "abc", None, timeout, Policy::new(true)).await;
        assert!(!matches!(err, Err(CheckError::Refused(..))), "{err:?}");
    }
}

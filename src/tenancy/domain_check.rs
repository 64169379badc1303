//! Ownership proof of a custom domain: the server fetches
//! `http://<domain>/.well-known/meeting-domain/<token>` itself and compares the body with the token.
//! Plain HTTP on purpose: the domain has no certificate yet. Redirects are not followed.

use std::{net::SocketAddr, time::Duration};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::{Request, body::Bytes, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// URL path prefix of verification tokens (brand-neutral: tenants' users may see it).
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/meeting-domain/";

/// Longest answer read from the domain.
const MAX_BODY: usize = 1024;

/// Why a verification fetch failed, in words for the API caller.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot connect to {0} on port 80: {1}")]
    Connect(String, String),
    #[error("no answer from {0} within {1} seconds")]
    Timeout(String, u64),
    #[error("{0} answered HTTP {1}")]
    Status(String, u16),
    #[error("{0} answered, but not with the verification token")]
    Mismatch(String),
    #[error("HTTP exchange with {0} failed: {1}")]
    Http(String, String),
}

/// Fetches the token from `hostname` (or from `connect_to`, keeping `hostname` in the `Host`
/// header: for tests and for operators whose server cannot reach itself by its public name).
pub async fn fetch_token(
    hostname: &str,
    token: &str,
    connect_to: Option<SocketAddr>,
    timeout: Duration,
) -> Result<(), CheckError> {
    let exchange = async {
        let stream = match connect_to {
            Some(addr) => TcpStream::connect(addr).await,
            None => TcpStream::connect((hostname, 80)).await,
        }
        .map_err(|e| CheckError::Connect(hostname.into(), e.to_string()))?;
        let http = |e: hyper::Error| CheckError::Http(hostname.into(), e.to_string());
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http)?;
        tokio::spawn(connection);
        let request = Request::get(format!("{WELL_KNOWN_PREFIX}{token}"))
            .header(header::HOST, hostname)
            .header(header::USER_AGENT, "meeting-domain-check")
            .body(Empty::<Bytes>::new())
            .map_err(|e| CheckError::Http(hostname.into(), e.to_string()))?;
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
        let ok = answering("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc\n").await;
        fetch_token("meet.example.com", "abc", Some(ok), timeout)
            .await
            .unwrap();
        let wrong = answering("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz").await;
        let err = fetch_token("meet.example.com", "abc", Some(wrong), timeout).await;
        assert!(matches!(err, Err(CheckError::Mismatch(_))), "{err:?}");
        let moved =
            answering("HTTP/1.1 301 Moved\r\nLocation: http://x/\r\nContent-Length: 0\r\n\r\n")
                .await;
        let err = fetch_token("meet.example.com", "abc", Some(moved), timeout).await;
        assert!(matches!(err, Err(CheckError::Status(_, 301))), "{err:?}");
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let err = fetch_token("meet.example.com", "abc", Some(addr), timeout).await;
        assert!(matches!(err, Err(CheckError::Connect(..))), "{err:?}");
    }
}

//! Name resolution under the outbound policy: the DNS answers are checked, and the connection is
//! made to the checked answers only, so a name cannot pass the check with a public address and then
//! be connected to a private one (DNS rebinding).

use std::{net::SocketAddr, sync::Arc};

use openidconnect::reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::{Policy, Refusal};

/// The addresses of `host:port` the server may connect to.
pub async fn resolve(policy: Policy, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
    let answers: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(found) => found.collect(),
        Err(error) => {
            tracing::debug!(host, %error, "outbound name did not resolve");
            Vec::new()
        }
    };
    policy.check_answers(&answers).inspect_err(|refusal| {
        tracing::warn!(host, ?answers, %refusal, "outbound request refused");
    })
}

/// An HTTP client resolver that applies [`resolve`]: every connection of the client goes to a
/// checked address.
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver(pub Policy);

impl CheckedResolver {
    pub fn shared(policy: Policy) -> Arc<Self> {
        Arc::new(Self(policy))
    }
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            // Port 0: the client puts the URL's port in.
            let checked = resolve(policy, name.as_str(), 0).await?;
            Ok(Box::new(checked.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_are_checked_not_names() {
        // "localhost" is a name; only its answer (127.0.0.1) says it points inside.
        assert_eq!(
            resolve(Policy::new(false), "localhost", 80).await,
            Err(Refusal::NonPublicAddress)
        );
        let allowed = resolve(Policy::new(true), "localhost", 80).await.unwrap();
        assert!(
            allowed
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 80)
        );
        assert_eq!(
            resolve(Policy::new(true), "no-such-name.invalid", 80).await,
            Err(Refusal::Unresolvable)
        );
    }
}

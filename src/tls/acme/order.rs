//! One certificate order: account, HTTP-01 challenges answered from the database, CSR, chain.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};

use std::sync::Arc;

use super::{AcmeSettings, Challenge, alpn};
use crate::{
    store::{self, Db, now},
    tls::certs::CertStore,
};

/// How long a published challenge answer stays valid: longer than any order takes.
const CHALLENGE_TTL_SECS: i64 = 15 * 60;

/// Polling of the CA while it validates and signs: quick at first, patient after.
fn polling() -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .backoff(1.5)
        .timeout(Duration::from_secs(120))
}

/// An issued certificate: chain and key as PEM, and its validity in Unix seconds.
pub struct Issued {
    pub chain_pem: String,
    pub key_pem: String,
    pub not_before: i64,
    pub not_after: i64,
}

/// The ACME account for the configured directory: restored from the database, else registered
/// (and stored, so every server and every restart uses the same account).
pub async fn account(db: &Db, settings: &AcmeSettings) -> anyhow::Result<Account> {
    let builder = || match &settings.ca_root {
        Some(root) => Account::builder_with_root(root)
            .with_context(|| format!("acme_ca_root {}", root.display())),
        None => Account::builder().context("ACME HTTP client"),
    };
    if let Some(stored) = store::acme::account(db, &settings.directory_url).await? {
        let credentials: AccountCredentials =
            serde_json::from_str(&stored).context("stored ACME account")?;
        return builder()?
            .from_credentials(credentials)
            .await
            .context("restoring the ACME account");
    }
    let contact = settings
        .contact_email
        .as_ref()
        .map(|email| format!("mailto:{email}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, credentials) = builder()?
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            settings.directory_url.clone(),
            None,
        )
        .await
        .context("registering an ACME account")?;
    let json = serde_json::to_string(&credentials)?;
    let kept = store::acme::save_account(db, &settings.directory_url, &json).await?;
    if kept != json {
        // Another server registered first: use its account so all of them share one.
        let credentials: AccountCredentials = serde_json::from_str(&kept)?;
        return Ok(builder()?.from_credentials(credentials).await?);
    }
    tracing::info!(id = account.id(), "ACME account registered");
    Ok(account)
}

/// Where an order publishes its challenge answers.
pub struct Responder<'a> {
    pub db: &'a Db,
    pub certs: &'a CertStore,
    pub challenge: Challenge,
    /// For TLS-ALPN-01: how long other servers on the database take to pick up a challenge
    /// certificate, waited before telling the CA to validate.
    pub settle: Duration,
}

/// Orders a certificate for `hostname`, answering its challenge: HTTP-01 from the database, or
/// TLS-ALPN-01 from the certificate store (this server's at once, the others' at their next
/// pass over the database).
pub async fn issue(
    responder: &Responder<'_>,
    account: &Account,
    hostname: &str,
) -> anyhow::Result<Issued> {
    let db = responder.db;
    let identifiers = [Identifier::Dns(hostname.to_string())];
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .context("new order")?;
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization.context("authorization")?;
        match authorization.status {
            AuthorizationStatus::Valid => continue,
            AuthorizationStatus::Pending => {}
            other => bail!("authorization is {other:?}"),
        }
        let kind = match responder.challenge {
            Challenge::Http01 => ChallengeType::Http01,
            Challenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
        };
        let mut challenge = authorization
            .challenge(kind.clone())
            .ok_or_else(|| anyhow!("the CA offers no {kind:?} challenge"))?;
        let answer = challenge.key_authorization();
        store::acme::put_challenge(
            db,
            &challenge.token,
            hostname,
            answer.as_str(),
            now() + CHALLENGE_TTL_SECS,
        )
        .await?;
        if responder.challenge == Challenge::TlsAlpn01 {
            let cert = alpn::challenge_certificate(hostname, answer.as_str())
                .context("challenge certificate")?;
            responder
                .certs
                .set_alpn_challenge(hostname, Some(Arc::new(cert)));
            tokio::time::sleep(responder.settle).await;
        }
        challenge.set_ready().await.context("challenge ready")?;
    }
    let status = order.poll_ready(&polling()).await.context("validation")?;
    if status != OrderStatus::Ready {
        bail!(
            "order is {status:?}: {}",
            challenge_errors(&mut order).await
        );
    }
    let key_pem = order.finalize().await.context("finalize")?;
    let chain_pem = order
        .poll_certificate(&polling())
        .await
        .context("certificate")?;
    let (not_before, not_after) = validity(&chain_pem)?;
    Ok(Issued {
        chain_pem,
        key_pem,
        not_before,
        not_after,
    })
}

/// What the CA said about failed challenges, for the operator.
async fn challenge_errors(order: &mut instant_acme::Order) -> String {
    let mut said = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(authorization)) = authorizations.next().await {
        for challenge in &authorization.challenges {
            if let Some(problem) = &challenge.error {
                said.push(problem.to_string());
            }
        }
    }
    if said.is_empty() {
        "no reason given".into()
    } else {
        said.join("; ")
    }
}

/// `notBefore` and `notAfter` of the leaf (first) certificate of a PEM chain.
pub fn validity(chain_pem: &str) -> anyhow::Result<(i64, i64)> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let leaf = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()
        .ok_or_else(|| anyhow!("no certificate in the chain"))??;
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf)
        .map_err(|e| anyhow!("unreadable certificate: {e}"))?;
    Ok((
        cert.validity().not_before.timestamp(),
        cert.validity().not_after.timestamp(),
    ))
}

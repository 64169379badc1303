//! The HTTP client for OpenID Connect providers, under the outbound policy: every URL the
//! provider hands us (discovery, keys, token endpoint) is checked before the request, and every
//! name is resolved through the checked resolver.

use std::{future::Future, pin::Pin};

use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse, reqwest};

use crate::outbound::{Policy, resolve::CheckedResolver};

/// How long one exchange with a provider may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

type ClientError = HttpClientError<reqwest::Error>;

/// A provider client that refuses what the outbound policy refuses.
pub struct ProviderHttp {
    policy: Policy,
    client: reqwest::Client,
}

impl ProviderHttp {
    pub fn new(policy: Policy) -> anyhow::Result<Self> {
        let client = reqwest::ClientBuilder::new()
            // Redirects are not followed: each hop would need the same checks (and the
            // `openidconnect` crate asks for it as an SSRF guard).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .dns_resolver(CheckedResolver::shared(policy))
            .build()?;
        Ok(Self { policy, client })
    }
}

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = ClientError;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, ClientError>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let target = url::Url::parse(&request.uri().to_string())
                .map_err(|_| ClientError::Other("the provider gave an invalid URL".into()))?;
            self.policy.check_url(&target).map_err(|refusal| {
                tracing::warn!(url = %target, %refusal, "request to an OpenID provider refused");
                ClientError::Other(format!("provider URL {refusal}"))
            })?;
            self.client.call(request).await
        })
    }
}

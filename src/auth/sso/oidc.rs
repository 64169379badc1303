//! Company OpenID Connect: authorization code flow with PKCE, `state` bound to the browser by a
//! cookie, `nonce`, discovery, and ID token validation by the `openidconnect` crate. A verified
//! identity becomes a host of the company by `openid_sub`, by verified email when the company
//! allows it, or as a new host when the company provisions unknown users.

use axum::http::StatusCode;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata},
};
use subtle::ConstantTimeEq;

use crate::{
    app::App,
    auth::{Role, token},
    error::{AppError, AppResult},
    store::{self, companies::Company, hosts::Host, sso::OidcSettings},
    tenancy::{Tenant, hosts},
};

/// Name of the cookie that binds a login's `state` to the browser that started it.
pub const STATE_COOKIE: &str = "mtg_oidc_state";
/// How long a login may wait for the provider's callback.
pub const PENDING_TTL_SECS: i64 = 600;
/// Path of the callback to register at the provider.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";

/// An identity the provider vouched for in a validated ID token.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

fn refused(message: impl Into<String>) -> AppError {
    AppError::unauthorized("oidc_login_refused", message)
}

fn provider_failed(cause: impl std::fmt::Display) -> AppError {
    tracing::warn!(%cause, "OpenID Connect provider failed");
    AppError::new(
        StatusCode::BAD_GATEWAY,
        "oidc_provider_error",
        "The sign-in provider could not complete the sign-in; try again later",
    )
}

/// The company (with OpenID Connect turned on) and its settings, or a 404 when sign-in through a
/// provider is not available on this domain.
pub async fn enabled_settings(app: &App, tenant: &Tenant) -> AppResult<(Company, OidcSettings)> {
    let unavailable = || AppError::not_found("Company sign-in");
    let company = store::companies::get(&app.db, tenant.reseller_id, tenant.company_id)
        .await?
        .filter(|c| c.openid_provider)
        .ok_or_else(unavailable)?;
    let settings = store::sso::oidc_settings(&app.db, tenant.reseller_id, tenant.company_id)
        .await?
        .ok_or_else(unavailable)?;
    Ok((company, settings))
}

/// The callback URL of a company domain.
pub fn redirect_uri(app: &App, hostname: &str) -> String {
    format!("{}{CALLBACK_PATH}", app.config.base_url(hostname))
}

type DiscoveredClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

async fn client(
    app: &App,
    tenant: &Tenant,
    settings: &OidcSettings,
) -> AppResult<DiscoveredClient> {
    let metadata = metadata(app, &settings.issuer_url).await?;
    let redirect =
        RedirectUrl::new(redirect_uri(app, &tenant.hostname)).map_err(AppError::internal)?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id.clone()),
        Some(ClientSecret::new(settings.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// The provider's metadata and keys: cached for a few minutes, else discovered.
async fn metadata(app: &App, issuer_url: &str) -> AppResult<CoreProviderMetadata> {
    let now = std::time::Instant::now();
    if let Some(metadata) = app.sso.discovered.get(issuer_url, now) {
        return Ok(metadata);
    }
    let issuer = IssuerUrl::new(issuer_url.to_string()).map_err(provider_failed)?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &app.sso.http)
        .await
        .map_err(provider_failed)?;
    app.sso.discovered.put(issuer_url, metadata.clone(), now);
    Ok(metadata)
}

/// Starts a login: remembers state, nonce and PKCE verifier and returns the provider's
/// authorization URL and the `state` value for [`STATE_COOKIE`].
pub async fn begin(app: &App, tenant: &Tenant, next_path: &str) -> AppResult<(String, String)> {
    let (_, settings) = enabled_settings(app, tenant).await?;
    let client = client(app, tenant, &settings).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    store::sso::insert_pending_login(
        &app.db,
        &token::hash_secret(state.secret()),
        &store::sso::PendingLogin {
            company_id: tenant.company_id,
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next_path: next_path.to_string(),
            expires_at: store::now() + PENDING_TTL_SECS,
        },
    )
    .await?;
    Ok((url.to_string(), state.secret().clone()))
}

/// Parameters of the provider's redirect back to us.
#[derive(Debug, Default)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Completes a login: checks `state` against the browser's cookie, exchanges the code (with the
/// PKCE verifier), validates the ID token (signature, issuer, audience, expiry, nonce) and finds
/// or provisions the host. Returns the host and the path to continue to.
pub async fn finish(
    app: &App,
    tenant: &Tenant,
    state_cookie: Option<&str>,
    callback: &Callback,
) -> AppResult<(Host, String)> {
    if let Some(error) = &callback.error {
        let detail = callback.error_description.as_deref().unwrap_or(error);
        return Err(refused(format!("The sign-in provider refused: {detail}")));
    }
    let state = callback.state.as_deref().unwrap_or_default();
    let cookie = state_cookie.unwrap_or_default();
    let same_browser = !state.is_empty() && bool::from(state.as_bytes().ct_eq(cookie.as_bytes()));
    if !same_browser {
        return Err(refused(
            "This sign-in was not started in this browser; start again from the login page",
        ));
    }
    let pending = store::sso::take_pending_login(&app.db, &token::hash_secret(state))
        .await?
        .filter(|p| p.company_id == tenant.company_id && p.expires_at > store::now())
        .ok_or_else(|| refused("This sign-in expired or was already used; start again"))?;
    let code = callback
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| refused("The sign-in provider sent no authorization code"))?;
    let (company, settings) = enabled_settings(app, tenant).await?;
    let client = client(app, tenant, &settings).await?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(provider_failed)?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&app.sso.http)
        .await
        .map_err(|err| {
            tracing::info!(%err, "OpenID Connect code exchange failed");
            refused("The sign-in provider did not accept the sign-in; start again")
        })?;
    let id_token = response
        .id_token()
        .ok_or_else(|| refused("The sign-in provider sent no ID token"))?;
    let claims = id_token
        .claims(
            &client.id_token_verifier(),
            &Nonce::new(pending.nonce.clone()),
        )
        .map_err(|err| {
            // Perhaps the provider rotated its keys: the next attempt discovers them anew.
            app.sso.discovered.forget(&settings.issuer_url);
            refused(format!("The ID token is not valid: {err}"))
        })?;
    let identity = Identity {
        subject: claims.subject().as_str().to_string(),
        email: claims
            .email()
            .map(|e| e.as_str().trim().to_ascii_lowercase()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
    };
    let host = host_for(app, tenant, &company, &settings, &identity).await?;
    // Settings saved by a company admin reach what that admin reaches: its own provider cannot
    // vouch for a reseller admin of the admin company.
    if !super::issuer_reaches(&settings.issuer_role, tenant.company_id, &host) {
        return Err(refused(
            "Your account is not linked to a host of this company; ask your administrator",
        ));
    }
    Ok((host, pending.next_path))
}

/// A verified email within the company's allowed domain (when one is set).
fn usable_email<'a>(settings: &OidcSettings, identity: &'a Identity) -> Option<&'a str> {
    let email = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)?;
    match &settings.allowed_email_domain {
        Some(domain) => email
            .rsplit_once('@')
            .filter(|(_, d)| d.eq_ignore_ascii_case(domain))
            .map(|_| email),
        None => Some(email),
    }
}

/// Matches the identity to a host of the company, or provisions one when allowed.
async fn host_for(
    app: &App,
    tenant: &Tenant,
    company: &Company,
    settings: &OidcSettings,
    identity: &Identity,
) -> AppResult<Host> {
    if let Some(host) = store::hosts::find_by_openid_sub(
        &app.db,
        tenant.reseller_id,
        tenant.company_id,
        &identity.subject,
    )
    .await?
    {
        return Ok(host);
    }
    let email = usable_email(settings, identity);
    if settings.match_email
        && let Some(email) = email
        && let Some(host) = store::hosts::find_by_email(&app.db, tenant.reseller_id, email)
            .await?
            .filter(|h| h.company_id == tenant.company_id)
    {
        return Ok(host);
    }
    if !settings.provision_hosts {
        return Err(refused(
            "Your account is not linked to a host of this company; ask your administrator",
        ));
    }
    let email = email.ok_or_else(|| {
        refused("Your account has no verified email address this company accepts")
    })?;
    if store::hosts::find_by_email(&app.db, tenant.reseller_id, email)
        .await?
        .is_some()
    {
        return Err(refused(
            "A host with your email address already exists; ask your administrator to link it",
        ));
    }
    let name = identity
        .name
        .as_deref()
        .and_then(|n| crate::tenancy::names::display_name("name", n).ok())
        .unwrap_or_else(|| email.to_string());
    let created = hosts::create(
        app,
        company,
        hosts::NewHostInput {
            company_id: company.id,
            name,
            email: email.to_string(),
            password: None,
            send_welcome_email: false,
            role: Role::Host,
            openid_sub: Some(identity.subject.clone()),
            subscription_ids: Vec::new(),
            moderator_pin: None,
            access_code: None,
        },
    )
    .await?;
    tracing::info!(
        host_id = created.host.id,
        company_id = company.id,
        "host provisioned by OpenID Connect"
    );
    Ok(created.host)
}

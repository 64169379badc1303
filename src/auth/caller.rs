//! Who is calling the API: the host behind a session or API token, with its role and scope.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    error::{AppError, AppResult},
    store::{self, Db, credentials::PresentedCredential, hosts::Host},
    tenancy::Tenant,
};

use super::{
    scope::Scope,
    token::{API_TOKEN_PREFIX, hash_secret},
};

/// Roles of the enterprise API, from widest to narrowest scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// All companies of its reseller and their hosts.
    ResellerAdmin,
    /// The hosts of its own company.
    CompanyAdmin,
    /// Only itself.
    Host,
}

impl Role {
    /// The stored / wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ResellerAdmin => "RESELLER_ADMIN",
            Role::CompanyAdmin => "COMPANY_ADMIN",
            Role::Host => "HOST",
        }
    }

    /// Parses the stored / wire spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "RESELLER_ADMIN" => Some(Role::ResellerAdmin),
            "COMPANY_ADMIN" => Some(Role::CompanyAdmin),
            "HOST" => Some(Role::Host),
            _ => None,
        }
    }
}

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session(i64),
    ApiToken(i64),
}

/// An authenticated API caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub host_id: i64,
    pub reseller_id: i64,
    pub company_id: i64,
    pub role: Role,
    pub credential: Credential,
}

impl Caller {
    /// Refuses (403) unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], method: &str) -> AppResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "Role {} may not call {method}",
                self.role.as_str()
            )))
        }
    }

    /// The caller's reach, by the one scope rule of [`Scope`].
    pub fn scope(&self) -> Scope {
        Scope {
            role: self.role,
            company_id: self.company_id,
            host_id: Some(self.host_id),
        }
    }

    /// Whether a company is inside the caller's scope.
    pub fn sees_company(&self, company_id: i64) -> bool {
        self.scope().sees_company(company_id)
    }

    /// Whether a host is inside the caller's scope (the store already scoped it to the reseller).
    pub fn sees_host(&self, host: &Host) -> bool {
        self.scope().sees_host(host)
    }
}

/// Resolves a presented token to a caller on `tenant`'s reseller.
pub async fn authenticate(db: &Db, tenant: &Tenant, token: Option<&str>) -> AppResult<Caller> {
    let token = token.map(str::trim).filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(AppError::unauthorized(
            "missing_auth_token",
            "Missing auth_token",
        ));
    };
    let invalid = || AppError::unauthorized("invalid_token", "Invalid token");
    let hash = hash_secret(token);
    let (found, credential): (PresentedCredential, fn(i64) -> Credential) =
        if token.starts_with(API_TOKEN_PREFIX) {
            let found = store::credentials::find_api_token(db, &hash)
                .await?
                .ok_or_else(invalid)?;
            (found, Credential::ApiToken)
        } else {
            let found = store::credentials::find_session(db, &hash)
                .await?
                .ok_or_else(invalid)?;
            (found, Credential::Session)
        };
    // A token is bound to the reseller that issued it; elsewhere it does not exist.
    if found.reseller_id != tenant.reseller_id {
        return Err(invalid());
    }
    if found.expires_at.is_some_and(|at| at <= store::now()) {
        return Err(AppError::unauthorized("session_expired", "Session expired"));
    }
    let host = store::hosts::get(db, tenant.reseller_id, found.host_id)
        .await?
        .ok_or_else(invalid)?;
    let role = Role::parse(&host.role).ok_or_else(|| AppError::internal("unknown stored role"))?;
    // Only an accepted token counts as used: a token refused on another reseller's domain (or
    // of a deleted host) must not look active in `api_token/list`.
    if let Credential::ApiToken(id) = credential(found.id) {
        store::credentials::touch_api_token(db, id).await?;
    }
    Ok(Caller {
        host_id: host.id,
        reseller_id: host.reseller_id,
        company_id: host.company_id,
        role,
        credential: credential(found.id),
    })
}

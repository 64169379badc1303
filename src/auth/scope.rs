//! The one scope rule: which companies and hosts an actor may see and act on. API callers,
//! conferences (through their host), conference participants and company sign-in credentials
//! (SSO secrets, OpenID Connect settings) are all judged by it, so a rule cannot differ between
//! two doors to the same object.

use super::caller::Role;
use crate::store::hosts::Host;

/// The reach of whoever acts: a caller of the API, or the admin who issued a company credential.
/// Always within one reseller (the store scopes every query to the reseller first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub role: Role,
    pub company_id: i64,
    /// The acting host, when there is one (a credential's issuer has none).
    pub host_id: Option<i64>,
}

impl Scope {
    /// What an admin of `company_id` with `role` reaches, without being any host in particular.
    pub fn issued_by(role: Role, company_id: i64) -> Self {
        Self {
            role,
            company_id,
            host_id: None,
        }
    }

    /// Whether a company is inside the scope.
    pub fn sees_company(&self, company_id: i64) -> bool {
        match self.role {
            Role::ResellerAdmin => true,
            Role::CompanyAdmin | Role::Host => company_id == self.company_id,
        }
    }

    /// Whether a host (of the same reseller) is inside the scope: a reseller admin reaches every
    /// host of its reseller; a company admin the hosts of its company except reseller admins,
    /// even in the reseller's admin company, so that nobody can take over an account of a
    /// higher rank; a host only itself.
    pub fn sees_host(&self, host: &Host) -> bool {
        match self.role {
            Role::ResellerAdmin => true,
            Role::CompanyAdmin => {
                host.company_id == self.company_id && host.role != Role::ResellerAdmin.as_str()
            }
            Role::Host => Some(host.id) == self.host_id,
        }
    }

    /// Whether lists must leave reseller admins (and what belongs to them) out.
    pub fn hides_reseller_admins(&self) -> bool {
        self.role != Role::ResellerAdmin
    }

    /// Whether `host` may be invited by id to a conference of `organiser`: a host of the
    /// organiser's company that a company admin of it would reach, or that the scope reaches.
    /// Hosts thus invite their colleagues, but only reseller admins invite reseller admins.
    pub fn may_invite(&self, organiser: &Host, host: &Host) -> bool {
        host.company_id == organiser.company_id
            && (Scope::issued_by(Role::CompanyAdmin, organiser.company_id).sees_host(host)
                || self.sees_host(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(id: i64, company_id: i64, role: Role) -> Host {
        Host {
            id,
            reseller_id: 1,
            company_id,
            name: format!("h{id}"),
            email: format!("h{id}@x.tld"),
            password_hash: None,
            role: role.as_str().to_string(),
            openid_sub: None,
            access_code: "1234567".into(),
            moderator_pin: "123456".into(),
            subscription_ids: "[]".into(),
            company_hostname: "x.tld".into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn company_admins_never_reach_reseller_admins() {
        let reseller_admin = host(1, 10, Role::ResellerAdmin);
        let colleague = host(2, 10, Role::Host);
        let foreign = host(3, 20, Role::Host);
        let ra = Scope {
            role: Role::ResellerAdmin,
            company_id: 10,
            host_id: Some(1),
        };
        let ca = Scope {
            role: Role::CompanyAdmin,
            company_id: 10,
            host_id: Some(4),
        };
        let me = Scope {
            role: Role::Host,
            company_id: 10,
            host_id: Some(2),
        };
        assert!(ra.sees_host(&reseller_admin) && ra.sees_host(&foreign));
        assert!(!ca.sees_host(&reseller_admin));
        assert!(ca.sees_host(&colleague) && !ca.sees_host(&foreign));
        assert!(me.sees_host(&colleague) && !me.sees_host(&reseller_admin));
        // A credential issued by a company admin reaches what that admin reaches.
        let issued = Scope::issued_by(Role::CompanyAdmin, 10);
        assert!(!issued.sees_host(&reseller_admin) && issued.sees_host(&colleague));
        assert!(Scope::issued_by(Role::ResellerAdmin, 10).sees_host(&reseller_admin));
        // Nobody is "itself" for an issuer without a host.
        assert!(!Scope::issued_by(Role::Host, 10).sees_host(&colleague));
    }

    #[test]
    fn invitations_follow_the_same_rule() {
        let organiser = host(2, 10, Role::Host);
        let reseller_admin = host(1, 10, Role::ResellerAdmin);
        let colleague = host(5, 10, Role::CompanyAdmin);
        let foreign = host(3, 20, Role::Host);
        let me = Scope {
            role: Role::Host,
            company_id: 10,
            host_id: Some(2),
        };
        let ra = Scope {
            role: Role::ResellerAdmin,
            company_id: 10,
            host_id: Some(1),
        };
        assert!(me.may_invite(&organiser, &colleague));
        assert!(!me.may_invite(&organiser, &reseller_admin));
        assert!(!me.may_invite(&organiser, &foreign));
        assert!(ra.may_invite(&organiser, &reseller_admin));
        assert!(!ra.may_invite(&organiser, &foreign));
    }
}

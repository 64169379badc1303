//! The brand an email speaks for: the company's effective theme (product name, sender, colours,
//! logo), so no mail names the software behind it.

use lettre::message::Mailbox;

use crate::{
    config::Config,
    error::{AppError, AppResult},
    store::{self, Db},
    tenancy::{Tenant, themes, themes::sender::SenderDomains},
};

/// Everything an email needs from the theme.
#[derive(Debug, Clone)]
pub struct Brand {
    /// Product name: signature, calendar PRODID.
    pub name: String,
    /// The reseller's domain: Message-IDs and calendar UIDs.
    pub domain: String,
    pub sender: Mailbox,
    pub primary_color: String,
    pub background_color: String,
    pub text_color: String,
    /// Absolute URL of the logo on the company's domain.
    pub logo_url: String,
    pub support_url: Option<String>,
}

impl Brand {
    /// The brand from a theme already resolved for a company at `company_hostname`.
    pub fn from_theme(
        config: &Config,
        theme: &themes::Effective,
        reseller_domain: &str,
        company_hostname: &str,
    ) -> AppResult<Self> {
        let address = match &theme.sender_email {
            Some(address) => address.parse(),
            None => format!("{}@{reseller_domain}", config.mail_from_local_part).parse(),
        }
        .map_err(|_| AppError::internal("the theme's sender is not a valid mail address"))?;
        Ok(Brand {
            name: theme.product_name.clone(),
            domain: reseller_domain.to_string(),
            sender: Mailbox::new(Some(theme.sender_name.clone()), address),
            primary_color: theme.primary_color.clone(),
            background_color: theme.background_color.clone(),
            text_color: theme.text_color.clone(),
            logo_url: format!("{}{}", config.base_url(company_hostname), theme.logo_path()),
            support_url: theme.support_url.clone(),
        })
    }

    /// The brand of the company a request came to.
    pub fn of_tenant(config: &Config, tenant: &Tenant, company_hostname: &str) -> AppResult<Self> {
        Self::from_theme(
            config,
            &tenant.theme,
            &tenant.reseller_domain,
            company_hostname,
        )
    }

    /// The brand of a company, looked up (for background jobs).
    pub async fn of_company(
        db: &Db,
        config: &Config,
        reseller_id: i64,
        company_id: i64,
        company_hostname: &str,
    ) -> AppResult<Self> {
        let reseller = store::resellers::get(db, reseller_id)
            .await?
            .ok_or_else(|| AppError::internal("mail for an unknown reseller"))?;
        let theme = themes::effective(db, reseller_id, company_id, &reseller.name).await?;
        // A sender chosen before the own-domain rule, or on a custom domain since removed, is not
        // used: the mail goes out from the default sender instead of from someone else's domain.
        if let Some(sender) = &theme.sender_email {
            let allowed =
                SenderDomains::load(db, config, &reseller.domain, Some(company_id)).await?;
            if !allowed.allows(sender) {
                tracing::warn!(company_id, %sender, "theme sender not on the tenant's domains; using the default sender");
                let mut default_sender = (*theme).clone();
                default_sender.sender_email = None;
                return Self::from_theme(
                    config,
                    &default_sender,
                    &reseller.domain,
                    company_hostname,
                );
            }
        }
        Self::from_theme(config, &theme, &reseller.domain, company_hostname)
    }

    /// A Message-ID on the reseller's domain (lettre would otherwise use this machine's name).
    pub fn message_id(&self) -> String {
        let token = crate::auth::token::hash_secret(&crate::auth::token::random_secret());
        format!("<{}@{}>", &token[..32], self.domain)
    }
}

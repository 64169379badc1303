//! Creating resellers (CLI and first start) with their admin company and admin host.

use crate::{
    app::App,
    auth::{Role, password, token},
    error::{AppError, AppResult},
    store,
};

use super::{hosts, names};

/// What `reseller create` and the first start produce.
#[derive(Debug)]
pub struct CreatedReseller {
    pub reseller_id: i64,
    pub admin_company_id: i64,
    pub admin_host_id: i64,
    pub api_hostname: String,
}

/// Creates a reseller, its admin company `reseller-admin.<domain>` and a RESELLER_ADMIN host,
/// all in one transaction.
pub async fn create(
    app: &App,
    name: &str,
    domain: &str,
    admin_email: &str,
    admin_password: &str,
) -> AppResult<CreatedReseller> {
    let name = names::display_name("name", name)?;
    let domain = names::domain("domain", domain)?;
    let admin_email = names::email("admin_email", admin_email)?;
    password::validate("admin_password", admin_password)?;
    let password_hash = password::hash(admin_password.to_string()).await?;
    let api_hostname = format!("{}.{domain}", names::ADMIN_SUBDOMAIN);

    let mut tx = app.db.begin_write().await?;
    if store::domains::exists(&mut tx, &api_hostname).await? {
        return Err(AppError::conflict(
            "duplicate_domain",
            format!("domain `{domain}` is already in use"),
        ));
    }
    let reseller_id = store::resellers::insert(&mut tx, &name, &domain)
        .await
        .map_err(|e| {
            duplicate_or(
                e,
                "duplicate_domain",
                &format!("domain `{domain}` is already in use"),
            )
        })?;
    let admin_company_id = store::companies::insert(
        &mut tx,
        &store::companies::NewCompany {
            reseller_id,
            subdomain: names::ADMIN_SUBDOMAIN,
            name: &format!("{name} administration"),
            openid_provider: false,
            primary_dialin_number: None,
            is_admin_company: true,
        },
    )
    .await?;
    store::domains::insert_primary(&mut tx, &api_hostname, admin_company_id).await?;
    let access_code = hosts::unused_access_code(&mut tx, reseller_id).await?;
    let admin_host_id = store::hosts::insert(
        &mut tx,
        &store::hosts::NewHost {
            reseller_id,
            company_id: admin_company_id,
            name: "Administrator",
            email: &admin_email,
            password_hash: Some(&password_hash),
            role: Role::ResellerAdmin.as_str(),
            openid_sub: None,
            access_code: &access_code,
            moderator_pin: &token::random_digits(7),
            login_token_hash: &token::hash_secret(&token::random_secret()),
            subscription_ids: "[]",
        },
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedReseller {
        reseller_id,
        admin_company_id,
        admin_host_id,
        api_hostname,
    })
}

/// On an empty database, creates the demo reseller on `localhost`; returns the generated
/// password when one had to be made up (so the caller can print it once).
pub async fn bootstrap_demo(app: &App) -> AppResult<Option<(CreatedReseller, Option<String>)>> {
    if store::resellers::count(&app.db).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match &app.config.bootstrap_password {
        Some(pw) => (pw.clone(), None),
        None => {
            let pw = token::random_secret()[..20].to_string();
            (pw.clone(), Some(pw))
        }
    };
    let created = create(
        app,
        "Confab Demo",
        "localhost",
        "admin@localhost",
        &password,
    )
    .await?;
    Ok(Some((created, generated)))
}

/// Maps a unique violation to a named 409, anything else to an internal error.
pub fn duplicate_or(err: sqlx::Error, code: &'static str, message: &str) -> AppError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => AppError::conflict(code, message),
        _ => AppError::internal(err),
    }
}

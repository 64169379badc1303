//! Host rules: creation with generated codes and secrets, onboarding email, updates, deletion.

use lettre::message::Mailbox;
use sqlx::AnyConnection;

use crate::{
    app::App,
    auth::{Role, password, token},
    error::{AppError, AppResult},
    mail,
    store::{self, hosts::Host},
};

use super::resellers::duplicate_or;

/// Length of generated access codes (the seed's personal room codes have 7 digits).
pub const ACCESS_CODE_LEN: usize = 7;
/// Accepted lengths of access codes and moderator PINs given by the caller.
pub const CODE_DIGITS: (usize, usize) = (4, 12);

/// Validated input of a new host.
pub struct NewHostInput {
    pub company_id: i64,
    pub name: String,
    pub email: String,
    pub password: Option<String>,
    pub send_welcome_email: bool,
    pub role: Role,
    pub openid_sub: Option<String>,
    pub subscription_ids: Vec<i64>,
    pub moderator_pin: Option<String>,
    pub access_code: Option<String>,
}

/// A created host with the secrets shown only now.
pub struct CreatedHost {
    pub host: Host,
    pub login_token: String,
    pub password_creation_link: String,
}

/// The personal meeting room URL of a host.
pub fn meeting_url(app: &App, host: &Host) -> String {
    format!(
        "{}/conf/call/{}",
        app.config.base_url(&host.company_hostname),
        host.access_code
    )
}

/// The host's personal room as a live stream.
pub fn livestream_url(app: &App, host: &Host) -> String {
    format!(
        "{}/livestream/{}",
        app.config.base_url(&host.company_hostname),
        host.access_code
    )
}

/// Picks a random access code not used in the reseller.
pub async fn unused_access_code(conn: &mut AnyConnection, reseller_id: i64) -> AppResult<String> {
    for _ in 0..50 {
        let code = token::random_digits(ACCESS_CODE_LEN);
        if !store::hosts::access_code_taken(conn, reseller_id, &code, 0).await?
            && !store::conferences::access_code_taken(conn, reseller_id, &code, 0).await?
        {
            return Ok(code);
        }
    }
    Err(AppError::internal("could not find a free access code"))
}

/// Creates a password link for a host and returns its URL.
async fn new_password_link(
    app: &App,
    conn: &mut AnyConnection,
    host_id: i64,
    company_hostname: &str,
) -> AppResult<String> {
    let secret = token::random_secret();
    let expires_at = store::now() + app.config.password_link_ttl_secs;
    store::credentials::insert_password_link(
        conn,
        &token::hash_secret(&secret),
        host_id,
        expires_at,
    )
    .await?;
    Ok(format!(
        "{}/password/create/{secret}",
        app.config.base_url(company_hostname)
    ))
}

/// Creates a host in `company` (already checked to be in the caller's scope).
pub async fn create(
    app: &App,
    company: &store::companies::Company,
    input: NewHostInput,
) -> AppResult<CreatedHost> {
    let password_hash = match input.password {
        Some(pw) => Some(password::hash(pw).await?),
        None => None,
    };
    let login_token = token::random_secret();
    let reseller_id = company.reseller_id;

    let mut tx = app.db.begin_write().await?;
    if store::hosts::email_taken(&mut tx, reseller_id, &input.email, 0).await? {
        return Err(duplicate_email(&input.email));
    }
    let access_code = match input.access_code {
        Some(code) => {
            if store::hosts::access_code_taken(&mut tx, reseller_id, &code, 0).await?
                || store::conferences::access_code_taken(&mut tx, reseller_id, &code, 0).await?
            {
                return Err(duplicate_access_code(&code));
            }
            code
        }
        None => unused_access_code(&mut tx, reseller_id).await?,
    };
    let moderator_pin = input
        .moderator_pin
        .unwrap_or_else(|| token::random_digits(7));
    let subscription_ids =
        serde_json::to_string(&input.subscription_ids).map_err(AppError::internal)?;
    let id = store::hosts::insert(
        &mut tx,
        &store::hosts::NewHost {
            reseller_id,
            company_id: company.id,
            name: &input.name,
            email: &input.email,
            password_hash: password_hash.as_deref(),
            role: input.role.as_str(),
            openid_sub: input.openid_sub.as_deref(),
            access_code: &access_code,
            moderator_pin: &moderator_pin,
            login_token_hash: &token::hash_secret(&login_token),
            subscription_ids: &subscription_ids,
        },
    )
    .await
    .map_err(|e| duplicate_or(e, "duplicate", "email or access code is already in use"))?;
    let link = new_password_link(app, &mut tx, id, &company.hostname).await?;
    let now = store::now();
    let host = Host {
        id,
        reseller_id,
        company_id: company.id,
        name: input.name,
        email: input.email,
        password_hash,
        role: input.role.as_str().to_string(),
        openid_sub: input.openid_sub,
        access_code,
        moderator_pin,
        subscription_ids,
        company_hostname: company.hostname.clone(),
        created_at: now,
        updated_at: now,
    };
    if input.send_welcome_email {
        queue_welcome_email(app, &mut tx, &host, &company.name, &link).await?;
    }
    tx.commit().await?;
    app.mail_wake.notify_one();
    Ok(CreatedHost {
        host,
        login_token,
        password_creation_link: link,
    })
}

async fn queue_welcome_email(
    app: &App,
    conn: &mut AnyConnection,
    host: &Host,
    company_name: &str,
    link: &str,
) -> AppResult<()> {
    // The company's theme decides the sender, name and colours of the mail.
    let brand = mail::brand::Brand::of_company(
        &app.db,
        &app.config,
        host.reseller_id,
        host.company_id,
        &host.company_hostname,
    )
    .await?;
    let to_address = host
        .email
        .parse()
        .map_err(|_| AppError::invalid_field("email", "cannot receive mail"))?;
    let to = Mailbox::new(Some(host.name.clone()), to_address);
    let message = mail::messages::welcome(
        to,
        &mail::messages::Welcome {
            brand: &brand,
            host_name: &host.name,
            company_name,
            meeting_url: &meeting_url(app, host),
            password_link: link,
            link_valid_days: (app.config.password_link_ttl_secs / 86_400).max(1),
        },
    )?;
    mail::enqueue(conn, &message).await
}

/// Saves a host whose fields the caller changed. A new password is hashed and ends the host's
/// other sessions; losing an admin role removes its API tokens; the last reseller admin stays.
pub async fn save(
    app: &App,
    before: &Host,
    mut after: Host,
    new_password: Option<String>,
    calling_session: Option<i64>,
) -> AppResult<Host> {
    let password_changed = new_password.is_some();
    if let Some(pw) = new_password {
        after.password_hash = Some(password::hash(pw).await?);
    }
    let reseller_admin = Role::ResellerAdmin.as_str();
    let mut tx = app.db.begin_write().await?;
    if before.role == reseller_admin
        && after.role != reseller_admin
        && store::credentials::count_reseller_admins(&mut tx, after.reseller_id).await? <= 1
    {
        return Err(AppError::conflict(
            "last_reseller_admin",
            "The last reseller admin cannot lose its role",
        ));
    }
    if password_changed {
        store::credentials::delete_sessions_of_host(&mut tx, after.id, calling_session).await?;
        store::browser_sessions::delete_of_host(&mut tx, after.id).await?;
    }
    if after.role == Role::Host.as_str() && before.role != after.role {
        store::credentials::delete_api_tokens_of_host(&mut tx, after.id).await?;
    }
    if after.email != before.email
        && store::hosts::email_taken(&mut tx, after.reseller_id, &after.email, after.id).await?
    {
        return Err(duplicate_email(&after.email));
    }
    if after.access_code != before.access_code
        && (store::hosts::access_code_taken(
            &mut tx,
            after.reseller_id,
            &after.access_code,
            after.id,
        )
        .await?
            || store::conferences::access_code_taken(
                &mut tx,
                after.reseller_id,
                &after.access_code,
                0,
            )
            .await?)
    {
        return Err(duplicate_access_code(&after.access_code));
    }
    store::hosts::update(&mut tx, &after)
        .await
        .map_err(|e| duplicate_or(e, "duplicate", "email or access code is already in use"))?;
    tx.commit().await?;
    Ok(after)
}

/// Issues a new SSO login token; the old one stops working.
pub async fn reset_login_token(app: &App, host: &Host) -> AppResult<String> {
    let login_token = token::random_secret();
    let mut tx = app.db.begin_write().await?;
    store::hosts::set_login_token_hash(
        &mut tx,
        host.reseller_id,
        host.id,
        &token::hash_secret(&login_token),
    )
    .await?;
    // A reset usually means the old key leaked: sessions opened with it end too.
    store::browser_sessions::delete_of_host(&mut tx, host.id).await?;
    tx.commit().await?;
    Ok(login_token)
}

/// Deletes a host and its credentials.
pub async fn delete(app: &App, host: &Host) -> AppResult<()> {
    let mut tx = app.db.begin_write().await?;
    // Its conferences go with it; where it was invited, it stays invited by email.
    store::conferences::remove_host(&mut tx, host.reseller_id, host.id).await?;
    if !store::hosts::delete(&mut tx, host.reseller_id, host.id).await? {
        return Err(AppError::not_found("Host"));
    }
    tx.commit().await?;
    Ok(())
}

/// Sets a password from a password creation link, spending the link.
pub async fn set_password_from_link(
    app: &App,
    link_id: i64,
    host_id: i64,
    password: String,
) -> AppResult<()> {
    let hash = password::hash(password).await?;
    let mut tx = app.db.begin_write().await?;
    if !store::credentials::consume_password_link(&mut tx, link_id).await? {
        return Err(AppError::new(
            axum::http::StatusCode::GONE,
            "link_used",
            "This link has already been used",
        ));
    }
    store::hosts::set_password_hash(&mut tx, host_id, &hash).await?;
    store::credentials::delete_sessions_of_host(&mut tx, host_id, None).await?;
    store::browser_sessions::delete_of_host(&mut tx, host_id).await?;
    tx.commit().await?;
    Ok(())
}

fn duplicate_email(email: &str) -> AppError {
    AppError::conflict(
        "duplicate_email",
        format!("email `{email}` is already in use"),
    )
}

fn duplicate_access_code(code: &str) -> AppError {
    AppError::conflict(
        "duplicate_access_code",
        format!("access_code `{code}` is already in use"),
    )
}

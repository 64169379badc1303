//! Company rules: creation under a reseller, subdomain changes, deletion with everything inside.

use crate::{
    app::App,
    error::{AppError, AppResult},
    store::{self, companies::Company},
};

use super::{names, resellers::duplicate_or};

/// Validated input of a new company.
pub struct NewCompanyInput {
    pub subdomain: String,
    pub name: String,
    pub openid_provider: bool,
    pub primary_dialin_number: Option<String>,
}

/// Checks a dial-in number: digits with `+ - ( ) space`, at most 32 characters.
pub fn dialin_number(value: Option<&str>) -> AppResult<Option<String>> {
    let Some(number) = names::optional_text("primary_dialin_number", value, 32)? else {
        return Ok(None);
    };
    if !number
        .chars()
        .all(|c| c.is_ascii_digit() || "+-() .".contains(c))
    {
        return Err(AppError::invalid_field(
            "primary_dialin_number",
            "must be a phone number",
        ));
    }
    Ok(Some(number))
}

/// Meeting controls a company may hide: the button names of the embedding `hideButtons` option.
pub const CONTROLS: &[&str] = &[
    "camera",
    "chat",
    "closedcaptions",
    "desktop",
    "download",
    "embedmeeting",
    "filmstrip",
    "fullscreen",
    "hangup",
    "invite",
    "livestreaming",
    "microphone",
    "mute-everyone",
    "mute-video-everyone",
    "participants-pane",
    "raisehand",
    "recording",
    "security",
    "select-background",
    "settings",
    "sharedvideo",
    "shortcuts",
    "stats",
    "tileview",
    "toggle-camera",
    "videoquality",
    "white-board",
];

/// Checks a list of hidden controls: known names only, each once, in the given order.
pub fn hidden_controls(values: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let name = value.trim().to_ascii_lowercase();
        if !CONTROLS.contains(&name.as_str()) {
            return Err(AppError::invalid_field(
                "hidden_controls",
                format!(
                    "`{value}` is not a meeting control ({})",
                    CONTROLS.join(", ")
                ),
            ));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

fn hostname_for(subdomain: &str, reseller_domain: &str) -> String {
    format!("{subdomain}.{reseller_domain}")
}

fn duplicate_subdomain(subdomain: &str) -> AppError {
    AppError::conflict(
        "duplicate_subdomain",
        format!("subdomain `{subdomain}` is already in use"),
    )
}

/// Creates a company reachable at `<subdomain>.<reseller domain>`.
pub async fn create(
    app: &App,
    reseller_id: i64,
    reseller_domain: &str,
    input: NewCompanyInput,
) -> AppResult<i64> {
    let hostname = hostname_for(&input.subdomain, reseller_domain);
    let mut tx = app.db.begin_write().await?;
    if store::companies::subdomain_taken(&mut tx, reseller_id, &input.subdomain).await?
        || store::domains::exists(&mut tx, &hostname).await?
    {
        return Err(duplicate_subdomain(&input.subdomain));
    }
    let id = store::companies::insert(
        &mut tx,
        &store::companies::NewCompany {
            reseller_id,
            subdomain: &input.subdomain,
            name: &input.name,
            openid_provider: input.openid_provider,
            primary_dialin_number: input.primary_dialin_number.as_deref(),
            is_admin_company: false,
        },
    )
    .await
    .map_err(|e| duplicate_or(e, "duplicate_subdomain", "subdomain is already in use"))?;
    store::domains::insert_primary(&mut tx, &hostname, id)
        .await
        .map_err(|e| duplicate_or(e, "duplicate_subdomain", "subdomain is already in use"))?;
    tx.commit().await?;
    Ok(id)
}

/// Saves changed fields; a new subdomain moves the company's primary hostname with it.
pub async fn save(
    app: &App,
    reseller_domain: &str,
    before: &Company,
    after: &Company,
) -> AppResult<()> {
    let mut tx = app.db.begin_write().await?;
    if after.subdomain != before.subdomain {
        if before.is_admin_company {
            return Err(AppError::invalid_field(
                "subdomain",
                "the reseller's admin company keeps its subdomain",
            ));
        }
        let hostname = hostname_for(&after.subdomain, reseller_domain);
        if store::companies::subdomain_taken(&mut tx, after.reseller_id, &after.subdomain).await?
            || store::domains::exists(&mut tx, &hostname).await?
        {
            return Err(duplicate_subdomain(&after.subdomain));
        }
        store::domains::replace_primary(&mut tx, after.id, &hostname)
            .await
            .map_err(|e| duplicate_or(e, "duplicate_subdomain", "subdomain is already in use"))?;
    }
    store::companies::update(&mut tx, after)
        .await
        .map_err(|e| duplicate_or(e, "duplicate_subdomain", "subdomain is already in use"))?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a company with its hosts, their credentials and its domains, atomically.
pub async fn delete(app: &App, company: &Company) -> AppResult<()> {
    if company.is_admin_company {
        return Err(AppError::conflict(
            "admin_company",
            "The reseller's admin company cannot be deleted",
        ));
    }
    let mut tx = app.db.begin_write().await?;
    store::conferences::remove_company(&mut tx, company.reseller_id, company.id).await?;
    if !store::companies::delete(&mut tx, company.reseller_id, company.id).await? {
        return Err(AppError::not_found("Company"));
    }
    tx.commit().await?;
    Ok(())
}

//! Stored theme layers (a reseller's brand, company overrides) and uploaded brand images.

use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{Db, now};

/// `company_id` of a reseller's own layer.
pub const RESELLER_LAYER: i64 = 0;

/// One stored layer; `None` inherits from the layer below.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    pub product_name: Option<String>,
    /// Name of an uploaded image (`<hash>.<ext>`), served at `/brand/<name>`.
    pub logo: Option<String>,
    pub favicon: Option<String>,
    pub primary_color: Option<String>,
    pub accent_color: Option<String>,
    pub background_color: Option<String>,
    pub text_color: Option<String>,
    pub base_theme: Option<String>,
    pub sender_name: Option<String>,
    pub sender_email: Option<String>,
    pub support_url: Option<String>,
}

const COLUMNS: &str = "product_name, logo, favicon, primary_color, accent_color, background_color,
    text_color, base_theme, sender_name, sender_email, support_url";

fn from_row(r: &AnyRow) -> sqlx::Result<Layer> {
    Ok(Layer {
        product_name: r.try_get("product_name")?,
        logo: r.try_get("logo")?,
        favicon: r.try_get("favicon")?,
        primary_color: r.try_get("primary_color")?,
        accent_color: r.try_get("accent_color")?,
        background_color: r.try_get("background_color")?,
        text_color: r.try_get("text_color")?,
        base_theme: r.try_get("base_theme")?,
        sender_name: r.try_get("sender_name")?,
        sender_email: r.try_get("sender_email")?,
        support_url: r.try_get("support_url")?,
    })
}

/// The reseller layer and the company layer of one company, in one query.
pub async fn layers(
    db: &Db,
    reseller_id: i64,
    company_id: i64,
) -> sqlx::Result<(Option<Layer>, Option<Layer>)> {
    let sql = format!(
        "SELECT company_id, {COLUMNS} FROM themes WHERE reseller_id = $1 AND company_id IN ($2, $3)"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reseller_id)
        .bind(RESELLER_LAYER)
        .bind(company_id)
        .fetch_all(&db.pool)
        .await?;
    let (mut reseller, mut company) = (None, None);
    for row in &rows {
        let layer = from_row(row)?;
        if row.try_get::<i64, _>("company_id")? == RESELLER_LAYER {
            reseller = Some(layer);
        } else {
            company = Some(layer);
        }
    }
    Ok((reseller, company))
}

/// Writes one layer whole (insert or replace), in the caller's transaction.
pub async fn save(
    conn: &mut AnyConnection,
    reseller_id: i64,
    company_id: i64,
    layer: &Layer,
) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO themes (reseller_id, company_id, {COLUMNS}, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (reseller_id, company_id) DO UPDATE SET
            product_name = excluded.product_name, logo = excluded.logo, favicon = excluded.favicon,
            primary_color = excluded.primary_color, accent_color = excluded.accent_color,
            background_color = excluded.background_color, text_color = excluded.text_color,
            base_theme = excluded.base_theme, sender_name = excluded.sender_name,
            sender_email = excluded.sender_email, support_url = excluded.support_url,
            updated_at = excluded.updated_at"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reseller_id)
        .bind(company_id)
        .bind(&layer.product_name)
        .bind(&layer.logo)
        .bind(&layer.favicon)
        .bind(&layer.primary_color)
        .bind(&layer.accent_color)
        .bind(&layer.background_color)
        .bind(&layer.text_color)
        .bind(&layer.base_theme)
        .bind(&layer.sender_name)
        .bind(&layer.sender_email)
        .bind(&layer.support_url)
        .bind(now())
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a company's layer (when the company is deleted).
pub async fn delete_company_layer(conn: &mut AnyConnection, company_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM themes WHERE company_id = $1")
        .bind(company_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores an uploaded image under its content name; the same image twice is stored once.
pub async fn put_image(
    conn: &mut AnyConnection,
    reseller_id: i64,
    name: &str,
    mime: &str,
    data_base64: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO brand_images (reseller_id, name, mime, data_base64, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (reseller_id, name) DO NOTHING",
    )
    .bind(reseller_id)
    .bind(name)
    .bind(mime)
    .bind(data_base64)
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

/// An uploaded image of a reseller: its MIME type and base64 bytes.
pub async fn image(
    db: &Db,
    reseller_id: i64,
    name: &str,
) -> sqlx::Result<Option<(String, String)>> {
    sqlx::query("SELECT mime, data_base64 FROM brand_images WHERE reseller_id = $1 AND name = $2")
        .bind(reseller_id)
        .bind(name)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| Ok((r.try_get("mime")?, r.try_get("data_base64")?)))
        .transpose()
}

/// One layer, read inside the caller's (write) transaction.
pub async fn layer(
    conn: &mut AnyConnection,
    reseller_id: i64,
    company_id: i64,
) -> sqlx::Result<Option<Layer>> {
    let sql = format!("SELECT {COLUMNS} FROM themes WHERE reseller_id = $1 AND company_id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reseller_id)
        .bind(company_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

//! Themes: built-in looks from `themes/*.toml`, a reseller's brand and company overrides, merged
//! into the effective theme of a request (company → reseller → built-in default).

pub mod builtin;
pub mod input;
pub mod sender;

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::store::{self, Db, themes::Layer};

pub use builtin::Builtin;

/// The base stylesheet every theme builds on; the theme's custom properties follow it.
const BASE_CSS: &str = include_str!("../../../static/base.css");

/// What a tenant's pages and emails look like and say, after merging the layers.
#[derive(Debug, Clone)]
pub struct Effective {
    pub product_name: String,
    pub builtin: &'static Builtin,
    /// Uploaded logo name (`<hash>.<ext>`), or `None` for the built-in mark.
    pub logo: Option<String>,
    pub favicon: Option<String>,
    pub primary_color: String,
    pub accent_color: String,
    pub background_color: String,
    pub text_color: String,
    pub sender_name: String,
    /// `None`: the configured local part at the reseller's domain.
    pub sender_email: Option<String>,
    pub support_url: Option<String>,
    /// The whole stylesheet (base rules plus this theme's custom properties).
    pub css: String,
    /// Short content hash of `css`, part of its URL so browsers may cache it forever.
    pub css_hash: String,
}

fn pick(
    company: Option<&Layer>,
    reseller: Option<&Layer>,
    get: fn(&Layer) -> &Option<String>,
) -> Option<String> {
    company
        .and_then(|l| get(l).clone())
        .or_else(|| reseller.and_then(|l| get(l).clone()))
}

impl Effective {
    /// Merges the layers; `default_product` (the reseller's name) names the product when no
    /// layer does.
    pub fn merge(default_product: &str, reseller: Option<&Layer>, company: Option<&Layer>) -> Self {
        let builtin = pick(company, reseller, |l| &l.base_theme)
            .and_then(|name| builtin::find(&name))
            .unwrap_or_else(builtin::default_theme);
        let product_name =
            pick(company, reseller, |l| &l.product_name).unwrap_or_else(|| default_product.into());
        let colors = &builtin.colors;
        let mut theme = Effective {
            sender_name: pick(company, reseller, |l| &l.sender_name)
                .unwrap_or_else(|| product_name.clone()),
            product_name,
            builtin,
            logo: pick(company, reseller, |l| &l.logo),
            favicon: pick(company, reseller, |l| &l.favicon),
            primary_color: pick(company, reseller, |l| &l.primary_color)
                .unwrap_or_else(|| colors.primary.clone()),
            accent_color: pick(company, reseller, |l| &l.accent_color)
                .unwrap_or_else(|| colors.accent.clone()),
            background_color: pick(company, reseller, |l| &l.background_color)
                .unwrap_or_else(|| colors.background.clone()),
            text_color: pick(company, reseller, |l| &l.text_color)
                .unwrap_or_else(|| colors.text.clone()),
            sender_email: pick(company, reseller, |l| &l.sender_email),
            support_url: pick(company, reseller, |l| &l.support_url),
            css: String::new(),
            css_hash: String::new(),
        };
        theme.css = theme.render_css();
        let digest = Sha256::digest(theme.css.as_bytes());
        theme.css_hash = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        theme
    }

    /// The built-in default look under a neutral name, for hosts that belong to no tenant.
    pub fn neutral() -> Self {
        Self::merge("Meetings", None, None)
    }

    fn render_css(&self) -> String {
        let c = &self.builtin.colors;
        // Values were validated (`#rgb`/`#rrggbb`) or come from our own files: nothing to escape.
        format!(
            "{BASE_CSS}\n/* Theme: {name} */\n:root {{\n  --bg: {bg};\n  --surface: {surface};\n  --text: {text};\n  \
             --muted: {muted};\n  --border: {border};\n  --input-border: {input};\n  --primary: {primary};\n  \
             --primary-text: {primary_text};\n  --accent: {accent};\n  --danger: {danger};\n  \
             --danger-surface: {danger_surface};\n  --font: {font};\n  color-scheme: {scheme};\n}}\n",
            name = self.builtin.name,
            bg = self.background_color,
            surface = c.surface,
            text = self.text_color,
            muted = c.muted,
            border = c.border,
            input = c.input_border,
            primary = self.primary_color,
            primary_text = c.primary_text,
            accent = self.accent_color,
            danger = c.danger,
            danger_surface = c.danger_surface,
            font = self.builtin.font,
            scheme = if self.builtin.name == "dark" {
                "dark"
            } else {
                "light"
            },
        )
    }

    /// Path of the themed stylesheet.
    pub fn css_path(&self) -> String {
        format!("/theme/{}.css", self.css_hash)
    }

    /// Path of the logo on the tenant's own domain.
    pub fn logo_path(&self) -> String {
        match &self.logo {
            Some(name) => format!("/brand/{name}"),
            None => format!("/brand/builtin-{}.svg", self.builtin.name),
        }
    }

    /// Path of the favicon: the uploaded one, else the logo.
    pub fn favicon_path(&self) -> String {
        match &self.favicon {
            Some(name) => format!("/brand/{name}"),
            None => self.logo_path(),
        }
    }
}

/// Loads the effective theme of a company (one short query).
pub async fn effective(
    db: &Db,
    reseller_id: i64,
    company_id: i64,
    reseller_name: &str,
) -> sqlx::Result<Arc<Effective>> {
    let (reseller, company) = store::themes::layers(db, reseller_id, company_id).await?;
    Ok(Arc::new(Effective::merge(
        reseller_name,
        reseller.as_ref(),
        company.as_ref(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_overrides_reseller_overrides_builtin() {
        let reseller = Layer {
            product_name: Some("Acme Meet".into()),
            primary_color: Some("#ff0000".into()),
            base_theme: Some("dark".into()),
            ..Layer::default()
        };
        let company = Layer {
            primary_color: Some("#00ff00".into()),
            ..Layer::default()
        };
        let theme = Effective::merge("Acme", Some(&reseller), Some(&company));
        assert_eq!(theme.product_name, "Acme Meet");
        assert_eq!(theme.primary_color, "#00ff00");
        assert_eq!(theme.builtin.name, "dark");
        assert_eq!(theme.sender_name, "Acme Meet");
        let plain = Effective::merge("Acme", None, None);
        assert_eq!(plain.product_name, "Acme");
        assert_eq!(plain.builtin.name, "light");
        assert_ne!(plain.css_hash, theme.css_hash);
        assert!(theme.css.contains("--primary: #00ff00;"));
    }
}

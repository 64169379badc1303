//! Validation of theme input: every field is checked before anything is written, so a bad field
//! answers 400 naming it and leaves the stored theme as it was.

use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

use super::{builtin, sender::SenderDomains};
use crate::{
    error::{AppError, AppResult},
    store::themes::Layer,
    tenancy::names,
};

/// Largest accepted logo, in decoded bytes.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
/// Largest accepted favicon, in decoded bytes.
pub const MAX_FAVICON_BYTES: usize = 64 * 1024;

/// Changes asked for: `None` keeps a field, `Some("")` clears it (inherit), else sets it.
#[derive(Debug, Default)]
pub struct Patch<'a> {
    pub product_name: Option<&'a str>,
    pub logo: Option<&'a str>,
    pub favicon: Option<&'a str>,
    pub primary_color: Option<&'a str>,
    pub accent_color: Option<&'a str>,
    pub background_color: Option<&'a str>,
    pub text_color: Option<&'a str>,
    pub theme: Option<&'a str>,
    pub sender_name: Option<&'a str>,
    pub sender_email: Option<&'a str>,
    pub support_url: Option<&'a str>,
}

/// A validated image upload, named by its content.
#[derive(Debug, Clone)]
pub struct Image {
    pub name: String,
    pub mime: &'static str,
    pub base64: String,
}

/// Applies `patch` to `before`, returning the new layer and the images it needs stored.
/// `senders` are the mail domains this layer may send from.
pub fn apply(
    before: &Layer,
    patch: &Patch<'_>,
    senders: &SenderDomains,
) -> AppResult<(Layer, Vec<Image>)> {
    let mut after = before.clone();
    let mut images = Vec::new();
    set(&mut after.product_name, patch.product_name, |v| {
        names::display_name("product_name", v)
    })?;
    set(&mut after.sender_name, patch.sender_name, |v| {
        names::display_name("sender_name", v)
    })?;
    set(&mut after.sender_email, patch.sender_email, |v| {
        let email = sender_email(v)?;
        senders.check(&email)?;
        Ok(email)
    })?;
    set(&mut after.support_url, patch.support_url, support_url)?;
    set(&mut after.base_theme, patch.theme, theme_name)?;
    set(&mut after.primary_color, patch.primary_color, |v| {
        color("primary_color", v)
    })?;
    set(&mut after.accent_color, patch.accent_color, |v| {
        color("accent_color", v)
    })?;
    set(&mut after.background_color, patch.background_color, |v| {
        color("background_color", v)
    })?;
    set(&mut after.text_color, patch.text_color, |v| {
        color("text_color", v)
    })?;
    set(&mut after.logo, patch.logo, |v| {
        let img = image("logo", v, MAX_LOGO_BYTES)?;
        let name = img.name.clone();
        images.push(img);
        Ok(name)
    })?;
    set(&mut after.favicon, patch.favicon, |v| {
        let img = image("favicon", v, MAX_FAVICON_BYTES)?;
        let name = img.name.clone();
        images.push(img);
        Ok(name)
    })?;
    Ok((after, images))
}

fn set(
    slot: &mut Option<String>,
    value: Option<&str>,
    mut check: impl FnMut(&str) -> AppResult<String>,
) -> AppResult<()> {
    match value.map(str::trim) {
        None => {}
        Some("") => *slot = None,
        Some(v) => *slot = Some(check(v)?),
    }
    Ok(())
}

/// `#rgb` or `#rrggbb`, lowercased. Nothing else, so a value can never break out of the CSS.
pub fn color(field: &str, value: &str) -> AppResult<String> {
    let hex = value.strip_prefix('#').unwrap_or("");
    let ok = matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(AppError::invalid_field(
            field,
            format!("`{value}` is not a colour; use #rgb or #rrggbb"),
        ));
    }
    Ok(format!("#{}", hex.to_ascii_lowercase()))
}

fn theme_name(value: &str) -> AppResult<String> {
    builtin::find(value).map(|t| t.name.clone()).ok_or_else(|| {
        AppError::invalid_field(
            "theme",
            format!(
                "`{value}` is not a built-in theme ({})",
                builtin::names().join(", ")
            ),
        )
    })
}

fn sender_email(value: &str) -> AppResult<String> {
    let email = names::email("sender_email", value)?;
    // Mail headers need an address lettre accepts too.
    email
        .parse::<lettre::Address>()
        .map_err(|_| AppError::invalid_field("sender_email", "is not a valid email address"))?;
    Ok(email)
}

fn support_url(value: &str) -> AppResult<String> {
    if value.len() > 2048 {
        return Err(AppError::invalid_field(
            "support_url",
            "must be at most 2048 characters",
        ));
    }
    let url = url::Url::parse(value)
        .map_err(|_| AppError::invalid_field("support_url", "is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(AppError::invalid_field(
            "support_url",
            "must be an http or https URL",
        ));
    }
    Ok(url.to_string())
}

/// A base64 PNG, JPEG or WebP (a `data:` URL prefix is allowed), recognised by its first bytes.
/// SVG is refused: it can carry script.
pub fn image(field: &str, value: &str, max_bytes: usize) -> AppResult<Image> {
    let payload = match value.strip_prefix("data:") {
        Some(rest) => rest.split_once(',').map_or("", |(_, data)| data),
        None => value,
    };
    // Base64 is 4/3 of the bytes: refuse oversized input before decoding it.
    if payload.len() > max_bytes / 3 * 4 + 8 {
        return Err(too_big(field, max_bytes));
    }
    let bytes = STANDARD
        .decode(payload.trim())
        .map_err(|_| AppError::invalid_field(field, "is not valid base64"))?;
    if bytes.len() > max_bytes {
        return Err(too_big(field, max_bytes));
    }
    let (mime, ext) = sniff(&bytes).ok_or_else(|| {
        AppError::invalid_field(
            field,
            "must be a PNG, JPEG or WebP image (SVG is not accepted)",
        )
    })?;
    let digest = Sha256::digest(&bytes);
    let hash: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    Ok(Image {
        name: format!("{hash}.{ext}"),
        mime,
        base64: STANDARD.encode(&bytes),
    })
}

fn too_big(field: &str, max_bytes: usize) -> AppError {
    AppError::invalid_field(field, format!("must be at most {} KiB", max_bytes / 1024))
}

fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert_eq!(color("c", "#ABC").unwrap(), "#abc");
        assert_eq!(color("c", "#00ff00").unwrap(), "#00ff00");
        for bad in ["red", "#abcd", "#ggg", "00ff00", "#00ff00;}", ""] {
            assert!(color("c", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn images_by_magic_bytes() {
        let png = STANDARD.encode(b"\x89PNG\r\n\x1a\nrest");
        assert!(image("logo", &png, 1024).unwrap().name.ends_with(".png"));
        let data_url = format!("data:image/png;base64,{png}");
        assert!(image("logo", &data_url, 1024).is_ok());
        let svg = STANDARD.encode(b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>");
        assert!(image("logo", &svg, 1024).is_err());
        assert!(image("logo", "not base64!", 1024).is_err());
        let big = STANDARD.encode([0xFF, 0xD8, 0xFF].repeat(400));
        assert!(image("logo", &big, 1024).is_err());
    }

    #[test]
    fn urls_and_clearing() {
        assert!(support_url("javascript:alert(1)").is_err());
        assert!(support_url("https://help.example.com/x").is_ok());
        let before = Layer {
            product_name: Some("Old".into()),
            ..Layer::default()
        };
        let patch = Patch {
            product_name: Some(""),
            ..Patch::default()
        };
        let senders = SenderDomains::new([]);
        assert_eq!(
            apply(&before, &patch, &senders).unwrap().0.product_name,
            None
        );
    }
}

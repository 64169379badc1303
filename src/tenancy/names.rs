//! Validated values that come from API input: DNS labels, domains, emails, display names, codes.

use crate::error::{AppError, AppResult};

/// Subdomains a company may not take.
const RESERVED_SUBDOMAINS: &[&str] = &["reseller-admin", "www", "api", "admin", "static", "media"];

/// The subdomain of every reseller's own admin company.
pub const ADMIN_SUBDOMAIN: &str = "reseller-admin";

/// A DNS label: 1–63 of `a-z 0-9 -`, not starting or ending with `-`. Input is lowercased.
pub fn dns_label(field: &str, value: &str) -> AppResult<String> {
    let label = value.trim().to_ascii_lowercase();
    if label.is_empty() || label.len() > 63 {
        return Err(AppError::invalid_field(field, "must be 1 to 63 characters"));
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(AppError::invalid_field(
            field,
            "may contain only letters, digits and hyphens",
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(AppError::invalid_field(
            field,
            "may not start or end with a hyphen",
        ));
    }
    Ok(label)
}

/// A company subdomain: a DNS label that is not reserved.
pub fn company_subdomain(value: &str) -> AppResult<String> {
    let label = dns_label("subdomain", value)?;
    if RESERVED_SUBDOMAINS.contains(&label.as_str()) {
        return Err(AppError::invalid_field(
            "subdomain",
            format!("`{label}` is reserved"),
        ));
    }
    Ok(label)
}

/// A domain name of one or more DNS labels (`localhost`, `reseller.tld`).
pub fn domain(field: &str, value: &str) -> AppResult<String> {
    let domain = value.trim().trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() || domain.len() > 253 {
        return Err(AppError::invalid_field(
            field,
            "must be 1 to 253 characters",
        ));
    }
    for label in domain.split('.') {
        dns_label(field, label)?;
    }
    Ok(domain)
}

/// An email address, lowercased. Deliberately simple: one `@`, a dotted or `localhost` domain.
pub fn email(field: &str, value: &str) -> AppResult<String> {
    let email = value.trim().to_ascii_lowercase();
    let bad = || {
        AppError::invalid_field(
            field,
            format!("`{}` is not a valid email address", value.trim()),
        )
    };
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain_part) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty() || local.len() > 64 || domain_part.contains('@') {
        return Err(bad());
    }
    domain(field, domain_part).map_err(|_| bad())?;
    Ok(email)
}

/// A display name: without bidirectional controls, trimmed, 1–200 characters, no control
/// characters.
pub fn display_name(field: &str, value: &str) -> AppResult<String> {
    let name = without_bidi_controls(value);
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid_field(field, "must not be empty"));
    }
    if name.chars().count() > 200 {
        return Err(AppError::invalid_field(
            field,
            "must be at most 200 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid_field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(name.to_string())
}

/// Whether a character is a bidirectional formatting control: embeddings and overrides
/// (U+202A–U+202E), isolates (U+2066–U+2069) and the marks U+200E, U+200F and U+061C. They
/// are format characters, not control characters, yet they let a name or message display
/// reversed or reorder the text shown after it ("\u{202E}gnp.exe" reads "exe.png").
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The text with every bidirectional formatting control removed.
pub fn without_bidi_controls(text: &str) -> String {
    text.chars().filter(|c| !is_bidi_control(*c)).collect()
}

/// A numeric code (access code, PIN): `min..=max` decimal digits.
pub fn digits(field: &str, value: &str, min: usize, max: usize) -> AppResult<String> {
    let code = value.trim();
    if code.len() < min || code.len() > max || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid_field(
            field,
            format!("must be {min} to {max} digits"),
        ));
    }
    Ok(code.to_string())
}

/// Optional free text with a length bound; empty becomes `None`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(AppError::invalid_field(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(AppError::invalid_field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(Some(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains() {
        assert_eq!(company_subdomain("Joe").unwrap(), "joe");
        assert_eq!(company_subdomain("joe-2").unwrap(), "joe-2");
        for bad in [
            "",
            "-joe",
            "joe-",
            "jo_e",
            "jo.e",
            "reseller-admin",
            &"a".repeat(64),
        ] {
            let err = company_subdomain(bad).unwrap_err();
            assert!(err.message.starts_with("subdomain:"), "{bad}: {err}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            email("email", " John@Company.TLD ").unwrap(),
            "john@company.tld"
        );
        assert!(email("email", "admin@localhost").is_ok());
        for bad in [
            "",
            "john",
            "@x.tld",
            "john@",
            "a b@x.tld",
            "a@b@c.tld",
            "john@-x.tld",
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_and_names() {
        assert_eq!(digits("access_code", "1234567", 4, 12).unwrap(), "1234567");
        assert!(digits("access_code", "12a4567", 4, 12).is_err());
        assert!(digits("access_code", "123", 4, 12).is_err());
        assert!(display_name("name", "  ").is_err());
        assert!(display_name("name", "a\u{7}b").is_err());
        assert_eq!(display_name("name", " John Host ").unwrap(), "John Host");
        assert_eq!(
            display_name("name", "\u{202E}evil\u{2066}").unwrap(),
            "evil"
        );
        assert_eq!(
            display_name("name", " \u{200F}Ann\u{061C} ").unwrap(),
            "Ann"
        );
        assert!(display_name("name", "\u{202E} \u{202C}").is_err());
        assert_eq!(domain("domain", "Reseller.TLD.").unwrap(), "reseller.tld");
    }
}

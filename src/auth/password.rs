//! Password hashing with argon2id (default parameters: 19 MiB, 2 passes), run off the async
//! executor because each hash costs tens of milliseconds of CPU, and only as many at once as
//! [`hash_pool`] admits because each also holds 19 MiB.

use std::sync::LazyLock;

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

use crate::{
    auth::hash_pool,
    error::{AppError, AppResult},
};

/// Shortest and longest accepted passwords (the maximum bounds hashing cost).
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

/// Checks a password chosen by a person; the error names `field`.
pub fn validate(field: &str, password: &str) -> AppResult<()> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(AppError::invalid_field(
            field,
            format!("must be at least {MIN_LEN} characters"),
        ));
    }
    if chars > MAX_LEN {
        return Err(AppError::invalid_field(
            field,
            format!("must be at most {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> AppResult<String> {
    hash_pool::run(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await?
}

/// A hash of a random password, verified against when the account does not exist so that an
/// attacker cannot tell unknown emails from wrong passwords by timing.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(b"decoy password never matches")
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Verifies a password against a stored PHC string (or the decoy when there is none).
pub async fn verify(password: String, stored: Option<String>) -> AppResult<bool> {
    hash_pool::run(move || {
        let has_account = stored.is_some();
        let phc = stored.unwrap_or_else(|| DECOY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        has_account && matches
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id() {
        let phc = hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(
            verify("correct horse".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse".into(), Some(phc)).await.unwrap());
        assert!(
            !verify("decoy password never matches".into(), None)
                .await
                .unwrap()
        );
    }

    #[test]
    fn length_limits_name_the_field() {
        assert!(
            validate("password", "short")
                .unwrap_err()
                .message
                .starts_with("password:")
        );
        assert!(validate("password", &"x".repeat(129)).is_err());
        assert!(validate("password", "long enough").is_ok());
    }
}

//! Random secrets (session tokens, API tokens, login tokens, links) and their stored hashes.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// Prefix that marks long-lived API tokens, so they are recognisable in logs and secret scanners.
pub const API_TOKEN_PREFIX: &str = "cfk_";

/// 256 random bits, URL-safe base64.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new long-lived API token.
pub fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", random_secret())
}

/// Hex SHA-256 of a secret: what the database keeps. Secrets have 256 bits of entropy, so a fast
/// hash is enough, and looking rows up by it leaks nothing useful through timing.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random string of `len` decimal digits, the first one non-zero.
pub fn random_digits(len: usize) -> String {
    let mut rng = rand::rng();
    let mut out = String::with_capacity(len);
    out.push(char::from(b'1' + rng.random_range(0..9u8)));
    for _ in 1..len {
        out.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hash_stably() {
        let a = random_secret();
        assert_ne!(a, random_secret());
        assert_eq!(a.len(), 43);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_eq!(hash_secret("abc").len(), 64);
    }

    #[test]
    fn digits_have_the_requested_length() {
        for _ in 0..100 {
            let code = random_digits(7);
            assert_eq!(code.len(), 7);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
            assert_ne!(code.as_bytes()[0], b'0');
        }
    }
}

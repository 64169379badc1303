//! TLS-ALPN-01 (RFC 8737): the self-signed certificate a server shows the CA for a hostname
//! being validated, carrying the SHA-256 of the challenge's key authorization in the critical
//! `acmeIdentifier` extension.

use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::{
    crypto::ring::sign::any_supported_type,
    pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer},
    sign::CertifiedKey,
};
use sha2::{Digest, Sha256};

/// The challenge certificate of `hostname` for `key_authorization`.
pub fn challenge_certificate(
    hostname: &str,
    key_authorization: &str,
) -> anyhow::Result<CertifiedKey> {
    let digest = Sha256::digest(key_authorization.as_bytes());
    let mut params = CertificateParams::new(vec![hostname.to_string()])?;
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(&digest)];
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    // Not through the usual key check: it parses the certificate with webpki, which rightly
    // refuses the unknown critical extension that this certificate exists to carry.
    Ok(CertifiedKey::new(
        vec![cert.der().clone()],
        any_supported_type(&key_der)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_the_digest_of_the_key_authorization() {
        let certified = challenge_certificate("meet.example.com", "token.thumbprint").unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&certified.cert[0]).unwrap();
        let acme = cert
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("the acmeIdentifier extension");
        assert!(acme.critical);
        // DER OCTET STRING of 32 bytes: tag, length, then the digest.
        assert_eq!(&acme.value[..2], &[0x04, 0x20]);
        let expected: [u8; 32] = Sha256::digest(b"token.thumbprint").into();
        assert_eq!(acme.value[2..], expected);
    }
}

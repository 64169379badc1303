-- The role of the admin who issued a company's sign-in credentials (its login token signing
-- secret, its OpenID Connect settings). A credential reaches only the hosts its issuer reaches:
-- one issued by a company admin never signs in a reseller admin. Credentials issued before this
-- was recorded count as a company admin's.
ALTER TABLE sso_signing_secrets ADD COLUMN issuer_role TEXT NOT NULL DEFAULT 'COMPANY_ADMIN';
ALTER TABLE company_oidc ADD COLUMN issuer_role TEXT NOT NULL DEFAULT 'COMPANY_ADMIN';

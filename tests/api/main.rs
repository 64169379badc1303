//! Integration tests: one binary, every story on SQLite and, when `CONFAB_TEST_POSTGRES_URL` is
//! set, on PostgreSQL too.

mod helpers;

mod bad_input;
mod bot;
mod browser;
mod cli;
mod embedding;
mod host_controls;
mod login;
mod oidc;
mod onboarding;
mod scope;
mod seed;
mod sessions;
mod sfu;
mod sso;
mod sso_iframe;
mod sso_tokens;

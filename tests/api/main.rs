//! Integration tests: one binary, every story on SQLite and, when `CONFAB_TEST_POSTGRES_URL` is
//! set, on PostgreSQL too.

mod helpers;

mod acme;
mod bad_input;
mod bot;
mod browser;
mod calendar;
mod cli;
mod conference;
mod domains;
mod durability;
mod embed_sdk;
mod embedding;
mod host_controls;
mod invites;
mod janus_side_by_side;
mod livestream;
mod login;
mod login_csrf;
mod login_load;
mod media_stability;
mod meeting_page;
mod metrics;
mod moderation;
mod oidc;
mod onboarding;
mod openapi;
mod outbound;
mod pin_guessing;
mod reseller_admin_reach;
mod rooms;
mod scope;
mod scope_leaks;
mod scope_matrix;
mod seed;
mod senders;
mod sessions;
mod sfu;
mod signal_limits;
mod sso;
mod sso_iframe;
mod sso_tokens;
mod theme_screens;
mod themes;
mod tls;

//! Integration tests: one binary, every story on SQLite and, when `CONFAB_TEST_POSTGRES_URL` is
//! set, on PostgreSQL too.

mod helpers;

mod bad_input;
mod bot;
mod browser;
mod calendar;
mod cli;
mod conference;
mod durability;
mod invites;
mod onboarding;
mod rooms;
mod scope;
mod seed;
mod sessions;
mod sfu;

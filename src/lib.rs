//! Confab: a self-hostable, multi-tenant, white-label video meetings platform.

pub mod api;
pub mod app;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod error;
pub mod mail;
pub mod metrics;
pub mod outbound;
pub mod room;
pub mod scheduling;
/// The media server, its own crate (`crates/sfu`) so that it cannot reach HTTP, SQL or serde.
pub use confab_sfu as sfu;
pub mod signal;
pub mod store;
pub mod tenancy;
pub mod tls;
pub mod web;

//! Authentication: passwords, tokens, the API caller, login rate limits, browser sessions and SSO.

pub mod browser_session;
pub mod caller;
pub mod hash_pool;
pub mod password;
pub mod rate_limit;
pub mod scope;
pub mod sso;
pub mod token;

pub use caller::{Caller, Role};
pub use scope::Scope;

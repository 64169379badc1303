//! Authentication: passwords, tokens, the API caller and login rate limits.

pub mod caller;
pub mod password;
pub mod rate_limit;
pub mod token;

pub use caller::{Caller, Role};

//! The application: state ([`App`], built once), the router, and the serve loop. Split so
//! that each part has one home.

mod housekeeping;
mod router;
mod serve;
mod state;

pub use router::router;
pub use serve::{serve, serve_all};
pub use state::{App, AppState};

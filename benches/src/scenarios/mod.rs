//! One module per scenario; each returns its figures as a [`crate::report::ScenarioReport`].

pub mod events;
pub mod login;
pub mod page;
pub mod provision;
pub mod sync;

//! In-memory versions of the ports, for tests of the layers above.
//!
//! [`MemoryStore`] implements [`crate::Store`] with the same rules as the
//! SQLite store (unique deal, login and referral code; atomic multi-record
//! changes; outbox states). [`FakeCrm`] implements [`crate::Crm`] over
//! in-memory deals, records every write, and can be made to fail.

mod crm;
mod memory_store;

pub use crm::{CrmFailure, CrmWrite, FakeCrm};
pub use memory_store::MemoryStore;

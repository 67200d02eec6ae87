//! Typed Bitrix24 REST client.

/// An in-process fake Bitrix24 portal for tests, demos and integrators.
#[cfg(feature = "emulator")]
pub mod emulator;

//! The fake portal (being written).

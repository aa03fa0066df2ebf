//! Synchronisation primitives for this crate.
//!
//! Every other module imports atomics, locks and cells from here, never from
//! `std::sync` or `parking_lot` directly. Under `cfg(loom)` these names map to
//! loom's model-checked types, so the loom tests exercise the same code that
//! ships; otherwise they are the real primitives.

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{Arc, atomic};

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{Arc, atomic};

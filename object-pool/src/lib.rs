//! # object-pool
//!
//! A generic thread-safe object pool with reset-on-return and a retention cap.
//!
//! This crate is being built; see the README for what it will hold.

mod sync;

//! # weak-cache
//!
//! Thread-safe weak containers: `WeakValueCache`, `WeakKeyCache`, `WeakSet`.
//!
//! This crate is being built; see the README for what it will hold.

mod sync;

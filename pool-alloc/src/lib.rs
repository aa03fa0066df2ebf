//! # pool-alloc
//!
//! A pymalloc-style small-object allocator (size classes, pools, arenas) usable as
//! a `#[global_allocator]`.
//!
//! This crate is being built; see the README for what it will hold.

mod sync;

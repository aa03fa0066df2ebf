//! Shared helpers for the workspace's criterion suites and the comparison command.
//!
//! The suites live in `benches/benches/`, one file per crate, each criterion group holding our
//! crate and its peers side by side. At the end of every suite, [`report::print_group`] reads
//! criterion's saved estimates and prints the medians as ratios to our crate, so one run of
//! `cargo bench -p benches` is the whole comparison.
//!
//! - [`compare`]: the comparison command's workloads, runner and output (`src/bin/compare.rs`).
//! - [`report`]: median ratio tables from criterion's output directory.
//! - [`rng`]: a small, seedable, dependency-free random number generator.
//! - [`threads`]: timing work on several threads at once, the same way in every suite.
//! - [`zipf`]: a Zipf-distributed key generator (YCSB's, theta 0.99).
//! - [`traces`]: readers for the cache traces in `../shared/traces/`.

pub mod compare;
pub mod report;
pub mod rng;
pub mod threads;
pub mod traces;
pub mod zipf;

/// The root README's quick starts, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct RootReadme;

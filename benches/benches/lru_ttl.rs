//! Placeholder: this suite is being written.

fn main() {}

//! Memory: RSS with 10 million live 32-byte blocks and after freeing them and `malloc_trim(0)`,
//! with the system allocator (glibc malloc) as the global allocator. See `alloc_support/rss.rs`.

#[path = "alloc_support/rss.rs"]
mod rss;

#[global_allocator]
static GLOBAL: std::alloc::System = std::alloc::System;

unsafe extern "C" {
    /// glibc: releases free memory at the top of the heap and free pages inside it.
    safe fn malloc_trim(pad: usize) -> std::ffi::c_int;
}

fn main() {
    rss::run(
        "system",
        || {
            malloc_trim(0);
        },
        String::new,
    );
}

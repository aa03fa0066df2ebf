//! Memory: RSS with 10 million live 32-byte blocks and after freeing them, flushing this
//! thread's cache and purging every arena, with jemalloc as the global allocator. See
//! `alloc_support/rss.rs`.

#[path = "alloc_support/rss.rs"]
mod rss;

use std::ffi::{c_char, c_int, c_void};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

unsafe extern "C" {
    /// jemalloc's control interface (prefixed `_rjem_` by `tikv-jemalloc-sys` on Linux).
    #[link_name = "_rjem_mallctl"]
    fn mallctl(
        name: *const c_char,
        oldp: *mut c_void,
        oldlenp: *mut usize,
        newp: *mut c_void,
        newlen: usize,
    ) -> c_int;
}

fn ctl(name: &std::ffi::CStr) {
    // SAFETY: a NUL-terminated name of a command that takes and returns nothing.
    let r = unsafe {
        mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    assert_eq!(r, 0, "mallctl({name:?}) failed");
}

fn main() {
    rss::run(
        "jemalloc",
        || {
            ctl(c"thread.tcache.flush");
            // 4096 is MALLCTL_ARENAS_ALL.
            ctl(c"arena.4096.purge");
        },
        String::new,
    );
}

//! Memory: RSS with 10 million live 32-byte blocks and after freeing them and
//! `mi_collect(true)`, with mimalloc as the global allocator. See `alloc_support/rss.rs`.

#[path = "alloc_support/rss.rs"]
mod rss;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc (linked through the `mimalloc` crate): frees what it can, `force` included.
    safe fn mi_collect(force: bool);
}

fn main() {
    rss::run("mimalloc", || mi_collect(true), String::new);
}

//! Memory: RSS with 10 million live 32-byte blocks and after freeing them and `collect()`, with
//! `pool-alloc` as the global allocator; also prints its `stats()`. See `alloc_support/rss.rs`.

#[path = "alloc_support/rss.rs"]
mod rss;

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

fn main() {
    rss::run(
        "pool-alloc",
        || GLOBAL.collect(),
        || GLOBAL.stats().to_string(),
    );
}

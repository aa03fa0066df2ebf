//! System mode (feature `system`): `PoolAlloc` forwards every call to the system allocator,
//! so tools that watch the system allocator (valgrind, AddressSanitizer) see every block.

#![cfg(feature = "system")]

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

#[test]
fn every_block_comes_from_the_system_allocator() {
    let small: Vec<Box<[u8; 32]>> = (0..10_000).map(|i| Box::new([i as u8; 32])).collect();
    let mut grown = Vec::new();
    for i in 0..10_000u32 {
        grown.push(i);
    }
    let zeroed = vec![0u64; 100];
    assert!(small.iter().enumerate().all(|(i, b)| b[31] == i as u8));
    assert_eq!(grown.iter().sum::<u32>(), 49_995_000);
    assert!(zeroed.iter().all(|&x| x == 0));
    let s = GLOBAL.stats();
    assert_eq!(s.arenas, 0, "a pool was used in system mode: {s}");
    assert_eq!(s.small_bytes_in_use, 0, "{s}");
}

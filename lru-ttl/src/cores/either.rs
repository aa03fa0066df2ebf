//! The core of a `Cache`'s shards, chosen when it is built: the strict LRU core when
//! nothing else is asked for (so a plain cache pays for no deadlines or weights), the timed
//! core as soon as a time to live, a time to idle, a per-entry expiry, a weigher or another
//! eviction policy is configured; and the clock such a cache reads.

use crate::clock::Clock;
use crate::cores::lru::LruCore;
use crate::cores::timed::TtlCore;
use crate::cores::{Put, Removed, ShardCore};
use crate::node::Meta;
use crate::stats::CacheInfo;
use std::borrow::Borrow;
use std::time::Duration;

/// The clock a built cache reads, shared by its shards.
#[derive(Clone)]
pub(crate) struct SharedClock(pub(crate) std::sync::Arc<dyn Clock + Send + Sync>);

impl Clock for SharedClock {
    fn now(&self) -> Duration {
        self.0.now()
    }
}

/// A shard's core: strict LRU, or timed (and weighed).
pub(crate) enum Core<K, V> {
    Lru(LruCore<K, V>),
    Timed(TtlCore<K, V, SharedClock, Meta>),
}

macro_rules! each {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            Core::Lru($c) => $e,
            Core::Timed($c) => $e,
        }
    };
}

impl<K, V> ShardCore for Core<K, V> {
    type Key = K;
    type Value = V;

    #[inline]
    fn get_hashed<Q>(&mut self, hash: u64, q: &Q, out: &mut Removed<K, V>) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        each!(self, c => c.get_hashed(hash, q, out))
    }

    fn peek_hashed<Q>(&self, hash: u64, q: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        each!(self, c => c.peek_hashed(hash, q))
    }

    #[inline]
    fn put_hashed(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        ttl: Option<Duration>,
        out: &mut Removed<K, V>,
    ) -> Put<K, V>
    where
        K: Eq,
    {
        each!(self, c => c.put_hashed(hash, key, value, weight, ttl, out))
    }

    fn remove_hashed<Q>(&mut self, hash: u64, q: &Q, out: &mut Removed<K, V>) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        each!(self, c => c.remove_hashed(hash, q, out))
    }

    fn len(&self) -> usize {
        each!(self, c => c.len())
    }

    fn weight(&self) -> u64 {
        each!(self, c => c.weight())
    }

    fn info(&self) -> CacheInfo {
        each!(self, c => c.info())
    }

    fn take(&mut self) -> Self {
        match self {
            Core::Lru(c) => Core::Lru(c.take()),
            Core::Timed(c) => Core::Timed(c.take()),
        }
    }

    fn drain(self, f: impl FnMut(K, V)) {
        each!(self, c => c.drain(f))
    }

    fn purge(&mut self, out: &mut Removed<K, V>) {
        each!(self, c => c.purge(out))
    }

    fn retain(&mut self, keep: &mut dyn FnMut(&K, &V) -> bool, out: &mut Removed<K, V>) {
        each!(self, c => c.retain(keep, out))
    }

    fn for_each(&self, f: &mut dyn FnMut(&K, &V)) {
        each!(self, c => c.for_each(f))
    }

    fn heap_bytes(&self) -> usize {
        each!(self, c => c.heap_bytes())
    }
}

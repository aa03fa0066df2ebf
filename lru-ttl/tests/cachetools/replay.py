"""Replays operation sequences on cachetools' caches, for lru-ttl's tests/cachetools.rs.

Reads lines from stdin and writes one line per operation to stdout:
  new POLICY MAXSIZE WEIGHTED   a fresh cache: POLICY is fifo, lfu or rr; WEIGHTED 1 makes
                                each value's size the value itself (getsizeof)
  g K        get K       -> "v=<value or ->" then the keys held
  s K V      set K to V  -> the keys held
  d K        pop K       -> "v=<value or ->" then the keys held
The keys held are printed sorted, after each operation. rr's choice is deterministic: its
n-th call (from 0, per cache) picks keys[(7 * n + 3) % len(keys)].
"""
import sys

import cachetools


def make(policy, maxsize, weighted):
    size = (lambda v: v) if weighted else None
    if policy == "fifo":
        return cachetools.FIFOCache(maxsize, getsizeof=size)
    if policy == "lfu":
        return cachetools.LFUCache(maxsize, getsizeof=size)
    if policy == "rr":
        calls = [0]

        def choice(keys):
            n = calls[0]
            calls[0] += 1
            return keys[(7 * n + 3) % len(keys)]

        return cachetools.RRCache(maxsize, choice=choice, getsizeof=size)
    raise SystemExit("unknown policy " + policy)


def main():
    out = []
    cache = None
    for line in sys.stdin:
        op = line.split()
        if not op:
            continue
        if op[0] == "new":
            cache = make(op[1], int(op[2]), op[3] == "1")
            continue
        k = int(op[1])
        prefix = ""
        if op[0] == "g":
            v = cache.get(k)
            prefix = "v=%s " % ("-" if v is None else v)
        elif op[0] == "s":
            cache[k] = int(op[2])
        elif op[0] == "d":
            v = cache.pop(k, None)
            prefix = "v=%s " % ("-" if v is None else v)
        out.append(prefix + "keys=" + ",".join(str(x) for x in sorted(cache)))
    sys.stdout.write("\n".join(out) + "\n")


main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reference attestation tree (dm-vdirt-format.h, above
VDIRT_MERKLE_DIGEST_SIZE), written from the definition alone, recursively
and without the streaming of lib/merkle.c: it produced the fixed vectors of
test_merkle.c.  Run it to print them again:  python3 tests/merkle_ref.py
Test digests: digest(c) = SHA-256(b"vdirt" || le64(c)) twice, cut to
digest_size bytes; clusters with c % 7 == 3 are unmeasured (digest_size zero bytes)."""
import hashlib
import struct


def digest(c, ds):
    if c % 7 == 3:
        return bytes(ds)
    return (hashlib.sha256(b"vdirt" + struct.pack("<Q", c)).digest() * 2)[:ds]


def height(n):
    h = 7
    while h < 64 and (1 << h) < n:
        h += 1
    return h


def node(level, i, n, ds, memo):
    if (i << level) >= n:
        return bytes(32)
    if (level, i) in memo:
        return memo[(level, i)]
    if level == 0:
        v = hashlib.sha256(b"\x00" + struct.pack("<Q", i) + digest(i, ds)).digest()
    else:
        v = hashlib.sha256(b"\x01" + node(level - 1, 2 * i, n, ds, memo) +
                           node(level - 1, 2 * i + 1, n, ds, memo)).digest()
    memo[(level, i)] = v
    return v


def root(n, cs, ds, name):
    memo = {}
    top = node(height(n), 0, n, ds, memo)
    b = (b"\x02" + struct.pack("<QII", n, cs, ds) +
         name.encode().ljust(64, b"\x00") + top)
    return hashlib.sha256(b).hexdigest(), memo


def proof(n, ds, c, memo):
    return "".join(node(l, (c >> l) ^ 1, n, ds, memo).hex() for l in range(height(n)))


VECTORS = [(1, 4096, 32, "sha256", None), (5, 512, 4, "crc32c", 3),
           (128, 4096, 32, "sha256", 127), (129, 4096, 32, "sha256", 128),
           (1000, 65536, 64, "sha512", 517)]

if __name__ == "__main__":
    for n, cs, ds, name, pc in VECTORS:
        r, memo = root(n, cs, ds, name)
        print('\t{ %d, %d, %d, "%s", "%s", %d,' % (n, cs, ds, name, r,
              -1 if pc is None else pc))
        p = proof(n, ds, pc, memo) if pc is not None else ""
        for k in range(0, len(p), 64):
            print('\t  "%s"' % p[k:k + 64])
        print('\t  "" },')

#!/usr/bin/python3
"""search_faiss.py - the FAISS side of bench/search.sh (Debian's python3-faiss).

    /usr/bin/python3 bench/search_faiss.py DIR LABEL NQ_SLOW RESULTS_TSV [MULTIHASH]

Reads DIR/db.bin (N x 32-byte hashes) and DIR/q.bin (1000 queries) written by
search_bench, and measures on 1 and 2 threads:
  - IndexBinaryFlat: exact radius-31 search (range_search with radius 32:
    FAISS keeps distances < radius) and exact 1-NN (search, k = 1);
  - IndexBinaryMultiHash(256, nhash=8, b=32) with nflip=3, exact for radius
    31 by the pigeonhole principle (31 differing bits over 8 substrings leave
    one substring with at most 3), radius search only (its k-NN is not
    exact).
The flat scan is slow at 10 M (~10 q/s a thread): its runs use the first
NQ_SLOW/2 near and NQ_SLOW/2 far queries (the same as search_bench's knn
run); the multi-hash index answers all 1000 and gives the reference result
sets of the radius search. Result sets are compared with
DIR/phm-radius.txt and DIR/phm-knn.txt (phmatch's), and every figure is
appended to RESULTS_TSV: label engine op threads queries qps seconds rss_mb
agree. MULTIHASH "no" skips the multi-hash index (its build takes ~4 minutes
and 7.5 GB at 10 M).
"""
import resource
import sys
import time

import faiss
import numpy as np

NQ = 1000


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def subset(n):
    half = n // 2
    return np.r_[0:half, NQ // 2:NQ // 2 + half]


def read_phm(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[int(k)] = [int(x) for x in v.split()]
    except FileNotFoundError:
        return None
    return out


def main():
    d, label, nq_slow, results = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    db = np.fromfile(d + "/db.bin", dtype=np.uint8).reshape(-1, 32)
    q = np.fromfile(d + "/q.bin", dtype=np.uint8).reshape(-1, 32)
    phm_r = read_phm(d + "/phm-radius.txt")
    phm_k = read_phm(d + "/phm-knn.txt")
    multihash = len(sys.argv) < 6 or sys.argv[5] != "no"
    out = open(results, "a")

    def row(engine, op, threads, nq, secs, agree):
        out.write("%s\t%s\t%s\t%d\t%d\t%.1f\t%.3f\t%.0f\t%s\n" % (
            label, engine, op, threads, nq, nq / secs, secs, rss_mb(), agree))
        out.flush()

    def radius_sets(index, qs, idx):
        lims, _, ids = index.range_search(qs, 32)
        return {int(idx[i]): sorted(int(x) for x in ids[lims[i]:lims[i + 1]])
                for i in range(len(idx))}

    def agree_radius(sets):
        if phm_r is None:
            return "-"
        bad = sum(1 for k, v in sets.items() if k in phm_r and phm_r[k] != v)
        return "yes" if bad == 0 else "NO(%d)" % bad

    t = time.time()
    flat = faiss.IndexBinaryFlat(256)
    flat.add(db)
    row("faiss-flat", "build", 1, 0, max(time.time() - t, 1e-9), "-")

    slow = subset(nq_slow)
    for threads, idx in ((1, slow), (2, slow)):
        faiss.omp_set_num_threads(threads)
        t = time.time()
        sets = radius_sets(flat, q[idx], idx)
        row("faiss-flat", "radius31", threads, len(idx), time.time() - t,
            agree_radius(sets))
    for threads in (1, 2):
        faiss.omp_set_num_threads(threads)
        t = time.time()
        dist, _ = flat.search(q[slow], 1)
        secs = time.time() - t
        agree = "-"
        if phm_k is not None:
            bad = sum(1 for j, i in enumerate(slow)
                      if phm_k.get(int(i)) != [int(dist[j][0])])
            agree = "yes" if bad == 0 else "NO(%d)" % bad
        row("faiss-flat", "knn1", threads, len(slow), secs, agree)
    del flat
    if not multihash:
        return

    t = time.time()
    mh = faiss.IndexBinaryMultiHash(256, 8, 32)
    mh.nflip = 3
    mh.add(db)
    row("faiss-multihash", "build", 1, 0, max(time.time() - t, 1e-9), "-")
    for threads in (1, 2):
        faiss.omp_set_num_threads(threads)
        t = time.time()
        sets = radius_sets(mh, q, np.arange(NQ))
        row("faiss-multihash", "radius31", threads, NQ, time.time() - t,
            agree_radius(sets))


main()

#!/usr/bin/env python3
"""The independent stack's figures for `make bench-mls-compare`: AWS mls-rs (the PyPI wheel
`agentvault-mls-rs-uniffi`, mls-rs through UniFFI, suite 1 = MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
on the same fixtures as `mls-benchmark` (Benchmarks/MLSBenchmark): the creator adds every other
member in one commit (a sparse tree), then, median of RUNS runs each:

  create   the creator's empty commit with an UpdatePath (`Group.commit()`), wall time
  process  another member applying that commit (`process_incoming_message`), wall time

Also prints the CPU time of `create` (mls-rs encrypts path secrets on a thread pool, so its CPU
time can exceed its wall time). Used only for benchmarks; no code of it is in polygate.

Usage: mlsrs_bench.py SIZE [SIZE ...]   (RUNS from the environment, default 10)
Prints one line per size: "mls-rs SIZE create_ms PROCESS_ms create_cpu_ms".
"""

import os
import statistics
import sys
import time

import mls_rs_uniffi as mls


def client(name):
    keys = mls.generate_signature_keypair(mls.CipherSuite.CURVE25519_AES128)
    return mls.Client(name.encode(), keys, mls.client_config_default())


def measure(size, runs):
    creator = client("creator")
    group = creator.create_group(None)
    others = [client(f"member{i}") for i in range(1, size)]
    packages = [member.generate_key_package_message() for member in others]
    added = group.add_members(packages)
    group.process_incoming_message(added.commit_message)
    # The member that processes the creator's commits: the last one added.
    joined = others[-1].join_group(added.ratchet_tree, added.welcome_message).group
    create, process, create_cpu = [], [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        output = group.commit()
        create.append((time.perf_counter() - wall) * 1000)
        create_cpu.append((time.process_time() - cpu) * 1000)
        group.process_incoming_message(output.commit_message)
        wall = time.perf_counter()
        joined.process_incoming_message(output.commit_message)
        process.append((time.perf_counter() - wall) * 1000)
    return statistics.median(create), statistics.median(process), statistics.median(create_cpu)


def main():
    runs = int(os.environ.get("RUNS", "10"))
    for size in (int(argument) for argument in sys.argv[1:]):
        create, process, cpu = measure(size, runs)
        print(f"mls-rs {size} {create:.2f} {process:.2f} {cpu:.2f}", flush=True)


if __name__ == "__main__":
    main()

"""The browser client's keys at rest: Argon2id in WebAssembly against libsodium, and the history's
write cost against its size, each against a baseline measured in the same run.

Figures:

* Argon2id (hash-wasm in Node, as the browser runs it) at the browser's parameters (2 passes over
  32 MiB, ``BROWSER_PARAMS``) and at the Python client's (2 passes over 64 MiB), median of N runs;
  baseline: libsodium (PyNaCl) at the same parameters in the same run. The ratio is what running in
  WebAssembly costs; a mid-range phone is roughly 2 to 3 times slower than this machine again;
* history writes (``HistoryStore.addWords`` over the in-memory storage, budget enforced): the mean
  cost of a write into a history of 10 000 records against one of 1 000 (a ratio near 1: a write
  does not grow with the history).

Timings are printed, never asserted. Needs the compiled web client: ``cd clients/web && npm test``
(or ``npx tsc -p tsconfig.test.json``) first.

Run: .venv/bin/python benchmarks/web_keys_bench.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import nacl.pwhash

WEB = Path(__file__).resolve().parents[1] / "clients" / "web"

NODE_SCRIPT = """
import { argon2id } from "hash-wasm";
import { HistoryStore } from "./build/src/history.js";
import { MemoryStorage } from "./build/src/storage.js";
const runs = Number(process.argv[1]);
const out = {};
for (const [name, ops, mem] of [["browser", 2, 32 << 20], ["python", 2, 64 << 20]]) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await argon2id({ password: "x", salt: new Uint8Array(16), iterations: ops, parallelism: 1,
                     memorySize: mem / 1024, hashLength: 32, outputType: "binary" });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  out[name] = times[Math.floor(times.length / 2)];
}
for (const n of [1000, 10000]) {
  const h = await HistoryStore.open(new MemoryStorage(), new Uint8Array(32), n * 600);
  const words = new Uint8Array(500);
  for (let i = 0; i < n; i++) await h.addWords(words);
  const t = performance.now();
  for (let i = 0; i < 2000; i++) await h.addWords(words);
  out["write_" + n] = (performance.now() - t) / 2000;
}
console.log(JSON.stringify(out));
"""


def sodium_ms(ops: int, mem: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        nacl.pwhash.argon2id.kdf(32, b"x", bytes(16), opslimit=ops, memlimit=mem)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    node = shutil.which("node")
    if node is None:
        raise SystemExit("Node.js is not installed: run 'sh tests/install-browser.sh'")
    done = subprocess.run(  # noqa: S603  (our own script, run by our own node)
        [node, "--input-type=module", "-e", NODE_SCRIPT, str(args.runs)],
        cwd=WEB, capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    wasm = json.loads(done.stdout)
    figures = {
        "argon2id_browser_params_wasm_ms": wasm["browser"],
        "argon2id_browser_params_sodium_ms": sodium_ms(2, 32 << 20, args.runs),
        "argon2id_python_params_wasm_ms": wasm["python"],
        "argon2id_python_params_sodium_ms": sodium_ms(2, 64 << 20, args.runs),
        "history_write_1k_ms": wasm["write_1000"],
        "history_write_10k_ms": wasm["write_10000"],
    }
    for label, key in (("2 x 32 MiB (browser)", "browser"), ("2 x 64 MiB (Python) ", "python")):
        w, n = figures[f"argon2id_{key}_params_wasm_ms"], figures[f"argon2id_{key}_params_sodium_ms"]
        print(f"Argon2id {label}: wasm {w:.0f} ms, libsodium {n:.0f} ms (ratio {w / n:.2f})")
    w1, w10 = figures["history_write_1k_ms"], figures["history_write_10k_ms"]
    print(f"history write: {w1 * 1000:.0f} us at 1k records, {w10 * 1000:.0f} us at 10k (ratio {w10 / w1:.2f})")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()

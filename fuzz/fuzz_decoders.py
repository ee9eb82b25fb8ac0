#!/usr/bin/env python3
"""Fuzz every decoder a remote party can reach, with atheris (libFuzzer) or without it.

    python fuzz/fuzz_decoders.py --list
    python fuzz/fuzz_decoders.py --write-corpus fuzz/corpus            # seeds from spec/vectors
    python fuzz/fuzz_decoders.py --target entry fuzz/corpus/entry -atheris_runs=100000
    python fuzz/fuzz_decoders.py fuzz/corpus/all -max_total_time=3600   # every target, one run
    python fuzz/fuzz_decoders.py --seconds 600                          # no atheris: the fallback
    python fuzz/fuzz_decoders.py --replay fuzz/crashes/entry-*.bin       # re-run saved inputs

With atheris installed and without ``--seconds``/``--fallback``, the script hands over to libFuzzer:
every flag it does not know (``-atheris_runs=N``, ``-max_total_time=S``, ``-jobs=N``, corpus
directories ...) goes to libFuzzer, the protocol's modules are instrumented for coverage, and a
structure-aware custom mutator (``fuzz/mutate.py``) alternates with libFuzzer's own. With
``--target all`` (the default) the first byte of an input picks the target.

Without atheris (or with ``--fallback``), a pure-Python fuzzer runs for ``--seconds``: it starts
from the seeds, mutates (byte-level and structure-aware), keeps inputs that reach new line-to-line
arcs of ``protocol/``, ``node/`` and ``clients/`` (``sys.settrace``; ``--no-trace`` keeps inputs
with a new outcome instead, faster but blind), and feeds random bytes too. Every crash is printed
(target, input hex, traceback) and saved under ``--artifacts`` (default ``fuzz/crashes``) as
``<target>-<sha256 prefix>.bin`` (the raw input) and ``.txt`` (the report); the exit status is 1
if anything was found.

The property (``fuzz/targets.py``): a decoder returns a result or raises a ``HoldspaceError`` with
a registered code of its documented family, never any other exception.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MAX_INPUT = 8192  # bytes of a generated input (the decoders' own limits are larger; inputs get there by growth)
MAX_CORPUS = 4000  # inputs kept per target in the fallback
SLOW_SECONDS = 1.0  # an input taking longer than this is reported (every decoder is meant to be linear)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Fuzz Holdspace's decoders (atheris/libFuzzer when installed, else a Python fallback).",
        allow_abbrev=False,
        epilog="Unknown arguments (libFuzzer flags such as -atheris_runs=N, corpus directories) go to atheris.",
    )
    parser.add_argument("--target", default="all", help="a target name (see --list) or 'all' (default)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--seconds", type=float, help="run the fallback fuzzer for this long (implies --fallback)")
    parser.add_argument("--fallback", action="store_true", help="use the pure-Python fuzzer even if atheris exists")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the fallback (default: random)")
    parser.add_argument("--no-trace", action="store_true", help="fallback: no coverage feedback (faster)")
    parser.add_argument("--artifacts", type=Path, default=ROOT / "fuzz" / "crashes", help="where crashes go")
    parser.add_argument("--write-corpus", type=Path, metavar="DIR", help="write the seeds as DIR/<target>/ files")
    parser.add_argument("--replay", type=Path, nargs="+", metavar="FILE", help="run saved inputs and report")
    return parser


def _targets(name: str) -> list[Any]:
    from fuzz.targets import TARGETS  # noqa: PLC0415 - imported late so atheris can instrument it

    if name == "all":
        return list(TARGETS.values())
    if name not in TARGETS:
        sys.exit(f"unknown target {name!r}; one of: all, {', '.join(TARGETS)}")
    return [TARGETS[name]]


def _select(targets: list[Any], data: bytes) -> tuple[Any, bytes]:
    """With several targets the first byte of an input picks one (libFuzzer inputs, corpus files)."""
    if len(targets) == 1:
        return targets[0], data
    if not data:
        return targets[0], b""
    return targets[data[0] % len(targets)], data[1:]


# -- reporting ---------------------------------------------------------------------------------------


def _crash_key(target: Any, exc: BaseException) -> tuple[str, str, str]:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f.filename.startswith(str(ROOT)) and "/fuzz/" not in f.filename]
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    return target.name, type(exc).__name__, where


def report_crash(target: Any, data: bytes, exc: BaseException, artifacts: Path) -> Path:
    digest = hashlib.sha256(data).hexdigest()[:16]
    artifacts.mkdir(parents=True, exist_ok=True)
    raw = artifacts / f"{target.name}-{digest}.bin"
    raw.write_bytes(data)
    text = (
        f"target: {target.name} ({target.about})\n"
        f"input ({len(data)} bytes): {data.hex()}\n"
        f"exception: {type(exc).__name__}: {exc}\n\n" + "".join(traceback.format_exception(exc))
    )
    raw.with_suffix(".txt").write_text(text)
    shown = data.hex() if len(data) <= 512 else data[:512].hex() + "..."
    print(f"\n*** CRASH in {target.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    print(f"    input ({len(data)} bytes): {shown}", file=sys.stderr)
    print("".join(traceback.format_exception(exc)), file=sys.stderr)
    print(f"    saved as {raw} (and .txt)", file=sys.stderr)
    return raw


# -- coverage feedback for the fallback ---------------------------------------------------------------


class ArcTracer:
    """Line-to-line arcs executed in the project's packages (a poor man's coverage map)."""

    def __init__(self) -> None:
        self.prefixes = tuple(str(ROOT / p) + os.sep for p in ("protocol", "node", "clients"))
        self.arcs: set[tuple[str, int, int]] = set()

    def __call__(self, frame: FrameType, event: str, arg: object) -> Any:
        name = frame.f_code.co_filename
        if event != "call" or not name.startswith(self.prefixes):
            return None
        arcs = self.arcs
        last = -frame.f_code.co_firstlineno

        def local(frame: FrameType, event: str, arg: object) -> Any:
            nonlocal last
            if event == "line":
                arcs.add((name, last, frame.f_lineno))
                last = frame.f_lineno
            elif event in ("return", "exception"):
                arcs.add((name, last, -1 if event == "return" else -2))
            return local

        return local


def run_one(target: Any, data: bytes, tracer: ArcTracer | None) -> tuple[str, BaseException | None]:
    from fuzz.targets import check  # noqa: PLC0415

    if tracer is not None:
        sys.settrace(tracer)
    try:
        return check(target, data), None
    except Exception as exc:
        return "", exc
    finally:
        if tracer is not None:
            sys.settrace(None)


def _outcome_feature(target: Any, outcome: str) -> tuple[str, int, int]:
    return (f"outcome:{target.name}:{outcome}", 0, 0)


def fallback(targets: list[Any], seconds: float, seed: int, artifacts: Path, *, trace: bool) -> int:
    from fuzz.mutate import mutate  # noqa: PLC0415

    rng = random.Random(seed)  # noqa: S311 - reproducible fuzzing, not cryptography
    print(f"fallback fuzzer: {len(targets)} target(s), {seconds:.0f} s, seed {seed}, trace {'on' if trace else 'off'}")
    corpora: dict[str, list[bytes]] = {}
    seen: dict[str, set[tuple[str, int, int]]] = {}
    execs: Counter[str] = Counter()
    outcomes: dict[str, Counter[str]] = {t.name: Counter() for t in targets}
    crashes: dict[tuple[str, str, str], Path] = {}
    slow: list[tuple[str, float, str]] = []
    for target in targets:  # the seeds first: each is run, and kept
        corpora[target.name] = list(target.seeds()) or [b""]
        seen[target.name] = set()
        for data in corpora[target.name]:
            tracer = ArcTracer() if trace else None
            outcome, exc = run_one(target, data, tracer)
            if exc is not None:
                crashes.setdefault(_crash_key(target, exc), report_crash(target, data, exc, artifacts))
            seen[target.name] |= (tracer.arcs if tracer else set()) | {_outcome_feature(target, outcome)}
    start = time.monotonic()
    deadline = start + seconds
    next_status = start + 30
    while (now := time.monotonic()) < deadline:
        if now >= next_status:
            kept = sum(map(len, corpora.values()))
            print(f"  {now - start:5.0f} s  {execs.total()} execs  {len(crashes)} crashes  corpus {kept}", flush=True)
            next_status = now + 30
        target = targets[execs.total() % len(targets)]
        corpus = corpora[target.name]
        roll = rng.random()
        if roll < 0.08:
            data = rng.randbytes(min(MAX_INPUT, int(rng.expovariate(1 / 64))))
        else:
            data = mutate(rng.choice(corpus), rng, target, corpus)
            for _ in range(rng.randrange(3)):  # stack a few rounds
                data = mutate(data, rng, target, corpus)
            data = data[:MAX_INPUT]
        tracer = ArcTracer() if trace else None
        began = time.perf_counter()
        outcome, exc = run_one(target, data, tracer)
        elapsed = time.perf_counter() - began
        execs[target.name] += 1
        if elapsed > SLOW_SECONDS * (5 if trace else 1):
            slow.append((target.name, elapsed, data.hex()))
            print(f"*** SLOW input for {target.name}: {elapsed:.2f} s, {len(data)} bytes: {data[:256].hex()}")
        if exc is not None:
            key = _crash_key(target, exc)
            if key not in crashes:
                crashes[key] = report_crash(target, data, exc, artifacts)
            continue
        outcomes[target.name][outcome] += 1
        features = (tracer.arcs if tracer else set()) | {_outcome_feature(target, outcome)}
        if not features <= seen[target.name]:
            seen[target.name] |= features
            if len(corpus) < MAX_CORPUS:
                corpus.append(data)
            else:
                corpus[rng.randrange(len(corpus))] = data
    print(f"\ndone: {execs.total()} execs in {seconds:.0f} s")
    print(f"{'target':12} {'execs':>8} {'corpus':>7} {'arcs':>6}  outcomes (most frequent)")
    for target in targets:
        top = ", ".join(f"{code} {n}" for code, n in outcomes[target.name].most_common(4))
        print(
            f"{target.name:12} {execs[target.name]:>8} {len(corpora[target.name]):>7} "
            f"{len(seen[target.name]):>6}  {top}"
        )
    if slow:
        print(f"\n{len(slow)} slow input(s): {slow[:3]}")
    if crashes:
        print(f"\n{len(crashes)} distinct crash(es):")
        for (name, kind, where), path in crashes.items():
            print(f"  {name}: {kind} at {where} -> {path}")
        return 1
    print("no crash found")
    return 0


# -- atheris ------------------------------------------------------------------------------------------


def run_atheris(name: str, argv: list[str]) -> None:
    import atheris  # noqa: PLC0415

    with atheris.instrument_imports(include=["holdspace", "fuzz"]):
        from fuzz.mutate import mutate  # noqa: PLC0415
        from fuzz.targets import check  # noqa: PLC0415

        targets = _targets(name)
        import holdspace.clients.client  # noqa: PLC0415 - instrumented for the response target
        import holdspace.node.session  # noqa: F401, PLC0415 - instrumented for the node_header target

    def test_one_input(data: bytes) -> None:
        target, body = _select(targets, data)
        check(target, body)

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)  # noqa: S311 - libFuzzer's seed, for reproducible mutations
        if rng.random() < 0.5:
            return atheris.Mutate(data, max_size)
        target, body = _select(targets, data)
        out = mutate(body, rng, target, target.seeds())
        if len(targets) > 1:
            out = data[:1] + out
        return out[:max_size]

    atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


# -- corpus and replay --------------------------------------------------------------------------------


def write_corpus(directory: Path) -> None:
    from fuzz.targets import TARGETS  # noqa: PLC0415

    everything = list(TARGETS.values())
    for index, target in enumerate(everything):
        for sub, prefix in ((target.name, b""), ("all", bytes([index]))):
            folder = directory / sub
            folder.mkdir(parents=True, exist_ok=True)
            for data in target.seeds():
                blob = prefix + data
                (folder / hashlib.sha256(blob).hexdigest()[:16]).write_bytes(blob)
        print(f"{target.name}: {len(target.seeds())} seeds")
    print(f"corpus written to {directory}/<target>/ (and {directory}/all/ for --target all)")


def replay(name: str, files: list[Path], artifacts: Path) -> int:
    from fuzz.targets import TARGETS  # noqa: PLC0415

    targets = _targets(name)
    failures = 0
    for path in files:
        data = path.read_bytes()
        target_name = path.name.split("-")[0]
        if name == "all" and target_name in TARGETS:  # a saved crash is named after its target
            target, body = TARGETS[target_name], data
        else:
            target, body = _select(targets, data)
        outcome, exc = run_one(target, body, None)
        if exc is None:
            print(f"{path}: {target.name}: {outcome}")
        else:
            failures += 1
            report_crash(target, body, exc, artifacts)
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    args, rest = _parser().parse_known_args(argv[1:])
    if args.list:
        for target in _targets("all"):
            print(f"{target.name:12} {target.about}")
        return 0
    if args.write_corpus:
        write_corpus(args.write_corpus)
        return 0
    if args.replay:
        return replay(args.target, args.replay, args.artifacts)
    use_fallback = args.fallback or args.seconds is not None
    if not use_fallback:
        try:
            import atheris  # noqa: F401, PLC0415
        except ImportError:
            print("atheris is not installed: running the fallback fuzzer (see fuzz/README.md)", file=sys.stderr)
            use_fallback = True
    if use_fallback:
        if rest:
            print(f"ignoring libFuzzer arguments in fallback mode: {' '.join(rest)}", file=sys.stderr)
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
        targets = _targets(args.target)
        return fallback(targets, args.seconds or 60.0, seed, args.artifacts, trace=not args.no_trace)
    run_atheris(args.target, [argv[0], *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

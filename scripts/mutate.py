#!/usr/bin/env python3
"""Mutation testing of the core modules with mutmut: which plausible bugs would the fast tests
catch? Run it through scripts/mutate, which sets up .venv with the test and mutate extras.

    scripts/mutate                      every core module (an hour or more on 2 cores)
    scripts/mutate service spatial      some of them
    scripts/mutate -j 2 districts       two mutants at a time (default 1: the machine is shared)
    scripts/mutate --survivors service  re-run only the mutants that were not caught last time
                                        (after adding tests: a caught mutant stays caught)
    scripts/mutate --report             no run: the score of the last results in mutants/
    scripts/mutate --fresh              delete mutants/ first (mutmut's cache of mutants, test
                                        coverage and results) for figures from scratch
    scripts/mutate --write              also put the scores into README.md (development section)

mutmut copies locator/ and the tests into mutants/ (git-ignored), rewrites each function of a
module so that an environment variable selects one mutant, runs the fast test selection once to
learn which tests execute which function, and then, per mutant, runs only those tests. Its
configuration is [tool.mutmut] in pyproject.toml.

A module's score is the share of its non-equivalent mutants that a test catches (fails on or
times out on). Equivalent mutants (changes that cannot alter behaviour, e.g. a sort's `kind`
when the keys are unique) are listed, each with the reason, in tests/equivalent_mutants.toml,
matched by function and changed line, not by mutmut's number, so an entry goes stale (and is
reported) when its line changes. Survivors are printed with their diff to be killed by a test
or, after review, added to that list.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EQUIVALENTS = ROOT / "tests" / "equivalent_mutants.toml"
MUTANTS = ROOT / "mutants"
CORE = ("service", "spatial", "districts", "gazetteer", "offices", "merge", "api")
FIGURES_START, FIGURES_END = "<!-- mutate:figures:start -->", "<!-- mutate:figures:end -->"
# mutmut's exit codes (mutmut/stats.py): 1 and 3 a failing test; 24, 36, 152, 255, -24 a timeout
# (SIGXCPU), -9 the kill after it; 0 survived; 5 and 33 no test executes the function.
CAUGHT = {1, 3, 24, 36, 152, 255, -24, -9}
SURVIVED = {0}
NO_TESTS = {5, 33}


@dataclass
class Equivalent:
    function: str
    before: str
    after: str
    why: str
    matched: int = 0


@dataclass
class Score:
    module: str
    mutants: int = 0
    caught: int = 0
    equivalent: int = 0
    survived: list[str] = field(default_factory=list)  # non-equivalent, not caught
    no_tests: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # not checked, suspicious, interrupted
    wrong_equivalents: list[str] = field(default_factory=list)  # listed, but a test fails
    minutes: float | None = None

    @property
    def relevant(self) -> int:
        return self.mutants - self.equivalent

    @property
    def percent(self) -> float:
        return 100.0 * self.caught / self.relevant if self.relevant else 100.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help=f"core modules to mutate (default: all of {', '.join(CORE)})")
    parser.add_argument("-j", "--max-children", type=int, default=1,
                        help="mutants tested at the same time (default 1)")
    parser.add_argument("--survivors", action="store_true",
                        help="re-run only the mutants not caught in the last run")
    parser.add_argument("--report", action="store_true", help="no run, report the last results")
    parser.add_argument("--fresh", action="store_true", help="delete mutants/ first")
    parser.add_argument("--write", action="store_true", help="write the scores into README.md")
    parser.add_argument("--json", type=Path, help="also write the scores to this file as JSON")
    parser.add_argument("--quiet", action="store_true", help="no diffs of the survivors")
    args = parser.parse_args()
    modules = args.modules or list(CORE)
    unknown = [m for m in modules if m not in CORE]
    if unknown:
        parser.error(f"not a core module: {', '.join(unknown)} (choose from {', '.join(CORE)})")

    os.chdir(ROOT)  # mutmut works in the current directory: pyproject.toml, mutants/
    if args.fresh and not args.report and MUTANTS.exists():
        shutil.rmtree(MUTANTS)
    equivalents = read_equivalents()
    scores = []
    for module in modules:
        minutes = None
        if not args.report:
            minutes = run_mutmut(module, args.max_children, survivors_only=args.survivors,
                                 equivalents=equivalents)
        score = score_module(module, equivalents)
        score.minutes = minutes
        scores.append(score)
        print_score(score, diffs=not args.quiet)
    stale = [e for e in equivalents if e.function.split(".")[1] in modules and not e.matched]
    for entry in stale:
        say(f"stale entry in {EQUIVALENTS.name} (no such mutant any more): {entry.function}: "
            f"{entry.before!r} -> {entry.after!r}")
    say("\n" + table(scores))
    if args.json:
        args.json.write_text(json.dumps([figures(s) for s in scores], indent=2) + "\n",
                             encoding="utf-8")
    if args.write:
        write_readme(scores)
        say(f"wrote the scores into {README.relative_to(ROOT)}")
    return 0


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_mutmut(module: str, max_children: int, *, survivors_only: bool,
               equivalents: list[Equivalent]) -> float:
    """Run mutmut on one module's mutants; its log goes to mutants/mutmut-<module>.log.

    Mutants of the reviewed list that survived last time are not run again; with
    survivors_only, neither are those caught last time (adding tests cannot uncatch them).
    mutmut makes the mutants anew of every function whose code changed since and forgets
    their results; a second pass runs those (and any mutant a pass left unchecked)."""
    started = time.monotonic()
    names = [f"locator.{module}.*"]
    if meta_path(module).exists():
        results = json.loads(meta_path(module).read_text(encoding="utf-8"))["exit_code_by_key"]
        wanted = [k for k, code in results.items()
                  if not (survivors_only and code in CAUGHT)
                  and not (code in SURVIVED and is_equivalent(k, equivalents))]
        names = wanted or names
    for attempt in (1, 2):
        _mutmut(module, names, max_children, log_suffix="" if attempt == 1 else "-2")
        results = json.loads(meta_path(module).read_text(encoding="utf-8"))["exit_code_by_key"]
        names = [k for k, code in results.items() if code is None]
        if not names:
            break
    return (time.monotonic() - started) / 60.0


def _mutmut(module: str, names: list[str], max_children: int, *, log_suffix: str) -> None:
    mutmut = Path(sys.executable).with_name("mutmut")
    MUTANTS.mkdir(exist_ok=True)
    log = MUTANTS / f"mutmut-{module}{log_suffix}.log"
    say(f"mutate {module}: {len(names) if names[0][-1] != '*' else 'all'} mutants, "
        f"{max_children} at a time; log in {log.relative_to(ROOT)}")
    # Mutants are selected by the environment: a stray MUTANT_UNDER_TEST would mutate the run.
    env = {k: v for k, v in os.environ.items() if k != "MUTANT_UNDER_TEST"}
    env.pop("LOCATOR_DATA_DIR", None)
    with log.open("w", encoding="utf-8") as out:
        # The names go through a file's worth of argv; a few hundred fit easily.
        code = subprocess.run([str(mutmut), "run", "--max-children", str(max_children), *names],
                              stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").replace("\r", "\n")
        say("\n".join(tail.splitlines()[-30:]))
        raise SystemExit(f"mutmut failed on {module} (exit {code}); see {log}")


def meta_path(module: str) -> Path:
    return MUTANTS / "locator" / f"{module}.py.meta"


def read_equivalents() -> list[Equivalent]:
    data = tomllib.loads(EQUIVALENTS.read_text(encoding="utf-8"))
    return [Equivalent(e["function"], e["before"].strip(), e["after"].strip(), e["why"])
            for e in data.get("mutant", [])]


def function_of(mutant: str) -> str:
    """locator.spatial.xǁPointIndexǁnearest__mutmut_9 -> locator.spatial.PointIndex.nearest"""
    module, _, name = mutant.rpartition(".")
    name = name.rpartition("__mutmut_")[0]
    if name.startswith("xǁ"):
        name = ".".join(name[2:].split("ǁ"))
    elif name.startswith("x_"):
        name = name[2:]
    return f"{module}.{name}"


def changed_lines(mutant: str, path: str) -> tuple[str, str]:
    """The lines a mutant removes and adds, stripped and joined: its identity across runs."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    before, after = [], []
    for line in get_diff_for_mutant(mutant, path=path).splitlines()[2:]:
        if line.startswith("-"):
            before.append(line[1:].strip())
        elif line.startswith("+"):
            after.append(line[1:].strip())
    return "\n".join(before), "\n".join(after)


def is_equivalent(mutant: str, equivalents: list[Equivalent]) -> bool:
    function = function_of(mutant)
    if not any(e.function == function for e in equivalents):
        return False
    before, after = changed_lines(mutant, f"locator/{mutant.split('.')[1]}.py")
    return any((e.function, e.before, e.after) == (function, before, after) for e in equivalents)


def score_module(module: str, equivalents: list[Equivalent]) -> Score:
    path = meta_path(module)
    if not path.exists():
        raise SystemExit(f"no results for {module} in mutants/: run scripts/mutate {module}")
    results = json.loads(path.read_text(encoding="utf-8"))["exit_code_by_key"]
    score = Score(module, mutants=len(results))
    source = f"locator/{module}.py"
    for name, code in sorted(results.items(), key=lambda kv: natural(kv[0])):
        if code in CAUGHT:
            score.caught += 1
            continue
        function = function_of(name)
        before, after = changed_lines(name, source)
        entry = next((e for e in equivalents if e.function == function and e.before == before
                      and e.after == after), None)
        if entry is not None:
            entry.matched += 1
            if code in SURVIVED:
                score.equivalent += 1
                continue
        if code in SURVIVED:
            score.survived.append(name)
        elif code in NO_TESTS:
            score.no_tests.append(name)
        else:
            score.other.append(name)
    # An entry that matches a caught mutant is not equivalent after all.
    for name, code in results.items():
        if code in CAUGHT:
            function = function_of(name)
            if any(e.function == function for e in equivalents):
                before, after = changed_lines(name, source)
                for e in equivalents:
                    if e.function == function and (e.before, e.after) == (before, after):
                        e.matched += 1
                        score.wrong_equivalents.append(name)
    return score


def natural(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("__mutmut_")
    return stem, int(number) if number.isdigit() else 0


def print_score(score: Score, *, diffs: bool) -> None:
    say(f"\n{score.module}: {score.caught} of {score.relevant} non-equivalent mutants caught "
        f"({score.percent:.1f} %); {score.equivalent} equivalent (reviewed), "
        f"{len(score.survived)} survived, {len(score.no_tests)} without a test"
        + (f", {len(score.other)} not checked or suspicious" if score.other else ""))
    source = f"locator/{score.module}.py"
    for title, names in (("survived", score.survived), ("no test runs it", score.no_tests),
                         ("not checked or suspicious", score.other),
                         (f"listed in {EQUIVALENTS.name} but caught", score.wrong_equivalents)):
        for name in names:
            say(f"  {title}: {name}  ({function_of(name)})")
            if diffs:
                before, after = changed_lines(name, source)
                for line in before.splitlines():
                    say(f"      - {line}")
                for line in after.splitlines():
                    say(f"      + {line}")


def figures(score: Score) -> dict:
    return {"module": score.module, "mutants": score.mutants, "equivalent": score.equivalent,
            "caught": score.caught, "survived": len(score.survived),
            "no_tests": len(score.no_tests), "other": len(score.other),
            "score_percent": round(score.percent, 1), "minutes": score.minutes,
            "survivors": score.survived + score.no_tests + score.other}


def table(scores: list[Score]) -> str:
    rows = ["| module | mutants | equivalent | caught | survived | no test | score |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for s in scores:
        rows.append(row(s))
    return "\n".join(rows)


def row(s: Score) -> str:
    met = "" if s.percent >= 90.0 else " (below 90 %)"
    return (f"| `locator/{s.module}.py` | {s.mutants} | {s.equivalent} | {s.caught} | "
            f"{len(s.survived)} | {len(s.no_tests) + len(s.other)} | {s.percent:.1f} %{met} |")


def provenance() -> str:
    import importlib.metadata

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "locator", "tests"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}"
            f"{' + uncommitted changes' if dirty else ''}, "
            f"mutmut {importlib.metadata.version('mutmut')}")


def write_readme(scores: list[Score]) -> None:
    """Replace the rows of the modules measured now in the README's scores table; the other
    modules keep their row (each row says when and at which commit it was measured)."""
    text = README.read_text(encoding="utf-8")
    start, end = text.find(FIGURES_START), text.find(FIGURES_END)
    if not 0 <= start < end:
        raise SystemExit(f"README.md has no {FIGURES_START} … {FIGURES_END} block")
    old = text[start + len(FIGURES_START):end].strip().splitlines()
    rows = {}
    for line in old:
        for module in CORE:
            if line.startswith(f"| `locator/{module}.py` "):
                rows[module] = line
    stamp = provenance()
    for s in scores:
        # --report: the results of an earlier run in mutants/, reported at this commit.
        how = "" if s.minutes is not None else "reported from mutants/ "
        rows[s.module] = row(s) + f" {how}{stamp} |"
    header = ["| module | mutants | equivalent | caught | survived | no test | score "
              "| measured |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    body = [rows[m] for m in CORE if m in rows]
    block = f"{FIGURES_START}\n" + "\n".join(header + body) + f"\n{FIGURES_END}"
    README.write_text(text[:start] + block + text[end + len(FIGURES_END):], encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())

"""How long `identifying_spans` takes for a 300-character quote, by roster size.

    .venv/bin/python benchmarks/identify_bench.py [--rounds N]

Scenarios, each with fresh Person objects per call, as a request brings them:
  hit       the same roster as the call before (the matcher comes from the cache)
  new item  the same group, a different author in front and listed person behind
            (the group's matcher is reused, only those two are built)
  miss      an empty cache: the whole roster is built
Prints the median and the 99th percentile in microseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

from discretion.engine import identify
from discretion.engine.identify import identifying_spans
from discretion.engine.model import Person

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "fe", "gu", "hi", "jo",
             "be", "co", "di", "fu", "wa"]


def _word(n: int) -> str:
    a, rest = divmod(n % 8000, 400)
    b, c = divmod(rest, 20)
    return (SYLLABLES[a] + SYLLABLES[b] + SYLLABLES[c]).capitalize()


def _person(i: int) -> Person:
    # Strings built anew, so their hashes are not already cached, as with a decoded request.
    return Person(id=f"p{i}", display_name=f"{_word(i)} {_word(7999 - i)}",
                  organization=f"{_word(i % 50)} Holdings", handles=(f"@{_word(i).lower()}{i}",))


def _group(size: int) -> list[Person]:
    return [_person(i) for i in range(size)]


def _quote(group: list[Person]) -> str:
    named = group[len(group) // 2]
    text = (f"At the meeting {named.display_name} said rates would rise; {named.display_name.split()[1]} "
            f"of {named.organization} and {named.handles[0]} agreed. ")
    filler = "Others thought the opposite and said so at length, with figures from last year. "
    return (text + filler * 5)[:300]


def _time(call, prepare, rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        argument = prepare()
        start = time.perf_counter()
        call(argument)
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def _scenarios(size: int, rounds: int):
    text = _quote(_group(size))
    call = lambda people: identifying_spans(text, people, except_person="p1")  # noqa: E731
    identifying_spans(text, _group(size))  # warm the cache for the hits
    yield "hit", _time(call, lambda: _group(size), rounds)
    authors = iter(range(10_000, 10_000 + 2 * rounds))
    yield "new item", _time(call, lambda: [_person(next(authors)), *_group(size), _person(next(authors))], rounds)

    def cold():
        identify._CACHE.clear()
        return _group(size)
    yield "miss", _time(call, cold, max(5, rounds // 10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    rounds = parser.parse_args().rounds
    print(f"{'people':>7}  {'scenario':<9} {'median µs':>10} {'p99 µs':>10}")
    for size in (10, 1_000, 5_000):
        for name, (median, p99) in _scenarios(size, rounds):
            print(f"{size:>7}  {name:<9} {median:>10.1f} {p99:>10.1f}")


if __name__ == "__main__":
    main()

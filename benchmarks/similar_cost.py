"""Cost of ranking similar cases by meaning: model load, memory, time per ticket, per search.

    .venv/bin/python benchmarks/similar_cost.py [--repeat 20]

Loads the embedding model (WordLlama l2_supercat, from the files in its wheel) and reports:
load time and the process's resident memory before and after (it is loaded once per process);
the time to embed one ticket (the golden tickets' texts, one at a time, median and p95); and
how long telling how well the model reads the query takes (its tokens per word, which weighs
the embedding against the words); one ``tickets_similar``-sized ranking (a ticket's search after its diagnosis against 100 resolved
tickets, built as the connector builds them: words, tags, identifiers) by meaning and by BM25,
median over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from casefile.agent.intake import load_ticket
    from casefile.agent.similar.query import investigation_query, query_keys, resolved_doc
    from casefile.agent.similar.rank import rank
    from casefile.evals.cases import load_cases

    texts = [load_ticket(case.ticket_path).full_text() for case in load_cases()]
    before = _rss_mb()
    t0 = time.perf_counter()
    from casefile.agent.similar.embed import load_embedder

    model = load_embedder()
    load_s = time.perf_counter() - t0
    if model is None:
        raise SystemExit("the embedding model did not load: nothing to measure")
    after = _rss_mb()
    per_ticket = []
    for text in texts:
        t = time.perf_counter()
        model.embed([text])
        per_ticket.append((time.perf_counter() - t) * 1000)
    per_ticket.sort()
    tags = [["api", "429"], ["billing", "past-due"], ["customer-error"], ["sso", "certificate-expired"]]
    docs = [
        resolved_doc(str(i), f"ticket {i}", texts[i % len(texts)], "Resolved.", tags[i % len(tags)])
        for i in range(100)
    ]
    query = investigation_query(
        "Requests failing",
        texts[0],
        "known_bug",
        "An open bug fails requests.",
        ["rate_limit_exceeded", "ZED-1"],
    )
    wanted = query_keys(query.evidence, query.category)
    reads = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        model.reading(query.text)
        reads.append((time.perf_counter() - t) * 1000)
    timings: dict[str, list[float]] = {"meaning": [], "bm25": []}
    for _ in range(args.repeat):
        for name, embedder in (("meaning", model), ("bm25", None)):
            t = time.perf_counter()
            rank(query.text, docs, query_evidence=wanted, embedder=embedder, limit=3)
            timings[name].append((time.perf_counter() - t) * 1000)
    print(f"model: {model.name}")
    print(
        f"load: {load_s:.2f} s; resident memory {before:.0f} MB → {after:.0f} MB (+{after - before:.0f} MB)"
    )
    print(
        f"embed one ticket ({len(texts)} golden tickets): median {statistics.median(per_ticket):.2f} ms, "
        f"p95 {per_ticket[int(0.95 * (len(per_ticket) - 1))]:.2f} ms"
    )
    print(
        f"how well the model reads the query (tokens per word, {len(query.text)} characters; part of the "
        f"ranking by meaning): median {statistics.median(reads):.1f} ms"
    )
    for name, values in timings.items():
        print(f"rank 1 ticket against 100 by {name}: median {statistics.median(values):.1f} ms")


if __name__ == "__main__":
    main()

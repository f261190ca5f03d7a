"""Case 9: what observability costs, on against off, in the same run.

The same trivial echo skill as cases 1 and 4 (sync, `blocking=False`, `{"x": 1, "s": "a"}`), on
four runtimes that differ only in what is switched on: nothing (the default), Prometheus
metrics (a fresh `CollectorRegistry`), OpenTelemetry tracing (the SDK's `TracerProvider` with a
`SimpleSpanProcessor` and an exporter that drops every span, so the figure is the cost of making
and ending the spans, not of sending them), and both.

- `Runtime.execute`, µs per call; rounds interleave the four variants.
- `Runtime.run` of a 10,000-step plan with a store that keeps nothing (the engine and the
  pipeline alone, so that SQLite does not hide the difference), ms per run; one run of each
  variant per round, back to back.

The target of issue 17: metrics on costs under 15% for a trivial skill (`execute`, metrics on /
off, the median of the per-round ratios).
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from benchlib import NullStore, calibrate, echo_runtime, emit, per_call_us, plan, row, timed

PARAMS = {"x": 1, "s": "a"}
VARIANTS = ("off", "metrics", "tracing", "metrics+tracing")


def _tracer_provider() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Drop()))
    return provider


def runtime(variant: str, **kwargs: Any) -> Any:
    from prometheus_client import CollectorRegistry

    return echo_runtime(
        metrics=CollectorRegistry() if "metrics" in variant else False,
        tracing=_tracer_provider() if "tracing" in variant else False,
        logs=False,
        **kwargs,
    )


def execute_case(rounds: int, batch_seconds: float) -> tuple[list[dict[str, Any]], dict[str, float]]:
    from aos_core import ResourceContract

    runtimes = {v: runtime(v, contract=ResourceContract(max_calls=10**12, max_money="1000000")) for v in VARIANTS}

    def calls(rt: Any) -> Any:
        def n_calls(n: int) -> None:
            execute, params = rt.execute, PARAMS
            for _ in range(n):
                execute("echo", params)

        return n_calls

    funcs = {v: calls(rt) for v, rt in runtimes.items()}
    for rt in runtimes.values():
        assert rt.execute("echo", PARAMS).ok
    sizes = {v: calibrate(fn, batch_seconds) for v, fn in funcs.items()}
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for v, fn in funcs.items():
            samples[v].append(per_call_us(fn, sizes[v]))
    for rt in runtimes.values():
        rt.close()
    ratios = {
        v: statistics.median(on / off for on, off in zip(samples[v], samples["off"], strict=True)) for v in VARIANTS[1:]
    }
    rows = [
        row(f"Runtime.execute, {v}", "µs/call", values, key=f"execute-{v}", calls_per_sample=sizes[v])
        for v, values in samples.items()
    ]
    return rows, ratios


def run_case(steps: int, rounds: int) -> tuple[list[dict[str, Any]], dict[str, float]]:
    the_plan = plan(steps)
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for v in VARIANTS:
            with runtime(v, store=NullStore()) as rt:
                took, result = timed(lambda rt=rt: rt.run(the_plan))
                assert result.ok and len(result.outcomes) == steps, result.error
                samples[v].append(took * 1000.0)
    ratios = {
        v: statistics.median(on / off for on, off in zip(samples[v], samples["off"], strict=True)) for v in VARIANTS[1:]
    }
    rows = [row(f"Runtime.run, {steps} steps, {v}", "ms", values, key=f"run-{v}") for v, values in samples.items()]
    return rows, ratios


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch-seconds", type=float, default=0.05)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--run-rounds", type=int, default=5)
    args = parser.parse_args()
    rows, execute_ratios = execute_case(args.rounds, args.batch_seconds)
    run_rows, run_ratios = run_case(args.steps, args.run_rounds)
    notes = [f"execute, {v} / off (median of per-round ratios): {r:.3f}" for v, r in execute_ratios.items()]
    notes += [
        f"run of {args.steps} steps, {v} / off (median of per-round ratios): {r:.3f}" for v, r in run_ratios.items()
    ]
    emit("observability", rows + run_rows, notes, paired=True, ratios={"execute": execute_ratios, "run": run_ratios})


if __name__ == "__main__":
    main()

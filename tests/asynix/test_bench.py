"""The benchmark harness's mechanics (figures are never asserted: speed is not a test)."""

from __future__ import annotations

import json

import pytest

from asynix import bench, cli


@pytest.fixture(autouse=True)
def _restore_logging():
    import structlog

    saved = structlog.get_config()
    yield
    structlog.configure(**saved)  # the CLI configures logging globally


@pytest.fixture
def fake_registry(monkeypatch):
    registry: dict[str, bench.Benchmark] = {}
    monkeypatch.setattr(bench, "_REGISTRY", registry)
    monkeypatch.setattr(bench, "_MODULES", ())

    async def baseline(n):
        return n * 10e-6  # 10 µs per round trip

    monkeypatch.setattr(bench, "baseline_roundtrip", baseline)

    async def two_round_trips(n):
        return n * 20e-6

    async def fast(n):
        return n * 1e-6

    bench.benchmark(
        "fake.latency", ops=100, kind="latency", unit="us", ratio=True, goal="ratio <= 3"
    )(two_round_trips)
    bench.benchmark("fake.rate", ops=50, kind="rate", unit="ops/s")(fast)
    bench.benchmark("other.bw", ops=10, kind="bandwidth", unit="GiB/s", scale=0.5)(fast)
    return registry


def test_json_lines_have_name_value_unit_ratio(fake_registry, capsys):
    assert cli.main(["bench", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == [
        "baseline.roundtrip",
        "fake.latency",
        "fake.rate",
        "other.bw",
    ]
    assert all(set(r) == {"name", "value", "unit", "ratio"} for r in rows)
    by = {r["name"]: r for r in rows}
    assert by["fake.latency"]["value"] == pytest.approx(20.0)
    assert by["fake.latency"]["ratio"] == pytest.approx(2.0)
    assert by["fake.rate"]["value"] == pytest.approx(1e6) and by["fake.rate"]["ratio"] is None
    assert by["other.bw"]["value"] == pytest.approx(0.5e6)


def test_names_and_prefixes_select(fake_registry, capsys):
    assert cli.main(["bench", "fake"]) == 0
    out = capsys.readouterr().out
    assert "fake.latency" in out and "fake.rate" in out and "other.bw" not in out
    assert "ratio 2.00" in out and "(goal: ratio <= 3)" in out


def test_unknown_name_is_an_error(fake_registry, capsys):
    assert cli.main(["bench", "nope"]) == 2
    assert "no benchmark named nope" in capsys.readouterr().out


def test_every_real_benchmark_module_imports():
    registry = bench._load()
    assert {"ipc.sendrec", "mmu.hit", "mmu.miss", "copy.1mib"} <= set(registry)


def test_a_ratio_uses_the_baselines_measured_beside_its_runs(monkeypatch):
    import anyio

    monkeypatch.setattr(bench, "_REGISTRY", {})
    monkeypatch.setattr(bench, "_MODULES", ())
    calls: list[str] = []
    # The first three baselines make the printed figure; then one before each run, on a
    # machine that has become twice as slow: the ratio compares like with like.
    paces = iter([5e-6, 6e-6, 5e-6, 10e-6, 12e-6, 10e-6])

    async def baseline(n):
        calls.append("base")
        return n * next(paces)

    async def figure(n):
        calls.append("fig")
        return n * 30e-6

    monkeypatch.setattr(bench, "baseline_roundtrip", baseline)
    bench.benchmark("fake.slow", ops=10, kind="latency", unit="us", ratio=True)(figure)
    figures = anyio.run(bench.run, None, 3, None, backend="trio")
    assert calls == ["base"] * 3 + ["base", "fig"] * 3
    assert figures[0].value == pytest.approx(5.0)
    assert figures[1].ratio == pytest.approx(3.0)


def test_stopwatch_keeps_the_fastest_laps_pace(monkeypatch):
    ticks = iter([0.0, 6.0, 10.0, 12.0, 20.0, 22.0])  # laps of 2, 2, 1 ops: 3, 1, 2 s each
    monkeypatch.setattr(bench.time, "perf_counter", lambda: next(ticks))
    sw = bench.Stopwatch(5, 2)
    assert list(sw.laps()) == [2, 2, 1]
    assert sw.best == pytest.approx(1.0)
    assert sw.seconds == pytest.approx(5.0)

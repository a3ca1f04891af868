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

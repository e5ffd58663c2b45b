"""The benchmark's quick mode runs end to end on real reviews (a smoke test: no thresholds), every section."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, real_archive


@pytest.mark.real_data
@pytest.mark.slow
def test_quick_benchmark_writes_its_figures(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "benchmark.py"),
            "--data",
            real_archive(),
            "--quick",
            "--cells",
            "gru",  # the cell with the most rows (Keras's GRU both ways); the LSTM's code path is the same
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((tmp_path / "benchmark.json").read_text())
    for cell in ("gru",):
        rows = figures["training"][cell]
        # Keras's layer(s), our cell in keras.layers.RNN, and the product's Recurrent
        expected = {f"keras.layers.{cell.upper()}", "ours in keras.layers.RNN", "ours, Recurrent (the product)"}
        assert expected <= set(rows)
        assert all(r["reviews_per_s"] > 0 and r["vs_keras"] > 0 for r in rows.values())
        assert all(v["trace_ms"] > 0 for v in figures["latency_ms"][cell].values())
        assert figures["recurrent_layer"][cell]["ours"]["gflops"] > 0
        assert all(r["reviews_per_s"] > 0 for r in figures["fit"][cell].values())
    assert figures["matmul_gflops"] > 0
    assert "vs Keras's layer" in (tmp_path / "benchmark.md").read_text()
    # Every device (here the CPU; a GPU where there is one), Keras's layer and ours in each precision.
    devices = figures["devices"]
    assert [p["device"] for p in devices["by_device"]][0].startswith("/device:CPU:0")
    assert (devices["gpu"] == "measured") == (len(devices["by_device"]) > 1)
    for part in devices["by_device"]:
        for cell in ("gru",):
            rows = part["cells"][cell]
            assert list(rows) == ["float32", "float32, XLA (--jit)", "mixed_float16 (--mixed-precision)"]
            for by_layer in rows.values():
                assert set(by_layer) == {f"keras.layers.{cell.upper()}", "ours, Recurrent (the product)"}
                assert all(r["reviews_per_s"] > 0 for r in by_layer.values()), by_layer
    assert "On each device: float32, XLA, mixed precision" in (tmp_path / "benchmark.md").read_text()
    # The adversarial step: none and the default, each with its ratio to none.
    for cell in ("gru",):
        rows = figures["adversarial"]["cells"][cell]
        assert len(rows) == 2 and rows["none (--adversarial 0)"]["vs_none"] == 1
        assert all(r["reviews_per_s"] > 0 and len(r["seconds"]) == 2 for r in rows.values())
    assert "The adversarial step's cost" in (tmp_path / "benchmark.md").read_text()

"""The local mode shows the metrics the functions would publish (EMF lines) in a readable form."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from localapi.emf import MetricsPrinter, readable

ROOT = Path(__file__).resolve().parent.parent.parent
EMF = json.dumps(
    {
        "_aws": {
            "Timestamp": 1,
            "CloudWatchMetrics": [
                {
                    "Namespace": "ImageService",
                    "Dimensions": [["Stack", "Path"]],
                    "Metrics": [{"Name": "Uploads", "Unit": "Count"}, {"Name": "BytesStored", "Unit": "Bytes"}],
                }
            ],
        },
        "Stack": "image-service",
        "Path": "json",
        "Uploads": 1,
        "BytesStored": 5120,
        "request_id": "r-1",
    }
)


def test_an_emf_line_reads_as_its_metrics() -> None:
    assert readable(EMF) == (
        "metric ImageService: Uploads=1 Count, BytesStored=5120 Bytes [Stack=image-service, Path=json] request_id=r-1"
    )


def test_other_lines_are_not_metrics() -> None:
    for line in ('{"level": "INFO", "message": "request"}', "plain text", '{"_aws": "broken"}', '{"_aws": {'):
        assert readable(line) is None


def test_the_printer_rewrites_metric_lines_and_passes_the_rest() -> None:
    out = io.StringIO()
    printer = MetricsPrinter(out)
    log_line = '{"level": "INFO", "message": "request"}'
    print(log_line, file=printer)
    print(EMF, file=printer, flush=True)  # print writes the line and its newline separately
    printer.write("no newline yet")
    assert out.getvalue().splitlines() == [log_line, readable(EMF)]
    printer.flush()
    assert out.getvalue().endswith("no newline yet")


def test_a_worker_prints_the_functions_metrics_readably(tmp_path: Path) -> None:
    """The real worker and the layer's real metrics module: what `make serve` shows."""
    (tmp_path / "app.py").write_text(
        "from image_service import metrics\n"
        "def handler(event, context):\n"
        "    metrics.image_stored('raw', 42)\n"
        '    print(\'{"level": "INFO"}\')\n'
        "    return {'statusCode': 204}\n"
    )
    # The worker's protocol: the function's environment first, then one request per line.
    environment = json.dumps({"environment": {"STACK_NAME": "s"}}) + "\n"
    request = environment + json.dumps({"event": {}, "request_id": "r-2", "deadline_ms": 9e15}) + "\n"
    done = subprocess.run(
        [sys.executable, "-m", "localapi.worker", "app.handler"],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT / 'layers' / 'storage'}:{ROOT / 'local'}"},
        input=request,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert '"ok": true' in done.stdout.splitlines()[-1]
    shown = done.stderr.splitlines()
    assert "metric ImageService: Uploads=1 Count, BytesStored=42 Bytes [Stack=s, Path=raw] request_id=-" in shown
    assert '{"level": "INFO"}' in shown

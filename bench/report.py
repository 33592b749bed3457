"""Tables of the results: plain text for the terminal, Markdown for ``bench/results/report.md``."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def _mb(value: float) -> str:
    return f"{value / 1_000_000:.2f} MB"


def _calls(calls: dict[str, int], signatures: int = 0) -> str:
    parts = []
    for name, count in calls.items():
        service, operation = name.split(".", 1)
        label = f"{'DDB' if service == 'dynamodb' else service.upper()} {operation}"
        parts.append(label if count == 1 else f"{count}x {label}")
    if signatures:
        parts.append("local signature" if signatures == 1 else f"{signatures}x local signature")
    return " + ".join(parts) or "none"


def calls_table(data: dict[str, Any]) -> list[Table]:
    rows = []
    for op in data["operations"]:
        minimum = op["minimum"]
        rows.append(
            [
                op["operation"],
                str(op["status"]),
                _calls(op["calls"], op["local_signatures"]),
                _calls(minimum["calls"], minimum["local_signatures"]),
                str(op["http_requests"]),
                str(op["items_read"]),
                f"{op['read_units_est']:g}",
                str(op["items_written"]),
                f"{op['write_units_est']:g}",
                str(op["log_bytes"]),
                op["verdict"],
            ]
        )
    headers = ["operation", "status", "AWS calls", "design minimum", "HTTP", "items read", "RCU*"]
    headers += ["items written", "WCU*", "log bytes", "verdict"]
    notes = [
        f"page size {data['page_size']}; HTTP = requests on the wire (retries would show here)",
        "* read/write capacity units estimated from item sizes (4 KB reads, halved when eventually "
        "consistent; 1 KB writes, doubled in a transaction)",
        "log bytes: the function's own JSON log lines (Lambda adds its START/END/REPORT lines)",
    ]
    return [Table("AWS calls per operation (real handlers, moto)", headers, rows, notes)]


def reads_table(data: dict[str, Any]) -> list[Table]:
    sizes = data["sizes"]
    keys = []
    for page in data["pages"]:
        key = (page["listing"], page["page"])
        if key not in keys:
            keys.append(key)
    rows = []
    for listing, number in keys:
        cells = []
        for size in sizes:
            found = [
                p for p in data["pages"] if (p["listing"], p["page"], p["collection_size"]) == (listing, number, size)
            ]
            cells.append(f"{found[0]['items_read']} ({found[0]['read_units_est']:g} RCU)" if found else "-")
        sample = next(p for p in data["pages"] if (p["listing"], p["page"]) == (listing, number))
        rows.append([listing, str(number), *cells, str(sample["bound"]), _calls(sample["minimum_calls"])])
    headers = ["listing", "page", *[f"N = {size:,}" for size in sizes], "bound", "calls (every N)"]
    flat = data["flat"]
    notes = [
        f"items DynamoDB read for one page of {data['page_size']} (Query ScannedCount + BatchGetItem items); "
        "bound = page + 1 look-ahead row (+ the page's metadata)",
        "user+tag: the user's and the tag's other N photos are newer than the overlap "
        f"({2 * data['page_size']} photos), so a filtering design would read ~N rows",
        "growth between the two largest N: "
        + ", ".join(f"{name} {info['growth']}x" for name, info in flat.items())
        + f"; {data['rows_written']:,} rows written in {data['build_seconds']} s",
    ]
    return [Table("Items read per page vs collection size", headers, rows, notes)]


def cold_table(data: dict[str, Any]) -> list[Table]:
    rows = []
    for name, info in data["functions"].items():
        rows.append(
            [
                name,
                f"{info['median_ms']:.0f} ms",
                f"{info['baseline_ms']:.0f} ms",
                f"{info['paired_ratio_cpu']:.3f}x ({info['paired_ratio_cpu_iqr'][0]:.3f}-"
                f"{info['paired_ratio_cpu_iqr'][1]:.3f})",
                f"{info['paired_ratio']:.3f}x",
                f"<= {data['target_ratio']}x",
                _verdict(info["meets_target"]),
                f"{info['ratio']:.2f}x / {info['ratio_cpu']:.2f}x",
                f"{info['ratio_of_minimums']:.2f}x",
                f"{info['pillow_ms']:.0f} ms ({info['pillow_share'] * 100:.0f}%)" if info["imports_pillow"] else "-",
                f"{info['ratio_cpu_without_pillow']:.3f}x",
                f"{info['own_cpu_ms']:.1f} ms",
            ]
        )
    headers = ["function", "import (median)", "boto3 + 2 clients", "paired CPU ratio (IQR)", "paired ratio"]
    headers += ["target", "verdict", "ratio of medians / CPU", "min ratio", "Pillow's part (CPU)"]
    headers += ["paired CPU ratio without Pillow", "own CPU (paired)"]
    notes = [
        f"{data['repeats']} rounds, each a fresh interpreter per variant, interleaved; code: {data['layout']}; "
        "paired: in one interpreter, the baseline (import boto3 + the 2 clients), then the handler's import "
        "with boto3.client giving it those clients, then (+ first upload) Pillow's: (baseline + the rest) / "
        "baseline in CPU time, the median of the rounds and its quartiles; the verdict is this ratio",
        "ratio of medians: separate interpreters for the handler and the baseline, their medians' ratio (wall / "
        "CPU; as first measured: it moves by up to +-0.08 between runs on this VM); min ratio: fastest against "
        "fastest",
        "own CPU (paired): the handler's import (and the first upload's) after the baseline, in the same "
        "interpreter; Pillow's part: that minus the same with the Pillow modules it loads imported before "
        "the clock started",
        f"Pillow alone ({data['pillow_modules']} modules) in a fresh interpreter: "
        f"{data['pillow_import_alone_ms']:.0f} ms, the init time the layer's extra package adds to a function "
        "that imports it",
        f"layer sources shipped as bytecode: {data.get('layer_bytecode_files', 0)}; without bytecode: "
        f"{data['layer_source_files']}, compiling them costs {data['layer_compile_ms']:.0f} ms of each import "
        "(Lambda cannot write .pyc files)",
        "+ first upload: the handler, then what the first POST /images imports (Pillow, which init leaves out)",
    ]
    return [Table("Cold start: handler module import", headers, rows, notes)]


def memory_table(data: dict[str, Any]) -> list[Table]:
    ways = {"json": "POST /images, JSON", "raw": "POST /images, raw body", "direct": "direct upload, S3 event"}
    rows = []
    for case in data["cases"]:
        rows.append(
            [
                ways[case["style"]],
                case["content_type"],
                f"{case['image_bytes']:,} B",
                case["pixels"],
                _mb(case["tracemalloc_peak_bytes"]),
                f"{case['tracemalloc_multiple']:.2f}x",
                f"{case['minimum_multiple']:.2f}x",
                f"{case['rss_growth_multiple']:.2f}x",
                _mb(case["rss_peak_bytes"]),
                f"{case['handler_ms']['median']:.0f} ms",
            ]
        )
    headers = ["way in", "image", "size", "pixels", "Python peak", "x image", "minimum", "RSS growth"]
    headers += ["process peak RSS", "handler time"]
    notes = [
        f"one upload at each way's size limit through the real handler ({data['function']}, "
        f"{data['memory_size_mb']} MB); AWS answered by a stub, so no emulator memory is counted",
        "Python peak: allocations during the handler call (tracemalloc), the event itself not counted; "
        "minimum: the image's bytes (1x), through JSON also the base64 text parsed from the body (1.33x)",
        "RSS growth: resident memory during the call over before it (also counts C buffers such as "
        "decoded pixels); process peak RSS: what Lambda reports as Max Memory Used",
    ]
    return [Table("Memory: one upload at the maximum size", headers, rows, notes)]


def package_table(data: dict[str, Any]) -> list[Table]:
    if not data.get("built"):
        return [Table("Package size", ["status"], [[data.get("message", "not built")]])]
    rows = []
    for name, info in data["artifacts"].items():
        deployed = info.get("deployed_unzipped_bytes")
        rows.append(
            [
                name,
                info["kind"],
                str(info["files"]),
                f"{info['unzipped_bytes']:,} B",
                f"{info['zipped_bytes']:,} B",
                f"{deployed:,} B" if deployed else "",
                f"{info['share_of_limit'] * 100:.1f}%" if deployed else "",
            ]
        )
    headers = ["artifact", "kind", "files", "unzipped", "zipped", "function + its layers", "of 250 MB"]
    notes = [
        f"{layer}: " + ", ".join(f"{name} {size:,} B" for name, size in parts.items())
        for layer, parts in data["layer_parts_bytes"].items()
    ]
    notes.append(
        f"the layers' own code (image_service, with bytecode) is {data['layer_own_code_bytes']:,} B; "
        f"their third-party packages (Pillow and its HEIF plugin; orjson) {data['layer_extra_packages_bytes']:,} B"
    )
    return [Table("Package size (sam build output)", headers, rows, notes)]


def local_table(data: dict[str, Any]) -> list[Table]:
    rows = []
    for name, runs in data["scenarios"].items():
        for run in runs:
            rows.append(
                [
                    name,
                    str(run["concurrency"]),
                    f"{run['rps']:g}",
                    f"{run['p50_ms']:g} ms",
                    f"{run['p90_ms']:g} ms",
                    f"{run['p99_ms']:g} ms",
                    str(run["requests"]),
                    str(run["errors"]),
                ]
            )
    headers = ["route", "clients", "requests/s", "p50", "p90", "p99", "requests", "errors"]
    inits: dict[str, list[float]] = {}
    for cold in data["worker_cold_starts"]:
        inits.setdefault(cold["function"], []).append(cold["init_ms"])
    init_text = ", ".join(f"{name} {statistics.median(v):.0f} ms (x{len(v)})" for name, v in sorted(inits.items()))
    notes = [
        f"`{data['command']}`: listening after {data['serve_to_listening_s']} s, "
        f"first 200 (a listing, with the list function's cold start) after {data['serve_to_first_200_s']} s",
        f"{data['seconds_per_run']} s per run, keep-alive connections on 127.0.0.1, {data['seed_images']} photos",
        f"worker cold starts (median init): {init_text}",
    ]
    tables = [Table("Local mode (make serve) under load", headers, rows, notes)]
    if "first_answer" in data:
        tables.append(_first_answer_table(data["first_answer"]))
    if "emulation" in data:
        tables.append(_emulation_table(data["emulation"]))
    if "overhead" in data:
        tables.append(_overhead_table(data))
    if "sam_api" in data:
        tables.append(_sam_api_table(data["sam_api"]))
    return tables


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def _verdict_rows(entries: dict[str, dict[str, Any]], cells: Callable[[dict[str, Any]], list[str]]) -> list[list[str]]:
    """A row per route: its name, ``cells`` of its figures, then the met/missed verdict."""
    return [[name, *cells(info), _verdict(info["meets_target"])] for name, info in entries.items()]


def _first_answer_table(data: dict[str, Any]) -> Table:
    headers = ["command", "median", "fastest", "CPU (median)", "target", "verdict"]
    row = [f"`{data['command']}`", f"{data['median_s']:.2f} s", f"{data['min_s']:.2f} s"]
    row += [f"{data['cpu_median_s']:.2f} s", f"<= {data['target_s']:g} s", _verdict(data["meets_target"])]
    notes = [
        f"{data['rounds']} fresh starts, each timed from starting make to the first 200 of GET {data['path']} "
        "(AWS emulation, roles, gateway and the list function's cold start); CPU: user + system time of "
        f"every process of the start by then; each start: {', '.join(f'{s:.2f}' for s in data['seconds'])} s",
    ]
    return Table("Local mode: first answer", headers, [row], notes)


def _emulation_table(data: dict[str, Any]) -> Table:
    names = {"local": "moto {} + the local mode's short paths (make serve)", "shipped": "moto {} as shipped"}
    names["other pin"] = "moto {} as shipped (BENCH_ALT_MOTO_PYTHON)"
    rows = [
        [names[name].format(info["moto"]), f"{info['get_item_ms']:.2f} ms", f"{info['query_21_ms']:.2f} ms"]
        for name, info in data["engines"].items()
    ]
    rows[0].append(_verdict(data["meets_target"]))
    for row in rows[1:]:
        row.append("")
    notes = [
        f"p50 of {data['calls']} calls through moto's WSGI app in a fresh process per engine, median of "
        f"{data['rounds']} interleaved rounds; target: no slower than any other engine measured on both",
    ]
    if not data["other_pin_measured"]:
        notes.append("another moto pin: not measured (set BENCH_ALT_MOTO_PYTHON to its environment's python)")
    return Table(
        "AWS emulation against other engines (DynamoDB)",
        ["engine", "GetItem", "Query, 21 items", "verdict"],
        rows,
        notes,
    )


def _overhead_table(data: dict[str, Any]) -> Table:
    target = data["overhead_target_ms"]
    rows = _verdict_rows(
        data["overhead"],
        lambda info: [
            f"{info['route_p50_ms']:.2f} ms",
            f"{info['aws_calls_p50_ms']:.2f} ms",
            f"{info['handler_p50_ms']:.2f} ms",
            f"{info['outside_handler_p50_ms']:.2f} ms",
            f"{info['overhead_ms']:.2f} ms",
            f"<= {target:g} ms",
        ],
    )
    headers = ["route", "route p50", "its AWS calls p50", "handler p50", "outside the handler", "own overhead"]
    headers += ["target", "verdict"]
    notes = [
        "one client; the handler and its AWS calls (signed with the function's own role, IAM checks "
        "included) timed inside the function's worker for the same requests (Server-Timing); "
        "own overhead = route p50 - its AWS calls p50; outside the handler: per request, the route minus "
        "the handler's whole run (gateway, worker hand-off, event and response marshalling)",
    ]
    return Table("Local mode: its own overhead per request", headers, rows, notes)


def _sam_api_table(data: dict[str, Any]) -> Table:
    headers = ["route", "make serve p50", "make sam-api p50", "ratio", "target", "verdict"]
    if not data.get("measured"):
        return Table(
            "Local mode against warm sam local start-api",
            headers,
            [["every route", "-", "-", "-", "-", data["reason"]]],
        )
    rows = _verdict_rows(
        data["routes"],
        lambda info: [
            f"{info['serve_p50_ms']:.1f} ms",
            f"{info['sam_api_p50_ms']:.1f} ms",
            f"{info['ratio']:.2f}x",
            f">= {info['target']:g}x",
        ],
    )
    rounds = data.get("rounds", "")
    notes = [
        f"one client each, {rounds} interleaved rounds; `make sam-api` ready after {data['ready_s']} s "
        "(warm containers)"
    ]
    return Table("Local mode against warm sam local start-api", headers, rows, notes)


def cost_table(data: dict[str, Any]) -> list[Table]:
    services = list(data["operations"][0]["usd_per_million"]) if data["operations"] else []
    rows = []
    for op in data["operations"]:
        share = max(op["usd_per_million"].items(), key=lambda item: item[1])
        rows.append(
            [
                f"1M x {op['operation']}",
                f"{op['duration_ms']:.0f} ms @ {op['memory_mb']} MB",
                f"{op['write_units_est']:g} / {op['read_units_est']:g}",
                *(f"${op['usd_per_million'][name]:,.2f}" for name in services),
                f"${op['usd_per_million_total']:,.2f}",
                f"{share[0]} ({share[1] / op['usd_per_million_total'] * 100:.0f}%)"
                if op["usd_per_million_total"]
                else "",
            ]
        )
    storage = data["storage"]
    monthly = storage["per_million_per_month"]
    stored = ", ".join(f"{name} ${value:,.2f}" for name, value in monthly.items())
    total = f"${storage['per_million_per_month_total']:,.2f}"
    rows.append(["1M photos stored, a month", "-", "-", *("" for _ in services), total, stored])
    headers = ["what", "Lambda duration (est.)", "WCU / RCU", *services, "total", "largest part"]
    wcu = data["write_units_by_tags"]
    notes = [
        f"{data['region']} on-demand prices, AWS public price pages as of {data['prices_as_of']}; "
        f"photo {data['photo_bytes']:,} B, thumbnail {data['thumbnail_bytes']:,} B; duration: median of "
        f"{data['repeats']} in-process invocations against moto on this machine (an estimate of billed time)",
        f"stored per photo: {storage['s3_bytes_per_photo']:,} B in S3, {storage['dynamodb_bytes_per_photo']:,} B "
        "in DynamoDB (tables and both ALL-projected indexes)",
        "WCU of an upload / of an edit keeping its tags, by number of tags (tag rows with the listed fields; "
        "keys-only rows before): "
        + "; ".join(
            f"{row['tags']}: {row['upload_wcu']}/{row['edit_wcu']} (was {row['upload_wcu_keys_only']}/"
            f"{row['edit_wcu_keys_only']})"
            for row in wcu
        ),
    ]
    return [Table("Cost model: one million of each operation", headers, rows, notes)]


RENDERERS = {
    "calls": calls_table,
    "reads": reads_table,
    "cold": cold_table,
    "memory": memory_table,
    "package": package_table,
    "local": local_table,
    "cost": cost_table,
}


def tables(section: str, data: dict[str, Any]) -> list[Table]:
    return RENDERERS[section](data)


def as_text(table: Table) -> str:
    widths = [max(len(row[i]) for row in [table.headers, *table.rows]) for i in range(len(table.headers))]
    lines = [table.title, "-" * len(table.title)]
    for row in [table.headers, *table.rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    lines += [f"  {note}" for note in table.notes]
    return "\n".join(lines) + "\n"


def as_markdown(table: Table) -> str:
    def escape(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = [f"### {table.title}", ""]
    lines.append("| " + " | ".join(escape(h) for h in table.headers) + " |")
    lines.append("|" + "|".join("---" for _ in table.headers) + "|")
    lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in table.rows]
    if table.notes:
        lines.append("")
        lines += [f"- {note}" for note in table.notes]
    return "\n".join(lines) + "\n"

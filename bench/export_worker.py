"""One export in a fresh process: time, rows, and how much the process's memory grew.

    python -m bench.export_worker <username> <path> <csv|xlsx|pdf>

Prints one JSON line. Memory growth is the peak resident set size during the
download (VmHWM, reset just before it through /proc/self/clear_refs) minus the
resident size just before it, after Django, the templates and one small page
have been loaded, so it measures what the export itself holds.
"""

import json
import os
import sys
import tempfile
import time


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def main() -> None:
    username, path, kind = sys.argv[1:4]
    import django

    django.setup()
    from accounts.models import User
    from bench.inprocess import verified_client

    client = verified_client(User.objects.get(username=username))
    client.get("/cases/?page=2", secure=True)  # load what every page loads first
    before_kb = _status_kb("VmRSS")
    exact_peak = _reset_peak()
    started, cpu_started = time.perf_counter(), time.process_time()
    response = client.get(path, secure=True)
    if response.status_code != 200:
        print(json.dumps({"error": f"{path} answered {response.status_code}"}))
        return
    size = 0
    lines = 0
    head = b""
    # The client's copy goes to disk: only the app's memory is measured.
    sink = tempfile.TemporaryFile() if kind == "xlsx" else None
    chunks = response.streaming_content if response.streaming else [response.content]
    for chunk in chunks:
        size += len(chunk)
        if kind == "csv":
            lines += chunk.count(b"\n")
        elif sink is not None:
            sink.write(chunk)
        if len(head) < 8:
            head += chunk[:8]
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    peak_kb = _status_kb("VmHWM")
    if not exact_peak:
        peak_kb = max(peak_kb, _status_kb("VmRSS"))
    rows = None
    if kind == "csv":
        rows = max(lines - 1, 0)  # the header line
    elif kind == "xlsx":
        from openpyxl import load_workbook

        sink.seek(0)
        sheet = load_workbook(sink, read_only=True).worksheets[0]
        rows = max(sum(1 for _ in sheet.iter_rows(values_only=True)) - 1, 0)
    elif kind == "pdf" and not head.startswith(b"%PDF"):
        print(json.dumps({"error": "the dossier is not a PDF"}))
        return
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_s": cpu_seconds,
                "rows": rows,
                "bytes": size,
                "growth_mb": max(peak_kb - before_kb, 0) / 1024,
                "peak_exact": exact_peak,
                "streaming": bool(response.streaming),
                "pid": os.getpid(),
            }
        )
    )


if __name__ == "__main__":
    main()

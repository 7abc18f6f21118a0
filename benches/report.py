#!/usr/bin/env python3
"""Turns criterion's results (benches/target/criterion) into the Markdown
tables of BENCHMARKS.md: wsproto against each peer as ratios from the same
run, with absolute numbers for orientation.

A ratio is peer time / wsproto time for the same work: above 1.00 wsproto
is faster. Times are criterion's median estimate per iteration.
"""

import json
import os
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "target", "criterion")

PEERS = ["tungstenite", "fastwebsockets", "tokio-websockets"]
SIZES = ["16B", "125B", "1KiB", "64KiB", "16MiB"]
SIZE_BYTES = {"16B": 16, "125B": 125, "1KiB": 1024, "64KiB": 65536, "16MiB": 16 << 20}


def load():
    results = {}
    for dirpath, _, files in os.walk(ROOT):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            bench = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)
        throughput = bench.get("throughput") or {}
        elements = throughput.get("Elements")
        nbytes = throughput.get("Bytes")
        name = bench.get("function_id") or bench.get("value_str")
        results[(bench["group_id"], name)] = {
            "ns": est["median"]["point_estimate"],
            "elements": elements,
            "bytes": nbytes,
        }
    return results


R = load()


def get(group, lib):
    return R.get((group, lib))


def ratio(group, lib, base="wsproto"):
    a, b = get(group, base), get(group, lib)
    if not a or not b:
        return None
    return b["ns"] / a["ns"]


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}×"


def rate(n, ns):
    per_s = n / (ns * 1e-9)
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if per_s >= div:
            return f"{per_s / div:.2f} {unit}"
    return f"{per_s:.0f}"


def mib_s(nbytes, ns):
    v = nbytes / (ns * 1e-9) / (1 << 20)
    return f"{v / 1024:.2f} GiB/s" if v >= 1024 else f"{v:.0f} MiB/s"


def best_peer(group, peers=PEERS):
    times = [(get(group, p)["ns"], p) for p in peers if get(group, p)]
    return min(times) if times else (None, None)


def per_message_table(layer, kinds, extra=None):
    head = "| workload | wsproto msgs/s | wsproto payload | " + " | ".join(
        f"vs {p}" for p in PEERS) + " | vs fastest peer |"
    if extra:
        head += " " + " | ".join(e[0] for e in extra) + " |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for kind in kinds:
        for size in SIZES:
            group = f"{layer}/{kind}/{size}"
            w = get(group, "wsproto")
            if not w:
                continue
            n = w["elements"]
            row = [f"{kind} {size}", rate(n, w["ns"]),
                   mib_s(n * SIZE_BYTES[size], w["ns"])]
            row += [fmt_ratio(ratio(group, p)) for p in PEERS]
            t, p = best_peer(group)
            row.append(f"{t / w['ns']:.2f}× ({p})" if t else "–")
            if extra:
                row += [e[1](group, size, kind, w) for e in extra]
            print("| " + " | ".join(row) + " |")
    print()


def data_variant(group, size, kind, w):
    return fmt_ratio(ratio(group, "wsproto-data"))


def data_vs_peer(group, size, kind, w):
    d = get(group, "wsproto-data")
    t, p = best_peer(group)
    return f"{t / d['ns']:.2f}×" if d and t else "–"


def memcpy_share(group, size, kind, w):
    m = get(f"ceiling/{size}", "memcpy")
    if not m or kind != "binary":
        return "–"
    return f"{100 * m['ns'] / w['ns']:.0f}%"


def section_recv():
    print("### Server receive (masked client frames → messages, 16 KiB reads)\n")
    per_message_table("recv", ["binary", "text"], extra=[
        ("handle_data vs handle_read_with", data_variant),
        ("handle_data vs fastest peer", data_vs_peer),
        ("memcpy time / wsproto time", memcpy_share)])
    g = "recv/fragmented/1MiB-text-1KiB-frames"
    w = get(g, "wsproto")
    if w:
        print("### Fragmented: 1 MiB text in 1 KiB fragments, a ping every 64\n")
        print("| wsproto | " + " | ".join(f"vs {p}" for p in PEERS) + " |")
        print("|---|" + "---|" * len(PEERS))
        print(f"| {mib_s(w['bytes'], w['ns'])} ({w['ns'] / 1e6:.2f} ms) | "
              + " | ".join(fmt_ratio(ratio(g, p)) for p in PEERS) + " |\n")


def section_send():
    print("### Client send (encode + mask, one write per message)\n")
    per_message_table("send", ["binary", "text"])


def section_handshake():
    print("### Handshakes\n")
    print("| side | wsproto (deflate on) | wsproto (deflate off) | "
          + " | ".join(f"{p}" for p in PEERS) + " | deflate-off vs fastest peer |")
    print("|---|---|---|" + "---|" * len(PEERS) + "---|")
    for side in ("server", "client"):
        g = f"handshake/{side}"
        w, wn = get(g, "wsproto"), get(g, "wsproto-nodeflate")
        if not w or not wn:
            continue
        cells = [f"{w['ns'] / 1e3:.2f} µs", f"{wn['ns'] / 1e3:.2f} µs"]
        for p in PEERS:
            x = get(g, p)
            cells.append(f"{x['ns'] / 1e3:.2f} µs ({x['ns'] / wn['ns']:.2f}×)" if x else "–")
        t, p = best_peer(g)
        cells.append(f"{t / wn['ns']:.2f}× ({p})")
        print(f"| {side} | " + " | ".join(cells) + " |")
    r = get("handshake/client", "responder-only")
    if r:
        print(f"\nThe client times include {r['ns'] / 1e3:.2f} µs of the in-memory "
              "server computing each 101 (`responder-only`), the same for every client.")
    print()


def section_deflate():
    g = "deflate/json-roundtrip"
    w, raw, plain = get(g, "wsproto"), get(g, "miniz_oxide-raw"), get(g, "wsproto-nodeflate")
    if not w or not raw or not plain:
        return
    print("### permessage-deflate round trips (256 JSON messages of 1–4 KiB, context takeover)\n")
    print("| wsproto | raw miniz_oxide | raw / wsproto | wsproto without deflate |")
    print("|---|---|---|---|")
    n = w["elements"]
    print(f"| {rate(n, w['ns'])} round trips/s | {rate(n, raw['ns'])} round trips/s | "
          f"{raw['ns'] / w['ns']:.2f}× | {rate(n, plain['ns'])} round trips/s |\n")


def section_ceilings():
    print("### Ceilings (same batches as the receive benchmark)\n")
    print("| size | memcpy | memcpy, destination 16 B past the source's page offset | unmask (wsproto) | unmask (fastest safe) | copy+unmask fused (simple loop) | copy+unmask (wsproto `copy_masked`) | wsproto recv binary (handle_read_with) | wsproto recv binary (handle_data) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in SIZES:
        g = f"ceiling/{size}"
        m = get(g, "memcpy")
        if not m:
            continue
        n = m["elements"] * SIZE_BYTES[size]
        cells = [mib_s(n, get(g, x)["ns"]) if get(g, x) else "–" for x in
                 ("memcpy", "memcpy-dst-page-offset+16", "unmask-wsproto", "unmask-fast",
                  "copy+unmask-fused", "copy+unmask-wsproto")]
        for lib in ("wsproto", "wsproto-data"):
            w = get(f"recv/binary/{size}", lib)
            cells.append(mib_s(n, w["ns"]) if w else "–")
        print(f"| {size} | " + " | ".join(cells) + " |")
    print()
    print("| UTF-8 input | std | simdutf8 | simdutf8 / std |")
    print("|---|---|---|---|")
    for kind in ("ascii", "mixed"):
        for size in ("125B", "1KiB", "64KiB", "1MiB"):
            g = f"utf8/{kind}/{size}"
            s, d = get(g, "std"), get(g, "simdutf8")
            if not s or not d:
                continue
            print(f"| {kind} {size} | {mib_s(s['bytes'], s['ns'])} | "
                  f"{mib_s(d['bytes'], d['ns'])} | {s['ns'] / d['ns']:.2f}× |")
    print()


def section_e2e():
    print("### End to end over loopback TCP (tokio)\n")
    libs = ["tokio-tungstenite", "fastwebsockets", "tokio-websockets"]
    print("| workload | wsproto (tokio adapter) | " + " | ".join(f"vs {p}" for p in libs)
          + " | minimal loop vs adapter | raw TCP | wsproto / raw TCP |")
    print("|---|---|" + "---|" * len(libs) + "---|---|---|")
    for label, unit in (("roundtrip-32B", "rt"), ("echo-8x64KiB", "bytes")):
        g = f"e2e/{label}"
        w, raw = get(g, "wsproto"), get(g, "raw-tcp")
        if not w or not raw:
            continue
        if unit == "rt":
            a, b = f"{rate(1, w['ns'])} round trips/s", f"{rate(1, raw['ns'])} round trips/s"
        else:
            a, b = mib_s(w["bytes"], w["ns"]), mib_s(raw["bytes"], raw["ns"])
        loop = ratio(g, "wsproto-loop")
        loop = "–" if loop is None else f"{1 / loop:.2f}×"
        print(f"| {label} | {a} | " + " | ".join(fmt_ratio(ratio(g, p)) for p in libs)
              + f" | {loop} | {b} | {100 * raw['ns'] / w['ns']:.0f}% |")
    print()


if __name__ == "__main__":
    section_recv()
    section_send()
    section_handshake()
    section_deflate()
    section_ceilings()
    section_e2e()

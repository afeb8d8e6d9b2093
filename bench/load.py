"""Load (loopback only, not part of the tests): units uploading through the last hour before a deadline, through
nginx (deploy/nginx/jth.conf, HTTPS) to two web processes, and the same load on one process without nginx in the
same run, as the floor to compare with.

Each unit is an account of a recommender (where the list has fewer units than ``--units``, a unit has several
accounts, as a unit has several staff). Arrivals grow toward the deadline (their density rises linearly over the
hour). A unit then, as a person would: opens its list of submissions, uploads its 推荐书 one by one (1 to 3; one
upload in five has a mistake, one in ten is a broken file), reads each report, and uploads a corrected version
after a report with problems; between actions it thinks for an exponential time with mean ``--think`` seconds.
The hour is compressed ``--speed`` times (arrivals and think times divided by it), so the load is ``--speed``
times that of the real hour.

Prints, for each configuration: requests, latency p50/p95/max of every request and of the uploads, errors (5xx,
connection errors, an answer that is not the JSON asked for), and the ratio of the two p95s.
Goal (issue 14): behind nginx, p95 at most 300 ms and 0 errors.

Usage: python bench/load.py [--units 200] [--speed 30] [--think 60] [--seed 1]
Uses DATABASE_URL (PostgreSQL, a fresh schema per configuration) when set, else SQLite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.forms.catalog import catalog  # noqa: E402
from service.render.form import render  # noqa: E402
from service.store.auth import create_token, create_user  # noqa: E402
from tests.support.nginx import Nginx, free_port, multipart, wait_for  # noqa: E402
from tests.support.records import letter  # noqa: E402
from tests.support.samples import FONTS_CONF, new_store  # noqa: E402

API = "/api/v1"
HOUR = 3600.0


@dataclass
class Unit:
    """One simulated unit: who it is, when it arrives, what it will upload (first versions and corrections)."""

    entity: str
    account: str
    arrives: float  # seconds into the (compressed) hour
    letters: list[tuple[str, bytes, bytes | None]]  # name, first version, corrected version (None: already right)
    token: str = ""


@dataclass
class Tally:
    latencies: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0  # seconds from the first arrival to the last answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, took: float, error: str = "") -> None:
        with self.lock:
            self.latencies.append((kind, took))
            if error:
                self.errors.append(error)


def make_units(count: int, speed: float, rng: random.Random) -> list[Unit]:
    """Units, their arrival times (rising toward the deadline) and their files, rendered once for both runs."""
    campaign = catalog().campaign("jth-2020")
    rows = catalog().entities("recommenders")
    units = []
    for k in range(count):
        row = rows[k % len(rows)]
        label = campaign.recommender_type(row["type"])["label"]
        files = []
        for n in range(rng.randint(1, 3)):
            record = letter(recommender=row["name"], recommender_type=label,
                            group_name=f"{row['name']}第{k}-{n}号示范职业教育集团")
            good = render("jth-2020", "recommendation_letter", record).content
            roll = rng.random()
            if roll < 0.1:
                files.append((f"推荐书{n + 1}.docx", b"PK\x03\x04" + os.urandom(2000), good))
            elif roll < 0.3:
                wrong = render("jth-2020", "recommendation_letter", dict(record, contact_mobile="1390416")).content
                files.append((f"推荐书{n + 1}.docx", wrong, good))
            else:
                files.append((f"推荐书{n + 1}.docx", good, None))
        arrives = HOUR * (rng.random() ** 0.5) / speed  # density rising linearly toward the deadline
        units.append(Unit(row["id"], f"load-{k:03d}", arrives, files))
    return units


class Client:
    """Requests to one configuration: HTTPS through nginx (a new connection each time, as the slowest browsers
    do) or plain HTTP to gunicorn."""

    def __init__(self, port: int, cafile: Path | None) -> None:
        self.port = port
        self.context = ssl.create_default_context(cafile=str(cafile)) if cafile else None

    def call(self, tally: Tally, kind: str, method: str, path: str, token: str, body: bytes | None = None,
             ctype: str = "") -> dict | None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if ctype:
            headers["Content-Type"] = ctype
        conn = (http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=60)
                if self.context else http.client.HTTPConnection("127.0.0.1", self.port, timeout=60))
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            took = time.perf_counter() - started
            try:
                answer = json.loads(payload)
            except ValueError:
                answer = None
            error = "" if response.status < 500 and isinstance(answer, dict) else f"{kind} {response.status}"
            tally.add(kind, took, error)
            return answer if response.status < 400 else None
        except OSError as exc:
            tally.add(kind, time.perf_counter() - started, f"{kind}: {exc}")
            return None
        finally:
            conn.close()


def person(unit: Unit, client: Client, tally: Tally, start: float, think: float, rng: random.Random) -> None:
    def pause() -> None:
        time.sleep(rng.expovariate(1 / think))

    time.sleep(max(0.0, start + unit.arrives - time.monotonic()))
    client.call(tally, "list", "GET", f"{API}/campaigns/jth-2020/submissions", unit.token)
    for name, first, corrected in unit.letters:
        pause()
        body, ctype = multipart({}, {"file": (name, first)})
        answer = client.call(tally, "upload", "POST", f"{API}/campaigns/jth-2020/submissions", unit.token, body, ctype)
        pause()
        if answer and answer.get("id"):
            client.call(tally, "report", "GET", f"{API}/submissions/{answer['id']}", unit.token)
        if corrected is not None:
            pause()
            body, ctype = multipart({}, {"file": (name, corrected)})
            client.call(tally, "upload", "POST", f"{API}/campaigns/jth-2020/submissions", unit.token, body, ctype)


def run(label: str, units: list[Unit], folder: Path, workers: int, behind_nginx: bool, speed: float, think: float,
        seed: int) -> Tally:
    folder.mkdir(parents=True)
    store = new_store(folder)
    with store.session.begin() as s:
        for unit in units:
            unit.token = create_token(s, create_user(s, unit.account, "load-test-password-2020", "recommender",
                                                     unit.entity))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JTH_")}
    env.update(DATABASE_URL=store.url, JTH_FILE_STORE=str(store.files.root), JTH_INSTANCE_PATH=str(folder),
               JTH_SECRET_KEY="load-bench-secret-key-0123456789abcdef", FONTCONFIG_FILE=str(FONTS_CONF))
    if behind_nginx:
        env.update(JTH_HTTPS="true", JTH_PROXY_HOPS="1")
    app_port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{app_port}",
                               "--workers", str(workers), "--threads", "4", "--log-level", "warning", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    nginx = None
    try:
        wait_for(app_port, server, "gunicorn")
        if behind_nginx:
            nginx = Nginx(folder / "nginx", app_port, connections=1024)
            client = Client(nginx.https, nginx.cert)
        else:
            client = Client(app_port, None)
        tally = Tally()
        start = time.monotonic()
        threads = [threading.Thread(target=person, args=(u, client, tally, start, think / speed,
                                                         random.Random(seed * 1000 + k)))
                   for k, u in enumerate(units)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        tally.wall = time.monotonic() - start
    finally:
        if nginx is not None:
            nginx.stop()
        server.terminate()
        server.wait(timeout=60)
        store.dispose()
    report(label, tally)
    return tally


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def report(label: str, tally: Tally) -> None:
    every = [t for _, t in tally.latencies]
    uploads = [t for kind, t in tally.latencies if kind == "upload"]
    print(f"{label}: {len(every)} requests ({len(uploads)} uploads) in {tally.wall:.0f} s, "
          f"errors {len(tally.errors)}")
    print(f"  every request  ms: p50 {percentile(every, 0.5):.0f}  p95 {percentile(every, 0.95):.0f}  "
          f"max {max(every, default=0) * 1000:.0f}  mean {statistics.fmean(every) * 1000 if every else 0:.0f}")
    print(f"  uploads        ms: p50 {percentile(uploads, 0.5):.0f}  p95 {percentile(uploads, 0.95):.0f}  "
          f"max {max(uploads, default=0) * 1000:.0f}")
    for line in tally.errors[:5]:
        print("   ", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--speed", type=float, default=30.0, help="how many times the hour is compressed")
    parser.add_argument("--think", type=float, default=60.0, help="mean seconds a person thinks between actions")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    made = time.perf_counter()
    units = make_units(args.units, args.speed, rng)
    files = sum(len(u.letters) for u in units)
    print(f"{args.units} units, {files} 推荐书 (+ corrections), the last hour compressed {args.speed:g}× "
          f"({HOUR / args.speed:.0f} s), think time mean {args.think:g} s ({args.think / args.speed:.1f} s compressed); "
          f"database: {'PostgreSQL' if os.environ.get('DATABASE_URL') else 'SQLite'}; "
          f"files made in {time.perf_counter() - made:.0f} s")
    with tempfile.TemporaryDirectory() as tmp:
        floor = run("one process, no nginx", units, Path(tmp) / "one", 1, False, args.speed, args.think, args.seed)
        deployed = run("nginx + two processes", units, Path(tmp) / "two", 2, True, args.speed, args.think, args.seed)
    p95_floor = percentile([t for _, t in floor.latencies], 0.95)
    p95_deployed = percentile([t for _, t in deployed.latencies], 0.95)
    ratio = p95_deployed / p95_floor if p95_floor else float("nan")
    verdict = "met" if p95_deployed <= 300 and not deployed.errors else "NOT met"
    print(f"p95 nginx + two processes / one process: {ratio:.2f}; goal (p95 ≤ 300 ms, 0 errors): {verdict}")


if __name__ == "__main__":
    main()

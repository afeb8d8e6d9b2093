"""Load test (bounded, loopback only, not part of the tests): concurrent clients uploading to the service.

Starts the service under gunicorn on 127.0.0.1 with a fresh SQLite store (as scripts/run.sh does), creates one
account and token per recommender (provinces, 计划单列市, 行指委), then C client threads, each a different
recommender, upload M distinct 推荐书 .docx files (valid and invalid, every fifth one broken) to
``POST /api/v1/campaigns/jth-2020/submissions``, waiting THINK seconds between uploads as a person would
(``--think 0`` is a closed loop: every client sends again the moment it has its answer). Prints p50/p95/max
latency of one upload-and-validate and the error count (5xx, connection errors, or an answer without a status).
Goal: 0 errors, p95 under 150 ms. Usage: python bench/load.py [CLIENTS] [UPLOADS_PER_CLIENT] [--think S]
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.render.form import render  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def documents(n: int, who: dict | None = None) -> list[tuple[str, bytes]]:
    base = json.loads((ROOT / "tests/data/recommendation_letter.json").read_text(encoding="utf-8"))
    if who:
        base.update(recommender=who["name"], recommender_type=who["type_label"])
    out = []
    for i in range(n):
        if i % 5 == 4:
            out.append((f"损坏{i}.docx", b"PK\x03\x04" + os.urandom(100)))
            continue
        rec = dict(base, group_name=f"{(who or {}).get('id', '')}第{i}号示范职业教育集团")
        if i % 5 == 3:
            rec["contact_mobile"] = "1390416"
        out.append((f"推荐书{i}.docx", render("jth-2020", "recommendation_letter", rec).content))
    return out


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def recommenders(n: int) -> list[dict]:
    from service.forms.catalog import catalog

    campaign = catalog().campaign("jth-2020")
    rows = catalog().entities("recommenders")[:n]
    return [dict(r, type_label=campaign.recommender_type(r["type"])["label"]) for r in rows]


def main(clients: int, per_client: int, think: float) -> None:
    who = recommenders(clients)
    docs = [documents(per_client, w) for w in who]
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, JTH_DATABASE_URL=f"sqlite:///{tmp}/load.sqlite3", JTH_FILE_STORE=f"{tmp}/files",
                   JTH_SECRET_KEY="load-test")
        env.pop("DATABASE_URL", None)
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        subprocess.run([*flask, "init-db"], env=env, cwd=ROOT, check=True, capture_output=True)
        script = (
            "from service import create_app\nfrom service.store import store_for\n"
            "from service.store.auth import create_user, create_token\nimport json, sys\n"
            "app = create_app()\nstore = store_for(app)\nout = []\n"
            "with store.session.begin() as s:\n"
            "    for rid in json.loads(sys.argv[1]):\n"
            "        out.append(create_token(s, create_user(s, 'u-' + rid, 'load-test-password', 'recommender', rid)))\n"
            "print(json.dumps(out))\n")
        tokens = json.loads(subprocess.run([sys.executable, "-c", script, json.dumps([w["id"] for w in who])],
                                           env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout)
        port = free_port()
        server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                                   "--workers", "2", "--threads", "8", "--log-level", "warning", "wsgi:app"],
                                  env=env, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()

            def client(k: int) -> None:
                time.sleep(think * k / max(clients, 1))  # people do not all press the button at once
                for name, data in docs[k]:
                    body, ctype = multipart(name, data)
                    req = urllib.request.Request(f"{base}/api/v1/campaigns/jth-2020/submissions", data=body,
                                                 method="POST", headers={"Authorization": f"Bearer {tokens[k]}",
                                                                         "Content-Type": ctype})
                    t0 = time.perf_counter()
                    try:
                        with urllib.request.urlopen(req, timeout=30) as resp:
                            answer = json.loads(resp.read())
                            ok = "status" in json.dumps(answer)
                    except urllib.error.HTTPError as exc:
                        ok = exc.code < 500
                        answer = exc.read()[:200]
                    except OSError as exc:
                        ok, answer = False, str(exc)
                    took = time.perf_counter() - t0
                    with lock:
                        latencies.append(took)
                        if not ok:
                            errors.append(f"{name}: {answer}")
                    time.sleep(think)

            t0 = time.perf_counter()
            threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"clients: {clients} recommenders, uploads: {len(latencies)} (.docx 推荐书: 60% valid, 20% invalid, "
          f"20% broken), think time {think:.1f} s")
    print(f"latency ms: p50 {p(0.5):.0f}  p95 {p(0.95):.0f}  max {latencies[-1] * 1000:.0f}  "
          f"mean {statistics.mean(latencies) * 1000:.0f}")
    print(f"throughput: {len(latencies) / wall:.1f} uploads/s   errors: {len(errors)}")
    for line in errors[:5]:
        print("  ", line)


if __name__ == "__main__":
    think_s = float(sys.argv[sys.argv.index("--think") + 1]) if "--think" in sys.argv else 1.0
    numbers = [a for a in sys.argv[1:] if not a.startswith("--") and a != str(think_s) and
               (sys.argv.index(a) == 0 or sys.argv[sys.argv.index(a) - 1] != "--think")]
    main(int(numbers[0]) if numbers else 50, int(numbers[1]) if len(numbers) > 1 else 4, think_s)

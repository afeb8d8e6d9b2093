"""Benchmark: does a failed login take as long for an unknown user name as for a known one?

If it did not, the time of an answer would tell which user names exist (probe finding 7). Prints the median time
of failed logins for a known and an unknown name, measured in the same run, and their ratio (goal: about 1.0).
Usage: python bench/login_timing.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service import create_app  # noqa: E402
from service.store import Store  # noqa: E402
from service.store.auth import create_user  # noqa: E402


def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    store = Store(f"sqlite:///{tmp / 'bench.sqlite3'}", tmp / "files")
    store.migrate()
    store.load_reference()
    with store.session.begin() as s:
        create_user(s, "provincial", "辽宁-报送-2020-bench", "recommender", "edu-ln")
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "DATABASE_URL": store.url,
                      "FILE_STORE": str(tmp / "files")})
    app.extensions["jth_store"] = store

    def failed_logins(username: str) -> float:
        client, times = app.test_client(), []
        for i in range(n):  # a new address each time, so that no attempt waits for the throttle
            start = time.perf_counter()
            client.post("/login", data={"username": username, "password": f"wrong-{i}"},
                        environ_base={"REMOTE_ADDR": f"10.{len(username)}.{i // 250}.{i % 250}"})
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    failed_logins("warm-up")
    known, unknown = failed_logins("provincial"), failed_logins("nobody-here")
    print(f"failed login, known user   : {known * 1000:7.1f} ms (median of {n})")
    print(f"failed login, unknown user : {unknown * 1000:7.1f} ms")
    print(f"ratio known/unknown: {known / unknown:.2f} (goal about 1.0; before the fix 77 ms / 4 ms = 19)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)

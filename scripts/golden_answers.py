"""Ask this version the golden store's recorded requests (tests/golden/) and
write its answers beside the old ones, for a deliberate change of meaning:

    python scripts/golden_answers.py 10 "why the meaning changed"

imports `store.jsonl` into a temporary SQLite store, sends every request of
the newest answers file, writes `answers-issue<N>.json` with a `because`
note, and prints each answer that differs from the newest file, so the
change can be read before it is committed. The log itself never changes."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
sys.path.insert(0, str(ROOT))

from api import create_app  # noqa: E402
from api.bootstrap import bootstrap  # noqa: E402
from api.cli import main  # noqa: E402
from lifecycle.config import Settings  # noqa: E402
from tests.store.test_golden import IMPORT_ARGS, extends, newest  # noqa: E402


def main_(issue: int, because: str) -> int:
    old = json.loads(newest("answers").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/golden.db"
        result = CliRunner().invoke(main, ["import", str(GOLDEN / "store.jsonl"), *IMPORT_ARGS],
                                    env={"LIFECYCLE_DATABASE_URL": url})
        if result.exit_code != 0:
            print(result.output, file=sys.stderr)
            return 1
        register = bootstrap(Settings(database_url=url))
        client = create_app(service=register).test_client()
        token = json.loads((GOLDEN / "tokens.json").read_text())["sun"]
        new = {**old, "because": because, "requests": {}}
        for path, want in old["requests"].items():
            resp = client.get("/api/v1" + path, headers={"Authorization": f"Bearer {token}"})
            got = {"status": resp.status_code, "body": resp.get_json()}
            if "etag" in want:
                got["etag"] = resp.headers.get("ETag")
            new["requests"][path] = got
            for problem in extends(want, got, path):
                print(problem)
        register.close()
    target = GOLDEN / f"answers-issue{issue}.json"
    target.write_text(json.dumps(new, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main_(int(sys.argv[1]), sys.argv[2]))

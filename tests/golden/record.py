"""How the golden store was recorded (issue 9), kept for the record: it ran
once, on 2026-12-01, with the code of commit eddb0c1, and wrote the files
beside it. It is never run again: the files it wrote are the golden store,
and they are never edited or deleted (docs/architecture.md, "The golden
store").

Every command goes through the HTTP API (Flask's test client) as a client
would send it, so the log holds exactly what that version of the service
recorded: the seed, drafts with and without a sub-item, edits by a second
person, submissions, changes requested, approvals, formal and trial issues, a
revision that takes effect later and supersedes, a revision withdrawn before
it took effect, a withdrawal, each review outcome, users added, revoked and
given new tokens, and an idempotent retry.

    python -m tests.golden.record DIR
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from api import create_app
from lifecycle.application import StandardsApp
from lifecycle.config import Settings
from lifecycle.seed import seed
from lifecycle.users import Role
from projections.transfer import export

P = "/api/v1"

USERS = {
    "zhang": [Role.DRAFTER],          # 张: drafts
    "li": [Role.DRAFTER],             # 李: edits others' drafts
    "wang": [Role.REVIEWER],          # 王: requests changes
    "zhao": [Role.APPROVER],          # 赵: approves, withdraws, reviews
    "chen": [Role.PUBLISHER],         # 陈: issues
    "sun": [Role.AUDITOR],            # 孙: reads the audit log
    "zhou": [Role.ADMIN],             # 周: an administrator
    "temp": [Role.DRAFTER, Role.REVIEWER],  # revoked later
}

# The days the answers are asked about (valid time).
DAYS = ("2019-06-01", "2023-01-01", "2026-11-28", "2027-06-01")


class Recorder:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.db = directory / "work.db"
        if self.db.exists():
            raise SystemExit(f"{self.db} exists: the golden store is recorded once")
        self.service = StandardsApp(Settings(database_url=f"sqlite:///{self.db}"))
        self.client = create_app(service=self.service).test_client()
        self.tokens: dict[str, str] = {}

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def send(self, method: str, path: str, who: str, body: dict | None = None,
             expect: int = 200, **headers: str):
        resp = self.client.open(P + path, method=method, json=body if body is not None else {},
                                headers=self.headers(who, **headers))
        assert resp.status_code == expect, (method, path, resp.status_code, resp.get_data(as_text=True))
        return resp

    def etag(self, code: str) -> str:
        return self.client.get(f"{P}/standards/{code}", headers=self.headers("sun")).headers["ETag"]

    def command(self, code: str, action: str, who: str, body: dict | None = None,
                method: str = "POST", expect: int = 200):
        return self.send(method, f"/standards/{code}/{action}", who, body, expect,
                         **{"If-Match": self.etag(code)}).get_json()

    def draft(self, who: str, body: dict, **headers: str) -> str:
        return self.send("POST", "/standards", who, body, 201, **headers).get_json()["code"]

    def issue(self, code: str, approved_on: str, issued_on: str, effective_on: str, trial: bool,
              reason: str | None = None) -> None:
        self.command(code, "submit", "zhang")
        self.command(code, "approve", "zhao", {"approved_on": approved_on,
                                               **({"reason": reason} if reason else {})})
        self.command(code, "publish", "chen", {"issued_on": issued_on, "effective_on": effective_on,
                                               "trial": trial})

    # ------------------------------------------------------------------ the story
    def phase_one(self) -> None:
        """The seed and the users."""
        assert len(seed(self.service)) == 9
        for name, roles in USERS.items():
            self.tokens[name] = self.service.add_user(name, roles)

    def phase_two(self) -> None:
        # A standard drafted with the next free number, edited by a second
        # person, sent back, edited again, approved and issued formally.
        a = self.draft("zhang", {"category": "02", "title": "机关经费管理标准 要求",
                                 "kind": "管理标准", "owner_department": "财务处",
                                 "drafting_units": ["财务处", "政策法规处"],
                                 "summary": "机关经费预算、支出和监督的通用要求。\n第二段：适用范围。",
                                 "reason": "年度标准化计划第一项"})
        self.command(a, "draft", "li", {"summary": "机关经费预算、执行和监督的通用要求。",
                                        "reason": "补充执行环节"}, method="PATCH")
        self.command(a, "submit", "zhang", {"reason": "送审"})
        self.command(a, "request-changes", "wang", {"reason": "请补充经费监督的责任部门"})
        self.command(a, "draft", "zhang", {"drafting_units": ["财务处", "政策法规处", "审计处"]},
                     method="PATCH")
        self.issue(a, "2020-03-15", "2020-04-01", "2020-05-01", trial=False, reason="局务会审议通过")

        # A standard drafted with a given sub-item; issued on trial; withdrawn.
        b = self.draft("li", {"category": "03", "sub_item": "005", "title": "资产管理标准 公务用车管理规范",
                              "level": "item"})
        self.issue(b, "2021-06-01", "2021-06-10", "2021-07-01", trial=True)
        self.command(b, "withdraw", "zhao", {"withdrawn_on": "2025-12-31",
                                             "reason": "公务用车改革后不再适用"})

        # A revision of the first that takes effect later and supersedes it.
        self.command(a, "revisions", "zhang", {"reason": "预算法修订后更新", "title": "机关经费管理标准 通用要求"})
        self.command(a, "draft", "li", {"summary": "2026 年修订：预算执行与绩效评价。"}, method="PATCH")
        self.issue(a, "2026-11-20", "2026-11-25", "2027-03-01", trial=False)

        # A seed standard issued formally long after its approval.
        self.command("JGSW05001", "publish", "chen", {"issued_on": "2019-03-01",
                                                       "effective_on": "2019-04-01", "trial": False,
                                                       "reason": "补充发布"})

        # Periodic reviews: confirm, revise (opens a revision), withdraw.
        self.command("JGSW01001", "reviews", "zhao", {"reviewed_on": "2024-01-10", "outcome": "confirm",
                                                      "reason": "复审确认继续有效"})
        self.command("JGSW01002", "reviews", "zhao", {"reviewed_on": "2025-02-01", "outcome": "revise",
                                                      "reason": "术语需与新版国家标准一致"})
        c = self.draft("zhang", {"category": "06", "title": "其他管理标准 档案借阅规范",
                                 "owner_department": "办公室"})
        self.issue(c, "2022-02-01", "2022-02-15", "2022-03-01", trial=False)
        self.command(c, "reviews", "zhao", {"reviewed_on": "2026-06-30", "outcome": "withdraw",
                                            "reason": "复审结论：废止，并入档案管理制度"})

        # A revision issued to take effect later, then the standard withdrawn
        # before that day: the revision never takes effect.
        d = self.draft("zhang", {"category": "06", "title": "其他管理标准 会议室预约规范"})
        self.issue(d, "2020-01-05", "2020-01-10", "2020-02-01", trial=True)
        self.command(d, "revisions", "zhang", {"reason": "改为线上预约"})
        self.issue(d, "2026-10-01", "2026-10-15", "2027-01-01", trial=False)
        self.command(d, "withdraw", "zhao", {"withdrawn_on": "2026-11-30",
                                             "reason": "会议室统一由机关事务平台管理"})

        # Left open: a draft, a draft under review, and an approved edition
        # awaiting issue.
        self.draft("li", {"category": "04", "title": "公共机构节约能源资源标准 要求",
                          "drafting_units": ["节能处"]})
        e = self.draft("zhang", {"category": "04", "title": "公共机构节约能源资源标准 办公用电管理"})
        self.command(e, "submit", "zhang")
        f = self.draft("zhang", {"category": "05", "title": "后勤服务管理标准 餐饮服务工作指南",
                                 "summary": "食堂餐饮服务、食品安全和餐具消毒。"})
        self.command(f, "submit", "zhang")
        self.command(f, "approve", "zhao", {"approved_on": "2026-11-27"})

        # An idempotent retry: the same draft sent twice with one key.
        body = {"category": "05", "title": "后勤服务管理标准 洗衣服务工作指南"}
        first = self.send("POST", "/standards", "zhang", body, 201, **{"Idempotency-Key": "golden-1"})
        again = self.send("POST", "/standards", "zhang", body, 201, **{"Idempotency-Key": "golden-1"})
        assert again.headers["Idempotency-Replayed"] == "true"
        assert again.get_json() == first.get_json()

        # Users: one revoked, one given a new token.
        self.service.revoke_user("temp", actor="zhou")
        self.tokens["li"] = self.service.reissue_token("li", actor="zhou")
        del self.tokens["temp"]

    # ------------------------------------------------------------------ the answers
    def get(self, path: str) -> dict:
        resp = self.client.get(P + path, headers=self.headers("sun"))
        assert resp.status_code == 200, (path, resp.get_data(as_text=True))
        out = {"status": resp.status_code, "body": resp.get_json()}
        if "ETag" in resp.headers:
            out["etag"] = resp.headers["ETag"]
        return out

    def answers(self, moments: dict[str, str]) -> dict:
        from urllib.parse import quote

        head = self.service.reads.chain_hashes([self.service.recorder.max_notification_id()])
        out: dict = {"head": next(iter(head.values())), "moments": moments, "days": list(DAYS),
                     "requests": {}}
        requests = out["requests"]
        for moment in moments.values():
            for day in DAYS:
                path = f"/standards?as_of={day}&known_at={quote(moment)}&limit=500"
                requests[path] = self.get(path)
        final = quote(moments["end"])
        codes = [row["code"] for row in self.get(f"/standards?as_of=2027-06-01&known_at={final}"
                                                 "&limit=500")["body"]["items"]]
        for code in codes:
            for day in DAYS:
                for what in ("", "/editions"):
                    path = f"/standards/{code}{what}?as_of={day}&known_at={final}"
                    resp = self.client.get(P + path, headers=self.headers("sun"))
                    if resp.status_code == 200:  # a standard drafted later did not exist yet
                        requests[path] = self.get(path)
            requests[f"/standards/{code}/events"] = self.get(f"/standards/{code}/events")
        requests["/events?after=0&limit=500"] = self.get("/events?after=0&limit=500")
        return out

    def run(self) -> None:
        self.phase_one()
        time.sleep(0.05)
        after_seed = datetime.now(timezone.utc).isoformat()
        time.sleep(0.05)
        self.phase_two()
        time.sleep(0.05)
        end = datetime.now(timezone.utc).isoformat()
        moments = {"after_seed": after_seed, "end": end}
        answers = self.answers(moments)
        with open(self.dir / "store.jsonl", "w", encoding="utf-8") as out:
            export(self.service, out)
        (self.dir / "answers-issue9.json").write_text(
            json.dumps(answers, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        rows = {table: [list(r) for r in rows] for table, rows in self.service.reads.dump().items()}
        (self.dir / "rows-issue9.json").write_text(
            json.dumps(rows, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        (self.dir / "tokens.json").write_text(
            json.dumps(self.tokens, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        self.service.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    Recorder(Path(sys.argv[1])).run()

"""Idempotency-Key on commands: a retry returns the first answer and records
nothing; the same key with another request is refused."""

from __future__ import annotations

from tests.api.helpers import PREFIX, assert_problem


def post_draft(api, key: str | None, role: str = "drafter", **body):
    body = {"category": "05", "title": "后勤服务管理标准 重试测试", **body}
    headers = api.auth(role, **({"Idempotency-Key": key} if key else {}))
    return api.client.post(PREFIX + "/standards", json=body, headers=headers)


def test_a_retried_draft_returns_the_first_answer_and_records_nothing(api):
    first = post_draft(api, "draft-1")
    assert first.status_code == 201
    position = api.position()
    again = post_draft(api, "draft-1")
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotency-Replayed"] == "true"
    assert api.position() == position
    catalogue = api.get("/standards?category=05").get_json()["items"]
    assert [s["code"] for s in catalogue] == [first.get_json()["code"]]


def test_without_a_key_each_post_is_a_new_command(api):
    a, b = post_draft(api, None), post_draft(api, None)
    assert a.get_json()["code"] != b.get_json()["code"]


def test_the_same_key_with_another_body_is_a_422_problem(api):
    assert post_draft(api, "k").status_code == 201
    position = api.position()
    body = assert_problem(post_draft(api, "k", title="另一个标题"), 422)
    assert "Idempotency-Key" in body["errors"]
    assert api.position() == position


def test_the_same_key_on_another_path_is_a_422_problem(api):
    code = post_draft(api, "k2").get_json()["code"]
    resp = api.client.post(f"{PREFIX}/standards/{code}/submit", json={},
                           headers=api.auth("drafter", **{"If-Match": '"1"', "Idempotency-Key": "k2"}))
    assert_problem(resp, 422)


def test_keys_belong_to_their_user(api):
    a = post_draft(api, "shared", role="drafter")
    b = post_draft(api, "shared", role="drafter2")
    assert a.status_code == b.status_code == 201
    assert a.get_json()["code"] != b.get_json()["code"]


def test_a_retried_command_with_a_now_stale_etag_still_gets_its_first_answer(api):
    code = post_draft(api, None).get_json()["code"]
    headers = api.auth("drafter", **{"If-Match": '"1"', "Idempotency-Key": "edit-1"})
    first = api.client.patch(f"{PREFIX}/standards/{code}/draft", json={"summary": "一"}, headers=headers)
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    position = api.position()
    again = api.client.patch(f"{PREFIX}/standards/{code}/draft", json={"summary": "一"}, headers=headers)
    assert (again.status_code, again.get_json(), again.headers["ETag"]) == (200, first.get_json(), '"2"')
    assert api.position() == position
    # A new key with the stale ETag is an ordinary 412.
    headers["Idempotency-Key"] = "edit-2"
    assert_problem(api.client.patch(f"{PREFIX}/standards/{code}/draft", json={"summary": "一"},
                                    headers=headers), 412)


def test_a_failed_command_is_not_remembered(api):
    code = post_draft(api, None).get_json()["code"]
    headers = api.auth("approver", **{"If-Match": '"1"', "Idempotency-Key": "too-early"})
    assert_problem(api.client.post(f"{PREFIX}/standards/{code}/approve", json={}, headers=headers), 409)
    submit = api.client.post(f"{PREFIX}/standards/{code}/submit", json={},
                             headers=api.auth("drafter", **{"If-Match": '"1"'}))
    assert submit.status_code == 200
    headers["If-Match"] = '"2"'
    assert api.client.post(f"{PREFIX}/standards/{code}/approve", json={}, headers=headers).status_code == 200


def test_an_answer_lost_in_a_crash_is_rebuilt_from_the_register(api, service):
    first = post_draft(api, "crash")
    with service.recorder.datastore.transaction(commit=True) as c:
        c.execute(service.recorder.writer.sql("UPDATE idempotency SET body = NULL"))
    again = post_draft(api, "crash")
    assert (again.status_code, again.get_json(), again.headers["ETag"]) == (201, first.get_json(),
                                                                            first.headers["ETag"])


def test_keys_older_than_two_days_are_pruned_and_newer_kept(api, service):
    post_draft(api, "old")
    post_draft(api, "recent")
    sql = service.recorder.writer.sql
    with service.recorder.datastore.transaction(commit=True) as c:
        c.execute(sql("UPDATE idempotency SET created_at = ? WHERE key LIKE ?"),
                  ("2000-01-01T00:00:00.000000Z", "%:old"))
    post_draft(api, "trigger")
    assert service.reads.idempotency("drafter:old") is None
    assert service.reads.idempotency("drafter:recent") is not None


def test_a_bad_key_is_a_400_problem(api):
    assert_problem(post_draft(api, "x" * 201), 400)
    assert_problem(post_draft(api, "空格"), 400)

"""The abuse signals that need more than the text: the form token issued
with the captcha (time to fill in, replay), duplicates of the site's recent
comments, the author's earlier rejections and a first-time author's link.
Each is read through the real accept path and a real Redis."""

from __future__ import annotations

from typing import Any

from service.http.state import KEYRING
from service.screening.screen import fingerprint
from service.screening.textfold import fold, strip_marks
from tests.helpers import (
    Client,
    author,
    bearer,
    decide,
    expect_problem,
    form_submission,
    form_token,
    keys_of,
    mint,
    site,
    submission,
)

LONG = (
    "Đề nghị thành phố sớm có giải pháp cho tình trạng ngập úng ở khu vực này, "
    "người dân khổ quá rồi"
)
NEAR = "Đề nghị thành phố sớm có giải pháp cho tình trạng ngập úng tại khu vực này, dân khổ lắm rồi"
OTHER = "Trận đấu tối qua đội tuyển chơi rất hay, hàng thủ chắc chắn và tiền đạo ghi bàn đẹp mắt"


async def _post(client: Client, body: dict[str, Any]) -> Any:
    return await client.post("/v1/sites/news/comments", json=body)


async def _accepted(client: Client, **overrides: Any) -> tuple[str, str]:
    [captcha] = await mint(client)
    answer = await _post(client, submission(captcha, **overrides))
    assert answer.status == 202, await answer.text()
    data = await answer.json()
    return data["id"], data["status"]


async def _reasons(rds: Any, client: Client, comment_id: str) -> list[str]:
    raw = await rds.hget(keys_of(client).comment(comment_id), "reasons")
    return [r for r in raw.decode().split(",") if r]


async def _issued_token(client: Client) -> tuple[tuple[str, str], str]:
    """A challenge from the pool through the API (so its form token is the
    one the service issued), with the answer `mint` knows."""
    [captcha] = await mint(client)
    answer = await client.post("/v1/sites/news/captchas")
    assert answer.status == 201, await answer.text()
    return captcha, (await answer.json())["form_token"]


# --- the form token ---------------------------------------------------------------------


async def test_a_form_posted_at_once_is_held_as_too_fast(make_client: Any, rds: Any) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    captcha, token = await _issued_token(client)
    answer = await _post(client, submission(captcha, form_token=token))
    data = await answer.json()
    assert answer.status == 202 and data["status"] == "pending"  # held, not published
    [reason] = await _reasons(rds, client, data["id"])
    assert reason.startswith("too-fast:")


async def test_a_form_filled_in_at_human_speed_is_not_flagged(make_client: Any, rds: Any) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    comment_id, status = await _accepted(client, form_token=form_token(age_seconds=3.5))
    assert status == "approved"
    assert await _reasons(rds, client, comment_id) == []


async def test_the_minimum_time_is_a_site_setting(make_client: Any, rds: Any) -> None:
    client = await make_client(
        sites={"news": site(moderation="post", abuse={"min_fill_seconds": 0})}
    )
    captcha, token = await _issued_token(client)
    answer = await _post(client, submission(captcha, form_token=token))
    assert (await answer.json())["status"] == "approved"


async def test_a_replayed_form_token_is_refused_and_stores_nothing(
    make_client: Any, rds: Any
) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    token = form_token()
    await _accepted(client, form_token=token)
    [captcha] = await mint(client)
    again = submission(captcha, form_token=token, author=author("other@example.vn"))
    await expect_problem(await _post(client, again), 400, "form-reused")
    assert len([k async for k in rds.scan_iter(match="*:c:*")]) == 1
    # Refused before the captcha check: the challenge can still be answered.
    assert await rds.hexists(keys_of(client).captcha_live, captcha[0])


async def test_a_form_token_is_marked_spent_only_for_its_lifetime(
    make_client: Any, rds: Any
) -> None:
    client = await make_client(sites={"news": site(abuse={"form_token_max_age_seconds": 600})})
    token = form_token(age_seconds=60)
    await _accepted(client, form_token=token)
    nonce = token.split(".")[2]
    ttl = await rds.pttl(keys_of(client).form_token(nonce))
    assert 540_000 - 5_000 < ttl <= 600_000, ttl


async def test_missing_forged_foreign_and_stale_tokens_are_flagged(
    make_client: Any, rds: Any
) -> None:
    client = await make_client(
        sites={"news": site(moderation="post", abuse={"form_token_max_age_seconds": 600})}
    )
    good = form_token()
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    cases = {
        "no-form-token": None,
        "bad-form-token": forged,
        "bad-form-token ": form_token("sport"),  # another site's
        "stale-form-token": form_token(age_seconds=601),
    }
    for n, (expected, token) in enumerate(cases.items()):
        comment_id, status = await _accepted(
            client, form_token=token, author=author(f"r{n}@example.vn")
        )
        assert await _reasons(rds, client, comment_id) == [expected.strip()]
        # A missing token alone does not hold; a forged or stale one does.
        assert status == ("approved" if expected == "no-form-token" else "pending"), expected
    # A stale token is not remembered, so nothing marks it spent.
    assert [k async for k in rds.scan_iter(match="*:ft:*")] == []


async def test_the_form_carries_the_form_token(make_client: Any, rds: Any) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    [captcha] = await mint(client)
    form = form_submission(captcha, form_token=form_token())
    answer = await client.post("/v1/sites/news/comments", data=form, allow_redirects=False)
    assert answer.status == 303
    assert "lb_status=approved" in answer.headers["Location"]
    # The token reached the accept script: it is marked spent.
    assert len([k async for k in rds.scan_iter(match="*:ft:*")]) == 1


# --- duplicates --------------------------------------------------------------------------


def test_fingerprints_of_copies_agree_and_of_strangers_do_not() -> None:
    def agreement(a: str, b: str) -> int:
        fa, fb = fingerprint(fold(a).plain), fingerprint(fold(b).plain)
        return sum(fa[i : i + 2] == fb[i : i + 2] for i in range(0, 32, 2))

    assert agreement(LONG, LONG) == 16
    assert agreement(LONG, NEAR) >= 7
    assert agreement(LONG, OTHER) < 7
    assert fingerprint(fold("Bài viết rất hay").plain) == b""  # too short to tell


async def test_the_same_text_by_someone_else_is_held_as_a_duplicate(
    make_client: Any, rds: Any
) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    _first, status = await _accepted(client, body=LONG)
    assert status == "approved"
    # Diacritics and punctuation do not make it another text.
    copy = strip_marks(LONG).replace(",", "")
    second, status = await _accepted(client, body=copy, author=author("b@example.vn"))
    assert status == "pending"
    assert await _reasons(rds, client, second) == ["duplicate"]


async def test_a_copy_with_a_few_words_changed_is_a_near_duplicate(
    make_client: Any, rds: Any
) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    await _accepted(client, body=LONG)
    near, status = await _accepted(client, body=NEAR, author=author("b@example.vn"))
    assert status == "pending"
    assert await _reasons(rds, client, near) == ["near-duplicate"]
    other, status = await _accepted(client, body=OTHER, author=author("c@example.vn"))
    assert status == "approved"
    assert await _reasons(rds, client, other) == []


async def test_short_texts_and_a_zero_window_are_not_compared(make_client: Any, rds: Any) -> None:
    client = await make_client(
        sites={
            "news": site(moderation="post"),
            "sport": site(moderation="post", abuse={"duplicate_window_seconds": 0}),
        }
    )
    for n in range(2):
        _, status = await _accepted(client, body="Hay quá!", author=author(f"{n}@example.vn"))
        assert status == "approved"
    for n in range(2):
        [captcha] = await mint(client, "sport")
        body = submission(
            captcha, body=LONG, form_token=form_token("sport"), author=author(f"{n}@example.vn")
        )
        answer = await client.post("/v1/sites/sport/comments", json=body)
        assert (await answer.json())["status"] == "approved"
    assert [k async for k in rds.scan_iter(match="*{sport}:dup:*")] == []


async def test_duplicates_are_kept_per_site_in_an_expiring_window(
    make_client: Any, rds: Any
) -> None:
    client = await make_client(sites={"news": site(abuse={"duplicate_window_seconds": 3600})})
    await _accepted(client, body=LONG)
    [key] = [k async for k in rds.scan_iter(match="*:dup:*")]
    assert key.startswith(b"lb:{news}:dup:")
    assert 0 < await rds.ttl(key) <= 7200
    # Eight bands of the signature; the records hold hashes, no reader data.
    assert await rds.hlen(key) == 8
    for record in (await rds.hgetall(key)).values():
        assert b"example.vn" not in record and len(record) == 36


# --- the author's history ---------------------------------------------------------------


async def test_earlier_rejections_weigh_on_the_next_comment(make_client: Any, rds: Any) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    headers = await bearer(client)
    for n in range(2):
        comment_id, _ = await _accepted(client, body=f"Ý kiến số {n}")
        await decide(client, headers, comment_id, "reject")
        after, status = await _accepted(client, body=f"Ý kiến tiếp theo {n}")
        assert await _reasons(rds, client, after) == [f"history:rejected:{2 * n + 1}"]
        # One rejection alone does not hold; the author's third and later do.
        assert status == ("approved" if n == 0 else "pending")
        await decide(client, headers, after, "reject")
    # Another author is not touched by it.
    clean, status = await _accepted(client, author=author("b@example.vn"))
    assert status == "approved" and await _reasons(rds, client, clean) == []


async def test_erasure_forgets_the_authors_history(make_client: Any, rds: Any) -> None:
    client = await make_client()
    headers = await bearer(client)
    comment_id, _ = await _accepted(client)
    await decide(client, headers, comment_id, "spam")
    email_hash = client.app[KEYRING].email_hash("news", "duong@example.vn")
    assert await rds.hget(keys_of(client).strikes, email_hash) == b"1"
    erased = await client.post(
        "/v1/sites/news/moderation/erasures", json={"email": "duong@example.vn"}, headers=headers
    )
    assert erased.status == 200, await erased.text()
    assert await rds.hget(keys_of(client).strikes, email_hash) is None


# --- links from first-time authors -------------------------------------------------------


async def test_a_link_in_an_authors_first_comment_is_flagged(make_client: Any, rds: Any) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    link = "Nguồn: https://example.gov.vn/thong-bao"
    first, _ = await _accepted(client, body=link)
    assert await _reasons(rds, client, first) == ["first-time-link"]
    second, _ = await _accepted(client, body="Xem thêm ở https://example.gov.vn/")
    assert await _reasons(rds, client, second) == []
    plain, _ = await _accepted(client, body="Không có đường dẫn", author=author("n@example.vn"))
    assert await _reasons(rds, client, plain) == []

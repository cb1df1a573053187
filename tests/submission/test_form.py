"""Plain HTML form posts to the submission route: a 303 back to the article
with the outcome, and no redirect where return_to is not the site's."""

from __future__ import annotations

import pytest

from tests.helpers import (
    comment_keys,
    expect_problem,
    form_submission,
    mint,
    site,
    stored,
    submit_ok,
    wrong_answer,
)
from tests.submission.helpers import (
    RETURN_TO,
    error_fields,
    limits,
    outcome,
    pending_ids,
    post_form,
    snapshot,
)


async def test_form_post_success_redirects_with_the_outcome(client, rds) -> None:
    [captcha] = await mint(client)
    response = await post_form(client, form_submission(captcha))
    page, query = outcome(response)
    assert page == RETURN_TO
    assert query["lb_status"] == ["pending"]
    [comment_id] = query["lb_id"]
    assert query["page"] == ["2"]
    comment = await stored(rds, client, comment_id)
    assert comment["status"] == "pending"
    assert comment["name"] == "Nguyễn Thị Thùy Dương"
    assert comment["body"] == "Bài viết rất hay.\nCảm ơn tác giả."
    assert await pending_ids(rds, client) == [comment_id]


async def test_form_post_keeps_query_and_replaces_stale_outcome(client) -> None:
    [captcha] = await mint(client)
    return_to = RETURN_TO + "?utm_source=fb&page=3&lb_status=error&lb_problem=captcha-failed"
    page, query = outcome(await post_form(client, form_submission(captcha, return_to=return_to)))
    assert page == RETURN_TO
    assert query["utm_source"] == ["fb"]
    assert query["page"] == ["3"]
    assert query["lb_status"] == ["pending"]
    assert "lb_problem" not in query


async def test_form_post_wrong_captcha_redirects_with_the_problem(client, rds) -> None:
    [captcha] = await mint(client)
    page, query = outcome(await post_form(client, form_submission(wrong_answer(captcha))))
    assert page == RETURN_TO
    assert query["lb_status"] == ["error"]
    assert query["lb_problem"] == ["captcha-failed"]
    assert "lb_id" not in query
    assert await comment_keys(rds, client) == set()


async def test_form_post_validation_error_redirects_with_the_problem(client, rds) -> None:
    [captcha] = await mint(client)
    before = await snapshot(rds)
    _, query = outcome(
        await post_form(client, form_submission(captcha, email="not-an-email", body=" "))
    )
    assert query["lb_status"] == ["error"]
    assert query["lb_problem"] == ["validation-failed"]
    assert "lb_id" not in query
    assert await snapshot(rds) == before


async def test_form_post_rate_limited_redirects_with_the_problem(make_client) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(ip=1))})
    await submit_ok(client)
    [captcha] = await mint(client)
    _, query = outcome(await post_form(client, form_submission(captcha, email="other@example.vn")))
    assert query["lb_status"] == ["error"]
    assert query["lb_problem"] == ["rate-limited"]


async def test_form_post_with_an_empty_parent_id_is_not_a_reply(client, rds) -> None:
    [captcha] = await mint(client)
    _, query = outcome(await post_form(client, form_submission(captcha, parent_id="")))
    assert (await stored(rds, client, query["lb_id"][0]))["parent_id"] == ""


@pytest.mark.parametrize(
    "return_to",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("https://evil.example/phish", id="foreign-origin"),
        pytest.param("https://news.example.vn.evil.example/", id="suffix-origin"),
        pytest.param("https://news.example.vn@evil.example/", id="userinfo"),
        pytest.param("http://news.example.vn/", id="other-scheme"),
        pytest.param("//evil.example/", id="scheme-relative"),
        pytest.param("/relative/path", id="relative"),
        pytest.param("javascript:alert(document.cookie)", id="javascript"),
        pytest.param("data:text/html,<script>alert(1)</script>", id="data"),
    ],
)
async def test_form_post_with_a_bad_return_to_is_not_redirected(
    client, rds, return_to: str | None
) -> None:
    [captcha] = await mint(client)
    before = await snapshot(rds)
    response = await post_form(client, form_submission(captcha, return_to=return_to))  # type: ignore[arg-type]
    data = await expect_problem(response, 422, "validation-failed")
    assert "Location" not in response.headers
    assert "return_to" in error_fields(data)
    assert await snapshot(rds) == before


async def test_form_post_to_an_unknown_site_is_a_404(client) -> None:
    [captcha] = await mint(client)
    response = await post_form(client, form_submission(captcha), site_id="nope")
    await expect_problem(response, 404, "unknown-site")
    assert "Location" not in response.headers

"""The public read's ETag names the ids on a page, not its bytes: right only
while public_json writes the id at a fixed place, which this checks."""

from __future__ import annotations

from service.ids import new_comment_id
from service.models import Submission
from service.store.comments import PUBLIC_ID, page_etag, public_json
from tests.helpers import submission


def _public(comment_id: str, body: str = "Bài viết rất hay.") -> bytes:
    made = Submission.model_validate(
        submission(("c" * 22, "ABCDE"), body=body),
        context={"name_max_length": 100, "body_max_length": 5000},
    )
    return public_json(comment_id, made, 1_796_000_000_000)


def test_the_id_is_where_the_etag_reads_it() -> None:
    comment_id = new_comment_id()
    assert _public(comment_id)[PUBLIC_ID].decode() == comment_id


def test_the_etag_changes_with_the_ids_and_with_more() -> None:
    first, second = _public(new_comment_id()), _public(new_comment_id())
    both = page_etag([first, second], False)
    assert page_etag([first, second], False) == both
    assert page_etag([first], False) != both
    assert page_etag([second, first], False) != both
    assert page_etag([first, second], True) != both
    assert page_etag([], False) != page_etag([], True)

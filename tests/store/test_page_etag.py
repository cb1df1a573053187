"""The public read's ETag names the ids on a page and whether more follow,
not its bytes (a comment's public JSON never changes once made), so that a
revalidation can read the ids alone."""

from __future__ import annotations

from service.ids import new_comment_id
from service.store.comments import page_etag


def test_the_etag_changes_with_the_ids_and_with_more() -> None:
    first, second = new_comment_id().encode(), new_comment_id().encode()
    both = page_etag([first, second], False)
    assert page_etag([first, second], False) == both
    assert page_etag([first], False) != both
    assert page_etag([second, first], False) != both
    assert page_etag([first, second], True) != both
    assert page_etag([], False) != page_etag([], True)

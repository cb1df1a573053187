"""The public read's ETag names the ids on a page (in their order), whether
more follow and the thread's count, not its bytes (a comment's public JSON
never changes once made), so that a revalidation can read the ids alone."""

from __future__ import annotations

from service.ids import new_comment_id
from service.store.comments import page_etag


def test_the_etag_changes_with_the_ids_with_more_and_with_the_count() -> None:
    first, second = new_comment_id().encode(), new_comment_id().encode()
    both = page_etag([first, second], False, 2)
    assert page_etag([first, second], False, 2) == both
    assert page_etag([first], False, 2) != both
    # The same comments newest first are another body.
    assert page_etag([second, first], False, 2) != both
    assert page_etag([first, second], True, 2) != both
    # A comment approved on another page changes this page's "total".
    assert page_etag([first, second], False, 3) != both
    assert page_etag([], False, 0) != page_etag([], True, 0)

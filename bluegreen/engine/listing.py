"""Paginated lists: ``limit``/``continue`` followed until the last page, as client-go's pager reads a collection.

Follows staging/src/k8s.io/client-go/tools/pager/pager.go (``ListPager.List``): pages of ``PAGE_SIZE`` items, each
asked with the previous page's ``metadata.continue``; when the server no longer has the snapshot a continue token
points into (410 Gone, reason ``Expired``: the token is older than etcd's compaction), the list starts again from
scratch, and a second expiry falls back to one list without ``limit``, as the pager's ``FullListIfExpired`` does.
Pages are decided here over plain data (``next_query``, ``expired_continue``); ``KubeApi.list_pages`` does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Items asked per page: client-go's pager default (pager.go ``defaultPageSize``).
PAGE_SIZE = 500
#: A list restarted this many times for expired continue tokens is read once more without ``limit``.
PAGED_RESTARTS = 1


@dataclass(frozen=True)
class Listed:
    """The items of a whole collection and the resourceVersion of the list that read it (where a watch starts)."""

    items: list[dict]
    resource_version: str
    pages: int = 1
    restarts: int = 0  # times a page's continue token had expired and the list started again


def page_query(base: dict[str, str] | None, *, limit: int, continue_token: str | None) -> dict[str, str]:
    """The query of one page: the caller's selectors plus ``limit`` (0: unpaginated) and ``continue``."""
    query = dict(base or {})
    if limit > 0:
        query["limit"] = str(limit)
    if continue_token:
        query["continue"] = continue_token
    return query


def expired_continue(status: int, body: dict) -> bool:
    """A 410 for an expired continue token (errors.NewResourceExpired: reason ``Expired``; older servers said
    ``Gone``)."""
    return status == 410 and (body.get("reason") in ("Expired", "Gone") or not body.get("reason"))


def continue_of(body: dict) -> str | None:
    """The token of the next page, None on the last page."""
    return ((body.get("metadata") or {}).get("continue")) or None

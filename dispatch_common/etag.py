"""ETags from the revisions the services keep, and If-Match on changes (RFC 9110 §8.8.3, §13.1.1).

A mutable resource's ETag is its stored revision (a route's `revision`, a case file's `version`, ...),
quoted: `"7"`. A GET sends it; a change may send it back in `If-Match`. A stale one is refused with
412 before anything is written, and the write itself must carry the revision in its filter
(compare-and-set), so two changes made from the same version give one success and one 412 even when
they race past the check. Without `If-Match` a change is applied as before (clients that predate the
header keep working); `If-Match: *` matches any existing version.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Response, status

IF_MATCH_DESCRIPTION = (
    "the ETag of the version this change was made from; a stale one is refused with 412 "
    "(problem code `precondition_failed`), and nothing is changed"
)
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200, description=IF_MATCH_DESCRIPTION)]

ETAG_HEADER: dict[str, Any] = {
    "ETag": {"schema": {"type": "string"}, "description": "the version of the resource, for If-Match"}
}


def tag(revision: int | str) -> str:
    """The ETag of a revision."""
    return f'"{revision}"'


def send(response: Response, revision: int | str) -> None:
    """Put the resource's ETag on a response."""
    response.headers["ETag"] = tag(revision)


def matches(if_match: str | None, revision: int | str) -> bool:
    """Whether an If-Match header admits this revision (absent or `*` admits any; weak tags compare
    by their opaque part, as a client that stored one from a proxy may send it back)."""
    if if_match is None or if_match.strip() == "*":
        return True
    wanted = tag(revision)
    return any(candidate.strip().removeprefix("W/") == wanted for candidate in if_match.split(","))


def require(if_match: str | None, revision: int | str) -> None:
    """Refuse (412) a change made from another version than the stored one."""
    if not matches(if_match, revision):
        raise stale(revision)


def stale(revision: int | str) -> HTTPException:
    """The 412 for a change made from a version that is no longer current."""
    return HTTPException(
        status.HTTP_412_PRECONDITION_FAILED,
        f"the resource changed since that version: it is now {tag(revision)}; read it again and retry",
        headers={"ETag": tag(revision)},
    )


@dataclass
class Version:
    """A change's If-Match (the version it was made from) and the answer that carries the new ETag."""

    response: Response
    if_match: str | None

    def require(self, revision: int | str) -> None:
        """Refuse (412) the change if it was made from another version than `revision`."""
        require(self.if_match, revision)

    def send(self, revision: int | str) -> None:
        """Put the new version's ETag on the answer."""
        send(self.response, revision)


async def _version(response: Response, if_match: IfMatch = None) -> Version:
    return Version(response, if_match)


Versioned = Annotated[Version, Depends(_version)]
"""A route's If-Match and its answer's ETag, in one parameter: `tag: etag.Versioned`."""

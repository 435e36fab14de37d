"""What the outbox relay has published and not yet marked sent (dispatch_common/outbox.py).

Marking is a write per document (or one bulk write per round under load). At a steady rate of a few
cases a second each round holds one document, so marking at once cost a write for nearly every write
of an aggregate. The relay can instead keep what it published here and mark it later, in one bulk
write for all that gathered within `OUTBOX_MARK_DELAY_SECONDS`.

Meanwhile a document may be written again by this process: its outbox then still holds the entries
published and not yet marked, besides its new ones. `skip` tells the relay which entries of a document
went out already, so they are not published twice; the mark then carries the newest version seen and
every id published, so one guarded write clears the whole outbox.

Kept in memory only: a crash loses it, the documents stay pending, and the start's drain publishes them
again under the same ids, which JetStream drops within its duplicate window and consumers skip, as
after a crash between publishing and marking at once.
"""

import time
from dataclasses import dataclass, field
from typing import Any

from dispatch_common.store import OUTBOX_FIELD


@dataclass
class _Sent:
    version: int
    ids: list[str] = field(default_factory=list)


def _document(doc_id: Any, sent: _Sent) -> dict[str, Any]:
    return {"_id": doc_id, "version": sent.version, OUTBOX_FIELD: [{"id": i} for i in sent.ids]}


class Unmarked:
    """Documents published and not yet marked sent, per collection (by full name)."""

    def __init__(self) -> None:
        self._docs: dict[str, dict[Any, _Sent]] = {}
        self.since: float | None = None  # monotonic time of the oldest document kept

    def __len__(self) -> int:
        return sum(len(docs) for docs in self._docs.values())

    def skip(self, collection: str, doc_id: Any) -> frozenset[str]:
        """The ids of a document's entries already published."""
        sent = self._docs.get(collection, {}).get(doc_id)
        return frozenset(sent.ids) if sent else frozenset()

    def keep(self, collection: str, docs: list[dict[str, Any]]) -> None:
        """Remember documents whose entries were all published (at the version each was read at)."""
        kept = self._docs.setdefault(collection, {})
        for doc in docs:
            sent = kept.setdefault(doc["_id"], _Sent(doc["version"]))
            sent.version = max(sent.version, doc["version"])
            for entry in doc.get(OUTBOX_FIELD) or []:
                if entry["id"] not in sent.ids:
                    sent.ids.append(entry["id"])
        if self.since is None and kept:
            self.since = time.monotonic()

    def due(self, delay: float) -> bool:
        """Whether the oldest document kept has waited `delay` seconds."""
        return self.since is not None and time.monotonic() - self.since >= delay

    def wait(self, delay: float) -> float | None:
        """Seconds until the marks are due; None when nothing is kept."""
        if self.since is None:
            return None
        return max(0.0, self.since + delay - time.monotonic())

    def take(self) -> dict[str, list[dict[str, Any]]]:
        """Everything kept, per collection, as documents `{_id, version, outbox: [{id}]}`; forgotten here."""
        taken = {n: [_document(i, s) for i, s in kept.items()] for n, kept in self._docs.items() if kept}
        self._docs.clear()
        self.since = None
        return taken

    def give_back(self, collection: str, docs: list[dict[str, Any]]) -> None:
        """Keep again documents whose marking failed, for the next round."""
        self.keep(collection, docs)

"""Evidence: a local store of source documents (SQLite FTS5) and the quote checker.

- :func:`index`, :func:`search` — build and query the document store (BM25-ranked passages).
- :func:`check` — verify every quote of a scenario in its cited source document.
- :func:`normalise`, :func:`find_quote` — the matching rules the checker applies.
"""

from .quotes import CheckReport, QuoteMatch, check, find_quote, normalise
from .store import (Document, IndexReport, Passage, document_id, documents, get_document,
                    index, load_document, search, verify_store)

__all__ = ["CheckReport", "QuoteMatch", "check", "find_quote", "normalise",
           "Document", "IndexReport", "Passage", "document_id", "documents", "get_document",
           "index", "load_document", "search", "verify_store"]

"""The local web app (``accord serve``): browse the scenarios of one folder, edit a number with
its quote or judgement, watch the forecast update, download JSON, CSV and the report.

Safe by default: binds 127.0.0.1, reads only its data folder (no ``..``, no absolute paths, no
symlinks that leave it), refuses large bodies and non-loopback Host headers, and saves every
edit as a new file; nothing the user wrote is overwritten.
"""

from .app import DEFAULT_HOST, MAX_BODY, DataFolder, create_app

__all__ = ["DEFAULT_HOST", "MAX_BODY", "DataFolder", "create_app"]

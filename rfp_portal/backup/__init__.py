"""Data safety: one archive holding a consistent snapshot of the database and its uploads, the
restore of such an archive into an empty instance, and the cleaning of upload files that no plot
refers to.

- ``manifest``: the archive's format, the manifest written into it and the checks against it;
- ``archive``: writing the ``.tar.gz`` whole or not at all, and unpacking one safely;
- ``database``: what a database holds; SQLite's online backup, pg_dump and pg_restore;
- ``create``, ``restore``, ``clean``: the three commands (``flask backup``, ``flask restore``,
  ``flask uploads clean``).

Upload files are reached only through the store's public methods (``rfp_portal.storage``).
Nothing here imports Flask: the CLI (``rfp_portal.cli``) passes the engine, the store and folders.
"""

from rfp_portal.backup.clean import CleanResult, clean_uploads
from rfp_portal.backup.create import BackupResult, create_backup, default_backup_path
from rfp_portal.backup.database import DatabaseFacts, find_pg_tool, pg_connection, read_facts
from rfp_portal.backup.errors import BackupError
from rfp_portal.backup.restore import RestoreResult, restore_backup

__all__ = [
    "BackupError",
    "BackupResult",
    "CleanResult",
    "DatabaseFacts",
    "RestoreResult",
    "clean_uploads",
    "create_backup",
    "default_backup_path",
    "find_pg_tool",
    "pg_connection",
    "read_facts",
    "restore_backup",
]

"""A snapshot's queries, one reader per kind of record, over `base.SnapshotBase`."""

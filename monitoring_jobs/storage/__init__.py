"""Object storage: where a model's daily files live, and reading them into Arrow.

A local folder (``file://``) is the default; any fsspec filesystem (``s3://`` through s3fs)
works the same way once its options are given. Nothing here knows about Dagster.
"""

from monitoring_jobs.storage.columns import ParquetColumns
from monitoring_jobs.storage.objects import (
    BucketNotFoundError,
    DataNotFoundError,
    DayData,
    FileInfo,
    ObjectStore,
    StorageAccessDeniedError,
    StorageError,
    StorageUnreachableError,
    copy_local_file,
    write_atomic,
)
from monitoring_jobs.storage.text_codes import shared_text_codes, text_codes

__all__ = ["BucketNotFoundError", "DataNotFoundError", "DayData", "FileInfo", "ObjectStore", "ParquetColumns",
           "StorageAccessDeniedError", "StorageError", "StorageUnreachableError", "copy_local_file",
           "shared_text_codes", "text_codes", "write_atomic"]

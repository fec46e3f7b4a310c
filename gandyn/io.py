"""Files as gandyn writes and reads them: every write atomic (a temporary file renamed
into place, so a crash leaves the old file or the new one, never half of one), JSON with
NaN and ±inf as `null`, and every read of a file that may come from elsewhere bounded
(a regular file, of at most a given size, archives member by member)."""

from ._io import (
    atomic_directory as atomic_directory,
    atomic_figure as atomic_figure,
    atomic_path as atomic_path,
    atomic_write as atomic_write,
    check_regular_file as check_regular_file,
    jsonable as jsonable,
    read_json as read_json,
    read_npz as read_npz,
    write_json as write_json,
)

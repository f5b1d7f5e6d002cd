"""Reading a member CSV: files refused with a clear message, sizes told, lenient headers.
(The checks of rows against an org are exercised through `test_member_import.py`.)"""

from __future__ import annotations

import pytest

from app.services.core.errors import ValidationFailed
from app.services.people import member_csv


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"email,full_name\n", "no rows"),
        (b"name,mail\nx,y\n", "header"),
        ("email,full_name\nzoë@example.com,Zoë\n".encode("latin-1"), "UTF-8"),
        (b"email,full_name\n" + b"a@example.com,A\n" * 140_000, "the limit is 2 MB"),
        (b"email,full_name\n" + b"a@example.com,A\n" * 5001, "more than 5000 rows"),
    ],
)
def test_unusable_files_are_refused_with_a_clear_message(data: bytes, says: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        member_csv.parse_csv(data)
    assert says in err.value.message and err.value.field == "file"


@pytest.mark.parametrize(
    ("size", "says"),
    [
        (2_988_442, "This file is 2.9 MB; the limit is 2 MB."),
        (2 * 1024 * 1024 + 1, "This file is 2.1 MB; the limit is 2 MB."),
        (5 * 1024 * 1024, "This file is 5 MB; the limit is 2 MB."),
    ],
)
def test_a_file_over_the_limit_is_told_its_size(size: int, says: str) -> None:
    assert member_csv.size_problem(size).startswith(says)
    assert member_csv.size_problem(member_csv.MAX_BYTES) == ""


def test_bom_columns_in_any_order_and_blank_lines_are_fine() -> None:
    data = "\ufeffFull Name,Email\n\nAda,ADA@example.com\n".encode()
    (row,) = member_csv.parse_csv(data)
    assert (row.email, row.full_name, row.role, row.line) == ("ADA@example.com", "Ada", "", 3)

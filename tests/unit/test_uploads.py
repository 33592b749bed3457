"""``uploads.commit_outcome``: after a metadata write failed, what reading the row back tells."""

from __future__ import annotations

from typing import Any

import pytest

from image_service.models import Image
from image_service.uploads import Commit, commit_outcome
from tests.support.builders import example_image

IMAGE = example_image(object_key="images/01JDQ8ZB3F2T6X8W4N5R7K9M0Z.a1")  # a finalisation attempt's


class Rows:
    """A stand-in for ``ImagesRepository.get``: answers ``found``, or raises ``error``."""

    def __init__(self, found: tuple[Image, int] | None = None, error: Exception | None = None) -> None:
        self.found, self.error, self.reads = found, error, 0

    def get(self, image_id: str, *, consistent: bool = False) -> tuple[Image, int] | None:
        assert image_id == IMAGE.image_id and consistent  # a lost write is only seen by a strong read
        self.reads += 1
        if self.error is not None:
            raise self.error
        return self.found


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (Rows(found=(IMAGE, 1)), Commit.COMMITTED),  # only the response was lost
        (Rows(found=None), Commit.NOT_COMMITTED),
        # Another finalisation attempt won with objects of its own: these are orphans.
        (Rows(found=(IMAGE._replace(object_key="images/01JDQ8ZB3F2T6X8W4N5R7K9M0Z.b2"), 1)), Commit.NOT_COMMITTED),
        (Rows(error=TimeoutError("the read failed too")), Commit.UNKNOWN),
    ],
)
def test_the_row_read_back_decides_one_of_three_outcomes(rows: Rows, expected: Commit) -> None:
    images: Any = rows
    assert commit_outcome(images, IMAGE) is expected
    assert rows.reads == 1

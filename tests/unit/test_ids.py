from image_service.ids import is_image_id, new_image_id


def test_ids_are_valid_and_sort_by_time() -> None:
    earlier = new_image_id(now_ms=1_700_000_000_000)
    later = new_image_id(now_ms=1_700_000_000_001)
    assert is_image_id(earlier) and is_image_id(later)
    assert earlier < later


def test_ids_in_the_same_millisecond_are_distinct() -> None:
    ids = {new_image_id(now_ms=1_700_000_000_000) for _ in range(1000)}
    assert len(ids) == 1000


def test_path_tricks_are_not_ids() -> None:
    for value in [
        "",
        "../etc/passwd",
        "01JDQ8ZB3F2T6X8W4N5R7K9M0",
        "01jdq8zb3f2t6x8w4n5r7k9m0p",
        "81JDQ8ZB3F2T6X8W4N5R7K9M0P",
    ]:
        assert not is_image_id(value), value

import pytest

from image_service.errors import BadRequest
from image_service.imaging import inspect_image
from tests.conftest import picture


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_supported_formats_are_recognised_with_their_size(fmt: str, content_type: str) -> None:
    info = inspect_image(picture(fmt, (40, 30)))
    assert (info.content_type, info.width, info.height) == (content_type, 40, 30)


@pytest.mark.parametrize("data", [b"", b"hello", b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, picture("BMP")])
def test_other_bytes_are_not_images(data: bytes) -> None:
    with pytest.raises(BadRequest) as error:
        inspect_image(data)
    assert error.value.code == "invalid_image"

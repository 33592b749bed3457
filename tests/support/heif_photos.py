"""HEIC photos for the tests, made with pillow-heif's own encoder (no binary files in the repo).

``heic_photo`` writes what an iPhone writes in the ways that matter here: the ``heic`` brand, an
EXIF item with a GPS position (and a camera make that must survive the clean-up), and optionally
an XMP item that names GPS fields too. Its pixels are a left red half and a right blue half, so a
test can tell which way up a variant came out.
"""

from __future__ import annotations

import io

from PIL import ExifTags, Image

GPS = ExifTags.IFD.GPSInfo
POSITION = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)}
MAKE = "Apple"
XMP_WITH_GPS = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.4N" exif:GPSLongitude="2,21.1E"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def heic_photo(size: tuple[int, int] = (320, 240), *, gps: bool = True, xmp: bool = False, quality: int = 60) -> bytes:
    """A HEIC file of ``size`` (as displayed), with a GPS position in its EXIF unless ``gps`` is False."""
    from image_service.heif import register_opener

    register_opener()
    width, height = size
    picture = Image.new("RGB", size, (220, 20, 20))
    picture.paste((20, 20, 220), (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKE
    if gps:
        exif.get_ifd(GPS).update(POSITION)
    extra = {"xmp": XMP_WITH_GPS} if xmp else {}
    out = io.BytesIO()
    picture.save(out, "HEIF", quality=quality, exif=exif.tobytes(), **extra)
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    """Whether any EXIF or XMP in ``data`` (any supported format) still holds a position."""
    from image_service.heif import heif_content_type, register_opener

    if heif_content_type(data):
        register_opener()
    with Image.open(io.BytesIO(data)) as opened:
        exif = opened.getexif()
        in_exif = GPS in exif or bool(exif.get_ifd(GPS))
        xmp = opened.info.get("xmp") or b""
    return in_exif or b"GPSLatitude" in (xmp if isinstance(xmp, bytes) else xmp.encode())

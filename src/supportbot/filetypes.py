"""What a customer's file is, judged by its bytes rather than by the name it was given."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from supportbot.fields import MIME_KINDS

_MAGIC = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG": "image/png",
    b"%PDF": "application/pdf",
}


def sniff_mime(path: Path) -> str:
    """The file's type from its first bytes, then from its name."""
    with path.open("rb") as fh:
        head = fh.read(16)
    for magic, mime in _MAGIC.items():
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "image/heic" if brand in (b"heic", b"heix", b"mif1") else "video/mp4"
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    # A name that claims a type we accept, on bytes that are not of that type (an .exe
    # renamed photo.png): the bytes win.
    return "application/octet-stream" if guessed in MIME_KINDS else guessed

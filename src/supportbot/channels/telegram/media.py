"""Customers' photos, documents and videos as `IncomingFile` values.

A file is downloaded into ``files_dir/incoming`` only when Telegram says it fits
under the attachment limit; the flow then stores it by checksum and the
temporary copy is removed. A larger file is passed without a path: the flow
refuses it with a message naming the limit. Audio and voice notes are passed
as they are (the flows accept none, and say so).
"""

from __future__ import annotations

import logging
import mimetypes
import uuid
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot, Message
from telegram.error import TelegramError

from supportbot.messages import IncomingFile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Described:
    """What the message says about its file before anything is downloaded."""

    file_id: str
    unique_id: str
    name: str
    mime: str
    size: int | None
    downloadable: bool


def _describe(message: Message, limit: int) -> _Described | None:
    if message.photo:
        fitting = [p for p in message.photo if (p.file_size or 0) <= limit]
        photo = (fitting or list(message.photo))[-1]
        unique = photo.file_unique_id
        return _Described(
            photo.file_id, unique, f"photo-{unique}.jpg", "image/jpeg", photo.file_size, True
        )
    if message.document:
        doc = message.document
        name = doc.file_name or f"document-{doc.file_unique_id}"
        mime = doc.mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        return _Described(doc.file_id, doc.file_unique_id, name, mime, doc.file_size, True)
    if message.video:
        video = message.video
        name = video.file_name or f"video-{video.file_unique_id}.mp4"
        mime = video.mime_type or "video/mp4"
        return _Described(video.file_id, video.file_unique_id, name, mime, video.file_size, True)
    sound = message.audio or message.voice
    if sound:
        mime = sound.mime_type or "audio/ogg"
        name = f"audio-{sound.file_unique_id}{mimetypes.guess_extension(mime) or ''}"
        return _Described(sound.file_id, sound.file_unique_id, name, mime, sound.file_size, False)
    return None


@dataclass
class MediaFetcher:
    """Turns a message's attachment into an `IncomingFile`, downloading what may be kept."""

    folder: Path
    max_bytes: int

    async def file_of(self, bot: Bot, message: Message) -> IncomingFile | None:
        described = _describe(message, self.max_bytes)
        if described is None:
            return None
        path: str | None = None
        size = described.size or 0
        if described.downloadable and size <= self.max_bytes:
            downloaded = await self._download(bot, described)
            if downloaded is not None:
                path, size = str(downloaded), downloaded.stat().st_size
        return IncomingFile(
            name=described.name,
            mime=described.mime,
            size=size,
            path=path,
            file_id=described.file_id,
            file_unique_id=described.unique_id,
        )

    async def _download(self, bot: Bot, described: _Described) -> Path | None:
        suffix = Path(described.name).suffix or mimetypes.guess_extension(described.mime) or ""
        target = self.folder / f"{described.unique_id}-{uuid.uuid4().hex[:8]}{suffix}"
        try:
            remote = await bot.get_file(described.file_id)
            if (remote.file_size or 0) > self.max_bytes:
                return None
            self.folder.mkdir(parents=True, exist_ok=True)
            await remote.download_to_drive(target)
        except TelegramError as err:
            # The flow still gets the file's id and size, and decides what to say.
            log.warning("could not download telegram file %s: %s", described.unique_id, err)
            target.unlink(missing_ok=True)
            return None
        return target

    def discard(self, files: tuple[IncomingFile, ...]) -> None:
        """Remove the temporary copies once the flow has stored what it keeps."""
        for file in files:
            if file.path and Path(file.path).parent == self.folder:
                Path(file.path).unlink(missing_ok=True)

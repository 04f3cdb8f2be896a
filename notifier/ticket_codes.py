"""Signed, holder-bound, short-lived ticket codes (the text inside a ticket's QR).

A code is ``PK1.<payload>.<signature>``: the payload names the signing key, the ticket, its show,
the holder's Discord id and a validity window; the signature is Ed25519 over the payload. Anyone with
the public keys can verify a code offline (a door device with no connection); only Picket can make
one. A code lives for a short window (60 s by default), so a screenshot sold on is useless by the
time a buyer reaches the door: the holder shows a fresh code with /ticket show.

Keys: generated on first use under ``<var>/keys`` (never in the repository). Rotation adds a new key
and makes it the signing key; the one it replaces verifies codes for a grace period (codes signed just
before the rotation still admit), then retires and verifies nothing. The bot's wiring (bot/app.py)
makes one :class:`Keyring` and hands it in like the store: to the outbox sender, which signs the codes
in ticket DMs, and through the cogs' services to the door, which verifies them.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "PK1"
DEFAULT_WINDOW = timedelta(seconds=60)
CLOCK_SKEW = timedelta(seconds=5)
# How long a replaced key keeps verifying: longer than a code lives (plus skew), short enough that a
# leaked old key is soon worthless.
RETIRE_GRACE = timedelta(minutes=10)


class InvalidCode(Exception):
    """A code that must not admit anyone; ``str()`` says why, for door staff."""


@dataclass(frozen=True)
class TicketClaim:
    ticket_id: int
    show_id: int
    holder_discord_id: int
    not_before: datetime
    not_after: datetime
    key_id: str


def _key_number(kid: str) -> int | None:
    """``k0012`` -> 12; None for anything else in the folder."""
    return int(kid[1:]) if len(kid) > 1 and kid[0] == "k" and kid[1:].isdigit() else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Keyring:
    """Ed25519 keys in a folder: ``<kid>.key`` (private, mode 600), ``<kid>.pub`` and ``<kid>.json``
    (when the key was made). The newest key signs. A key stops signing when the next one is made and
    keeps verifying for ``grace`` after that (codes live 60 s, so a code signed just before a
    rotation still admits at the door); then it is retired and verifies nothing, so a key that leaked
    is worthless one grace period after the rotation that replaced it. Key ids count up and are never
    reused, even when an operator deletes a key's files (``.last-key-id`` remembers the highest).

    Several shards share the folder: a key made by ``picket keys rotate`` (or by another shard) is
    picked up without a restart, because the folder's modification time is checked (one stat) before
    signing or verifying."""

    def __init__(self, folder: Path, *, grace: timedelta = RETIRE_GRACE):
        self.folder = Path(folder)
        self.grace = grace
        self.folder.mkdir(parents=True, exist_ok=True)
        if not list(self.folder.glob("*.key")):
            self.rotate(first=True)
        self._load()

    def _refresh(self) -> None:
        if self.folder.stat().st_mtime_ns != self._seen:
            self._load()

    def _created_at(self, kid: str) -> datetime:
        try:
            return datetime.fromtimestamp(json.loads((self.folder / f"{kid}.json").read_text())["created_at"], UTC)
        except (OSError, ValueError, KeyError, TypeError):  # a key from before key files carried their date
            return datetime.fromtimestamp((self.folder / f"{kid}.pub").stat().st_mtime, UTC)

    def _load(self) -> None:
        self._seen = self.folder.stat().st_mtime_ns
        self.public: dict[str, Ed25519PublicKey] = {}
        for pub in self.folder.glob("*.pub"):
            if _key_number(pub.stem) is not None:
                self.public[pub.stem] = cast(
                    Ed25519PublicKey, serialization.load_pem_public_key(pub.read_bytes())
                )  # the keyring writes only Ed25519
        # Each key retires when the next one (by number) was made: from then on it no longer signs.
        ordered = sorted(self.public, key=lambda kid: _key_number(kid) or 0)  # every public key is numbered
        self.retired_at: dict[str, datetime] = {
            kid: self._created_at(successor) for kid, successor in pairwise(ordered)
        }
        newest = max(
            (k for k in self.folder.glob("*.key") if k.stem in self.public), key=lambda p: _key_number(p.stem) or 0
        )
        self.key_id = newest.stem
        self.private = cast(Ed25519PrivateKey, serialization.load_pem_private_key(newest.read_bytes(), password=None))

    def _highest_id(self) -> int:
        numbers = [_key_number(p.name.split(".")[0]) for p in self.folder.glob("k*.*")]
        try:
            numbers.append(int((self.folder / ".last-key-id").read_text().strip()))
        except (OSError, ValueError):
            pass
        return max([n for n in numbers if n is not None], default=0)

    def rotate(self, *, now: datetime | None = None, first: bool = False) -> str:
        """Create a new signing key. The previous key verifies for ``grace`` more, then retires.
        Returns the new key id, one higher than any key id this folder ever had.

        The private key is created exclusively and its public half renamed into place after it, so
        two shards starting on an empty folder (``first``) cannot overwrite each other's key (the
        loser keeps the winner's), and a key is only used once its public half is there."""
        created = (now or datetime.now(UTC)).timestamp()
        number = self._highest_id() + 1
        while True:
            kid = f"k{number:04d}"
            key = Ed25519PrivateKey.generate()
            try:
                with open(
                    self.folder / f"{kid}.key", "xb", opener=lambda path, flags: os.open(path, flags, 0o600)
                ) as private:
                    private.write(
                        key.private_bytes(
                            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                        )
                    )
            except FileExistsError:
                if first:
                    break  # another process made the first key just now: use theirs
                number += 1  # another rotation took this id: never share one
                continue
            for suffix, data in (
                ("json", json.dumps({"created_at": created}).encode()),  # before .pub: a visible key has its date
                (
                    "pub",
                    key.public_key().public_bytes(
                        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                    ),
                ),
            ):
                staged = self.folder / f".{kid}.{suffix}.{os.getpid()}"
                staged.write_bytes(data)
                os.replace(staged, self.folder / f"{kid}.{suffix}")
            break
        last = self.folder / ".last-key-id"
        try:
            recorded = int(last.read_text().strip())
        except (OSError, ValueError):
            recorded = 0
        if number > recorded:
            staged = self.folder / f".last-key-id.{os.getpid()}"
            staged.write_text(str(number))
            os.replace(staged, last)
        if hasattr(self, "public"):
            self._load()
        return kid

    def sign(
        self, *, ticket_id: int, show_id: int, holder_discord_id: int, now: datetime, window: timedelta = DEFAULT_WINDOW
    ) -> str:
        self._refresh()
        payload = json.dumps(
            {
                "k": self.key_id,
                "t": ticket_id,
                "s": show_id,
                "h": holder_discord_id,
                "nb": int(now.timestamp()),
                "na": int((now + window).timestamp()),
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        return f"{PREFIX}.{_b64(payload)}.{_b64(self.private.sign(payload))}"

    def verify(self, code: str, *, now: datetime) -> TicketClaim:
        """The claim inside a genuine, current code; InvalidCode with the reason otherwise."""
        parts = (code or "").strip().split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            raise InvalidCode("This is not a Picket ticket code.")
        try:
            payload, signature = _unb64(parts[1]), _unb64(parts[2])
            claims = json.loads(payload)
            kid = claims["k"]
        except (ValueError, KeyError, TypeError):
            raise InvalidCode("This ticket code is damaged.") from None
        if isinstance(kid, str) and kid not in self.public:
            self._refresh()  # a key another shard (or `picket keys rotate`) made since we loaded
        key = self.public.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidCode("This ticket code was not signed by Picket.")
        retired = self.retired_at.get(kid)
        if retired is not None and now > retired + self.grace:
            raise InvalidCode(
                "This ticket code was signed with a retired key: ask the holder to run /ticket show for a fresh one."
            )
        try:
            key.verify(signature, payload)
        except InvalidSignature:
            raise InvalidCode("This ticket code is forged or altered.") from None
        try:
            claim = TicketClaim(
                ticket_id=int(claims["t"]),
                show_id=int(claims["s"]),
                holder_discord_id=int(claims["h"]),
                not_before=datetime.fromtimestamp(int(claims["nb"]), UTC),
                not_after=datetime.fromtimestamp(int(claims["na"]), UTC),
                key_id=kid,
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            raise InvalidCode("This ticket code is damaged.") from None
        if retired is not None and claim.not_before > retired + CLOCK_SKEW:
            raise InvalidCode(
                "This ticket code was signed with a retired key: ask the holder to run /ticket show for a fresh one."
            )
        if now > claim.not_after + CLOCK_SKEW:
            raise InvalidCode("This ticket code has expired: ask the holder to run /ticket show for a fresh one.")
        if now < claim.not_before - CLOCK_SKEW:
            raise InvalidCode("This ticket code is not valid yet.")
        return claim


def qr_png(code: str) -> bytes:
    import io

    import qrcode
    from qrcode.image.pil import PilImage

    img = qrcode.make(code, box_size=8, border=2, image_factory=PilImage)  # qrcode's default where Pillow is installed
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def qr_image(code: str):
    import qrcode

    return qrcode.make(code, box_size=8, border=2).get_image()


# A photo of a QR at the door: a phone photo or screenshot is 1-24 MP and a few MB. Anything bigger is
# refused from its header, before a pixel is decoded (a 13,000 x 13,000 PNG compresses to under
# 200 KiB and decodes to gigabytes).
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_PIXELS = 24_000_000
PHOTO_FORMATS = ("PNG", "JPEG", "WEBP")


def photo_size(image_bytes: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG or WebP, read from its header only (Pillow opens lazily);
    None if it is none of those."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(image_bytes), formats=PHOTO_FORMATS) as image:
                return image.size
    except Exception:  # not an image, or a header so large Pillow refuses it: both are not photos
        return None


def photo_too_large(image_bytes: bytes) -> bool:
    size = photo_size(image_bytes)
    return len(image_bytes) > MAX_PHOTO_BYTES or (size is not None and size[0] * size[1] > MAX_PHOTO_PIXELS)


def read_qr(image_bytes: bytes) -> str | None:
    """The text of the first QR code in a photo or screenshot, or None (zxing-cpp). CPU-bound: call
    it off the event loop. Refuses (None) what is not a PNG/JPEG/WebP or is over the size caps
    without decoding it."""
    import io

    import zxingcpp
    from PIL import Image

    if photo_size(image_bytes) is None or photo_too_large(image_bytes):
        return None
    try:
        image = Image.open(io.BytesIO(image_bytes), formats=PHOTO_FORMATS)
        image.load()
    except Exception:
        return None
    for result in zxingcpp.read_barcodes(image):
        if result.text:
            return result.text
    return None

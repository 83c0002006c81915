"""Build, once per process, the backends the settings name: database, queue, storage, token cipher, styles."""

from __future__ import annotations

from dataclasses import dataclass, field

from connector.crypto import TokenCipher, cipher_for
from connector.db import Database
from connector.queue import Queue, make_queue
from connector.settings import Settings
from connector.storage import Storage, make_storage
from connector.styles import HouseStyle, load_styles


@dataclass
class Services:
    """The backends every part of Worn works through; the one object wiring passes around."""

    settings: Settings
    db: Database
    queue: Queue
    storage: Storage
    cipher: TokenCipher
    styles: dict[str, HouseStyle] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Connect every backend named by `settings` (nothing is migrated or created here)."""
        db = Database(settings.database_url)
        return cls(
            settings=settings,
            db=db,
            queue=make_queue(
                settings.QUEUE_URL,
                db,
                visibility=settings.QUEUE_VISIBILITY_SECONDS,
                max_attempts=settings.QUEUE_MAX_ATTEMPTS,
            ),
            storage=make_storage(settings.storage_url),
            cipher=cipher_for(settings),
            styles=load_styles(settings.STYLES_DIR),
        )

    @property
    def default_style(self) -> HouseStyle:
        """Return the style new shops start with (setting DEFAULT_STYLE)."""
        from connector.styles import StyleError

        try:
            return self.styles[self.settings.DEFAULT_STYLE]
        except KeyError:
            known = ", ".join(sorted(self.styles)) or "none"
            raise StyleError(
                f"setting DEFAULT_STYLE: no house style named {self.settings.DEFAULT_STYLE!r} in "
                f"{self.settings.STYLES_DIR} (found: {known})"
            ) from None

    def close(self) -> None:
        """Release pooled connections."""
        self.db.dispose()

"""Every table bouncer keeps, in one place so Alembic has one import."""

from __future__ import annotations

from app.db import Base

__all__ = ["Base"]

"""Reading and writing booking's rows; every query is scoped by organization."""

from __future__ import annotations

from dataclasses import asdict, fields
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from booking.adapters.tables import class_copies
from booking.domain.classes import BookableClass

_CLASS_FIELDS = [f.name for f in fields(BookableClass)]


class ClassCopyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def remember(self, bookable: BookableClass) -> None:
        """Keep the newest version whatever order events arrive in (the database decides)."""
        values = asdict(bookable)
        stmt = insert(class_copies).values(**values)
        await self._db.execute(stmt.on_conflict_do_update(
            index_elements=[class_copies.c.id],
            set_={**{k: stmt.excluded[k] for k in values if k != "id"}, "updated_at": sa.func.now()},
            where=class_copies.c.version < stmt.excluded.version,
        ))

    async def get(self, organization_id: UUID, class_id: UUID) -> BookableClass | None:
        row = (await self._db.execute(sa.select(class_copies).where(
            class_copies.c.organization_id == organization_id, class_copies.c.id == class_id))).first()
        return None if row is None else BookableClass(**{k: getattr(row, k) for k in _CLASS_FIELDS})

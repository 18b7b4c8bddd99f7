"""An uploaded document's bytes, kept in the database so any worker process can read them."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base


class SourceFile(Base):
    __tablename__ = "source_files"

    source_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    filename: Mapped[str] = mapped_column(String(300))
    # Detected from the bytes (pdf, docx, pptx, xlsx, html, markdown, text, csv), not the name.
    kind: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)

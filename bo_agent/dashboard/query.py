"""The barrier table's query parameters: the options of ``tavbo barriers``, validated once."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BarrierQuery"]


class BarrierQuery(BaseModel):
    """``/barriers?carrier=Na&M=Ga&min=0.2&sort=id&desc=true&limit=10`` (every field optional).

    A value of the wrong type (``min=abc``) is answered with HTTP 422 naming the field.
    """

    model_config = ConfigDict(extra="forbid")

    carrier: str | None = Field(None, description="Only this carrier (A site)")
    M: str | None = Field(None, description="Only this M-site element")
    X: str | None = Field(None, description="Only this X-site element")
    Z: str | None = Field(None, description="Only this Z anion")
    engine: str | None = Field(None, description="Only this engine")
    campaign: str | None = Field(None, description="Only this campaign")
    min: float | None = Field(None, description="Lowest E_b, eV (inclusive)")
    max: float | None = Field(None, description="Highest E_b, eV (inclusive)")
    sort: Literal["e_b", "id"] = Field("e_b", description="Sort by E_b or by ID")
    desc: bool = Field(False, description="Descending order")
    limit: int = Field(0, ge=0, description="At most this many rows (0: all)")

    def given(self) -> dict[str, Any]:
        """The filters that differ from their defaults, by query name."""
        return {
            k: v for k, v in self.model_dump().items() if v != type(self).model_fields[k].default
        }

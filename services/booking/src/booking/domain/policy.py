"""A studio's booking policy: what a late cancellation costs, and how the waitlist behaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from studio_platform.errors import Invalid

LateCancelPolicy = Literal["forfeit", "fee"]


@dataclass(frozen=True)
class BookingPolicy:
    late_cancel_policy: LateCancelPolicy
    late_cancel_fee_minor: int
    currency: str
    waitlist_limit: int
    promotion_cutoff_minutes: int

    def __post_init__(self) -> None:
        if self.late_cancel_policy not in ("forfeit", "fee"):
            raise Invalid("The late-cancel policy is 'forfeit' or 'fee'.", code="bad-policy")
        if self.late_cancel_fee_minor < 0 or (self.late_cancel_policy == "fee" and self.late_cancel_fee_minor == 0):
            raise Invalid("A late-cancel fee must be a positive amount.", code="bad-fee")
        if not 0 <= self.waitlist_limit <= 500:
            raise Invalid("The waitlist holds 0 to 500 people.", code="bad-waitlist-limit")
        if not 0 <= self.promotion_cutoff_minutes <= 7 * 24 * 60:
            raise Invalid("Promotion may stop at most a week before class.", code="bad-cutoff")

    def promotes_at(self, class_starts_at: datetime, now: datetime) -> bool:
        """Too close to class, a freed seat stays open for anyone rather than surprising someone waiting."""
        return now < class_starts_at - timedelta(minutes=self.promotion_cutoff_minutes)

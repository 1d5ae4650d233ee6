"""Billing's side of the booking saga: booking's credit commands, each idempotent per booking id.

These run inside the consumer's unit of work, which commits after them (with
the inbox entry and the answers in the outbox), so they neither enter nor
commit it. Every command first takes the booking's lock, so commands about
one booking are decided one after the other, never from a stale view.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from billing.adapters.ledger import Moved, Take
from billing.domain.allocation import LotOption, Refusal, choose_lot
from billing.domain.credits import Move
from billing.domain.reservations import Reservation, Settlement
from billing.unit_of_work import BillingUnitOfWork
from studio_contracts import billing as contracts
from studio_contracts.base import Event, EventMeta
from studio_platform.errors import NotFound

# Each lost race means another booking took a credit that is now gone; running out of
# attempts only sends the command back for redelivery.
MAX_ATTEMPTS = 10


class LedgerOutOfStep(RuntimeError):
    """A reservation says a credit is held that its lot does not hold: never expected, so retried, then parked."""


async def reserve_credits(commands: list[tuple[contracts.ReserveCredit, EventMeta | None]], uow: BillingUnitOfWork,
                          *, now: datetime | None = None) -> None:
    """Booking's requests for a credit, a consumer's batch at a time (a `Batch` handler, see D14).

    The batch's bookings are locked, their reservations so far and their clients' lots read, once for the
    batch. Each client's first new booking in the batch then takes its credit in one statement with the other
    clients' (their lots are all different); a client's later ones follow one by one, as each depends on what
    the one before took. The new reservations are written together. A repeated command is answered as
    before, from its reservation.
    """
    now = now or datetime.now(UTC)
    bookings = [(cmd.organization_id, cmd.booking_id) for cmd, _ in commands]
    await uow.reservations.lock_all(bookings)
    known = await uow.reservations.get_all(bookings)
    lots = await uow.ledger.options_of_clients({(cmd.organization_id, cmd.client_id) for cmd, _ in commands})
    first_tries = await _first_tries(uow, now, lots, [cmd for cmd, _ in commands
                                                      if (cmd.organization_id, cmd.booking_id) not in known])
    added = []
    for cmd, _ in commands:
        reservation = known.get((cmd.organization_id, cmd.booking_id))
        if reservation is None:
            reservation = await _reserve(cmd, uow, now, lots.get((cmd.organization_id, cmd.client_id), []),
                                         first_tries.get(cmd.booking_id))
            known[(cmd.organization_id, cmd.booking_id)] = reservation
            added.append(reservation)
        uow.publish(_answer(reservation), subject=str(cmd.booking_id))
    await uow.reservations.add_all(added)


# What a booking's first try at a credit came to: the rules' choice, and the move if the lot had the credit.
FirstTry = tuple[LotOption | Refusal, Moved | None]


async def _first_tries(uow: BillingUnitOfWork, now: datetime, lots: dict[tuple[UUID, UUID], list[LotOption]],
                       new: list[contracts.ReserveCredit]) -> dict[UUID, FirstTry]:
    """By booking: the first try of each client's first new booking, their moves in one statement."""
    firsts: dict[tuple[UUID, UUID], contracts.ReserveCredit] = {}
    for cmd in new:
        firsts.setdefault((cmd.organization_id, cmd.client_id), cmd)
    choices = {cmd.booking_id: choose_lot(lots.get(client, []), class_starts_at=_starts_at(cmd), now=now)
               for client, cmd in firsts.items()}
    takes = [Take(cmd.organization_id, choice.lot_id, _credits(choice), cmd.booking_id) for cmd in firsts.values()
             if isinstance(choice := choices[cmd.booking_id], LotOption)]
    moved = await uow.ledger.move_many(Move.RESERVE, takes, reason="booking") if takes else {}
    return {booking: (choice, None if isinstance(choice, Refusal) else moved.get(choice.lot_id))
            for booking, choice in choices.items()}


async def _reserve(cmd: contracts.ReserveCredit, uow: BillingUnitOfWork, now: datetime,
                   options: list[LotOption], first_try: FirstTry | None) -> Reservation:
    """Take a credit for the booking from the lot the rules choose among `options` (unless its first try was
    made already); read afresh after a lost race (another booking, or an earlier one of the same batch, took
    that lot's last credit)."""
    org, starts_at = cmd.organization_id, _starts_at(cmd)
    about = dict(organization_id=org, booking_id=cmd.booking_id, client_id=cmd.client_id, class_id=cmd.class_id,
                 studio_id=cmd.studio_id, class_starts_at=starts_at)
    for attempt in range(MAX_ATTEMPTS):
        if attempt == 0 and first_try is not None:
            choice, moved = first_try
        else:
            if attempt:
                options = await uow.ledger.options(org, cmd.client_id)
            choice = choose_lot(options, class_starts_at=starts_at, now=now)
            moved = None if isinstance(choice, Refusal) else await uow.ledger.move(
                org, choice.lot_id, Move.RESERVE, _credits(choice), reason="booking", booking_id=cmd.booking_id)
        if isinstance(choice, Refusal):
            return Reservation.refused(**about, refusal=choice)
        if moved is not None:
            await _start_clock_on_first_use(uow, org, choice, now)
            remaining = None if choice.unlimited else moved.package_available
            return Reservation.taken(**about, lot=choice, remaining=remaining)
    raise RuntimeError(f"lost the race for a credit {MAX_ATTEMPTS} times; booking {cmd.booking_id} retries later")


def _starts_at(cmd: contracts.ReserveCredit) -> datetime:
    # Booking sends aware times; a naive one is read as UTC rather than failing the saga.
    return cmd.class_starts_at if cmd.class_starts_at.tzinfo else cmd.class_starts_at.replace(tzinfo=UTC)


def _credits(choice: LotOption) -> int:
    return 0 if choice.unlimited else 1


async def _start_clock_on_first_use(uow: BillingUnitOfWork, org: UUID, lot: LotOption, now: datetime) -> None:
    if lot.expires_at is None:
        expires_at = lot.expiry_if_used(now)
        await uow.ledger.start_first_use(org, lot.lot_id, expires_at)
        await uow.packages.start_first_use(org, lot.package_id, expires_at)


def _answer(reservation: Reservation) -> Event:
    who = dict(organization_id=reservation.organization_id, booking_id=reservation.booking_id,
               client_id=reservation.client_id)
    if reservation.status == "rejected":
        return contracts.CreditRejected(**who, reason=reservation.reason, detail=reservation.detail)  # type: ignore[arg-type]
    if reservation.is_tombstone:
        return contracts.CreditRejected(**who, reason="cancelled",
                                        detail="The booking was released before a credit was reserved for it.")
    assert reservation.package_id is not None and reservation.package_name is not None
    # The same answer as when the credit was taken, whatever happened to it since.
    return contracts.CreditReserved(**who, package_id=reservation.package_id, credits=reservation.credits,
                                    package_name=reservation.package_name, remaining=reservation.remaining)


async def release_credit(cmd: contracts.ReleaseCredit, meta: EventMeta | None, uow: BillingUnitOfWork) -> None:
    await uow.reservations.lock(cmd.organization_id, cmd.booking_id)
    reservation = await uow.reservations.get(cmd.organization_id, cmd.booking_id)
    if reservation is None:
        # The release overtook the reserve: leave a tombstone so the late reserve is refused.
        await uow.reservations.add(Reservation.tombstone(organization_id=cmd.organization_id,
                                                         booking_id=cmd.booking_id, client_id=cmd.client_id))
        uow.publish(contracts.CreditReleased(organization_id=cmd.organization_id, booking_id=cmd.booking_id,
                                             client_id=cmd.client_id, package_id=None, credits=0),
                    subject=str(cmd.booking_id))
        return
    await _settle(uow, reservation, "released", reason=cmd.reason)


async def refund_credit(cmd: contracts.RefundCredit, meta: EventMeta | None, uow: BillingUnitOfWork) -> None:
    await _settle(uow, await _known(uow, cmd.organization_id, cmd.booking_id), "refunded", reason=cmd.reason)


async def consume_credit(cmd: contracts.ConsumeCredit, meta: EventMeta | None, uow: BillingUnitOfWork) -> None:
    await _settle(uow, await _known(uow, cmd.organization_id, cmd.booking_id), "consumed", reason=cmd.reason)


async def _known(uow: BillingUnitOfWork, org: UUID, booking_id: UUID) -> Reservation:
    await uow.reservations.lock(org, booking_id)
    reservation = await uow.reservations.get(org, booking_id)
    if reservation is None:
        raise NotFound(f"No credit was reserved for booking {booking_id}.", code="reservation-not-found")
    return reservation


_SETTLED_EVENTS: dict[Settlement, type[Event]] = {
    "released": contracts.CreditReleased,
    "refunded": contracts.CreditRefunded,
    "consumed": contracts.CreditConsumed,
}


async def _settle(uow: BillingUnitOfWork, reservation: Reservation, outcome: Settlement, *, reason: str) -> None:
    settled = reservation.settle(outcome)
    if settled is None:
        return
    after, move = settled
    assert reservation.lot_id is not None
    if await uow.ledger.move(reservation.organization_id, reservation.lot_id, move, reservation.credits,
                             reason=reason, booking_id=reservation.booking_id) is None:
        raise LedgerOutOfStep(f"booking {reservation.booking_id}: lot {reservation.lot_id} holds no credit for it")
    await uow.reservations.save(after)
    extra = {"reason": reason} if outcome == "consumed" else {}
    uow.publish(_SETTLED_EVENTS[outcome](
        organization_id=reservation.organization_id, booking_id=reservation.booking_id,
        client_id=reservation.client_id, package_id=reservation.package_id, credits=reservation.credits, **extra),
        subject=str(reservation.booking_id))

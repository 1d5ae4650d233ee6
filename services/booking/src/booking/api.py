"""Booking's HTTP API: parse, call a handler, shape the reply."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from booking.config import BookingSettings
from booking.domain.bookings import Booking
from booking.domain.classes import registration_open
from booking.handlers import admin, requests, waitlist
from booking.handlers.common import now
from booking.unit_of_work import BookingUnitOfWork
from studio_platform.auth import CurrentPrincipal, Principal, principal_of
from studio_platform.errors import DomainError, Unavailable
from studio_platform.pagination import decode_cursor, encode_cursor
from studio_platform.problems import error_responses
from studio_platform.schemas import StrictBody

router = APIRouter(prefix="/v1")
MAX_KEY_LENGTH = 200


async def uow(request: Request) -> BookingUnitOfWork:
    return request.app.state.uow()


UoW = Annotated[BookingUnitOfWork, Depends(uow)]


class CreditRefused(DomainError):
    """Billing refused the credit: the client needs a (new) package."""

    status = 402
    title = "Payment required"


# --- bookings ------------------------------------------------------------------------------------

class BookingOut(BaseModel):
    id: UUID
    reference: str
    class_id: UUID
    class_name: str | None = None
    client_id: UUID
    status: Literal["pending", "confirmed", "rejected", "failed", "cancelled", "late_cancelled"]
    source: Literal["direct", "waitlist"]
    reason: str | None
    class_starts_at: datetime
    class_ends_at: datetime
    requested_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    credit: str | None = Field(description="What became of the credit on cancellation.")
    package_id: UUID | None

    @classmethod
    def of(cls, b: Booking, class_name: str | None = None) -> BookingOut:
        return cls(id=b.id, reference=b.reference, class_id=b.class_id, class_name=class_name, client_id=b.client_id,
                   status=b.status, source=b.source, reason=b.reason, class_starts_at=b.class_starts_at,
                   class_ends_at=b.class_ends_at, requested_at=b.requested_at, confirmed_at=b.confirmed_at,
                   cancelled_at=b.cancelled_at, credit=b.credit_outcome, package_id=b.package_id)


@router.post(
    "/classes/{class_id}/bookings", status_code=201, response_model=BookingOut, operation_id="bookClass",
    summary="Book a class", tags=["bookings"],
    responses={202: {"model": BookingOut, "description": "Accepted: the credit check is still running; the outcome "
                                                         "follows as a live update and on GET /v1/bookings/{id}."},
               **error_responses(401, 402, 403, 404, 409, 422, 429, 503)},
    description="Holds a seat and takes a credit. Confirmed (201) or refused (402: no credit, expired package) "
                "when billing answers within a moment, else 202 with the pending booking. A full class answers 409 "
                "`class-full` at once; join its waitlist instead. Send an `Idempotency-Key` to retry safely.")
async def book_class(
    class_id: UUID, principal: CurrentPrincipal, request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=MAX_KEY_LENGTH)] = None,
) -> Response:
    """The operation as documented. A well-formed request is served by `book_class_directly`, ahead of FastAPI's
    router; this one answers the rest (a class id that is not a UUID) and would serve all without it."""
    return await _book(request, principal, class_id, idempotency_key)


async def book_class_directly(request: Request) -> Response:
    """`bookClass` without FastAPI's routing, dependencies and response validation, which cost booking about a
    tenth of its CPU per booking (D15). The same checks and answers: the token, the key's length, the handler."""
    request.scope["route"] = _BOOK_CLASS  # its documented template names the request in metrics and traces
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > MAX_KEY_LENGTH:
        raise RequestValidationError([{"type": "string_too_long", "loc": ("header", "idempotency-key"),
                                       "msg": f"String should have at most {MAX_KEY_LENGTH} characters"}])
    return await _book(request, await principal_of(request), request.path_params["class_id"], key)


async def _book(request: Request, principal: Principal, class_id: UUID, idempotency_key: str | None) -> Response:
    settings: BookingSettings = request.app.state.settings
    booking = await requests.book(request.app.state.uow(), principal=principal, class_id=class_id,
                                  idempotency_key=idempotency_key, waiter=request.app.state.outcomes,
                                  wait_seconds=settings.sync_wait_seconds, gate=request.app.state.booking_gate)
    if booking.status == "failed":
        raise Unavailable("We could not confirm your credit in time; nothing was charged. Please try again "
                          "(with a new Idempotency-Key: this one stands for the attempt that timed out).",
                          code="booking-timed-out", booking_id=str(booking.id), retry_after=5)
    if booking.status == "rejected":
        code = {"expired": "package-expired", "no-credits": "no-credits"}.get(booking.reason or "", "credit-refused")
        raise CreditRefused(_refusal_text(booking.reason), code=code, booking_id=str(booking.id),
                            reference=booking.reference)
    pending = booking.status == "pending"
    return Response(BookingOut.of(booking).model_dump_json(), status_code=202 if pending else 201,
                    headers={"Location": f"/v1/bookings/{booking.id}"} if pending else None,
                    media_type="application/json")


_BOOK_CLASS = next(route for route in router.routes if getattr(route, "endpoint", None) is book_class)
# Ahead of `router` (see app.py): a path whose id is not a UUID goes on to the documented operation.
direct = APIRouter()
direct.add_route("/v1/classes/{class_id:uuid}/bookings", book_class_directly, methods=["POST"],
                 include_in_schema=False)


def _refusal_text(reason: str | None) -> str:
    return {
        "no-credits": "You have no credits left for this class; buy a class pack or membership.",
        "expired": "Your package will have expired by the time of this class; renew it to book.",
    }.get(reason or "", "Your credit could not be taken for this class.")


@router.get("/bookings/{booking_id}", response_model=BookingOut, operation_id="getBooking", summary="Get a booking",
            tags=["bookings"], responses=error_responses(401, 403, 404, 422))
async def get_booking(booking_id: UUID, principal: CurrentPrincipal, uow: UoW) -> BookingOut:
    return BookingOut.of(await requests.get_booking(uow, principal=principal, booking_id=booking_id))


class CancelIn(StrictBody):
    reason: str | None = Field(default=None, max_length=500)
    waive_late_cancel: bool = Field(default=False, description="Staff only: refund even after the cutoff.")


@router.post("/bookings/{booking_id}/cancel", response_model=BookingOut, operation_id="cancelBooking",
             summary="Cancel a booking", tags=["bookings"], responses=error_responses(401, 403, 404, 409, 422),
             description="Before the class's late-cancel cutoff the credit is refunded; after it the studio's policy "
                         "applies (forfeit, or keep the credit with a fee due). Staff may cancel for a client.")
async def cancel_booking(booking_id: UUID, body: CancelIn, principal: CurrentPrincipal, uow: UoW) -> BookingOut:
    return BookingOut.of(await requests.cancel(uow, principal=principal, booking_id=booking_id, reason=body.reason,
                                               waive_late_cancel=body.waive_late_cancel))


class BookingPage(BaseModel):
    items: list[BookingOut]
    next_cursor: str | None


@router.get("/me/bookings", response_model=BookingPage, operation_id="listMyBookings",
            summary="My upcoming or past bookings", tags=["bookings"], responses=error_responses(401, 403, 422))
async def my_bookings(principal: CurrentPrincipal, uow: UoW,
                      when: Literal["upcoming", "past"] = "upcoming",
                      limit: Annotated[int, Query(ge=1, le=100)] = 20, cursor: str | None = None) -> BookingPage:
    lines = await requests.my_bookings(uow, principal=principal, upcoming=when == "upcoming", limit=limit,
                                       before=decode_cursor(cursor) if cursor else None)
    items = [BookingOut.of(line.booking, line.class_name) for line in lines]
    return BookingPage(items=items, next_cursor=encode_cursor(lines[-1].booking.class_starts_at, lines[-1].booking.id)
                       if len(lines) == limit else None)


# --- classes: seats and rosters -------------------------------------------------------------------

class ClassAvailability(BaseModel):
    class_id: UUID
    version: int
    status: str
    starts_at: datetime
    registration_open: bool
    registration_closes_at: datetime
    capacity: int
    confirmed: int
    pending: int
    spots_left: int
    is_full: bool
    waitlisted: int


@router.get("/classes/{class_id}/availability", response_model=ClassAvailability,
            operation_id="getClassAvailability", summary="Seats left and waitlist of a class", tags=["bookings"],
            responses=error_responses(401, 403, 404, 422))
async def class_availability(class_id: UUID, principal: CurrentPrincipal, uow: UoW) -> ClassAvailability:
    cls, seats = await requests.availability(uow, principal=principal, class_id=class_id)
    return ClassAvailability(class_id=cls.id, version=cls.version, status=cls.status, starts_at=cls.starts_at,
                             registration_open=registration_open(cls, now()),
                             registration_closes_at=cls.registration_closes_at, capacity=seats.capacity,
                             confirmed=seats.confirmed, pending=seats.pending, spots_left=seats.left,
                             is_full=seats.left == 0, waitlisted=seats.waitlisted)


class RosterBooking(BaseModel):
    booking_id: UUID
    reference: str
    client_id: UUID
    client_name: str | None
    status: str
    source: str


class RosterPlace(BaseModel):
    entry_id: UUID
    position: int
    client_id: UUID
    client_name: str | None
    status: str


class RosterOut(BaseModel):
    class_id: UUID
    capacity: int
    spots_left: int
    bookings: list[RosterBooking]
    waitlist: list[RosterPlace]


@router.get("/classes/{class_id}/roster", response_model=RosterOut, operation_id="getClassRoster",
            summary="Who is booked and waiting", tags=["bookings"], responses=error_responses(401, 403, 404, 422))
async def class_roster(class_id: UUID, principal: CurrentPrincipal, uow: UoW) -> RosterOut:
    found = await requests.roster(uow, principal=principal, class_id=class_id)
    return RosterOut(
        class_id=found.cls.id, capacity=found.seats.capacity, spots_left=found.seats.left,
        bookings=[RosterBooking(booking_id=b.id, reference=b.reference, client_id=b.client_id,
                                client_name=found.names.get(b.client_id), status=b.status, source=b.source)
                  for b in found.bookings],
        waitlist=[RosterPlace(entry_id=entry_id, position=i, client_id=client_id,
                              client_name=found.names.get(client_id), status=status)
                  for i, (entry_id, client_id, status) in enumerate(found.waitlist, start=1)])


# --- waitlist ----------------------------------------------------------------------------------

class WaitlistPlace(BaseModel):
    entry_id: UUID
    class_id: UUID
    class_name: str | None = None
    class_starts_at: datetime | None = None
    position: int = Field(description="1 is next in line.")
    status: Literal["waiting", "promoting"]


@router.post("/classes/{class_id}/waitlist", status_code=201, response_model=WaitlistPlace,
             operation_id="joinWaitlist", summary="Join a full class's waitlist", tags=["waitlist"],
             responses=error_responses(401, 403, 404, 409, 422))
async def join_waitlist(class_id: UUID, principal: CurrentPrincipal, uow: UoW) -> WaitlistPlace:
    entry, position = await waitlist.join(uow, principal=principal, class_id=class_id)
    return WaitlistPlace(entry_id=entry.id, class_id=class_id, position=position, status="waiting")


@router.delete("/classes/{class_id}/waitlist", status_code=204, operation_id="leaveWaitlist",
               summary="Leave a class's waitlist", tags=["waitlist"], responses=error_responses(401, 403, 404, 409,
                                                                                                 422))
async def leave_waitlist(class_id: UUID, principal: CurrentPrincipal, uow: UoW) -> Response:
    await waitlist.leave(uow, principal=principal, class_id=class_id)
    return Response(status_code=204)


@router.get("/me/waitlist", response_model=list[WaitlistPlace], operation_id="listMyWaitlistPlaces",
            summary="My places on waitlists", tags=["waitlist"], responses=error_responses(401, 403))
async def my_waitlist(principal: CurrentPrincipal, uow: UoW) -> list[WaitlistPlace]:
    places = await waitlist.my_places(uow, principal=principal)
    return [WaitlistPlace(entry_id=e.id, class_id=e.class_id, class_name=name, class_starts_at=starts,
                          position=position, status=e.status) for e, position, name, starts in places]


# --- staff settings ----------------------------------------------------------------------------

class PolicyIn(StrictBody):
    late_cancel_policy: Literal["forfeit", "fee"] = Field(
        description="After the cutoff: forfeit the credit, or keep it and charge a fee later.")
    late_cancel_fee_minor: int = Field(0, ge=0, le=1_000_000, description="The fee in minor units (pence, cents).")
    currency: str = Field("GBP", pattern=r"^[A-Z]{3}$")
    waitlist_limit: int = Field(20, ge=0, le=500)
    promotion_cutoff_minutes: int = Field(30, ge=0, le=10080,
                                          description="Waitlist promotion stops this long before class.")


class PolicyOut(PolicyIn):
    model_config = ConfigDict(extra="ignore")


@router.get("/studios/{studio_id}/booking-policy", response_model=PolicyOut, operation_id="getBookingPolicy",
            summary="A studio's booking policy", tags=["booking policy"], responses=error_responses(401, 403, 422))
async def get_policy(studio_id: UUID, principal: CurrentPrincipal, uow: UoW) -> PolicyOut:
    found = await admin.policy(uow, principal=principal, studio_id=studio_id)
    return PolicyOut.model_validate(found, from_attributes=True)


@router.put("/studios/{studio_id}/booking-policy", response_model=PolicyOut, operation_id="setBookingPolicy",
            summary="Set a studio's booking policy", tags=["booking policy"],
            responses=error_responses(401, 403, 422))
async def put_policy(studio_id: UUID, body: PolicyIn, principal: CurrentPrincipal, uow: UoW) -> PolicyOut:
    saved = await admin.set_policy(uow, principal=principal, studio_id=studio_id, **body.model_dump())
    return PolicyOut.model_validate(saved, from_attributes=True)


class SuspensionIn(StrictBody):
    until: datetime
    reason: str = Field(min_length=1, max_length=500)


@router.put("/clients/{client_id}/suspension", status_code=204, operation_id="suspendClient",
            summary="Suspend a client from booking", tags=["booking policy"],
            responses=error_responses(401, 403, 422))
async def suspend_client(client_id: UUID, body: SuspensionIn, principal: CurrentPrincipal, uow: UoW) -> Response:
    await admin.suspend(uow, principal=principal, client_id=client_id, until=body.until, reason=body.reason)
    return Response(status_code=204)


@router.delete("/clients/{client_id}/suspension", status_code=204, operation_id="liftSuspension",
               summary="Let a suspended client book again", tags=["booking policy"],
               responses=error_responses(401, 403, 404, 422))
async def lift_suspension(client_id: UUID, principal: CurrentPrincipal, uow: UoW) -> Response:
    await admin.lift_suspension(uow, principal=principal, client_id=client_id)
    return Response(status_code=204)

"""GET /v1/live: the live-update stream (EventSource-friendly: the token may come as a query parameter)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sse_starlette.sse import EventSourceResponse

from studio_platform.errors import Forbidden, Unauthorized
from studio_platform.problems import error_responses

router = APIRouter(prefix="/v1")


@router.get(
    "/live", operation_id="streamLiveUpdates", summary="Live updates (server-sent events)", tags=["live"],
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "Events `availability`, `booking` and `waitlist`, each with the event's data "
                                    "and its `type`; only what the caller may see."},
               **error_responses(401, 403)},
)
async def live(request: Request, access_token: Annotated[str | None, Query(
        description="For browsers' EventSource, which cannot send headers.")] = None) -> EventSourceResponse:
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else access_token
    if not token:
        raise Unauthorized("Send an access token.", code="missing-token")
    principal = await request.app.state.token_verifier.verify(token)
    if principal.organization_id is None:
        raise Forbidden("Join or create an organization first.", code="no-organization")
    return EventSourceResponse(request.app.state.live.stream(principal), ping=15)

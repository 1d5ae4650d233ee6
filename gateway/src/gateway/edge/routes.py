"""Which service answers which path, learnt from the services' own OpenAPI documents.

A service that adds an operation is routed to without touching the gateway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PARAM = re.compile(r"\{[^/{}]+\}")


@dataclass(frozen=True)
class Route:
    path: str  # the template, as in the service's document
    service: str
    pattern: re.Pattern[str]
    literal_segments: int


def compile_route(template: str, service: str) -> Route:
    regex = "^" + _PARAM.sub("[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")) + "$"
    literal = sum(1 for segment in template.split("/") if segment and not _PARAM.fullmatch(segment))
    return Route(template, service, re.compile(regex), literal)


class RouteTable:
    def __init__(self) -> None:
        self._routes: dict[str, list[Route]] = {}  # by service

    def learn(self, service: str, openapi: dict[str, Any]) -> None:
        self._routes[service] = [compile_route(path, service) for path in openapi.get("paths", {})]

    @property
    def services(self) -> set[str]:
        return set(self._routes)

    def match(self, path: str) -> Route | None:
        """The most specific template that matches (most literal segments wins)."""
        best: Route | None = None
        for routes in self._routes.values():
            for route in routes:
                if route.pattern.match(path) and (best is None or route.literal_segments > best.literal_segments):
                    best = route
        return best

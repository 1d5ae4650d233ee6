"""One OpenAPI document for the whole public API: the gateway's own operations and every service's."""

from __future__ import annotations

import json
from typing import Any


def merge(own: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = json.loads(json.dumps(own))
    merged.setdefault("paths", {})
    components = merged.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    security = components.setdefault("securitySchemes", {})
    tags = {t["name"]: t for t in merged.get("tags", [])}
    for service, document in sorted(services.items()):
        document = _rename_clashing_schemas(document, schemas, prefix=service.capitalize())
        for path, operations in document.get("paths", {}).items():
            if path.startswith("/v1/"):
                merged["paths"].setdefault(path, {}).update(operations)
        schemas.update(document.get("components", {}).get("schemas", {}))
        security.update(document.get("components", {}).get("securitySchemes", {}))
        for tag in document.get("tags", []):
            tags.setdefault(tag["name"], tag)
    if tags:
        merged["tags"] = list(tags.values())
    return merged


def _rename_clashing_schemas(document: dict[str, Any], existing: dict[str, Any], *, prefix: str) -> dict[str, Any]:
    """Two services may name different schemas alike; the second one's gets its service as prefix."""
    theirs = document.get("components", {}).get("schemas", {})
    clashes = [name for name, schema in theirs.items() if name in existing and existing[name] != schema]
    if not clashes:
        return document
    text = json.dumps(document)
    for name in clashes:
        text = text.replace(f'"#/components/schemas/{name}"', f'"#/components/schemas/{prefix}{name}"')
    renamed = json.loads(text)
    found = renamed["components"]["schemas"]
    for name in clashes:
        found[f"{prefix}{name}"] = found.pop(name)
    return renamed

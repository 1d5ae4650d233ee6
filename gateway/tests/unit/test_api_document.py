"""The identity API's OpenAPI description: every operation named, summarised and listing its problems."""

from fastapi import FastAPI

from gateway import identity

PUBLIC = {"sign_up", "log_in", "refresh_session", "log_out", "get_jwks"}


def operations() -> list[dict]:
    app = FastAPI()
    for router in identity.routers():
        app.include_router(router)
    return [op for ops in app.openapi()["paths"].values() for op in ops.values()]


def test_every_operation_is_named_and_summarised():
    ops = operations()
    assert len({op["operationId"] for op in ops}) == len(ops) == 18
    assert all(op.get("summary") for op in ops)


def test_authenticated_operations_document_401_as_a_problem():
    for op in operations():
        if op["operationId"] in PUBLIC:
            continue
        assert op.get("security") == [{"HTTPBearer": []}], op["operationId"]
        assert "application/problem+json" in op["responses"]["401"]["content"], op["operationId"]


def test_operations_with_a_body_document_malformed_and_invalid_requests():
    for op in operations():
        if "requestBody" in op:
            assert {"400", "422"} <= op["responses"].keys(), op["operationId"]

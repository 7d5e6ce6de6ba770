"""The JSON API under ``/api/v1``.

Routes are declared with :func:`endpoint`, which registers the Flask route, validates the
body and query with pydantic models, and records everything needed for the OpenAPI 3
document served at ``/api/v1/openapi.json`` (generated from these declarations, so it
cannot drift from the code). Errors are JSON ``{"error": {"code", "message", "field"}}``.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from flask import Blueprint, g, jsonify, request
from pydantic import BaseModel, ValidationError

from .. import __version__
from ..access import access_of

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@dataclasses.dataclass
class Operation:
    rule: str
    method: str
    fn: Callable
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int


OPERATIONS: list[Operation] = []


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(status: int, code: str, message: str, field: str | None = None, **extra):
    body = {"error": {"code": code, "message": message, "field": field, **extra}}
    return jsonify(body), status


def _validation_error(e: ValidationError, where: str):
    first = e.errors()[0]
    field = ".".join(str(x) for x in first["loc"]) or where
    errors = [{"field": ".".join(str(x) for x in err["loc"]), "message": err["msg"]} for err in e.errors()]
    return error_response(422, "invalid", f"{field}: {first['msg']}", field, errors=errors)


def endpoint(rule: str, method: str = "GET", *, summary: str, body: type[BaseModel] | None = None,
             query: type[BaseModel] | None = None, response: type[BaseModel] | None = None, status: int = 200,
             rate_limit: str | Callable | None = None, rate_key: Callable[[], str] | None = None):
    """Declare an API operation. The view receives ``body=`` and/or ``query=`` parsed models.

    Put the access declaration (``@roles(...)``/``@public(...)``) *under* this decorator.
    """
    def deco(fn):
        if access_of(fn) is None:
            raise RuntimeError(f"{fn.__name__}: declare access (roles/public/signed_in) below @endpoint")

        @functools.wraps(fn)
        def view(**kwargs):
            if body is not None:
                data = request.get_json(silent=True)
                if not isinstance(data, dict):
                    return error_response(400, "bad_json", "request body must be a JSON object", "body")
                try:
                    kwargs["body"] = body.model_validate(data)
                except ValidationError as e:
                    return _validation_error(e, "body")
            if query is not None:
                try:
                    kwargs["query"] = query.model_validate(request.args.to_dict())
                except ValidationError as e:
                    return _validation_error(e, "query")
            result = fn(**kwargs)
            if isinstance(result, BaseModel):
                return jsonify(result.model_dump(mode="json")), status
            if isinstance(result, (dict, list)):
                return jsonify(result), status
            return result

        view._access = access_of(fn)
        if rate_limit is not None:  # a limit string/callable, or a decorator such as login_limits
            from ..extensions import limiter
            view = rate_limit(view) if getattr(rate_limit, "__name__", "") == "login_limits" else \
                limiter.limit(rate_limit, key_func=rate_key)(view)
        OPERATIONS.append(Operation(rule, method, view, summary, body, query, response, status))
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        return view
    return deco


def build_openapi() -> dict[str, Any]:
    spec = APISpec(title="SkillCert API", version=__version__, openapi_version="3.0.3",
                   info={"description": "Exam delivery and item bank for vocational skill level certification."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("cookie", {"type": "apiKey", "in": "cookie", "name": "session"})
    seen: set[str] = set()

    def ref(model: type[BaseModel]) -> dict[str, str]:
        if model.__name__ not in seen:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                if name not in seen:
                    seen.add(name)
                    spec.components.schema(name, sub)
            seen.add(model.__name__)
            spec.components.schema(model.__name__, schema)
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error = {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string", "nullable": True}}}}}
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        path = "/api/v1" + op.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        access = access_of(op.fn)
        o: dict[str, Any] = {"summary": op.summary, "operationId": op.fn.__name__,
                             "responses": {str(op.status): {"description": "OK"}}}
        if op.response is not None:
            o["responses"][str(op.status)]["content"] = {"application/json": {"schema": ref(op.response)}}
        if access.kind == "public":
            o["security"] = []
            o["description"] = f"Public: {access.reason}"
        else:
            o["security"] = [{"bearer": []}, {"cookie": []}]
            o["x-roles"] = sorted(access.roles) if access.kind == "roles" else ["any signed-in"]
            o["responses"]["401"] = {"description": "not signed in", "content": {"application/json": {"schema": error}}}
            o["responses"]["403"] = {"description": "role not allowed", "content": {"application/json": {"schema": error}}}
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "integer" if f"<int:{n}>" in op.rule else "string"}}
                  for n in _path_params(op.rule)]
        if op.query is not None:
            for name, f in op.query.model_fields.items():
                params.append({"name": name, "in": "query", "required": f.is_required(),
                               "schema": op.query.model_json_schema()["properties"][name]})
        if params:
            o["parameters"] = params
        if op.body is not None:
            o["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
            o["responses"]["422"] = {"description": "invalid input", "content": {"application/json": {"schema": error}}}
        paths.setdefault(path, {})[op.method.lower()] = o
    for path, ops in paths.items():
        spec.path(path=path, operations=ops)
    return spec.to_dict()


def _path_params(rule: str) -> list[str]:
    import re
    return [m.split(":")[-1] for m in re.findall(r"<([^>]+)>", rule)]


def principal():
    return g.principal


from . import agencies, audit, auth, meta, people, standards  # noqa: E402,F401  (register routes)
from examserver.certification import api as _certification_api  # noqa: E402,F401
from examserver.administration import api as _administration_api  # noqa: E402,F401
from examserver.delivery import api as _delivery_api  # noqa: E402,F401
from examserver.itembank_app import api as _itembank_app_api  # noqa: E402,F401
from examserver.violations import api as _violations_api  # noqa: E402,F401
from examserver.marking import api as _marking_api  # noqa: E402,F401
from examserver.analysis import api as _analysis_api  # noqa: E402,F401

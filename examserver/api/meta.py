"""The API's own description."""
from flask import jsonify

from ..access import public
from . import bp, build_openapi


@bp.get("/openapi.json")
@public("the API description is published so clients can be generated")
def openapi():
    return jsonify(build_openapi())

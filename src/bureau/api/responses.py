"""JSON responses encoded with orjson, from the shapes of `bureau.store.views`.

Routes declare their response model (for OpenAPI) and return these directly: the body is
built once by a typed view function and encoded by orjson, without a second validation.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

from bureau.service import TaskDetail
from bureau.store.views import task_view


class OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def task_response(
    detail: TaskDetail, status_code: int = 200, headers: dict[str, str] | None = None
) -> OrjsonResponse:
    return OrjsonResponse(
        task_view(detail.task, detail.artifacts), status_code=status_code, headers=headers
    )

"""The emulator's ``/v1/models`` entries: each catalog model's metadata and its queue OpenAPI document.

fal's ``expand=openapi-3.0`` puts the endpoint's queue OpenAPI 3.0 document in ``openapi``: the
input schema under ``paths["/<endpoint>"].post.requestBody``, the output under
``paths["/<endpoint>/requests/{request_id}"].get.responses["200"]``, both as ``$ref`` into
``components.schemas`` (research/fal_platform_api.md §2.1). The input schema here is the
catalog's own pydantic model, so a refresh sees exactly the rules the emulator validates with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._catalog import Mode, ModelSpec

__all__ = ["CATEGORIES", "metadata", "openapi_document"]

CATEGORIES: dict[Mode, str] = {
    Mode.TEXT: "text-to-video",
    Mode.IMAGE: "image-to-video",
    Mode.REMIX: "video-to-video",
}
#: Fixed dates: the emulator's registry entries never change by themselves.
_CREATED = "2025-10-06T00:00:00Z"
_UPDATED = "2025-10-06T00:00:00Z"


def metadata(spec: ModelSpec, *, deprecated: bool) -> dict[str, Any]:
    """``models[i].metadata`` for ``spec`` (every field fal's schema requires)."""
    return {
        "display_name": spec.name,
        "category": CATEGORIES[spec.mode],
        "description": spec.description,
        "status": "deprecated" if deprecated else "active",
        "tags": list(spec.tags),
        "updated_at": _UPDATED,
        "is_favorited": None,
        "thumbnail_url": f"https://fal.media/files/emulator/{spec.id}.jpg",
        "model_url": f"https://fal.run/{spec.endpoint}",
        "date": _CREATED,
        "highlighted": False,
        "pinned": False,
        "kind": "inference",
    }


def _schema_name(spec: ModelSpec) -> str:
    return "".join(part.capitalize() for part in spec.id.split("_"))


def _rewrite_refs(node: Any) -> Any:
    # pydantic puts nested models under "$defs"; an OpenAPI document keeps them in components.
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            return {**node, "$ref": ref.replace("#/$defs/", "#/components/schemas/")}
        return {k: _rewrite_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def openapi_document(spec: ModelSpec, enum_changes: Mapping[str, Sequence[Any]] | None = None) -> dict[str, Any]:
    """The endpoint's queue OpenAPI 3.0 document, as ``expand=openapi-3.0`` gives it.

    The catalog's allowed values become ``enum``s and its prompt limit ``maxLength``, as in fal's
    documents; ``enum_changes`` (field → values) stands for fal having changed a field's choices.
    """
    name = _schema_name(spec)
    schema = json.loads(json.dumps(spec.input_model.model_json_schema(mode="validation")))
    properties: dict[str, Any] = schema.get("properties", {})
    for field, values in {**spec.allowed, **(enum_changes or {})}.items():
        if field in properties:
            properties[field]["enum"] = list(values)
    if "prompt" in properties:
        properties["prompt"]["maxLength"] = spec.prompt_limit
    defs = schema.pop("$defs", {})
    schemas: dict[str, Any] = {key: _rewrite_refs(value) for key, value in defs.items()}
    schemas[f"{name}Input"] = _rewrite_refs(schema)
    schemas[f"{name}Output"] = {
        "type": "object",
        "properties": {"video": {"$ref": "#/components/schemas/VideoFile"}},
        "required": ["video"],
    }
    schemas["VideoFile"] = {
        "type": "object",
        "properties": {
            "url": {"type": "string"},
            "content_type": {"type": "string"},
            "file_name": {"type": "string"},
            "file_size": {"type": "integer"},
        },
        "required": ["url"],
    }
    json_of = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}Input"}}}
    return {
        "openapi": "3.0.4",
        "info": {
            "title": f"Queue OpenAPI for {spec.endpoint}",
            "version": "1.0.0",
            "x-fal-metadata": {
                "endpointId": spec.endpoint,
                "category": CATEGORIES[spec.mode],
                "playgroundUrl": f"https://fal.ai/models/{spec.endpoint}",
                "documentationUrl": f"https://fal.ai/models/{spec.endpoint}/api",
            },
        },
        "servers": [{"url": "https://queue.fal.run"}],
        "paths": {
            f"/{spec.endpoint}": {"post": {"requestBody": {"required": True, "content": json_of}}},
            f"/{spec.endpoint}/requests/{{request_id}}": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "Result of the request.",
                            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}Output"}}},
                        }
                    }
                }
            },
        },
        "components": {"schemas": schemas},
    }

"""Shapes of the artifact proxy's JSON answers, and of the server-info probe."""

from marshmallow import fields, post_dump

from registry.schemas.base import RequestSchema, ResponseSchema
from registry.schemas.fields import Text
from registry.schemas.registry import URL


class ListArtifactsIn(RequestSchema):
    path = Text(max_length=URL, load_default="")


class FileOut(ResponseSchema):
    path = fields.String(attribute="name", metadata={"description": "the entry's name only"})
    is_dir = fields.Boolean()
    file_size = fields.Integer(attribute="size", metadata={"description": "files only"})

    @post_dump
    def _omit_directory_size(self, data, **kwargs):
        # The client reads int(file_size) whenever the key is present, so directories omit it.
        if data.get("file_size") is None:
            data.pop("file_size", None)
        return data


class ListArtifactsOut(ResponseSchema):
    files = fields.List(
        fields.Nested(FileOut),
        metadata={"description": "absent when the path is missing or is a file"},
    )


class ServerInfoOut(ResponseSchema):
    store_type = fields.String()
    workspaces_enabled = fields.Boolean()
    trace_archival_enabled = fields.Boolean()
    multipart_uploads_enabled = fields.Boolean()
    multipart_downloads_enabled = fields.Boolean()

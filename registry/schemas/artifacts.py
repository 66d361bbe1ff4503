"""Shapes of the artifact proxy's JSON requests and answers (listings, multipart uploads), and
of the server-info probe."""

from marshmallow import EXCLUDE, Schema, fields, post_dump

from registry.artifacts.interface import MAX_PARTS
from registry.schemas.base import RequestSchema, ResponseSchema
from registry.schemas.fields import Items, MaxResults, Text
from registry.schemas.registry import IDENTIFIER, URL

UPLOAD_ID = 1024  # S3's upload ids are long opaque strings; Podium's own are 32 hex digits


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


# --- multipart uploads (MLflow's mpu API) ---------------------------------------------------


class CreateMultipartIn(RequestSchema):
    path = Text(
        max_length=URL, required=True, metadata={"description": "the client's local file path"}
    )
    num_parts = MaxResults(maximum=MAX_PARTS, load_default=1)


class CredentialOut(ResponseSchema):
    url = fields.String(metadata={"description": "where to PUT this part's bytes"})
    part_number = fields.Integer()
    headers = fields.Dict(keys=fields.String(), values=fields.String())


class CreateMultipartOut(ResponseSchema):
    upload_id = fields.String()
    credentials = fields.List(fields.Nested(CredentialOut))


class PartItem(Schema):
    class Meta:
        unknown = EXCLUDE

    part_number = MaxResults(maximum=MAX_PARTS, required=True)
    etag = Text(max_length=IDENTIFIER, load_default="", allow_none=True)
    url = Text(max_length=URL, load_default=None, allow_none=True)


class CompleteMultipartIn(RequestSchema):
    path = Text(max_length=URL, required=True)
    upload_id = Text(max_length=UPLOAD_ID, required=True)
    parts = Items(fields.Nested(PartItem), max_items=MAX_PARTS, required=True)


class AbortMultipartIn(RequestSchema):
    path = Text(max_length=URL, required=True)
    upload_id = Text(max_length=UPLOAD_ID, required=True)

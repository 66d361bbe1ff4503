"""A real S3-compatible server for the tests: moto's server mode on a loopback port.

Podium's gunicorn workers reach it over HTTP exactly as they would reach MinIO or AWS, with
the usual environment variables (`S3Server.env`). Its state lives in this test process, so a
test can stop the server (an outage) and start it again on the same port with the same objects.
"""

import os
import uuid

import boto3
from moto.server import ThreadedMotoServer

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "podium-test",
    "AWS_SECRET_ACCESS_KEY": "podium-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class S3Server:
    def __init__(self):
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, self.port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{self.port}"
        # boto3 in this process (the tests' own view of the bucket) uses the same settings.
        for name, value in CREDENTIALS.items():
            os.environ.setdefault(name, value)
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def bucket(self) -> str:
        """A new empty bucket."""
        name = "podium-" + uuid.uuid4().hex[:12]
        self.client.create_bucket(Bucket=name)
        return name

    def env(self, destination: str) -> dict:
        """The settings a Podium process needs to keep its artifacts at `destination`."""
        return {
            **CREDENTIALS,
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
            "PODIUM_ARTIFACTS_DESTINATION": destination,
        }

    def keys(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object in the bucket under `prefix`, with its bytes."""
        found = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        ):
            for item in page.get("Contents", ()):
                body = self.client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[item["Key"]] = body
        return found

    def pending_uploads(self, bucket: str) -> list[str]:
        """Keys of multipart uploads begun and neither completed nor aborted."""
        uploads = self.client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return [upload["Key"] for upload in uploads]

    def stop(self) -> None:
        self.server.stop()

    def restart(self) -> None:
        """Start again on the same port; the objects are still there (they live in moto)."""
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

"""Review of issue #16: docker-compose.yml's consumer service.

`SQS_QUEUE_URLS=… docker compose --profile sqs up` (the comment's own instruction) starts
a consumer that has no way to AWS credentials outside an instance role: the service
passes none of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN /
AWS_PROFILE (nor mounts ~/.aws), so every ReceiveMessage fails with "no usable AWS
credentials" and the container stays unhealthy.
"""

from __future__ import annotations

from pathlib import Path

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]


def test_the_consumer_service_can_be_given_aws_credentials() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    consumer = compose["services"]["consumer"]
    environment = consumer.get("environment", {})
    names = set(
        environment if isinstance(environment, dict) else (e.split("=")[0] for e in environment)
    )
    mounts = " ".join(str(v) for v in consumer.get("volumes", []))
    assert (
        names & {"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"}
        or (".aws" in mounts)
        or consumer.get("env_file")
    ), "the consumer gets no AWS credentials"
